"""CPU: demand under a virtualization mode against a host's normalized capacity.

Units: demand and capacity in *normalized* MHz (MHz of the reference core the demand was
measured on; a host's capacity is cores × base clock × perf_factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from capplan.emulate.aggregate import aggregate
from capplan.emulate.blocks import map_row_blocks
from capplan.emulate.context import Replay
from capplan.errors import CapplanError
from capplan.spec.catalog import vm_multiplier

F32 = npt.NDArray[np.float32]

#: Rows of :attr:`CpuResult.host_totals`.
DEMAND_SUM, UNMET_SUM, UTIL_SUM, UTIL_MAX = range(4)


@dataclass(frozen=True)
class CpuResult:
    """CPU replay of every host.

    Attributes
    ----------
    demand_mhz
        Demand including the mode's overhead, float32 ``(n_hosts, n_steps)``.
    util_frac
        ``min(demand / capacity, 1)``, float32 ``(n_hosts, n_steps)``.
    unmet_mhz
        ``max(demand − capacity, 0)``: demand the host could not serve (contention).
    overloaded_steps
        Steps with unmet demand, per host, int64 ``(n_hosts,)``.
    capacity_mhz
        Normalized capacity per host, float64 ``(n_hosts,)``.
    host_totals
        Per host, float64 ``(4, n_hosts)``, made in the same pass: the sums over steps of
        demand, unmet demand and utilization (added step by step in float64), and the
        largest utilization (rows :data:`DEMAND_SUM`, :data:`UNMET_SUM`, :data:`UTIL_SUM`,
        :data:`UTIL_MAX`; a NaN step is skipped by the maximum and spreads through the sums).
    """

    demand_mhz: F32
    util_frac: F32
    unmet_mhz: F32
    overloaded_steps: npt.NDArray[np.int64]
    capacity_mhz: npt.NDArray[np.float64]
    host_totals: npt.NDArray[np.float64]

    def served_frac(self) -> F32:
        """Share of demand served in each host-step: ``min(capacity / demand, 1)`` (1 if idle)."""
        cap = self.capacity_mhz.astype(np.float32)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(self.demand_mhz > cap, cap / self.demand_mhz, np.float32(1.0))
        return frac.astype(np.float32)


@numba.njit(nogil=True, cache=True)
def _cpu_rows(
    demand: F32,
    factor: np.float32,
    cap: npt.NDArray[np.float32],
    inv_cap: npt.NDArray[np.float32],
    util: F32,
    unmet: F32,
    overloaded: npt.NDArray[np.int64],
    totals: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; tested through cpu_replay()
    """One pass over host rows: scale demand in place, then utilization, unmet, overloaded,
    and each host's totals (``totals``: the rows of :attr:`CpuResult.host_totals`).

    Same float32 operations as ``np.minimum`` / ``np.subtract`` / ``np.multiply`` (NaN
    propagates as it does there).
    """
    one = np.float32(1.0)
    for h in range(demand.shape[0]):
        c = cap[h]
        inv = inv_cap[h]
        n_over = 0
        demand_sum = 0.0
        unmet_sum = 0.0
        util_sum = 0.0
        util_max = -np.inf
        for t in range(demand.shape[1]):
            d = demand[h, t]
            if factor != one:
                d = d * factor
                demand[h, t] = d
            served = c if d > c else d
            short = d - served
            unmet[h, t] = short
            if short != 0:
                n_over += 1
            u = served * inv
            u = one if u > one else u
            util[h, t] = u
            demand_sum += np.float64(d)
            unmet_sum += np.float64(short)
            util_sum += np.float64(u)
            util_max = max(util_max, np.float64(u))
        overloaded[h] = n_over
        totals[DEMAND_SUM, h] = demand_sum
        totals[UNMET_SUM, h] = unmet_sum
        totals[UTIL_SUM, h] = util_sum
        totals[UTIL_MAX, h] = util_max


def cpu_replay(
    host_demand_mhz: F32,
    capacity_mhz: npt.ArrayLike,
    *,
    demand_multiplier: float = 1.0,
    workers: int | None = None,
) -> CpuResult:
    """Replay CPU demand on hosts.

    ``demand = native_demand × m`` with ``m = 1 / (1 − cpu_overhead_frac)``;
    ``util = min(demand, capacity) / capacity``; ``unmet = demand − min(demand, capacity)``.

    Parameters
    ----------
    host_demand_mhz
        Native demand summed per host, float32 ``(n_hosts, n_steps)``; the array is kept
        (scaled **in place** by ``demand_multiplier``) as the result's ``demand_mhz``.
    capacity_mhz
        Normalized capacity per host, ``(n_hosts,)``; must be > 0.
    demand_multiplier
        The mode's ``1 / (1 − cpu_overhead_frac)`` (1 when the caller already applied it).
    workers
        Threads for the row blocks (:mod:`capplan.emulate.blocks`).

    Returns
    -------
    CpuResult
    """
    cap = np.asarray(capacity_mhz, dtype=np.float64)
    demand = host_demand_mhz
    n_hosts, n_steps = demand.shape
    cap32 = cap.astype(np.float32)
    inv_cap32 = (1.0 / cap).astype(np.float32)
    util = np.empty_like(demand)
    unmet = np.empty_like(demand)
    overloaded = np.zeros(n_hosts, dtype=np.int64)
    totals = np.empty((4, n_hosts), dtype=np.float64)
    factor = np.float32(demand_multiplier)

    def block(rows: slice) -> None:
        _cpu_rows(
            demand[rows],
            factor,
            cap32[rows],
            inv_cap32[rows],
            util[rows],
            unmet[rows],
            overloaded[rows],
            totals[:, rows],
        )

    map_row_blocks(block, n_hosts, n_steps, workers=workers)
    return CpuResult(demand, util, unmet, overloaded, cap, totals)


def ready_frac(
    util_frac: npt.ArrayLike,
    n_cores: npt.ArrayLike,
    vcpus_per_core_ratio: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """CPU-ready estimate: share of time a runnable vCPU waits for a core.

    Each host is an M/M/c queue with ``c = n_cores`` servers at per-server utilization
    ``ρ``. Sakasegawa's approximation of the mean wait gives ``Wq / S = ρ^(√(2(c+1)) − 1) /
    (c (1 − ρ))``; the ready share is ``Wq / (Wq + S)``. Saturated steps (``ρ ≥ 1``) are
    evaluated at ``ρ = 0.999``. Hosts whose vCPUs do not outnumber their cores
    (``vcpus_per_core_ratio ≤ 1``) never queue: ready = 0.

    Sakasegawa, H., "An approximation formula L_q ≈ α·ρ^β/(1−ρ)", Annals of the Institute of
    Statistical Mathematics 29 (1977) 67–75.

    Parameters
    ----------
    util_frac
        ``(n_hosts, n_steps)`` utilization.
    n_cores
        Physical cores per host, ``(n_hosts,)``.
    vcpus_per_core_ratio
        Sum of the host's vCPUs over its cores, ``(n_hosts,)``.

    Returns
    -------
    ndarray
        float64 ``(n_hosts, n_steps)`` in [0, 1).
    """
    rho = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 0.999)
    c = np.maximum(np.asarray(n_cores, dtype=np.float64), 1.0)[:, None]
    exponent = np.sqrt(2.0 * (c + 1.0)) - 1.0
    wait = rho**exponent / (c * (1.0 - rho))
    ready = wait / (1.0 + wait)
    over = np.asarray(vcpus_per_core_ratio, dtype=np.float64)[:, None] > 1.0
    return np.where(over, ready, 0.0)


def erlang_c(servers: npt.ArrayLike, rho: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Erlang's C: the chance an arrival waits in an M/M/c queue at per-server load ``ρ < 1``.

    From the Erlang B recursion ``B_k = a B_{k−1} / (k + a B_{k−1})``, ``a = c ρ``, then
    ``C = c B / (c − a (1 − B))``; vectorized over ``rho``'s shape (``servers`` broadcast to
    it, e.g. one count per row ``(n, 1)``), the recursion stopping at each element's own
    ``c``, computed in ``rho``'s dtype.
    """
    load = np.atleast_1d(rho)
    dtype = load.dtype.type
    c = np.broadcast_to(np.asarray(servers, dtype=load.dtype), load.shape)
    a = c * load
    blocking = np.ones(load.shape, dtype=load.dtype)
    for k in range(1, int(np.max(servers)) + 1):
        step = a * blocking
        np.divide(step, step + dtype(k), out=step)
        np.copyto(blocking, step, where=c >= k)
    out = c * blocking / (c - a * (dtype(1.0) - blocking))
    return np.asarray(out.reshape(np.shape(rho)), dtype=load.dtype)


def erlang_c_wait(
    cores: npt.NDArray[np.float32], rho: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Exact mean M/M/c wait in service times, ``Wq / S = C(c, a) / (c (1 − ρ))``, with
    :func:`erlang_c` (``cores`` per row, ``(n, 1)``; float32)."""
    c = np.broadcast_to(cores, rho.shape)
    return np.asarray(erlang_c(cores, rho) / (c * (np.float32(1.0) - rho)), dtype=np.float32)


def ready_wall_frac(
    util_frac: npt.NDArray[np.float32],
    n_cores: npt.ArrayLike,
    n_vcpus: npt.ArrayLike,
) -> npt.NDArray[np.float32]:
    """CPU ready as VMware's %RDY: share of wall time a vCPU is runnable but waits for a core.

    Each host is an M/M/c queue (``c`` = cores, per-core utilization ``ρ``) with the exact
    mean wait :func:`erlang_c_wait`. A vCPU that runs ``u`` of the time waits ``Wq / S`` per
    unit of run time, so its ready time per second of wall time is ``u · Wq / S``; averaged
    over the host's vCPUs ``u = ρ · c / n_vcpus``. Hosts whose vCPUs do not outnumber their
    cores never queue: ready = 0. Saturated steps are evaluated at ``ρ = 0.999``.

    Parameters
    ----------
    util_frac
        ``(n_hosts, n_steps)`` utilization.
    n_cores
        Physical cores per host, ``(n_hosts,)``.
    n_vcpus
        vCPUs placed on each host, ``(n_hosts,)``.

    Returns
    -------
    ndarray
        float32 ``(n_hosts, n_steps)``: mean ready time per vCPU per second of wall time.
    """
    cores = np.maximum(np.round(np.asarray(n_cores, dtype=np.float64)), 1.0)
    vcpus = np.asarray(n_vcpus, dtype=np.float64)
    util = np.asarray(util_frac, dtype=np.float32)
    ready = np.zeros(util.shape, dtype=np.float32)
    rows = np.flatnonzero(vcpus > cores)
    if not len(rows):
        return ready
    c = cores[rows].astype(np.float32)[:, None]
    rho = np.clip(util[rows], np.float32(0.0), np.float32(0.999))
    wait = erlang_c_wait(c, rho)
    run_share = np.minimum(rho * (c / vcpus[rows].astype(np.float32)[:, None]), np.float32(1.0))
    ready[rows] = wait * run_share
    return ready


def ready_threshold_util(
    n_cores: npt.ArrayLike, n_vcpus: npt.ArrayLike, ready_limit_frac: float
) -> npt.NDArray[np.float64]:
    """Per host, the utilization above which :func:`ready_wall_frac` exceeds the limit.

    Ready rises with utilization on each host, so the host-steps above the limit are the
    steps whose utilization exceeds this threshold (found by bisection in float32, 30 halvings
    of [0, 0.999]; ``inf`` for hosts that never queue or never reach the limit below
    ρ = 0.999). Compiled: :func:`_ready_one` repeats :func:`ready_wall_frac`'s float32
    arithmetic for one host-step, operation for operation.
    """
    cores = np.maximum(np.round(np.asarray(n_cores, dtype=np.float64)), 1.0)
    vcpus = np.asarray(n_vcpus, dtype=np.float64)
    return _thresholds(
        cores.astype(np.float32), vcpus, vcpus.astype(np.float32), np.float32(ready_limit_frac)
    )


@numba.njit(cache=True)
def _ready_one(
    util: np.float32, cores: np.float32, vcpus: float, vcpus32: np.float32
) -> np.float32:  # pragma: no cover - compiled; checked against ready_wall_frac in the tests
    """:func:`ready_wall_frac` of one host-step (``cores`` rounded, at least 1)."""
    if not vcpus > cores:
        return np.float32(0.0)
    one = np.float32(1.0)
    rho = min(max(util, np.float32(0.0)), np.float32(0.999))
    a = cores * rho
    blocking = one
    for k in range(1, int(cores) + 1):
        step = a * blocking
        blocking = step / (step + np.float32(k))
    erlang = cores * blocking / (cores - a * (one - blocking))
    wait = erlang / (cores * (one - rho))
    run_share = min(rho * (cores / vcpus32), one)
    return wait * run_share


@numba.njit(cache=True)
def _thresholds(
    cores: npt.NDArray[np.float32],
    vcpus: npt.NDArray[np.float64],
    vcpus32: npt.NDArray[np.float32],
    limit: np.float32,
) -> npt.NDArray[np.float64]:  # pragma: no cover - compiled; tested through the caller
    out = np.empty(len(cores), dtype=np.float64)
    for h in range(len(cores)):
        c, v, v32 = cores[h], vcpus[h], vcpus32[h]
        low = np.float32(0.0)
        high = np.float32(0.999)
        if not _ready_one(high, c, v, v32) > limit:
            out[h] = np.inf
            continue
        for _ in range(30):
            mid = (low + high) / np.float32(2.0)
            if _ready_one(mid, c, v, v32) > limit:
                high = mid
            else:
                low = mid
        out[h] = high
    return out


@numba.njit(nogil=True, cache=True)
def _add_scaled(out: F32, values: F32, factor: np.float32) -> None:  # pragma: no cover - compiled
    """``out += values * factor`` in float32, in place, without numpy's temporary."""
    for h in range(out.shape[0]):
        for t in range(out.shape[1]):
            out[h, t] += values[h, t] * factor


def _add_io_cpu(ctx: Replay, cpu_host: F32) -> None:
    """Add to each host the CPU its VMs' served I/O costs on the mode's path: all their
    IOPS, less what a VM asks above its path's ceiling (not served, so not processed)."""
    io_mhz = ctx.virt.io_cpu_mhz_per_iops
    metrics = [m for m in ("disk_read_iops", "disk_write_iops") if m in ctx.metrics]
    if io_mhz <= 0 or not metrics:
        return
    peaks = np.zeros(ctx.workload.n_vms)
    for metric in metrics:
        host_iops, vm_peak = ctx.per_host(metric)
        _add_scaled(cpu_host, host_iops, np.float32(io_mhz))
        peaks += vm_peak
    ceiling = ctx.virt.vm_iops_ceiling
    for vm in np.flatnonzero(peaks > ceiling).tolist():
        total = sum(ctx.metrics[m][vm].astype(np.float64) for m in metrics)
        excess = np.maximum(total - ceiling, 0.0) * io_mhz
        cpu_host[ctx.host_map.group_of_vm[vm]] -= excess.astype(np.float32)


def replay_cpu(ctx: Replay) -> CpuResult | None:
    """The CPU stage: each host's demand under the mode against its capacity.

    A VM's demand is its native demand × the mode's multiplier for its kernel-mode share
    (:meth:`~capplan.spec.catalog.VirtMode.cpu_multiplier`), plus the CPU its served I/O costs
    on the mode's I/O path (IOPS up to the path's ceiling × ``io_cpu_mhz_per_iops``).

    None when the workload has no ``cpu_demand_mhz``.
    """
    if "cpu_demand_mhz" not in ctx.metrics:
        return None
    capacity = ctx.params.capacity_mhz
    if not np.all(np.isfinite(capacity) & (capacity > 0)):
        raise CapplanError("a host model has no CPU capacity (cores × clock × perf_factor)")
    multiplier = vm_multiplier(
        ctx.virt, ctx.catalog.guest, ctx.workload.inventory_column("cpu_kernel_frac")
    )
    uniform = bool(np.all(multiplier == multiplier[0])) if len(multiplier) else True
    cpu_host = aggregate(
        ctx.metrics["cpu_demand_mhz"],
        ctx.host_map,
        weights=None if uniform else multiplier,
        scale=float(multiplier[0]) if uniform and len(multiplier) else 1.0,
        workers=ctx.workers,
    )
    _add_io_cpu(ctx, cpu_host)
    return cpu_replay(cpu_host, capacity, workers=ctx.workers)
