"""The ``capplan`` command: imports every command module, then runs the Typer app."""

from __future__ import annotations

import importlib

from capplan.cli_app import app

#: Modules under capplan.commands that register sub-commands.
COMMAND_MODULES: tuple[str, ...] = (
    "traces",
    "bench",
    "study",
    "economics",
    "generate",
    "emulate",
    "storage",
    "consolidate",
    "dynamic",
    "report",
    "serve",
)

for _module in COMMAND_MODULES:
    importlib.import_module(f"capplan.commands.{_module}")


def main() -> None:
    """Entry point of the ``capplan`` console script."""
    app()


if __name__ == "__main__":
    main()
