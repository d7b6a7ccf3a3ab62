"""``capplan bench emulate``: speed and memory of the full replay against ``numpy.sum``.

Steps:

1. Build (untimed) a synthetic workload of ``vms × steps`` float32 demand for four metrics
   (``cpu_demand_mhz``, ``mem_active_mib``, ``disk_read_iops``, ``net_tx_mbps``; one per
   subsystem) and a random placement onto ``hosts`` hosts of one model (VM rows are *not*
   grouped by host, the general case).
2. Time a plain ``numpy.sum`` over the same four arrays (best of ``repeat``).
3. Time :func:`capplan.emulate.emulate` (the replay: aggregation, CPU, memory, storage,
   network, power), best of ``repeat``, and separately :meth:`Emulation.kpis`. The first
   replay is reported on its own too: it also pays for the process's first touch of the
   memory the replay uses (the next ones reuse it; about 4 replays reach the steady state
   on this machine, hence 7 by default).
4. Sample resident memory during the first replay (:mod:`capplan.bench.measure`).

Figures: ``ratio_to_sum`` = replay time / sum time (target ≤ 3), ``kpis_ratio_to_sum``,
``replay_and_kpis_ratio_to_sum`` (target ≤ 3), ``first_ratio_to_sum``, and
``peak_memory_ratio`` = (input arrays + peak extra resident memory of the replay) / input
arrays (target ≤ 1.5). The machine load average is printed because both the sum and the
replay are memory-bound and other processes change the ratio.
"""

from __future__ import annotations

import gc
import os
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import typer

from capplan.bench.measure import measure
from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.demand.workload import Quality, Workload
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.schema import conform_inventory
from capplan.spec.catalog import Catalog, load_catalog

TARGET_RATIO_TO_SUM = 3.0
TARGET_PEAK_MEMORY_RATIO = 1.5
BENCH_METRICS = ("cpu_demand_mhz", "mem_active_mib", "disk_read_iops", "net_tx_mbps")
BENCH_HOST_MODEL = "ibm-x3550-m3-x5670"


def synthetic_workload(n_vms: int, n_steps: int, *, seed: int = 0) -> Workload:
    """A synthetic workload with a daily cycle and noise, float32, four metrics.

    Demand levels are sized so that about a dozen VMs load a 12-core, 12 GiB host to 60-90 %
    with occasional overload and memory over-commit on a few hosts.
    """
    rng = np.random.default_rng(seed)
    steps_per_day = max(1, 86_400 // 300)
    phase = np.sin(2 * np.pi * np.arange(n_steps, dtype=np.float32) / steps_per_day)
    levels = {
        "cpu_demand_mhz": 1600.0,
        "mem_active_mib": 500.0,
        "disk_read_iops": 40.0,
        "net_tx_mbps": 20.0,
    }
    mean: dict[str, np.ndarray] = {}
    for metric, level in levels.items():
        scale = rng.gamma(2.0, level / 2.0, size=(n_vms, 1)).astype(np.float32)
        arr = rng.random((n_vms, n_steps), dtype=np.float32)
        arr *= np.float32(0.6)
        arr += np.float32(0.7)
        arr += np.float32(0.3) * phase
        arr *= scale
        mean[metric] = arr
    ids = np.asarray([f"vm{i:06d}" for i in range(n_vms)], dtype=np.str_)
    inventory = conform_inventory(
        pl.DataFrame(
            {
                "vm_id": ids.tolist(),
                "n_vcpus": rng.integers(1, 5, n_vms).tolist(),
                "mem_provisioned_mib": (
                    np.ceil(mean["mem_active_mib"][:, 0] * 1.3 / 256) * 256
                ).tolist(),
                "disk_provisioned_gib": rng.integers(20, 200, n_vms).astype(float).tolist(),
                "os_family": ["linux"] * n_vms,
                "vlan_id": rng.integers(1, 51, n_vms).tolist(),
            }
        )
    )
    return Workload(
        vm_ids=ids,
        inventory=inventory,
        start=datetime(2024, 1, 1, tzinfo=UTC),
        step_s=300,
        mean=mean,
        observed=np.ones((n_vms, n_steps), dtype=bool),
        quality=Quality(np.ones(n_vms), 1.0),
        format="synthetic",
    )


def run_bench(
    n_vms: int,
    n_steps: int,
    n_hosts: int,
    *,
    repeat: int = 7,
    mode: str = "hw-assisted",
    seed: int = 0,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return a JSON-ready dict of figures (see the module docstring)."""
    if min(n_vms, n_steps, n_hosts, repeat) < 1:
        raise CapplanError("vms, steps, hosts and repeat must all be ≥ 1")
    from capplan.emulate.engine import emulate

    cat = catalog or load_catalog()
    if BENCH_HOST_MODEL not in cat.hosts:
        raise CapplanError(f"the catalog lacks host model {BENCH_HOST_MODEL!r} used by the bench")
    workload = synthetic_workload(n_vms, n_steps, seed=seed)
    rng = np.random.default_rng(seed + 1)
    placement = Placement.from_assignment(
        workload.vm_ids, rng.integers(0, n_hosts, n_vms), [BENCH_HOST_MODEL] * n_hosts
    )
    arrays = [workload.mean[m] for m in BENCH_METRICS]
    input_bytes = sum(a.nbytes for a in arrays)

    def timed(func: Any) -> float:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            func()
            best = min(best, time.perf_counter() - start)
        return best

    sum_s = timed(lambda: [float(np.sum(a)) for a in arrays])
    # Load the compiled kernels on a tiny copy first: the first timed replay then measures
    # the replay and its first touch of memory, not the loading of machine code.
    tiny = synthetic_workload(8, 16, seed=seed)
    tiny_placement = Placement.from_assignment(tiny.vm_ids, [0] * 8, [BENCH_HOST_MODEL])
    emulate(tiny, tiny_placement, cat, mode).kpis()
    gc.collect()
    with measure() as mem:
        result = emulate(workload, placement, cat, mode)
    peak_extra = mem.peak_extra_bytes
    first_s = mem.wall_s
    del result
    gc.collect()
    replay_s = min(first_s, timed(lambda: emulate(workload, placement, cat, mode)))
    result = emulate(workload, placement, cat, mode)
    kpis_s = timed(result.kpis)
    kpis = result.kpis()
    sum_again_s = timed(lambda: [float(np.sum(a)) for a in arrays])
    sum_s = min(sum_s, sum_again_s)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "vms": n_vms,
        "steps": n_steps,
        "hosts": n_hosts,
        "metrics": list(BENCH_METRICS),
        "mode": mode,
        "input_bytes": input_bytes,
        "sum_s": sum_s,
        "replay_s": replay_s,
        "first_replay_s": first_s,
        "ratio_to_sum": replay_s / sum_s,
        "first_ratio_to_sum": first_s / sum_s,
        "target_ratio_to_sum": TARGET_RATIO_TO_SUM,
        "kpis_s": kpis_s,
        "kpis_ratio_to_sum": kpis_s / sum_s,
        "replay_and_kpis_ratio_to_sum": (replay_s + kpis_s) / sum_s,
        "peak_extra_bytes": peak_extra,
        "peak_memory_ratio": (input_bytes + peak_extra) / input_bytes,
        "target_peak_memory_ratio": TARGET_PEAK_MEMORY_RATIO,
        "load_average_1min": load[0],
        "kpis": {
            k: getattr(kpis, k)
            for k in (
                "energy_kwh",
                "slatah_frac",
                "pdm_frac",
                "overloaded_host_steps",
                "paging_mib",
                "p95_cpu_util_frac",
            )
        },
    }


@bench_app.command("emulate")
@user_errors
def bench_emulate(
    vms: int = typer.Option(10_000, "--vms", help="Number of VMs."),
    steps: int = typer.Option(8_640, "--steps", help="Steps (8,640 = 30 days at 300 s)."),
    hosts: int = typer.Option(800, "--hosts", help="Number of hosts."),
    repeat: int = typer.Option(7, "--repeat", help="Timed repetitions (best is kept)."),
    mode: str = typer.Option("hw-assisted", "--mode", help="Virtualization mode."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time the full replay against numpy.sum over the same arrays; print peak memory."""
    figures = run_bench(vms, steps, hosts, repeat=repeat, mode=mode)
    if json:
        print_json(figures)
        return
    mib = figures["input_bytes"] / 2**20
    console.print(
        f"{figures['vms']:,} VMs × {figures['steps']:,} steps × {len(BENCH_METRICS)} metrics "
        f"({mib:,.0f} MiB float32) onto {figures['hosts']:,} hosts, mode {mode}"
    )
    console.print(f"numpy.sum over the inputs : {figures['sum_s'] * 1000:9.1f} ms")
    console.print(
        f"full replay (emulate)     : {figures['replay_s'] * 1000:9.1f} ms  "
        f"ratio_to_sum {figures['ratio_to_sum']:.2f} (target ≤ {TARGET_RATIO_TO_SUM:g})"
    )
    console.print(
        f"first replay              : {figures['first_replay_s'] * 1000:9.1f} ms  "
        f"ratio {figures['first_ratio_to_sum']:.2f} (with first touch of its memory)"
    )
    console.print(
        f"KPIs                      : {figures['kpis_s'] * 1000:9.1f} ms  "
        f"ratio {figures['kpis_ratio_to_sum']:.2f}"
    )
    console.print(
        f"replay + KPIs             : {(figures['replay_s'] + figures['kpis_s']) * 1000:9.1f} ms  "
        f"ratio {figures['replay_and_kpis_ratio_to_sum']:.2f} (target ≤ {TARGET_RATIO_TO_SUM:g})"
    )
    console.print(
        f"peak memory               : {figures['peak_memory_ratio']:.2f} × input "
        f"(target ≤ {TARGET_PEAK_MEMORY_RATIO:g}; "
        f"extra {figures['peak_extra_bytes'] / 2**20:,.0f} MiB)"
    )
    console.print(f"load average (1 min)      : {figures['load_average_1min']:.2f}")
