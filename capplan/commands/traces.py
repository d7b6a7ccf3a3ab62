"""``capplan inspect``, ``capplan ingest`` and ``capplan formats``: look at and convert traces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.demand import build_workload
from capplan.io import READERS, ReadOptions, Trace, read_traces
from capplan.io.canonical import write_canonical_parquet
from capplan.schema import USAGE_METRICS

PathsArg = Annotated[list[str], typer.Argument(help="Trace paths, folders, zips or FORMAT:PATH.")]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="Reader name for every path (default: detect).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
StepOpt = Annotated[
    int | None, typer.Option("--step", help="Grid step in seconds (default: median native step).")
]


def _read_with_progress(paths: list[str], fmt: str | None, quiet: bool) -> Trace:
    """Read traces, drawing a progress bar on stderr for multi-file inputs."""
    if quiet:
        return read_traces(paths, fmt, ReadOptions())
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("reading files", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return read_traces(paths, fmt, replace(ReadOptions(), progress=advance))


def _inventory_summary(trace: Trace) -> dict[str, object]:
    return {
        "format": trace.format,
        "n_vms": trace.inventory.height,
        "n_steps": 0,
        "step_s": None,
        "start": None,
        "end": None,
        "metrics": [],
        "quality_frac": None,
        "problems": [p.to_dict() for p in trace.problems],
        "sources": list(trace.sources),
    }


def inspect_paths(
    paths: list[str], fmt: str | None = None, step_s: int | None = None, *, quiet: bool = True
) -> dict[str, object]:
    """Read paths and return the inspection summary (see ``capplan inspect --json``)."""
    trace = _read_with_progress(paths, fmt, quiet)
    if trace.is_inventory_only:
        return _inventory_summary(trace)
    summary = build_workload(trace, step_s=step_s).summary()
    summary["inventory_columns_known"] = [
        name
        for name in trace.inventory.columns
        if trace.inventory.get_column(name).null_count() < trace.inventory.height
    ]
    return summary


@app.command()
@user_errors
def inspect(
    paths: PathsArg, format: FormatOpt = None, step: StepOpt = None, json: JsonOpt = False
) -> None:
    """Detect the format of traces and print what they hold and every problem found."""
    summary = inspect_paths(paths, format, step, quiet=json)
    if json:
        print_json(summary)
        return
    table = Table(show_header=False, box=None)
    for key in ("format", "n_vms", "n_steps", "step_s", "start", "end", "quality_frac"):
        table.add_row(key, str(summary[key]))
    table.add_row("metrics", ", ".join(summary["metrics"]) or "none")  # type: ignore[arg-type]
    ratios = summary.get("sum_of_peaks_ratio")
    if isinstance(ratios, dict) and ratios:
        shown = ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
        table.add_row("sum of peaks / peak of sum", shown)
    console.print(table)
    problems = summary["problems"]
    assert isinstance(problems, list)
    console.print(f"{len(problems)} problem(s)")
    for problem in problems:
        where = problem["path"] or ""
        if problem["line"]:
            where += f":{problem['line']}"
        console.print(f"  - {where + ': ' if where else ''}{problem['message']}", highlight=False)


@app.command()
@user_errors
def ingest(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--out", help="Canonical Parquet file to write.")],
    format: FormatOpt = None,
    json: JsonOpt = False,
) -> None:
    """Read traces and write them as one canonical Parquet file (usage + inventory)."""
    trace = _read_with_progress(paths, format, json)
    written = write_canonical_parquet(trace, out)
    n_rows = pl.scan_parquet(written).select(pl.len()).collect().item()
    result = {
        "out": str(written),
        "format": trace.format,
        "n_vms": trace.inventory.height,
        "n_rows": n_rows,
        "bytes": written.stat().st_size,
        "problems": [p.to_dict() for p in trace.problems],
    }
    if json:
        print_json(result)
    else:
        console.print(f"wrote {n_rows:,} rows for {trace.inventory.height:,} VMs to {written}")


@app.command()
@user_errors
def formats(json: JsonOpt = False) -> None:
    """List the trace formats capplan reads."""
    rows = [
        {"name": info.name, "inventory_only": info.inventory_only, "description": info.description}
        for info in sorted(READERS.values(), key=lambda i: i.name)
    ]
    if json:
        print_json({"formats": rows, "metrics": list(USAGE_METRICS)})
        return
    for row in rows:
        console.print(f"{row['name']:<22} {row['description']}", highlight=False)
