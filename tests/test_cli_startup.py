"""``capplan --help`` and ``--version`` import no heavy library; every command is listed."""

from __future__ import annotations

import ast
import subprocess
import sys

import typer

from capplan.cli import COMMANDS, help_text, load_all

HEAVY = ("ortools", "scipy", "polars", "pandas", "dash", "numba", "dask", "plotly", "numpy")


def _modules_after(args: list[str]) -> tuple[str, list[str]]:
    code = (
        "import sys\n"
        "from capplan.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    text, _, loaded = out.rpartition("LOADED ")
    return text, ast.literal_eval(loaded)


def test_help_and_version_load_no_heavy_module() -> None:
    text, loaded = _modules_after(["--help"])
    assert loaded == [] and "consolidate" in text and "bench" in text
    text, loaded = _modules_after(["--version"])
    assert loaded == [] and text.startswith("capplan ")


def test_command_table_matches_what_the_modules_register() -> None:
    group = typer.main.get_group(load_all())
    registered = set(group.commands)
    assert registered == set(COMMANDS), registered ^ set(COMMANDS)
    assert all(name in help_text() for name in COMMANDS)


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "capplan", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("capplan ")


def test_each_command_is_registered_by_the_module_the_table_names() -> None:
    # `capplan NAME` imports only COMMANDS[NAME]'s module: that module must define NAME
    code = (
        "import importlib, sys, typer\n"
        "from capplan.cli import COMMANDS\n"
        "name = sys.argv[1]\n"
        "importlib.import_module('capplan.commands.' + COMMANDS[name][0])\n"
        "from capplan.cli_app import app\n"
        "print(name in typer.main.get_group(app).commands)\n"
    )
    for name in COMMANDS:
        out = subprocess.run(
            [sys.executable, "-c", code, name], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "True", name


def test_the_optimizer_loads_numba_only_for_the_annealing() -> None:
    # Planning code (the pipeline, the web server) imports the optimizer; the compiled
    # annealing, and numba with it, load only when a solve anneals.
    code = (
        "import sys\n"
        "import capplan.optimize.consolidate, capplan.optimize.strategies\n"
        "print('numba' in sys.modules, 'capplan.optimize.anneal' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
