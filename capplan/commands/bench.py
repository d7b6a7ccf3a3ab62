"""``capplan bench NAME``: the benchmark sub-commands.

Every module in :data:`BENCH_MODULES` (under :mod:`capplan.bench`) registers one command on
:data:`bench_app`.
"""

from __future__ import annotations

import importlib

import typer

from capplan.cli_app import app

bench_app = typer.Typer(
    help="Benchmarks: measure speed and quality and print figures.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")

#: Benchmark modules under capplan.bench; each registers its command on bench_app.
BENCH_MODULES: tuple[str, ...] = (
    "ingest",
    "emulate",
    "vbp",
    "storage",
    "cloudsim",
    "tbpp",
    "scale",
    "studies",
    "trust",
    "determinism",
    "zipread",
    "forecast",
    "dynspeed",
    "validation",
)

for _module in BENCH_MODULES:
    importlib.import_module(f"capplan.bench.{_module}")
