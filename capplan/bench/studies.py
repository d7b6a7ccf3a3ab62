"""``capplan bench studies``: a 12-scenario study on a generated 2,000-VM, 30-day workload.

Measures the wall time of the whole study in-process and on a local Dask cluster of two worker
processes (scenarios are independent, so they run in parallel there), and the share of time
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
    workers: int,
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

        start = time.perf_counter()
        distributed = run_study(study, workers=workers)
        dask_s = time.perf_counter() - start

    stages = {k: v for k, v in local.timings_s.items() if k != "total"}
    stages["report"] = report_s
    total = sum(stages.values())
    dask_stages = {k: v for k, v in distributed.timings_s.items() if k != "total"}
    dask_total = sum(dask_stages.values())
    same = [r.summary.get("n_hosts") for r in local.results] == [
        r.summary.get("n_hosts") for r in distributed.results
    ]
    return {
        "n_vms": n_vms,
        "days": days,
        "trace": trace,
        "n_scenarios": len(local.results),
        "time_limit_s": time_limit_s,
        "in_process_wall_s": round(in_process_s, 2),
        "dask_wall_s": round(dask_s, 2),
        "dask_workers": workers,
        "speedup": round(in_process_s / dask_s, 3) if dask_s else None,
        "stage_share_frac": {k: round(v / total, 4) for k, v in stages.items()},
        "stage_s": {k: round(v, 2) for k, v in stages.items()},
        "dask_stage_share_frac": {k: round(v / dask_total, 4) for k, v in dask_stages.items()},
        "dask_stage_s": {k: round(v, 2) for k, v in dask_stages.items()},
        "same_host_counts": same,
        "host_counts": [r.summary.get("n_hosts") for r in local.results],
    }


@bench_app.command("studies")
@user_errors
def studies(
    vms: Annotated[int, typer.Option("--vms", min=2, help="VMs in the generated workload.")] = 2000,
    days: Annotated[float, typer.Option("--days", min=1, help="Days of data.")] = 30.0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1, help="Solver seconds per scenario.")
    ] = 20.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Dask worker processes.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 1,
    trace: Annotated[
        str,
        typer.Option(
            "--trace", help="Workload format: parquet (read whole) or bitbrains (read in parts)."
        ),
    ] = "parquet",
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Wall time of a 12-scenario study in-process vs on a local Dask cluster, per stage."""
    figures = run_benchmark(
        n_vms=vms, days=days, time_limit_s=time_limit, workers=workers, seed=seed, trace=trace
    )
    if json:
        print_json(figures)
        return
    console.print(
        f"{figures['n_scenarios']} scenarios, {vms} VMs × {days:g} days ({trace}): in-process "
        f"{figures['in_process_wall_s']} s, Dask ({workers} workers) {figures['dask_wall_s']} s, "
        f"speed-up {figures['speedup']}",
        highlight=False,
    )
    console.print("  stage        in-process            Dask", highlight=False)
    dask_share, dask_s = figures["dask_stage_share_frac"], figures["dask_stage_s"]
    for stage, share in figures["stage_share_frac"].items():
        on_dask = f"{dask_share[stage]:6.1%}  ({dask_s[stage]} s)" if stage in dask_s else "-"
        console.print(
            f"  {stage:<10} {share:6.1%}  ({figures['stage_s'][stage]} s)    {on_dask}",
            highlight=False,
        )
