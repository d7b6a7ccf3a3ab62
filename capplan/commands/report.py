"""``capplan study``, ``capplan report`` and ``capplan demo``: run what-if studies in batch."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.pipeline import run_study
from capplan.reporting.outputs import write_study_outputs
from capplan.resources import bundled_dir
from capplan.results import StudyResult
from capplan.spec.study import load_study

StudyArg = Annotated[Path, typer.Argument(help="Study TOML file.")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Address of an existing Dask scheduler (tcp://host:8786)."),
]
WorkersOpt = Annotated[
    int | None, typer.Option("--workers", min=1, help="Run on a local Dask cluster of N workers.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _run(study_path: Path, scheduler: str | None, workers: int | None, quiet: bool) -> StudyResult:
    study = load_study(study_path)
    if quiet:
        return run_study(study, scheduler=scheduler, workers=workers)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(study.name, total=1.0)

        def progress(label: str, frac: float) -> None:
            bar.update(task, completed=frac, description=label[:60])

        return run_study(
            study,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            cancel=threading.Event(),
        )


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def write_outputs(result: StudyResult, out: Path) -> dict[str, Any]:
    """Write the HTML report at ``out`` and, beside it in ``<stem>_files/``, the tables and
    the saved result (:func:`capplan.reporting.outputs.write_study_outputs`)."""
    return write_study_outputs(result, out).to_dict()


def _summary(result: StudyResult, outputs: dict[str, Any]) -> dict[str, Any]:
    best, reason = result.recommended()
    return {
        "study": result.study.name,
        "n_scenarios": len(result.results),
        "baseline": result.baseline.to_dict(),
        "scenarios": [{"name": r.name, **r.summary.to_dict()} for r in result.results],
        "recommended": best.name if best else None,
        "reason": reason,
        "timings_s": result.timings_s,
        **outputs,
    }


def _print(result: StudyResult, outputs: dict[str, Any]) -> None:
    best, reason = result.recommended()
    base = result.baseline
    console.print(
        f"today: {base.n_hosts} hosts ({base.rule}); scenarios: {len(result.results)}",
        highlight=False,
    )
    for r in result.results:
        s = r.summary
        console.print(
            f"  {r.name}: {s.status}, {s.n_hosts} hosts, "
            f"TCO {_number(s.cost_usd, ',.0f')}, "
            f"availability min {_number(s.availability_frac_min, '.6f')}",
            highlight=False,
        )
    console.print(f"recommended: {best.name if best else 'none'} — {reason}", highlight=False)
    console.print(f"report: {outputs['report']}", highlight=False)


@app.command()
@user_errors
def study(
    study_path: StudyArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the saved results.")] = Path(
        "reports/study"
    ),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run every scenario of a study and save the results (Parquet + JSON)."""
    result = _run(study_path, scheduler, workers, json)
    saved = {"results": str(result.save(out))}
    if json:
        print_json(_summary(result, saved))
    else:
        _print(result, {"report": saved["results"]})


@app.command()
@user_errors
def report(
    study_path: StudyArg,
    out: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path(
        "reports/report.html"
    ),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run a study and write a self-contained HTML report plus CSV/XLSX tables."""
    result = _run(study_path, scheduler, workers, json)
    outputs = write_outputs(result, out)
    if json:
        print_json(_summary(result, outputs))
    else:
        _print(result, outputs)


@app.command()
@user_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path(
        "reports/demo.html"
    ),
    json: JsonOpt = False,
) -> None:
    """Run the bundled demo study end to end and print the report's path."""
    result = _run(bundled_dir("workloads") / "studies" / "demo.toml", None, None, json)
    outputs = write_outputs(result, out)
    if json:
        print_json(_summary(result, outputs))
    else:
        _print(result, outputs)
