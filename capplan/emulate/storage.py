"""Storage: SAN tier load, latency from a queueing model, capacity, multipath.

Units: IOPS, MiB/s, ms, GiB. Per tier and step:

- back-end IOPS ``= reads + write_penalty × writes`` (paging traffic included: half page-ins,
  half page-outs, one I/O per page)
- IOPS ceiling ``= min(tier max_iops, appliance max_iops)``: the array serves what it serves
  whoever its clients are. The virtualization mode acts per VM instead
  (:func:`capplan.emulate.routing.routed_path_iops`):
  each VM's I/O path delivers at most ``io_iops_factor`` × the native per-VM ceiling
  (:data:`capplan.spec.catalog.NATIVE_VM_IOPS`, the one-VM fio figure of Felter et al.
  2015); demand above it is not served (counted in ``unserved_iops``). The path also adds
  ``io_added_read_latency_ms`` and ``io_added_write_latency_ms`` to each VM read and write
  (not to the hypervisor's paging; :attr:`TierResult.vm_latency_ms`) and ``io_cpu_us_per_io``
  of CPU per served I/O (charged by :mod:`capplan.emulate.cpu`), all from Felter et al.'s fio
  logs
- routing: each VM's I/O lands on the pool its storage plan (or the user's layout) chose
  (:mod:`capplan.emulate.routing`), else on the default tier
- load ``ρ = max(back-end IOPS / IOPS ceiling, MiB/s / MiB/s ceiling)``
- the pool is an M/M/c queue (:func:`pool_servers`): ``c = max_iops × S`` servers of service
  time ``S = base_latency`` (24 for a pool of 24 drives that each serve one I/O at a time;
  24 × 74 for 24 NVMe drives whose datasheet IOPS and latency imply 74 I/Os in flight each).
  Latency ``= S (1 + C(c, a) / (c (1 − ρ))) + queue delay + appliance latency`` with Erlang's
  C at ``ρ`` capped at 0.99, plus the wait behind the backlog that saturated steps leave (a
  fluid queue, :func:`backlog_s`): work beyond the ceiling is carried into the next steps and
  drained at the ceiling, instead of being forgotten at the end of each step. Steps with
  ``ρ ≥ 1`` are counted as overloaded. (One server of the pool's whole capacity, M/M/1 with the
  drive's service time, overstated the wait of a striped pool at moderate load c-fold.)
- request-level percentiles (:meth:`TierResult.request_latency_ms`): within a step a request's
  response time is the appliance latency plus the queue delay plus its M/M/c sojourn: an
  exponential service, plus with probability ``C`` an exponential wait of mean
  ``S / (c (1 − ρ))``. Over the replay the requests' distribution is the mixture of the steps
  weighted by the I/Os each serves, and its quantiles are found by Newton's method in a
  bracket (:func:`mixture_quantiles_ms`). (Percentiles *over
  steps of the mean* understated the tail.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from capplan.emulate.aggregate import aggregate
from capplan.emulate.context import DISK_METRICS, Replay
from capplan.emulate.cpu import erlang_c
from capplan.emulate.routing import group_weights, routed_path_iops
from capplan.spec.catalog import SanDesign, SanTier
from capplan.units import KIB_PER_MIB, MIB_PER_GIB

F64 = npt.NDArray[np.float64]


#: Load at which the queueing model's wait is capped (the M/M/c wait at ρ = 0.99).
RHO_CAP: Final = 0.99


@dataclass(frozen=True)
class TierResult:
    """One tier's replay; arrays are float64 ``(n_steps,)``.

    Attributes
    ----------
    name
        Catalog tier name.
    frontend_iops
        I/O requests from the VMs (and paging) per second.
    backend_iops
        I/Os the drives serve (writes × write penalty).
    mib_s
        Throughput.
    load_ratio
        ``ρ``; above 1 the tier cannot keep up.
    latency_ms
        Mean response time.
    latency_slo_ms
        The design's latency objective.
    usable_gib, allocated_gib, provisioned_gib
        Capacity of the pool, capacity taken (used if thin provisioned, else provisioned,
        plus snapshot overhead and swap files) and capacity promised to the VMs.
    unserved_iops
        VM I/O requests per second above their I/O path's ceiling (not served).
    wait_prob, wait_mean_ms, delay_ms
        Per step: the chance an I/O waits for a server (Erlang's C), the mean of that wait,
        and the fluid queue's delay (None when the replay had no step length: no backlog
        carried).
    service_ms
        Service time of one I/O.
    backlog_s
        Work waiting at the end of each step, in seconds of service at the ceiling.
    appliance_ms
        Latency the SAN appliance adds to every I/O.
    path_ms
        Per step, the latency the virtualization mode's I/O path adds to a VM I/O (its reads'
        and writes' figures weighted by their rates; 0 in steps without VM I/O): ``latency_ms``
        is the pool's response time, a VM's I/O sees :attr:`vm_latency_ms`. None: no path
        latency.
    vm_iops
        VM I/O requests per step (the rest of ``frontend_iops`` is the hypervisor's paging,
        which does not cross the path); None: all of them.
    """

    name: str
    frontend_iops: F64
    backend_iops: F64
    mib_s: F64
    load_ratio: F64
    latency_ms: F64
    latency_slo_ms: float
    usable_gib: float
    allocated_gib: float
    provisioned_gib: float
    unserved_iops: F64 | None = None
    wait_prob: F64 | None = None
    wait_mean_ms: F64 | None = None
    delay_ms: F64 | None = None
    backlog_s: F64 | None = None
    appliance_ms: float = 0.0
    service_ms: float = 0.0
    path_ms: F64 | None = None
    vm_iops: F64 | None = None

    def request_latency_ms(self, quantile: float) -> float | None:
        """Request-level latency quantile over the replay (see the module docstring); None
        without I/O or without per-step queue figures."""
        found = self.request_latencies_ms((quantile,))
        return None if found is None else found[0]

    def request_latencies_ms(self, quantiles: tuple[float, ...]) -> list[float] | None:
        """:meth:`request_latency_ms` for several quantiles at once. A step's VM requests
        cross the mode's I/O path and its paging requests do not: two parts of the mixture."""
        if self.wait_prob is None or self.wait_mean_ms is None or self.delay_ms is None:
            return None
        shift = self.delay_ms + self.appliance_ms
        if self.path_ms is None:
            return mixture_quantiles_ms(
                self.service_ms,
                self.wait_prob,
                self.wait_mean_ms,
                shift,
                self.frontend_iops,
                quantiles,
            )
        vm = self.frontend_iops if self.vm_iops is None else self.vm_iops
        paging = np.maximum(self.frontend_iops - vm, 0.0)
        return mixture_quantiles_ms(
            self.service_ms,
            np.concatenate([self.wait_prob, self.wait_prob]),
            np.concatenate([self.wait_mean_ms, self.wait_mean_ms]),
            np.concatenate([shift + self.path_ms, shift]),
            np.concatenate([vm, paging]),
            quantiles,
        )

    @property
    def util_frac(self) -> F64:
        """``min(ρ, 1)``."""
        return np.minimum(self.load_ratio, 1.0)

    @property
    def vm_latency_ms(self) -> F64:
        """Mean response time a VM's I/O sees per step: the pool's plus the mode's I/O path."""
        return self.latency_ms + self._path()

    def _path(self) -> F64 | float:
        return 0.0 if self.path_ms is None else self.path_ms

    @property
    def slo_breach_steps(self) -> int:
        """Steps whose VM I/O latency exceeds the objective."""
        return int(np.count_nonzero(self.vm_latency_ms > self.latency_slo_ms))

    @property
    def capacity_used_frac(self) -> float:
        """Allocated over usable capacity (may exceed 1: the pool is too small)."""
        return self.allocated_gib / self.usable_gib


def backlog_s(load_ratio: npt.ArrayLike, step_s: float) -> F64:
    """Work waiting at the end of each step, seconds of service at the ceiling (fluid queue).

    Each step brings ``ρ · Δt`` seconds of work and serves at most ``Δt``; what is left is
    carried: ``B_t = max(0, B_{t−1} + (ρ_t − 1) Δt)`` (Lindley's recursion), computed as the
    running sum of the excess less its running minimum (no Python loop).
    """
    excess = (np.asarray(load_ratio, dtype=np.float64) - 1.0) * float(step_s)
    total = np.cumsum(excess)
    floor = np.minimum.accumulate(np.minimum(total, 0.0))
    return np.asarray(total - floor, dtype=np.float64)


def pool_servers(tier: SanTier) -> int:
    """Servers of the tier's M/M/c queue: I/Os in flight at the ceiling, ``max_iops × S``."""
    return max(1, round(tier.max_iops * tier.base_latency_ms / 1000.0))


def mean_latency_ms(tier: SanTier, rho: npt.ArrayLike) -> F64:
    """The M/M/c mean response time of the tier at per-server load ``ρ`` (capped at
    :data:`RHO_CAP`), without queue backlog or appliance: ``S (1 + C / (c (1 − ρ)))``."""
    servers = pool_servers(tier)
    load = np.asarray(np.minimum(np.asarray(rho, dtype=np.float64), RHO_CAP))
    wait = erlang_c(servers, load) / (servers * (1.0 - load))
    return np.asarray(tier.base_latency_ms * (1.0 + wait), dtype=np.float64)


def load_for_latency(tier: SanTier, latency_ms: float) -> float:
    """The highest load (at most :data:`RHO_CAP`) at which :func:`mean_latency_ms` stays within
    ``latency_ms``; 0 when even the unloaded service time exceeds it (bisection)."""
    if latency_ms < tier.base_latency_ms:
        return 0.0
    if float(mean_latency_ms(tier, RHO_CAP)) <= latency_ms:
        return RHO_CAP
    lo, hi = 0.0, RHO_CAP
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if float(mean_latency_ms(tier, mid)) <= latency_ms:
            lo = mid
        else:
            hi = mid
    return lo


#: Means of the longer of a sojourn's two phases beyond which its tail is at most 1.3e-18 (the
#: slowest case, equal rates: (1 + 45) e^-45).
REACH_SOJOURNS = 45.0


def _sojourn(t_ms: F64, service_ms: float, wait_prob: F64, wait_mean_ms: F64) -> tuple[F64, F64]:
    """Distribution and density of an M/M/c sojourn at ``t`` (see :func:`sojourn_cdf`)."""
    t = np.maximum(t_ms, 0.0)
    mu = 1.0 / service_ms
    theta = 1.0 / wait_mean_ms
    e_mu = np.exp(-mu * t)
    served_cdf = 1.0 - e_mu
    same = np.abs(theta - mu) <= 1e-8 * mu
    gap = np.where(same, 1.0, theta - mu)
    e_theta = np.exp(-theta * t)
    both_cdf = np.where(
        same, 1.0 - e_mu * (1.0 + mu * t), 1.0 - (theta * e_mu - mu * e_theta) / gap
    )
    both_pdf = np.where(same, mu * mu * t * e_mu, theta * mu * (e_mu - e_theta) / gap)
    cdf = (1.0 - wait_prob) * served_cdf + wait_prob * both_cdf
    pdf = np.where(t_ms > 0, (1.0 - wait_prob) * mu * e_mu + wait_prob * both_pdf, 0.0)
    return np.asarray(cdf, dtype=np.float64), np.asarray(pdf, dtype=np.float64)


def sojourn_cdf(t_ms: F64, service_ms: float, wait_prob: F64, wait_mean_ms: F64) -> F64:
    """``P(T ≤ t)`` of an M/M/c sojourn: an exponential service of mean ``S``, plus with
    probability ``C`` an exponential wait (the hypoexponential sum of the two)."""
    return _sojourn(np.asarray(t_ms, dtype=np.float64), service_ms, wait_prob, wait_mean_ms)[0]


def mixture_quantiles_ms(
    service_ms: float,
    wait_prob: F64,
    wait_mean_ms: F64,
    shift_ms: F64,
    weights: F64,
    quantiles: tuple[float, ...],
    *,
    iterations: int = 60,
) -> list[float] | None:
    """Quantiles of the requests' response time over steps: step ``t`` holds ``weights[t]``
    requests, each taking ``shift_ms[t]`` plus an M/M/c sojourn (:func:`sojourn_cdf`).

    The distribution rises from 0 at the smallest shift; a binary search over the steps'
    distinct shifts first brackets each quantile between two of them (the sojourns are short
    next to a backlog's shifts, so this bracket is narrow), then Newton's method runs inside
    the bracket, all quantiles at once, the bracket shrinking every iteration (a step leaving
    it bisects instead); it stops when the miss of the distribution is below 1e-12, or the
    bracket or Newton's step below 1e-12 of the quantile (float64's resolution). None when
    no step has weight.
    """
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    if not keep.any():
        return None
    order = np.argsort(shift_ms[keep], kind="stable")
    w = (w[keep] / w[keep].sum())[order]
    prob, wait, shift = wait_prob[keep][order], wait_mean_ms[keep][order], shift_ms[keep][order]
    target = np.asarray(quantiles, dtype=np.float64)
    weight_before = np.concatenate(([0.0], np.cumsum(w)))
    # A sojourn outlasts REACH_SOJOURNS of its longest mean with probability ≤ 1.3e-18: a step
    # whose shift lies that far below x is complete at x, and one above x has not started.
    # Only the steps in between are evaluated (few when a backlog spreads the shifts).
    reach = REACH_SOJOURNS * max(service_ms, float(wait.max()))

    def mixture(x: F64) -> tuple[F64, F64]:
        start = np.searchsorted(shift, x - reach, side="left")
        stop = np.searchsorted(shift, x, side="right")
        cdf = np.empty(len(x))
        pdf = np.empty(len(x))
        for j, (a, b) in enumerate(zip(start.tolist(), stop.tolist(), strict=True)):
            c, d = _sojourn(x[j] - shift[a:b], service_ms, prob[a:b], wait[a:b])
            cdf[j] = weight_before[a] + c @ w[a:b]
            pdf[j] = d @ w[a:b]
        return cdf, pdf

    tail = -np.log1p(-target)
    lo, hi = _shift_bracket(np.unique(shift), target, lambda x: mixture(x)[0])
    hi = np.minimum(hi, shift.max() + (service_ms + wait.max()) * (tail + 1.0) + 1e-9)
    # Far-apart shifts (a backlog) leave the distribution flat between them: 30 of the longest
    # sojourns above the lower shift it has nearly reached its next level, so the quantile
    # usually lies below that point (kept only where the distribution confirms it).
    near = lo + 30.0 * (service_ms + float(wait.max()))
    hi = np.where((near < hi) & (mixture(near)[0] >= target), near, hi)
    x = 0.5 * (lo + hi)
    for _ in range(iterations):
        found, density = mixture(x)
        miss = found - target
        below = miss < 0
        lo = np.where(below, x, lo)
        hi = np.where(below, hi, x)
        tol = 1e-12 * np.maximum(1.0, np.abs(x))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = x - miss / density
        inside = (density > 0) & (newton > lo) & (newton < hi)
        settled = (np.abs(miss) < 1e-12) | (hi - lo < tol) | (inside & (np.abs(newton - x) < tol))
        if np.all(settled):
            break
        x = np.where(inside, newton, 0.5 * (lo + hi))
    return [float(v) for v in x]


def _shift_bracket(shifts: F64, target: F64, cdf: Callable[[F64], F64]) -> tuple[F64, F64]:
    """Per target, two consecutive distinct shifts ``a < b`` with ``cdf(a) < target ≤ cdf(b)``
    (``b = inf`` when even the largest shift is below the target), by binary search: the
    mixture's distribution is 0 at the smallest shift and rises."""
    n = len(shifts)
    low = np.zeros(len(target), dtype=np.int64)
    high = np.full(len(target), n - 1, dtype=np.int64)
    above = cdf(shifts[high]) >= target
    while np.any(high - low > 1):
        mid = (low + high) // 2
        below = cdf(shifts[mid]) < target
        open_ = high - low > 1
        low = np.where(open_ & below, mid, low)
        high = np.where(open_ & ~below, mid, high)
    return shifts[low], np.where(above, shifts[high], np.inf)


def tier_replay(
    tier: SanTier,
    design: SanDesign,
    *,
    read_iops: npt.ArrayLike,
    write_iops: npt.ArrayLike,
    read_mib_s: npt.ArrayLike,
    write_mib_s: npt.ArrayLike,
    paging_mib_s: npt.ArrayLike = 0.0,
    page_size_kib: float = 4.0,
    allocated_gib: float = 0.0,
    provisioned_gib: float = 0.0,
    unserved_iops: npt.ArrayLike | None = None,
    step_s: float | None = None,
    path_added_ms: tuple[float, float] = (0.0, 0.0),
) -> TierResult:
    """Replay the I/O of all VMs on one tier (formulas in the module docstring).

    Parameters
    ----------
    tier, design
        The tier and the SAN design (appliance, multipathing, SLO).
    read_iops, write_iops, read_mib_s, write_mib_s
        Totals over the VMs on this tier, ``(n_steps,)``.
    paging_mib_s
        Hypervisor swap traffic landing on this tier, ``(n_steps,)`` (0 if none).
    page_size_kib
        Size of one swap I/O.
    allocated_gib, provisioned_gib
        Capacity taken and promised (see :class:`TierResult`).
    unserved_iops
        VM I/O the VMs' paths did not pass, ``(n_steps,)`` (reported, not served).
    step_s
        Seconds per step: saturated steps leave a backlog that later steps carry (fluid
        queue). None: each step on its own (no backlog).
    path_added_ms
        Latency the virtualization mode's I/O path adds to each VM read and write (not to
        paging).

    Returns
    -------
    TierResult
    """
    reads = np.asarray(read_iops, dtype=np.float64)
    writes = np.asarray(write_iops, dtype=np.float64)
    paging = np.asarray(paging_mib_s, dtype=np.float64)
    paging_iops = paging * (KIB_PER_MIB / page_size_kib)
    reads = reads + paging_iops / 2.0
    writes = writes + paging_iops / 2.0
    frontend = reads + writes
    backend = reads + tier.write_penalty * writes
    mib = np.asarray(read_mib_s, dtype=np.float64) + np.asarray(write_mib_s, dtype=np.float64)
    mib = mib + paging
    iops_ceiling = min(tier.max_iops, design.appliance_max_iops)
    mib_ceiling = min(tier.max_mib_s, design.appliance_max_mib_s)
    load = np.maximum(backend / iops_ceiling, mib / mib_ceiling)
    shape = np.broadcast_shapes(frontend.shape, mib.shape)
    load = np.broadcast_to(load, shape).astype(np.float64)
    servers = pool_servers(tier)
    rho = np.minimum(load, RHO_CAP)
    wait_prob = np.asarray(erlang_c(servers, rho), dtype=np.float64)
    wait_mean = tier.base_latency_ms / (servers * (1.0 - rho))
    sojourn = tier.base_latency_ms + wait_prob * wait_mean
    backlog = delay = None
    if step_s is not None:
        backlog = backlog_s(load, step_s)
        before = np.concatenate([[0.0], backlog[:-1]])
        delay = 1000.0 * 0.5 * (before + backlog)  # the mean wait behind the backlog
    latency = sojourn + design.added_latency_ms + (0.0 if delay is None else delay)
    return TierResult(
        name=tier.name,
        frontend_iops=np.broadcast_to(frontend, shape).copy(),
        backend_iops=np.broadcast_to(backend, shape).copy(),
        mib_s=np.broadcast_to(mib, shape).copy(),
        load_ratio=np.broadcast_to(load, shape).copy(),
        latency_ms=np.broadcast_to(latency, shape).copy(),
        latency_slo_ms=design.latency_slo_ms,
        usable_gib=tier.usable_gib,
        allocated_gib=allocated_gib,
        provisioned_gib=provisioned_gib,
        unserved_iops=None
        if unserved_iops is None
        else np.broadcast_to(np.asarray(unserved_iops, dtype=np.float64), shape).copy(),
        wait_prob=wait_prob if step_s is not None else None,
        wait_mean_ms=wait_mean if step_s is not None else None,
        delay_ms=delay,
        backlog_s=backlog,
        appliance_ms=float(design.added_latency_ms),
        service_ms=float(tier.base_latency_ms),
        path_ms=_path_ms(read_iops, write_iops, path_added_ms, shape),
        vm_iops=np.broadcast_to(
            np.asarray(read_iops, dtype=np.float64) + np.asarray(write_iops, dtype=np.float64),
            shape,
        ).copy(),
    )


def _path_ms(
    read_iops: npt.ArrayLike,
    write_iops: npt.ArrayLike,
    added_ms: tuple[float, float],
    shape: tuple[int, ...],
) -> F64 | None:
    """Per step, the mode's path latency of a VM I/O: reads' and writes' figures weighted by
    their rates (0 in steps without VM I/O); None when both are 0."""
    read_ms, write_ms = added_ms
    if read_ms == 0 and write_ms == 0:
        return None
    reads = np.broadcast_to(np.asarray(read_iops, dtype=np.float64), shape)
    writes = np.broadcast_to(np.asarray(write_iops, dtype=np.float64), shape)
    total = reads + writes
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = (reads * read_ms + writes * write_ms) / total
    return np.asarray(np.where(total > 0, mixed, 0.0), dtype=np.float64)


def path_util_frac(
    host_mib_s: npt.NDArray[np.float32], design: SanDesign
) -> npt.NDArray[np.float32]:
    """Utilization of each host's storage paths in normal operation.

    ``host MiB/s / (active paths × path speed)``; after one path fails the utilization is
    this value × :func:`failover_multiplier`.

    Parameters
    ----------
    host_mib_s
        Storage throughput per host, float32 ``(n_hosts, n_steps)``.
    design
        The SAN design.

    Returns
    -------
    ndarray
        float32 ``(n_hosts, n_steps)`` (above 1: the paths are the bottleneck).
    """
    return np.multiply(
        host_mib_s, np.float32(1.0 / (design.active_paths * design.path_speed_mib_s))
    )


def failover_multiplier(design: SanDesign) -> float:
    """Factor on path utilization after one path fails (``inf`` if no path is left)."""
    if design.failover_paths == 0:
        return float("inf")
    return design.active_paths / design.failover_paths


def allocated_capacity_gib(
    used_gib: npt.ArrayLike,
    provisioned_gib: npt.ArrayLike,
    design: SanDesign,
) -> tuple[float, float]:
    """Capacity a set of VM disks takes on its tier and the capacity promised to them.

    Thin provisioning allocates what is used, thick what is provisioned; snapshots add
    ``snapshot_overhead_frac`` of the used capacity.

    Parameters
    ----------
    used_gib, provisioned_gib
        Per VM, ``(n_vms,)``; a missing value (NaN) falls back to the other figure.

    Returns
    -------
    (allocated_gib, provisioned_gib)
    """
    used = np.asarray(used_gib, dtype=np.float64)
    prov = np.asarray(provisioned_gib, dtype=np.float64)
    used_f = np.where(np.isnan(used), prov, used)
    prov_f = np.where(np.isnan(prov), used, prov)
    used_total = float(np.nansum(used_f))
    prov_total = float(np.nansum(prov_f))
    base = used_total if design.thin_provisioning else prov_total
    return base + design.snapshot_overhead_frac * used_total, prov_total


# ----------------------------------------------------------------------- the stage
@dataclass(frozen=True)
class StorageReplay:
    """What the storage stage gives the replay.

    Attributes
    ----------
    tiers
        Replay per pool used (the routing's pools holding VM disks or paging, else the
        default tier; the swap tier when paging lands on no pool), keyed by pool name.
    host_mib_s, path_util_frac
        Storage throughput and path utilization per host, float32 ``(n_hosts, n_steps)``
        (None without disk MiB/s data).
    swap
        The replay of the pool that takes (the largest share of) the hypervisor paging; None
        when no pool took any.
    """

    tiers: dict[str, TierResult]
    host_mib_s: npt.NDArray[np.float32] | None
    path_util_frac: npt.NDArray[np.float32] | None
    swap: TierResult | None = None


def replay_storage(
    ctx: Replay,
    paging_mib_s: npt.NDArray[np.float64],
    configured_mib: npt.NDArray[np.float64] | None,
) -> StorageReplay:
    """The storage stage: host paths, the load of each pool the VMs' I/O lands on, and the
    swap tier's.

    Without ``ctx.routing`` every VM's I/O lands on the default tier; with it, on the pools
    the routing names (:mod:`capplan.emulate.routing`).

    Parameters
    ----------
    ctx
        The replay.
    paging_mib_s
        Summed hypervisor paging per step (float64 ``(n_steps,)``), onto the swap tier (or the
        routing's paging pools).
    configured_mib
        Configured memory per VM (the swap files' size), or None without memory data or
        without a hypervisor (no swap files).
    """
    metrics, san = ctx.metrics, ctx.catalog.san
    host_mib: npt.NDArray[np.float32] | None = None
    paths: npt.NDArray[np.float32] | None = None
    mib_parts: dict[str, npt.NDArray[np.float32]] = {}
    for metric in ("disk_read_mib_s", "disk_write_mib_s"):
        if metric in metrics:
            mib_parts[metric] = aggregate(metrics[metric], ctx.host_map, workers=ctx.workers)
    mib_totals = {m: v.sum(axis=0, dtype=np.float64) for m, v in mib_parts.items()}
    for part in mib_parts.values():
        host_mib = part if host_mib is None else np.add(host_mib, part, out=host_mib)
    mib_parts.clear()
    if host_mib is not None:
        paths = path_util_frac(host_mib, san)
    if not (any(m in metrics for m in DISK_METRICS) or paging_mib_s.any()):
        return StorageReplay({}, host_mib, paths)
    groups = _groups(ctx)
    tiers, swap = _replay_groups(ctx, groups, paging_mib_s, configured_mib, mib_totals)
    return StorageReplay(tiers, host_mib, paths, tiers.get(swap))


@dataclass(frozen=True)
class _Groups:
    """The pools the VMs' I/O lands on: names, tiers, each VM's copies, paging shares."""

    names: tuple[str, ...]
    tiers: tuple[SanTier, ...]
    copies: npt.NDArray[np.int64]
    paging_share: F64


def _groups(ctx: Replay) -> _Groups:
    """The routing's pools, plus the default tier for VMs it does not place (one group, the
    default tier, without a routing)."""
    default = ctx.catalog.tier(ctx.catalog.san.default_tier)
    n_vms = ctx.workload.n_vms
    routing = ctx.routing
    if routing is None:
        copies = np.full((n_vms, 2), -1, dtype=np.int64)
        copies[:, 0] = 0
        return _Groups((default.name,), (default,), copies, np.zeros(1))
    copies = routing.aligned_to(ctx.workload.vm_ids)
    extra = len(set(routing.vm_ids.tolist()) - set(ctx.workload.vm_ids.tolist()))
    if extra:
        ctx.notes.append(
            f"{extra:,} VM(s) of the storage routing ({routing.source}) are not in the workload "
            "and were ignored"
        )
    names, tiers = routing.pool_names, routing.pool_tiers
    share = routing.paging_share
    unplaced = copies[:, 0] < 0
    if unplaced.any():
        if default.name in names:
            fallback = names.index(default.name)
        else:
            fallback = len(names)
            names, tiers = (*names, default.name), (*tiers, default)
            share = np.append(share, 0.0)
        copies[unplaced, 0] = fallback
        ctx.notes.append(
            f"{int(unplaced.sum()):,} VM(s) the storage routing ({routing.source}) does not "
            f"place replayed on the default tier {default.name!r}"
        )
    return _Groups(names, tiers, copies, share)


def _replay_groups(
    ctx: Replay,
    groups: _Groups,
    paging_mib_s: F64,
    configured_mib: npt.NDArray[np.float64] | None,
    mib_totals: dict[str, F64],
) -> tuple[dict[str, TierResult], str]:
    """One :class:`TierResult` per group (and one for the swap tier when paging lands on no
    group), and the key of the one taking the largest share of the paging."""
    metrics, san, catalog = ctx.metrics, ctx.catalog.san, ctx.catalog
    n_groups = len(groups.names)
    zeros = ctx.zeros()
    read_w, write_w = group_weights(groups.copies, n_groups)
    sums: tuple[F64 | None, F64 | None] | None = None
    peaks: F64 | None = None
    iops = [m for m in ("disk_read_iops", "disk_write_iops") if m in metrics]
    if n_groups == 1 and iops:  # one pool: the per-host sums give the total and the peaks
        per_host = {m: ctx.per_host(m) for m in iops}
        sums = tuple(  # type: ignore[assignment]
            per_host[m][0].sum(axis=0, dtype=np.float64)[None, :] if m in per_host else None
            for m in ("disk_read_iops", "disk_write_iops")
        )
        peaks = sum(per_host[m][1].astype(np.float64) for m in iops)  # type: ignore[assignment]
    reads, writes, unserved = routed_path_iops(
        metrics.get("disk_read_iops"),
        metrics.get("disk_write_iops"),
        ctx.virt.vm_iops_ceiling,
        read_w,
        write_w,
        sums=sums,
        peaks=peaks,
    )
    if not reads.shape[1]:
        reads = writes = unserved = np.zeros((n_groups, ctx.n_steps))
    mib = {}
    for metric, weights in (("disk_read_mib_s", read_w), ("disk_write_mib_s", write_w)):
        if metric not in metrics:
            mib[metric] = np.zeros((n_groups, ctx.n_steps))
        elif n_groups == 1:  # every VM on one group: the host sums already give the total
            mib[metric] = mib_totals[metric][None, :]
        else:
            mib[metric] = np.dot(weights, metrics[metric]).astype(np.float64)
    swap_gib = float(configured_mib.sum()) / MIB_PER_GIB if configured_mib is not None else 0.0
    swap_name = san.swap_tier
    share = groups.paging_share
    pages = bool(paging_mib_s.any()) or swap_gib > 0
    if not share.any() and swap_name in groups.names and pages:
        share = np.zeros(n_groups)
        share[groups.names.index(swap_name)] = 1.0
    used = ctx.workload.inventory_column("disk_used_gib")
    provisioned = ctx.workload.inventory_column("disk_provisioned_gib")
    tiers: dict[str, TierResult] = {}
    for g, (name, tier) in enumerate(zip(groups.names, groups.tiers, strict=True)):
        on_group = write_w[g] > 0
        if n_groups > 1 and not on_group.any() and share[g] == 0:
            continue  # a pool of the routing that holds no VM disk and no paging
        allocated, promised = allocated_capacity_gib(used[on_group], provisioned[on_group], san)
        result = tier_replay(
            tier,
            san,
            read_iops=reads[g],
            write_iops=writes[g],
            read_mib_s=mib["disk_read_mib_s"][g],
            write_mib_s=mib["disk_write_mib_s"][g],
            paging_mib_s=paging_mib_s * share[g] if share[g] > 0 else zeros,
            page_size_kib=catalog.memory.page_size_kib,
            allocated_gib=allocated + swap_gib * float(share[g]),
            provisioned_gib=promised,
            unserved_iops=unserved[g],
            step_s=float(ctx.workload.step_s),
            path_added_ms=(
                ctx.virt.io_added_read_latency_ms,
                ctx.virt.io_added_write_latency_ms,
            ),
        )
        tiers[name] = dataclasses.replace(result, name=name) if name != tier.name else result
    if not share.any() and pages:
        swap = catalog.tier(swap_name)
        tiers[swap.name] = tier_replay(
            swap,
            san,
            read_iops=zeros,
            write_iops=zeros,
            read_mib_s=zeros,
            write_mib_s=zeros,
            paging_mib_s=paging_mib_s,
            page_size_kib=catalog.memory.page_size_kib,
            allocated_gib=swap_gib,
            provisioned_gib=swap_gib,
            step_s=float(ctx.workload.step_s),
        )
        return tiers, swap.name
    return tiers, groups.names[int(np.argmax(share))]
