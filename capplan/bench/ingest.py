"""``capplan bench ingest``: ingest a generated Bitbrains set of ≥ 1 GB into a Workload.

Steps:

1. Generate a Bitbrains-format set (one file per VM, 300 s samples, ``days`` long, timestamp
   jitter of ±1 s as in the real files) of at least ``size_gb`` GB into a temporary folder.
   Generation is not timed.
2. In a fresh child process (so memory figures start clean): read all file bytes once (page
   cache warm), then time ``capplan.io.read_trace("bitbrains:DIR")`` and
   ``capplan.demand.build_workload`` separately, sampling resident memory
   (:mod:`capplan.bench.measure`).
3. In another fresh child: time the bare polars baseline, the fastest plain polars call that
   parses the same files into numbers: ``pl.scan_csv(files, separator=";", schema=...)``
   ``.collect()`` (best of ``repeat`` in that process, so with a warm allocator).
4. Steps 2 and 3 alternate for ``rounds`` rounds, so that both see the same machine load (the
   machine may be shared); each keeps its fastest round. The peak memory reported is the
   largest of the rounds. The 1-minute load average is recorded before and after.
5. Report throughput (input MB / ingest seconds, MB = 10^6 bytes), the ratio of our ingest time
   to the baseline (target ≤ 1.5), and peak extra resident memory during ingest as a multiple
   of the final Workload arrays' size (target ≤ 2.5), with the split between reader and
   builder. The folder is deleted afterwards.
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from capplan.bench.measure import measure
from capplan.cli_app import console, err_console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.errors import CapplanError

#: Targets from the foundation issue.
TARGET_RATIO_TO_POLARS = 1.5
TARGET_PEAK_MEM_RATIO = 2.5
BYTES_PER_MB = 1_000_000
BYTES_PER_GB = 1_000_000_000
#: VMs in the pilot that measures bytes per VM before the full set is written.
_PILOT_VMS = 8


def generate_set(
    directory: Path,
    size_bytes: int,
    *,
    days: float,
    seed: int,
    jitter_s: int,
    duplicate_frac: float,
) -> dict[str, Any]:
    """Write a Bitbrains set of at least ``size_bytes`` into ``directory``; return its facts."""
    from capplan.generate import GeneratorParams
    from capplan.generate.bitbrains import write_bitbrains_set

    pilot_dir = directory / "_pilot"
    pilot = write_bitbrains_set(
        GeneratorParams(n_vms=_PILOT_VMS, days=days),
        seed,
        pilot_dir,
        jitter_s=jitter_s,
        duplicate_frac=duplicate_frac,
    )
    per_vm = sum(p.stat().st_size for p in pilot) / len(pilot)
    shutil.rmtree(pilot_dir)
    n_vms = max(math.ceil(size_bytes / per_vm * 1.02), 1)
    data_dir = directory / "bitbrains"
    paths = write_bitbrains_set(
        GeneratorParams(n_vms=n_vms, days=days),
        seed,
        data_dir,
        jitter_s=jitter_s,
        duplicate_frac=duplicate_frac,
    )
    total = sum(p.stat().st_size for p in paths)
    while total < size_bytes:  # the pilot's estimate fell short: add VMs
        n_vms += max(math.ceil((size_bytes - total) / per_vm), 1)
        shutil.rmtree(data_dir)
        paths = write_bitbrains_set(
            GeneratorParams(n_vms=n_vms, days=days),
            seed,
            data_dir,
            jitter_s=jitter_s,
            duplicate_frac=duplicate_frac,
        )
        total = sum(p.stat().st_size for p in paths)
    return {"dir": str(data_dir), "n_files": len(paths), "n_vms": n_vms, "size_bytes": total}


def _warm(files: list[Path]) -> None:
    for path in files:
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def measure_ingest(data_dir: str) -> dict[str, Any]:
    """Time and memory of reader and builder on ``data_dir`` (run in a fresh process)."""
    from capplan.demand import build_workload
    from capplan.io import read_trace

    files = sorted(Path(data_dir).glob("*.csv"))
    _warm(files)
    with measure() as total:
        with measure() as read_m:
            trace = read_trace(f"bitbrains:{data_dir}")
        with measure() as build_m:
            workload = build_workload(trace)
        del trace
    arrays = [*workload.mean.values(), *workload.peak.values(), workload.observed]
    arrays_bytes = int(sum(a.nbytes for a in arrays))
    return {
        "ingest_s": total.wall_s,
        "read_s": read_m.wall_s,
        "build_s": build_m.wall_s,
        "peak_extra_bytes": total.peak_extra_bytes,
        "read_peak_extra_bytes": read_m.peak_extra_bytes,
        "build_peak_extra_bytes": max(build_m.peak_rss_bytes - total.baseline_rss_bytes, 0),
        "arrays_bytes": arrays_bytes,
        "n_vms": workload.n_vms,
        "n_steps": workload.n_steps,
        "metrics": list(workload.metrics),
        "quality_frac": workload.quality.overall_frac,
    }


def measure_polars(data_dir: str, repeat: int) -> dict[str, Any]:
    """Best wall time of the bare polars parse of the same files (run in a fresh process)."""
    import polars as pl

    files = [str(p) for p in sorted(Path(data_dir).glob("*.csv"))]
    _warm([Path(f) for f in files])
    schema = {f"c{i}": (pl.Int64() if i == 0 else pl.Float64()) for i in range(11)}
    best = math.inf
    rows = 0
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        frame = pl.scan_csv(
            files, separator=";", has_header=False, skip_rows=1, schema=schema, quote_char=None
        ).collect()
        best = min(best, time.perf_counter() - start)
        rows = frame.height
        del frame
    return {"polars_s": best, "rows": rows}


def _in_child(func: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result: dict[str, Any] = pool.submit(func, *args).result()
        return result


def run_ingest_bench(
    size_gb: float = 1.0,
    *,
    days: float = 30.0,
    seed: int = 1,
    jitter_s: int = 1,
    duplicate_frac: float = 0.0,
    repeat: int = 2,
    rounds: int = 2,
    tmp_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its figures (a JSON-ready dict)."""
    if not size_gb > 0:
        raise CapplanError(f"--size-gb is {size_gb}; expected a positive size")
    if rounds < 1 or repeat < 1:
        raise CapplanError(f"--rounds {rounds} and --repeat {repeat} must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="capplan-bench-ingest-", dir=tmp_dir))
    try:
        start = time.perf_counter()
        facts = generate_set(
            workdir,
            int(size_gb * BYTES_PER_GB),
            days=days,
            seed=seed,
            jitter_s=jitter_s,
            duplicate_frac=duplicate_frac,
        )
        generate_s = time.perf_counter() - start
        load_before = os.getloadavg()[0]
        runs: list[dict[str, Any]] = []
        bases: list[dict[str, Any]] = []
        for _ in range(rounds):
            runs.append(_in_child(measure_ingest, facts["dir"]))
            bases.append(_in_child(measure_polars, facts["dir"], repeat))
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ours = dict(min(runs, key=lambda run: float(run["ingest_s"])))
    for key in ("peak_extra_bytes", "read_peak_extra_bytes", "build_peak_extra_bytes"):
        ours[key] = max(int(run[key]) for run in runs)
    base = min(bases, key=lambda run: float(run["polars_s"]))
    size_mb = facts["size_bytes"] / BYTES_PER_MB
    arrays = max(ours["arrays_bytes"], 1)
    return {
        "throughput_mb_s": size_mb / ours["ingest_s"],
        "ratio_to_polars": ours["ingest_s"] / base["polars_s"],
        "peak_mem_ratio": ours["peak_extra_bytes"] / arrays,
        "targets": {
            "ratio_to_polars": TARGET_RATIO_TO_POLARS,
            "peak_mem_ratio": TARGET_PEAK_MEM_RATIO,
        },
        "size_mb": size_mb,
        "n_files": facts["n_files"],
        "n_vms": ours["n_vms"],
        "n_steps": ours["n_steps"],
        "rows": base["rows"],
        "generate_s": generate_s,
        "ingest_s": ours["ingest_s"],
        "read_s": ours["read_s"],
        "build_s": ours["build_s"],
        "polars_s": base["polars_s"],
        "polars_mb_s": size_mb / base["polars_s"],
        "arrays_mb": ours["arrays_bytes"] / BYTES_PER_MB,
        "peak_extra_mb": ours["peak_extra_bytes"] / BYTES_PER_MB,
        "read_peak_extra_mb": ours["read_peak_extra_bytes"] / BYTES_PER_MB,
        "build_peak_extra_mb": ours["build_peak_extra_bytes"] / BYTES_PER_MB,
        "read_peak_mem_ratio": ours["read_peak_extra_bytes"] / arrays,
        "quality_frac": ours["quality_frac"],
        "metrics": ours["metrics"],
        "rounds": [
            {
                "ingest_s": run["ingest_s"],
                "polars_s": other["polars_s"],
                "peak_mem_ratio": run["peak_extra_bytes"] / arrays,
            }
            for run, other in zip(runs, bases, strict=True)
        ],
        "load_avg_1m": [load_before, load_after],
    }


def _verdict(value: float, target: float) -> str:
    return "[green]met[/]" if value <= target else "[red]missed[/]"


@bench_app.command("ingest")
@user_errors
def bench_ingest(
    size_gb: float = typer.Option(1.0, "--size-gb", help="Size of the generated set in GB."),
    days: float = typer.Option(30.0, help="Days per VM (300 s samples)."),
    seed: int = typer.Option(1, help="Generator seed."),
    repeat: int = typer.Option(2, help="Runs of the polars baseline per round (best is kept)."),
    rounds: int = typer.Option(
        2, help="Alternating rounds of our ingest and the baseline (fastest of each is kept)."
    ),
    tmp_dir: Path | None = typer.Option(None, "--tmp-dir", help="Where the temporary set goes."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Generate a Bitbrains set of ≥ SIZE GB and ingest it into a Workload; print figures."""
    if not as_json:
        err_console.print(f"generating a Bitbrains set of ≥ {size_gb:g} GB (not timed) ...")
    figures = run_ingest_bench(
        size_gb, days=days, seed=seed, repeat=repeat, rounds=rounds, tmp_dir=tmp_dir
    )
    if as_json:
        print_json(figures)
        return
    console.print(
        f"input: {figures['size_mb']:,.0f} MB in {figures['n_files']:,} files, "
        f"{figures['rows']:,} rows → {figures['n_vms']:,} VMs × {figures['n_steps']:,} steps"
    )
    console.print(
        f"ingest {figures['ingest_s']:.2f} s (reader {figures['read_s']:.2f} s, builder "
        f"{figures['build_s']:.2f} s): [bold]{figures['throughput_mb_s']:,.0f} MB/s[/]"
    )
    console.print(
        f"bare polars scan_csv {figures['polars_s']:.2f} s; ratio "
        f"[bold]{figures['ratio_to_polars']:.2f}[/] (target ≤ {TARGET_RATIO_TO_POLARS}: "
        f"{_verdict(figures['ratio_to_polars'], TARGET_RATIO_TO_POLARS)})"
    )
    load = figures["load_avg_1m"]
    console.print(
        f"best of {len(figures['rounds'])} alternating round(s); 1-min load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after"
    )
    console.print(
        f"peak extra memory {figures['peak_extra_mb']:,.0f} MB (reader "
        f"{figures['read_peak_extra_mb']:,.0f} MB, builder {figures['build_peak_extra_mb']:,.0f} "
        f"MB) vs arrays {figures['arrays_mb']:,.0f} MB: ratio "
        f"[bold]{figures['peak_mem_ratio']:.2f}[/] (target ≤ {TARGET_PEAK_MEM_RATIO}: "
        f"{_verdict(figures['peak_mem_ratio'], TARGET_PEAK_MEM_RATIO)})"
    )
