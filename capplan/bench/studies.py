"""``capplan bench studies``: a 12-scenario study on a generated 2,000-VM, 30-day workload.

Measures the wall time of the whole study in-process and on a local Dask cluster for each
number of worker processes asked (``--workers 1,2,4``; scenarios are independent, so they run
in parallel there; the Dask wall time includes starting the cluster), and the share of time
each stage takes (ingest, optimize, storage, emulate, economics, report), for both runs. The
workload is an ingested canonical Parquet file (``--trace parquet``; on Dask one task reads it)
or a Bitbrains folder, one CSV per VM (``--trace bitbrains``; on Dask it is read in parts on the
workers, :mod:`capplan.demand.dask_ingest`). On Dask, ``ingest`` is the wall time until the
Workload is on every worker; the other stages are summed over the scenarios (worker time).
Generation of the workload is not timed. Figures only; nothing is asserted.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app


def _study_text(workload: Path, time_limit_s: float) -> str:
    return f"""
name = "bench-studies"
description = "12 scenarios: mode x memory over-commit x sizing"
[base]
workload = "{workload}"
buckets = 24
headroom_frac = 0.2
time_limit_s = {time_limit_s}
workers = 1
hosts = [{{ model = "hpe-dl380-gen11" }}, {{ model = "lenovo-sr665-v3" }}]
[axes]
mode = ["hw-assisted", "paravirt", "containers"]
mem_overcommit_ratio = [1.0, 1.5]
sizing = ["peak", "time-aware"]
"""


#: Workload formats the benchmark can generate.
TRACES = ("parquet", "bitbrains")


def run_benchmark(
    *,
    n_vms: int,
    days: float,
    time_limit_s: float,
    workers: int | tuple[int, ...],
    seed: int,
    trace: str = "parquet",
) -> dict[str, Any]:
    """Generate the workload, run the study both ways, and return the figures."""
    from capplan.commands.report import write_outputs
    from capplan.errors import CapplanError
    from capplan.generate import GeneratorParams
    from capplan.generate.bitbrains import write_bitbrains_set
    from capplan.generate.canonical import write_canonical_set

    if trace not in TRACES:
        raise CapplanError(f"--trace {trace!r}; expected one of: {', '.join(TRACES)}")
    from capplan.pipeline import run_study
    from capplan.spec.study import load_study

    params = GeneratorParams(n_vms=n_vms, days=days)
    stats = dataclasses.replace(params.stats, os_family_probs=(0.0547, 0.9453, 0.0, 0.0))
    params = dataclasses.replace(params, stats=stats)
    with tempfile.TemporaryDirectory(prefix="capplan-bench-studies-") as tmp:
        folder = Path(tmp)
        if trace == "bitbrains":
            workload = folder / "bitbrains"
            write_bitbrains_set(params, seed, workload, jitter_s=1)
        else:
            workload = write_canonical_set(params, seed, folder / "workload.parquet")
        study_path = folder / "study.toml"
        study_path.write_text(_study_text(workload, time_limit_s))
        study = load_study(study_path)

        start = time.perf_counter()
        local = run_study(study)
        report_start = time.perf_counter()
        write_outputs(local, folder / "report.html")
        report_s = time.perf_counter() - report_start
        in_process_s = time.perf_counter() - start

        runs = []
        for count in (workers,) if isinstance(workers, int) else workers:
            start = time.perf_counter()
            runs.append((count, run_study(study, workers=count), time.perf_counter() - start))

    stages = {k: v for k, v in local.timings_s.items() if k != "total"}
    stages["report"] = report_s
    total = sum(stages.values())
    hosts = [r.summary.n_hosts for r in local.results]
    dask = [
        _dask_figures(count, result, wall_s, in_process_s, hosts) for count, result, wall_s in runs
    ]
    first = dask[0]
    return {
        "n_vms": n_vms,
        "days": days,
        "trace": trace,
        "n_scenarios": len(local.results),
        "time_limit_s": time_limit_s,
        "in_process_wall_s": round(in_process_s, 2),
        "dask_wall_s": first["wall_s"],
        "dask_workers": first["workers"],
        "speedup": first["speedup"],
        "stage_share_frac": {k: round(v / total, 4) for k, v in stages.items()},
        "stage_s": {k: round(v, 2) for k, v in stages.items()},
        "dask_stage_share_frac": first["stage_share_frac"],
        "dask_stage_s": first["stage_s"],
        "same_host_counts": all(d["same_host_counts"] for d in dask),
        "host_counts": hosts,
        "stopped_by_wall": _stopped_by_wall(local),
        "dask": dask,
    }


def _dask_figures(
    workers: int, result: Any, wall_s: float, in_process_s: float, hosts: list[Any]
) -> dict[str, Any]:
    stages = {k: v for k, v in result.timings_s.items() if k != "total"}
    total = sum(stages.values())
    return {
        "workers": workers,
        "wall_s": round(wall_s, 2),
        "speedup": round(in_process_s / wall_s, 3) if wall_s else None,
        "stage_share_frac": {k: round(v / total, 4) for k, v in stages.items()},
        "stage_s": {k: round(v, 2) for k, v in stages.items()},
        "same_host_counts": [r.summary.n_hosts for r in result.results] == hosts,
        "stopped_by_wall": _stopped_by_wall(result),
    }


def _stopped_by_wall(result: Any) -> int:
    """Scenarios whose search the wall-clock limit stopped (not the deterministic work
    budget): only those may differ between runs."""
    return sum(1 for r in result.results if r.solve.stopped_by == "wall-clock limit")


@bench_app.command("studies")
@user_errors
def studies(
    vms: Annotated[int, typer.Option("--vms", min=2, help="VMs in the generated workload.")] = 2000,
    days: Annotated[float, typer.Option("--days", min=1, help="Days of data.")] = 30.0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1, help="Solver seconds per scenario.")
    ] = 20.0,
    workers: Annotated[
        str,
        typer.Option("--workers", help="Dask worker processes: one count or a list (1,2,4)."),
    ] = "1,2,4",
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 1,
    trace: Annotated[
        str,
        typer.Option(
            "--trace", help="Workload format: parquet (read whole) or bitbrains (read in parts)."
        ),
    ] = "parquet",
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Wall time of a 12-scenario study in-process vs on local Dask clusters, per stage."""
    from capplan.errors import CapplanError

    try:
        counts = tuple(int(part) for part in workers.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise CapplanError(f"--workers {workers!r}: expected worker counts >= 1, e.g. 1,2,4")
    figures = run_benchmark(
        n_vms=vms, days=days, time_limit_s=time_limit, workers=counts, seed=seed, trace=trace
    )
    if json:
        print_json(figures)
        return
    console.print(
        f"{figures['n_scenarios']} scenarios, {vms} VMs × {days:g} days ({trace}): in-process "
        f"{figures['in_process_wall_s']} s; Dask "
        + ", ".join(
            f"{d['workers']} worker(s) {d['wall_s']} s (speed-up {d['speedup']})"
            for d in figures["dask"]
        ),
        highlight=False,
    )
    runs = [("in-process", figures["stage_share_frac"], figures["stage_s"])] + [
        (f"Dask {d['workers']}", d["stage_share_frac"], d["stage_s"]) for d in figures["dask"]
    ]
    console.print("  stage      " + "".join(f"{name:>22}" for name, _, _ in runs), highlight=False)
    for stage in figures["stage_share_frac"]:
        cells = [
            f"{share[stage]:6.1%} ({seconds[stage]:>7} s)" if stage in share else "-"
            for _, share, seconds in runs
        ]
        console.print(f"  {stage:<10} " + "".join(f"{c:>22}" for c in cells), highlight=False)
    walls = [figures["stopped_by_wall"], *(d["stopped_by_wall"] for d in figures["dask"])]
    console.print(
        "Dask stage times are summed over the scenarios (worker time); the Dask wall time "
        "includes starting the cluster and importing capplan in each worker. Same host "
        f"counts everywhere: {figures['same_host_counts']}; searches stopped by the wall "
        f"clock instead of the work budget (in-process, then each cluster): {walls} (only "
        "those can differ: raise --time-limit or use fewer workers than cores)",
        highlight=False,
    )
