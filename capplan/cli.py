"""The ``capplan`` command: imports a command's module only when that command runs.

Every command module pulls in heavy libraries (OR-Tools, SciPy, polars, Dash, numba
kernels); importing them all made ``capplan --help`` take 3–7 s. :data:`COMMANDS` names each
top-level command, the module under :mod:`capplan.commands` that registers it, and its one-line
help, so ``capplan --help`` and ``capplan --version`` import none of them. A test checks the
table against what the modules actually register.

``from capplan.cli import app`` still gives the complete Typer application (every module
imported), for tests and scripting.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

#: Command name → (module under capplan.commands, one-line help shown by ``capplan --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": (
        "traces",
        "Detect the format of traces and print what they hold and every problem.",
    ),
    "ingest": ("traces", "Read traces and write them as one canonical Parquet file."),
    "formats": ("traces", "List the trace formats capplan reads."),
    "validate": ("study", "Validate a study file; list every problem at once."),
    "generate": ("generate", "Generate a seeded synthetic workload fitted to real traces."),
    "consolidate": ("consolidate", "Pick hosts and place every VM; the plan, its bound and gap."),
    "emulate": ("emulate", "Replay the demand on the placed hosts, SAN tiers and links."),
    "economics": ("economics", "Energy, cost (TCO) and availability of a placement vs today."),
    "storage-plan": ("storage", "Place volumes on storage pools at least cost, with run-out risk."),
    "dynamic": ("dynamic", "Simulate dynamic consolidation with live migration."),
    "backtest": ("backtest", "Plan on early days, replay on later ones: promised vs experienced."),
    "study": ("report", "Run every scenario of a study and save the results."),
    "report": ("report", "Run a study and write a self-contained HTML report plus tables."),
    "demo": ("report", "Run the bundled demo study end to end and print the report's path."),
    "serve": ("serve", "Serve the dashboard."),
    "bench": ("bench", "Benchmarks: measure speed and quality and print figures."),
}
HELP = "Capacity planning and benchmarking for virtualized infrastructure."


def load_all() -> typer.Typer:
    """Import every command module and return the complete Typer application."""
    from capplan.cli_app import app

    for module in sorted({m for m, _ in COMMANDS.values()}):
        importlib.import_module(f"capplan.commands.{module}")
    return app


def help_text() -> str:
    """``capplan --help``, from :data:`COMMANDS` alone."""
    width = max(len(name) for name in COMMANDS)
    lines = [
        "Usage: capplan [OPTIONS] COMMAND [ARGS]...",
        "",
        f"  {HELP}",
        "",
        "Options:",
        "  --version  Print the version and exit.",
        "  --help     Show this message and exit.",
        "",
        "Commands:",
        *(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()),
        "",
        "Run 'capplan COMMAND --help' for a command's options.",
    ]
    return "\n".join(lines)


#: Commands that serve for hours: they keep glibc's default of giving freed memory back.
LONG_RUNNING = frozenset({"serve"})


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``capplan`` console script and of ``python -m capplan``.

    Only the module of the command named on the command line is imported.
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("--help", "-h"):
        print(help_text())
        return
    from capplan.allocator import keep_freed_arrays
    from capplan.cli_app import app

    name = next((a for a in args if not a.startswith("-")), None)
    if name not in LONG_RUNNING:
        keep_freed_arrays()
    if name in COMMANDS:
        importlib.import_module(f"capplan.commands.{COMMANDS[name][0]}")
    elif name is not None:
        load_all()  # an unknown name: let Typer list every command
    app(args=args, prog_name="capplan")


def __getattr__(name: str) -> Any:
    if name == "app":
        return load_all()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
