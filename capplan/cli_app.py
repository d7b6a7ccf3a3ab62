"""The Typer application and the helpers every ``capplan`` sub-command shares.

Command modules live in :mod:`capplan.commands`; each registers its commands on :data:`app`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from capplan.errors import CapplanError

app = typer.Typer(
    name="capplan",
    help="Capacity planning and benchmarking for virtualized infrastructure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
#: Human-readable output goes to stdout; errors and progress to stderr.
console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout (numpy scalars and paths become plain values)."""

    def default(value: Any) -> Any:
        if hasattr(value, "item"):
            return value.item()
        if hasattr(value, "tolist"):
            return value.tolist()
        return str(value)

    sys.stdout.write(json.dumps(payload, default=default, indent=2) + "\n")
    sys.stdout.flush()


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a CapplanError into a one-line message and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CapplanError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(code=2) from None

    return wrapper
