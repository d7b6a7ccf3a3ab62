"""The Typer application and the helpers every ``capplan`` sub-command shares.

Command modules live in :mod:`capplan.commands`; each registers its commands on :data:`app`.
"""

from __future__ import annotations

import json
import math
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


def _print_version(value: bool) -> None:
    if value:
        from capplan import __version__

        typer.echo(f"capplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    """Capacity planning and benchmarking for virtualized infrastructure."""


#: Human-readable output goes to stdout; errors and progress to stderr.
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # error lines are never wrapped

P = ParamSpec("P")
R = TypeVar("R")


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists, NaN and
    infinities become None (``null``: JSON has no NaN), anything else unknown its text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "tolist"):
        return json_ready(value.tolist())
    if hasattr(value, "item"):
        return json_ready(value.item())
    return str(value)


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout: valid JSON always (NaN prints as ``null``)."""
    text = json.dumps(json_ready(payload), indent=2, allow_nan=False)
    sys.stdout.write(text + "\n")
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
