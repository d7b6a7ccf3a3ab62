"""``capplan bench storage``: storage placement on a generated estate; prints wall time and gap.

The estate is generated (documented parameters below, not a measurement): ``--volumes``
volumes (default 20,000) with one day of 5-minute I/O samples, onto 12 pools built from the
bundled catalog's five SAN tiers (nvme ×2, ssd ×3, hdd-15k ×2, hdd-10k ×2, nl-sas ×3) in three
failure domains, each pool the catalog's 24-drive pool scaled linearly. The catalog publishes
no prices, so the benchmark sets its own (:data:`BENCH_PRICES_USD_PER_GIB`); they only shape
the cost landscape. Targets (issue 6): at most 60 s, gap at most 2 %.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import numpy as np
import polars as pl
import typer

from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.demand.workload import Quality, Workload
from capplan.schema import conform_inventory
from capplan.spec.catalog import Catalog, load_catalog
from capplan.storage.planner import StorageOptions, plan_storage
from capplan.storage.spec import Pool, StorageSpec, builtin_policies, scale_tier
from capplan.storage.validator import violations
from capplan.units import KIB_PER_MIB

#: Benchmark prices per GiB (parameters of the generated estate, not published figures).
BENCH_PRICES_USD_PER_GIB: Final = {
    "nvme": 0.60,
    "ssd": 0.35,
    "hdd-15k": 0.20,
    "hdd-10k": 0.15,
    "nl-sas": 0.04,
}
#: Pools of the estate: (tier, count, drive-count scale of the catalog's 24-drive pool).
BENCH_POOLS: Final = (
    ("nvme", 2, 3.0),
    ("ssd", 3, 6.0),
    ("hdd-15k", 2, 24.0),
    ("hdd-10k", 2, 24.0),
    ("nl-sas", 3, 4.0),
)
BENCH_DOMAINS: Final = ("dc-a", "dc-b", "dc-c")
BENCH_STEP_S: Final = 300
BENCH_STEPS: Final = 288


def bench_spec(catalog: Catalog) -> StorageSpec:
    """The benchmark's 12 pools in three failure domains, priced by the benchmark."""
    classes, snapshots = builtin_policies(catalog)
    classes["fast"] = 0.5
    pools = []
    k = 0
    for tier_name, count, factor in BENCH_POOLS:
        tier = scale_tier(catalog.tier(tier_name), factor)
        for i in range(count):
            pools.append(
                Pool(
                    name=f"{tier_name}-{i + 1}",
                    tier=tier,
                    failure_domain=BENCH_DOMAINS[k % len(BENCH_DOMAINS)],
                    physical_gib=tier.usable_gib,
                    price_usd_per_gib=BENCH_PRICES_USD_PER_GIB[tier_name],
                    watts_per_tib=tier.watts_per_tib,
                )
            )
            k += 1
    return StorageSpec(pools=tuple(pools), latency_classes=classes, snapshot_policies=snapshots)


def generated_estate(n_volumes: int, seed: int = 0) -> tuple[Workload, pl.DataFrame]:
    """A generated workload with disk sizes and a day of I/O, plus volume attributes.

    Sizes: provisioned lognormal (median 80 GiB, sigma 0.9), used 20-70 % of it. I/O: p95
    read IOPS lognormal (median 12, sigma 1.3), writes 30-60 % of reads, 32 KiB average
    I/O size; a daily sine shape with noise. 10 % of volumes are mirrored, 12 % need the
    ``fast`` latency class (≤ 0.5 ms: flash tiers only).
    """
    rng = np.random.default_rng(seed)
    n = n_volumes
    prov = rng.lognormal(np.log(80.0), 0.9, n)
    used = prov * rng.uniform(0.2, 0.7, n)
    read = rng.lognormal(np.log(12.0), 1.3, n)
    write = read * rng.uniform(0.3, 0.6, n)
    t = np.arange(BENCH_STEPS) / BENCH_STEPS
    shape = (0.6 + 0.4 * np.sin(2 * np.pi * (t - 0.3))).astype(np.float32)
    noise = rng.uniform(0.8, 1.2, (n, BENCH_STEPS)).astype(np.float32)
    base = shape[None, :] * noise
    read_s = base * (read / 1.0).astype(np.float32)[:, None]
    write_s = base * write.astype(np.float32)[:, None]
    io_kib = 32.0
    ids = [f"vol{i:05d}" for i in range(n)]
    inventory = conform_inventory(
        pl.DataFrame({"vm_id": ids, "disk_provisioned_gib": prov, "disk_used_gib": used})
    )
    workload = Workload(
        vm_ids=np.asarray(ids, dtype=np.str_),
        inventory=inventory,
        start=datetime(2024, 1, 1, tzinfo=UTC),
        step_s=BENCH_STEP_S,
        mean={
            "disk_read_iops": read_s,
            "disk_write_iops": write_s,
            "disk_read_mib_s": read_s * np.float32(io_kib / KIB_PER_MIB),
            "disk_write_mib_s": write_s * np.float32(io_kib / KIB_PER_MIB),
        },
        observed=np.ones((n, BENCH_STEPS), dtype=bool),
        quality=Quality(np.ones(n), 1.0),
        format="generated",
    )
    attributes = pl.DataFrame(
        {
            "vm_id": ids,
            "mirrored": rng.random(n) < 0.10,
            "latency_class": np.where(rng.random(n) < 0.12, "fast", "slo"),
        }
    )
    return workload, attributes


def run_storage_bench(
    n_volumes: int = 20_000, time_limit_s: float = 60.0, seed: int = 0, workers: int = 2
) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    catalog = load_catalog()
    spec = bench_spec(catalog)
    t0 = time.perf_counter()
    workload, attributes = generated_estate(n_volumes, seed)
    t_gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = plan_storage(
        workload,
        catalog,
        spec,
        StorageOptions(time_limit_s=time_limit_s, workers=workers, seed=seed),
        electricity_usd_per_kwh=0.0,
        pue_ratio=1.0,
        attributes=attributes,
    )
    wall = time.perf_counter() - t1
    sol = result.solution
    found = violations(result.instance, sol.assign) if sol.has_plan else ["no plan"]
    return {
        "n_volumes": n_volumes,
        "n_pools": spec.n_pools,
        "n_mirrored": int(result.volumes.mirrored.sum()),
        "status": sol.status,
        "method": sol.method,
        "cost_usd": sol.cost_usd,
        "bound_usd": sol.bound_usd,
        "gap_frac": sol.gap_frac,
        "solve_s": sol.wall_s,
        "wall_s": wall,
        "generate_s": t_gen,
        "valid": not found,
        "targets": {"wall_s": 60.0, "gap_frac": 0.02},
        "meets_targets": bool(wall <= 60.0 and sol.gap_frac <= 0.02 and not found),
    }


@bench_app.command("storage")
@user_errors
def bench_storage(
    volumes: Annotated[int, typer.Option(help="Volumes in the generated estate.")] = 20_000,
    time_limit: Annotated[float, typer.Option(help="Solver time limit, s.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the estate and the solver.")] = 0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Storage placement on a generated estate of VOLUMES volumes over 12 pools."""
    figures = run_storage_bench(volumes, time_limit, seed, workers)
    if json_out:
        print_json(figures)
        return
    console.print(
        f"storage: {figures['n_volumes']:,} volumes ({figures['n_mirrored']:,} mirrored) on "
        f"{figures['n_pools']} pools — {figures['status']} via {figures['method']}"
    )
    console.print(
        f"  wall {figures['wall_s']:.1f} s (solve {figures['solve_s']:.1f} s), cost "
        f"{figures['cost_usd']:,.2f} USD, bound {figures['bound_usd']:,.2f} USD, gap "
        f"{figures['gap_frac']:.4%}; plan valid: {figures['valid']}"
    )
    console.print(
        f"  targets: wall ≤ 60 s, gap ≤ 2 % → {'met' if figures['meets_targets'] else 'NOT met'}"
    )


__all__ = ["bench_spec", "generated_estate", "run_storage_bench"]
