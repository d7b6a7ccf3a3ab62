"""Availability of VMs and services: closed form, checked by a seeded Monte Carlo.

The model (every formula below is the closed form; the Monte Carlo simulates the same
assumptions event by event on the actual placement):

* **Hosts** alternate between up (exponential, mean ``MTBF``) and down (exponential, mean
  ``MTTR``), independently. In steady state a host is down with probability
  ``q = MTTR / (MTBF + MTTR)`` and fails ``f = 1 / (MTBF + MTTR)`` times per hour.
* **HA restart with N+k reserve.** When a host fails, its VMs restart elsewhere after
  ``R`` (failure detection + boot) if fewer than ``k`` *other* hosts are down at that
  instant; otherwise (no capacity left) they wait for their host's repair. The host's repair
  ends the outage early if it is shorter than ``R``. Expected VM outage per host failure::

      D = (1 − b) · MTTR · (1 − exp(−R / MTTR)) + b · MTTR

  (``E[min(R, X)]`` for exponential ``X``), where ``b = P(#other hosts down ≥ k)`` is a
  Poisson-binomial tail (failures arrive at random instants, so they see the stationary
  state). Without HA (bare metal) ``D = MTTR``. Host-induced unavailability ``U_h = f · D``.
* **Storage path** (independent of hosts): the appliance (none, in-band or out-of-band; one
  node, or a mirrored pair that fails only when both nodes are down) and, per host, the
  paths to the SAN (the host loses storage only when all its paths are down):
  ``U_app = q_app`` (single) or ``q_app²`` (mirror); ``U_path = q_path ** n_paths`` (0 with
  no SAN paths).
* **Planned maintenance**: with live migration no downtime; otherwise each window of the
  VM's host, ``U_m = windows/year × window_h / 8760``. Windows of different hosts never
  overlap (rolling maintenance).
* A VM is down when any independent cause holds: ``U = 1 − Π (1 − U_i)``.
* A **service** (HA group) is up while at least one of its VMs is up; VMs on one host fail
  together, the appliance takes them all down: ``U_s = 1 − (1 − U_app)(1 − Π_hosts U_host)
  (1 − U_m[single host])`` where ``U_host`` combines host-induced and path outages. This
  treats the hosts' outages as independent, which is exact without HA; with HA a failure
  while another host of the service is down is more likely to find no reserve, so the
  closed form can understate a multi-host service's downtime. The Monte Carlo captures that
  coupling and is reported next to it.

Arrays: per-host ``(n_hosts,)``, per-VM ``(n_vms,)``; times in hours unless named ``_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.units import HOURS_PER_YEAR, MIN_PER_YEAR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ------------------------------------------------------------------------------ closed form
def unavailability_frac(mtbf_h: npt.ArrayLike, mttr_h: npt.ArrayLike) -> FloatArray:
    """Steady-state probability that a repairable component is down: ``MTTR/(MTBF+MTTR)``.

    An infinite MTBF gives 0.
    """
    mtbf = np.asarray(mtbf_h, dtype=np.float64)
    mttr = np.asarray(mttr_h, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(np.isinf(mtbf), 0.0, mttr / (mtbf + mttr))
    return np.asarray(q, dtype=np.float64)


def failure_rate_per_h(mtbf_h: npt.ArrayLike, mttr_h: npt.ArrayLike) -> FloatArray:
    """Failures per hour in steady state: one per up-down cycle, ``1/(MTBF+MTTR)``."""
    mtbf = np.asarray(mtbf_h, dtype=np.float64)
    mttr = np.asarray(mttr_h, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.asarray(np.where(np.isinf(mtbf), 0.0, 1.0 / (mtbf + mttr)), dtype=np.float64)


def others_down_tail(q_hosts: npt.ArrayLike, k: int) -> FloatArray:
    """For each host, ``P(at least k of the *other* hosts are down)`` (Poisson-binomial).

    Parameters
    ----------
    q_hosts
        Down probability of each host, ``(n_hosts,)``.
    k
        Threshold (the N+k reserve); ``k = 0`` gives 1 for every host.

    Returns
    -------
    ndarray
        float64 ``(n_hosts,)``.

    Notes
    -----
    The distribution of the number of down hosts is built up to ``k`` terms by multiplying
    the generating polynomials ``(1 − q_j) + q_j x``; each host's own factor is divided out
    again by forward substitution (stable for ``q < 0.5``). Cost ``O(n_hosts · k)``.
    """
    q = np.asarray(q_hosts, dtype=np.float64)
    n = q.size
    if k <= 0:
        return np.ones(n)
    if k > n - 1:
        return np.zeros(n)
    if np.any(q >= 0.5):
        return _others_down_tail_direct(q, k)
    # Distribution of the count among all hosts, truncated to counts 0..k-1.
    dist = np.zeros(k)
    dist[0] = 1.0
    for qj in q:
        dist[1:] = dist[1:] * (1.0 - qj) + dist[:-1] * qj
        dist[0] *= 1.0 - qj
    # Remove each host's own factor: dist = without * ((1-q) + q x).
    out = np.empty(n)
    for i, qi in enumerate(q):
        without = np.empty(k)
        without[0] = dist[0] / (1.0 - qi)
        for c in range(1, k):
            without[c] = (dist[c] - qi * without[c - 1]) / (1.0 - qi)
        out[i] = 1.0 - without.sum()
    return np.clip(out, 0.0, 1.0)


def _others_down_tail_direct(q: FloatArray, k: int) -> FloatArray:
    """Leave-one-out Poisson-binomial tail by direct convolution (any ``q``), ``O(n² k)``."""
    n = q.size
    out = np.empty(n)
    for i in range(n):
        dist = np.zeros(k)
        dist[0] = 1.0
        for j in range(n):
            if j == i:
                continue
            dist[1:] = dist[1:] * (1.0 - q[j]) + dist[:-1] * q[j]
            dist[0] *= 1.0 - q[j]
        out[i] = 1.0 - dist.sum()
    return np.clip(out, 0.0, 1.0)


def outage_per_failure_h(
    mttr_h: npt.ArrayLike, restart_h: float, block_prob: npt.ArrayLike, *, ha: bool
) -> FloatArray:
    """Expected VM outage caused by one host failure, hours.

    Parameters
    ----------
    mttr_h
        Mean repair time of each host, ``(n_hosts,)``.
    restart_h
        HA restart time ``R`` (detection + boot).
    block_prob
        ``P(no reserve left)`` at the failure instant, ``(n_hosts,)``.
    ha
        Whether VMs restart elsewhere at all.

    Returns
    -------
    ndarray
        ``(1 − b) · MTTR · (1 − e^{−R/MTTR}) + b · MTTR``; ``MTTR`` without HA.
    """
    mttr = np.asarray(mttr_h, dtype=np.float64)
    if not ha:
        return mttr.copy()
    b = np.asarray(block_prob, dtype=np.float64)
    restarted = mttr * -np.expm1(-float(restart_h) / mttr)
    return (1.0 - b) * restarted + b * mttr


def host_induced_unavailability(
    mtbf_h: npt.ArrayLike,
    mttr_h: npt.ArrayLike,
    *,
    restart_h: float,
    reserve_hosts: int,
    ha: bool,
) -> FloatArray:
    """Unavailability a VM suffers from failures of its host, per host ``(n_hosts,)``.

    ``U = f · D`` with ``f = 1/(MTBF+MTTR)`` and ``D`` from :func:`outage_per_failure_h`,
    the blocking probability taken over all hosts given (including spare hosts).
    """
    mtbf = np.asarray(mtbf_h, dtype=np.float64)
    mttr = np.asarray(mttr_h, dtype=np.float64)
    q = unavailability_frac(mtbf, mttr)
    block = others_down_tail(q, reserve_hosts) if ha else np.ones_like(q)
    return failure_rate_per_h(mtbf, mttr) * outage_per_failure_h(mttr, restart_h, block, ha=ha)


def redundant_unavailability(q: npt.ArrayLike, n_copies: npt.ArrayLike) -> FloatArray:
    """Unavailability of ``n`` independent redundant copies (down only if all are): ``q**n``."""
    return np.asarray(np.power(np.asarray(q, dtype=np.float64), n_copies), dtype=np.float64)


def appliance_unavailability(kind: str, mirrored: bool, q_node: float) -> float:
    """Storage virtualization appliance: 0 without one, ``q`` for one node, ``q²`` mirrored.

    In-band appliances sit in the data path; out-of-band ones hold the block map without
    which the virtualized volumes cannot be resolved (the seed chapter), so both stop the
    VMs' storage when they fail.
    """
    if kind == "none":
        return 0.0
    return float(q_node**2 if mirrored else q_node)


def maintenance_unavailability(
    windows_per_year: float, window_h: float, *, live_migration: bool
) -> float:
    """Planned downtime share: 0 with live migration, else ``windows × hours / 8760``."""
    if live_migration:
        return 0.0
    return min(1.0, windows_per_year * window_h / HOURS_PER_YEAR)


def combine_independent(*unavailabilities: npt.ArrayLike) -> FloatArray:
    """Down when any independent cause is: ``1 − Π (1 − U_i)`` (broadcasting)."""
    up = np.ones(())
    for u in unavailabilities:
        up = up * (1.0 - np.asarray(u, dtype=np.float64))
    return np.asarray(1.0 - up, dtype=np.float64)


def nines(availability_frac: npt.ArrayLike) -> FloatArray:
    """Availability as "nines": ``−log10(1 − A)`` (0.999 → 3); ``inf`` for ``A = 1``."""
    a = np.asarray(availability_frac, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log10(np.clip(1.0 - a, 0.0, 1.0)), dtype=np.float64)


def downtime_min_per_year(availability_frac: npt.ArrayLike) -> FloatArray:
    """Expected downtime per year, minutes: ``(1 − A) × 525,600``."""
    return (1.0 - np.asarray(availability_frac, dtype=np.float64)) * MIN_PER_YEAR


@dataclass(frozen=True)
class AvailabilityInputs:
    """Everything the availability model needs about one placement.

    Attributes
    ----------
    host_of_vm
        Host index of each VM, ``(n_vms,)``.
    mtbf_h, mttr_h
        Per host (including spare hosts), ``(n_hosts,)``.
    service_of_vm
        Service index of each VM, ``(n_vms,)`` in ``[0, n_services)``.
    ha
        Whether VMs restart on other hosts after a host failure.
    restart_h
        HA restart time, hours.
    reserve_hosts
        ``k`` of N+k.
    live_migration
        Whether planned maintenance moves VMs away (no downtime).
    maintenance_windows_per_year, maintenance_window_h
        Planned maintenance per host.
    appliance
        ``none``, ``in-band`` or ``out-of-band``.
    appliance_mirrored
        Mirrored appliance pair.
    appliance_mtbf_h, appliance_mttr_h
        One appliance node.
    n_paths
        Paths from each host to the SAN.
    path_mtbf_h, path_mttr_h
        One path.
    """

    host_of_vm: IntArray
    mtbf_h: FloatArray
    mttr_h: FloatArray
    service_of_vm: IntArray
    ha: bool
    restart_h: float
    reserve_hosts: int
    live_migration: bool
    maintenance_windows_per_year: float
    maintenance_window_h: float
    appliance: str
    appliance_mirrored: bool
    appliance_mtbf_h: float
    appliance_mttr_h: float
    n_paths: int
    path_mtbf_h: float
    path_mttr_h: float

    @property
    def n_hosts(self) -> int:
        """Hosts, spare hosts included."""
        return int(self.mtbf_h.size)

    @property
    def n_services(self) -> int:
        """Services (HA groups; a VM without a group is its own service)."""
        return int(self.service_of_vm.max()) + 1 if self.service_of_vm.size else 0


@dataclass(frozen=True)
class AvailabilityResult:
    """Unavailability per VM and per service, with its parts.

    Attributes
    ----------
    vm_unavailability_frac
        ``(n_vms,)``: all causes combined.
    service_unavailability_frac
        ``(n_services,)``.
    host_unplanned_frac
        ``(n_hosts,)``: host-induced and path outages combined, per host.
    appliance_frac
        Storage appliance unavailability (shared by all VMs).
    maintenance_frac
        Planned downtime of a VM alone on its host (0 with live migration).
    """

    vm_unavailability_frac: FloatArray
    service_unavailability_frac: FloatArray
    host_unplanned_frac: FloatArray
    appliance_frac: float
    maintenance_frac: float


def closed_form(inputs: AvailabilityInputs) -> AvailabilityResult:
    """Closed-form availability of every VM and service (see the module docstring).

    Returns
    -------
    AvailabilityResult
        Unavailability fractions; availability is ``1 − U``.
    """
    host_u = host_induced_unavailability(
        inputs.mtbf_h,
        inputs.mttr_h,
        restart_h=inputs.restart_h,
        reserve_hosts=inputs.reserve_hosts,
        ha=inputs.ha,
    )
    q_path = float(unavailability_frac(inputs.path_mtbf_h, inputs.path_mttr_h))
    # No SAN paths (local disks only): nothing on the path can fail.
    path_u = float(redundant_unavailability(q_path, inputs.n_paths)) if inputs.n_paths else 0.0
    host_total = combine_independent(host_u, path_u)
    q_app = float(unavailability_frac(inputs.appliance_mtbf_h, inputs.appliance_mttr_h))
    app_u = appliance_unavailability(inputs.appliance, inputs.appliance_mirrored, q_app)
    maint = maintenance_unavailability(
        inputs.maintenance_windows_per_year,
        inputs.maintenance_window_h,
        live_migration=inputs.live_migration,
    )
    vm_u = combine_independent(host_total[inputs.host_of_vm], app_u, maint)
    service_u = _service_closed_form(inputs, host_total, app_u, maint)
    return AvailabilityResult(vm_u, service_u, host_total, app_u, maint)


def _service_hosts(inputs: AvailabilityInputs) -> tuple[IntArray, IntArray]:
    """Distinct (service, host) pairs, sorted by service."""
    pairs = np.unique(np.stack([inputs.service_of_vm, inputs.host_of_vm], axis=1), axis=0)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _service_closed_form(
    inputs: AvailabilityInputs, host_total: FloatArray, app_u: float, maint: float
) -> FloatArray:
    n_services = inputs.n_services
    services, hosts = _service_hosts(inputs)
    log_down = np.zeros(n_services)
    with np.errstate(divide="ignore"):
        np.add.at(log_down, services, np.log(host_total[hosts]))
    all_hosts_down = np.exp(log_down)
    n_hosts_of = np.bincount(services, minlength=n_services)
    maint_s = np.where(n_hosts_of == 1, maint, 0.0)
    return combine_independent(all_hosts_down, app_u, maint_s)


# ------------------------------------------------------------------------------- Monte Carlo
@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo estimate of unplanned + planned unavailability.

    Attributes
    ----------
    vm_unavailability_frac, vm_stderr
        Mean over replicates and its standard error, ``(n_vms,)``.
    service_unavailability_frac, service_stderr
        The same per service, ``(n_services,)``.
    vm_mean_stderr
        Standard error of the VMs' mean unavailability (per-run means over all VMs); rare,
        long outages make single VMs' estimates skewed, the pooled mean much less so.
    n_runs, years_per_run, seed
        What was simulated.
    """

    vm_unavailability_frac: FloatArray
    vm_stderr: FloatArray
    service_unavailability_frac: FloatArray
    service_stderr: FloatArray
    vm_mean_stderr: float
    n_runs: int
    years_per_run: float
    seed: int


def _alternating_downs(
    rng: np.random.Generator, mtbf_h: FloatArray, mttr_h: FloatArray, horizon_h: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Down intervals of independent alternating renewal processes, all up at time 0.

    Returns ``(starts, ends, component)`` of every down interval starting before
    ``horizon_h`` (ends may exceed it). Components with infinite MTBF never fail.
    """
    mtbf = np.asarray(mtbf_h, dtype=np.float64)
    mttr = np.asarray(mttr_h, dtype=np.float64)
    live = np.flatnonzero(np.isfinite(mtbf))
    if live.size == 0:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.int64)
    cycle = mtbf[live] + mttr[live]
    expected = horizon_h / cycle.min()
    n_cycles = int(expected + 8.0 * np.sqrt(expected) + 16)
    while True:
        up = rng.exponential(1.0, size=(live.size, n_cycles)) * mtbf[live, None]
        down = rng.exponential(1.0, size=(live.size, n_cycles)) * mttr[live, None]
        starts = np.cumsum(up, axis=1) + np.cumsum(down, axis=1) - down
        if np.all(starts[:, -1] >= horizon_h):
            break
        n_cycles *= 2
    keep = starts < horizon_h
    comp = np.broadcast_to(live[:, None], starts.shape)[keep]
    return starts[keep], (starts + down)[keep], comp.astype(np.int64)


def _merge(
    starts: FloatArray, ends: FloatArray, group: IntArray, span: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Union of intervals within each group (groups never mix).

    Times are offset by ``group × span`` so one sort orders every group; ``span`` must
    exceed every end time.
    """
    if starts.size == 0:
        return starts, ends, group
    offset = group.astype(np.float64) * span
    s = starts + offset
    e = ends + offset
    order = np.argsort(s, kind="stable")
    s, e, g = s[order], e[order], group[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > reach[:-1]
    idx = np.flatnonzero(new)
    merged_end = np.maximum.reduceat(e, idx)
    gs = g[idx]
    return s[idx] - gs * span, merged_end - gs * span, gs


def _intersect_all(
    starts: FloatArray, ends: FloatArray, group: IntArray, required: IntArray, span: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Intervals where ``required[g]`` overlapping members of group ``g`` are all down.

    The members' interval sets must each be merged already (no self-overlap).
    """
    if starts.size == 0:
        return starts, ends, group
    offset = group.astype(np.float64) * span
    times = np.concatenate([starts + offset, ends + offset])
    delta = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    grp = np.concatenate([group, group])
    order = np.lexsort((delta, times))  # at equal times, ends (-1) before starts (+1)
    times, delta, grp = times[order], delta[order], grp[order]
    level = np.cumsum(delta)
    full = level == required[grp]
    idx = np.flatnonzero(full)
    s = times[idx]
    e = times[np.minimum(idx + 1, times.size - 1)]
    g = grp[idx]
    return s - g * span, e - g * span, g


def _length_by_group(
    starts: FloatArray, ends: FloatArray, group: IntArray, n_groups: int, lo: float, hi: float
) -> FloatArray:
    """Total length of (non-overlapping) intervals inside ``[lo, hi]`` per group."""
    clipped = np.clip(ends, lo, hi) - np.clip(starts, lo, hi)
    return np.bincount(group, weights=np.maximum(clipped, 0.0), minlength=n_groups).astype(
        np.float64
    )


def _one_run(
    rng: np.random.Generator, inputs: AvailabilityInputs, years: float
) -> tuple[FloatArray, FloatArray]:
    """Unplanned unavailability per host and per service in one simulated run."""
    n_hosts = inputs.n_hosts
    warmup_h = 50.0 * max(float(inputs.mttr_h.max()), inputs.path_mttr_h, inputs.appliance_mttr_h)
    lo = warmup_h
    hi = warmup_h + years * HOURS_PER_YEAR
    span = hi * 4.0 + 1.0
    # Host failures and the resulting VM outages.
    h_start, h_end, h_host = _alternating_downs(rng, inputs.mtbf_h, inputs.mttr_h, hi)
    h_end = np.minimum(h_end, span / 2)
    if inputs.ha and h_start.size:
        s_sorted = np.sort(h_start)
        e_sorted = np.sort(h_end)
        others = (
            np.searchsorted(s_sorted, h_start, side="right")
            - np.searchsorted(e_sorted, h_start, side="right")
            - 1
        )
        blocked = others >= inputs.reserve_hosts
        vm_end = np.where(blocked, h_end, np.minimum(h_end, h_start + inputs.restart_h))
    else:
        vm_end = h_end
    parts_s = [h_start]
    parts_e = [vm_end]
    parts_g = [h_host]
    # Paths: a host loses storage when all its paths are down at once.
    if inputs.n_paths > 0 and np.isfinite(inputs.path_mtbf_h):
        n_comp = n_hosts * inputs.n_paths
        p_s, p_e, p_c = _alternating_downs(
            rng, np.full(n_comp, inputs.path_mtbf_h), np.full(n_comp, inputs.path_mttr_h), hi
        )
        p_host = p_c // inputs.n_paths
        # A path's own down intervals never overlap, so the level reaches n_paths only
        # while every path of the host is down.
        p_s, p_e, p_host = _intersect_all(
            p_s,
            np.minimum(p_e, span / 2),
            p_host,
            np.full(n_hosts, inputs.n_paths, dtype=np.int64),
            span,
        )
        parts_s.append(p_s)
        parts_e.append(p_e)
        parts_g.append(p_host)
    # The appliance takes every host's VMs down.
    if inputs.appliance != "none" and np.isfinite(inputs.appliance_mtbf_h):
        n_nodes = 2 if inputs.appliance_mirrored else 1
        a_s, a_e, _ = _alternating_downs(
            rng,
            np.full(n_nodes, inputs.appliance_mtbf_h),
            np.full(n_nodes, inputs.appliance_mttr_h),
            hi,
        )
        a_e = np.minimum(a_e, span / 2)
        if n_nodes == 2:
            a_s, a_e, _ = _intersect_all(
                a_s, a_e, np.zeros(a_s.size, dtype=np.int64), np.array([2]), span
            )
        parts_s.append(np.repeat(a_s[None, :], n_hosts, axis=0).ravel())
        parts_e.append(np.repeat(a_e[None, :], n_hosts, axis=0).ravel())
        parts_g.append(np.repeat(np.arange(n_hosts, dtype=np.int64), a_s.size))
    m_s, m_e, m_h = _merge(
        np.concatenate(parts_s), np.concatenate(parts_e), np.concatenate(parts_g), span
    )
    host_down = _length_by_group(m_s, m_e, m_h, n_hosts, lo, hi) / (hi - lo)
    # Services: down while every host holding one of its VMs is down.
    services, hosts = _service_hosts(inputs)
    n_services = inputs.n_services
    counts = np.bincount(m_h, minlength=n_hosts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(m_h, kind="stable")
    sel_index = np.concatenate(
        [order[first[h] : first[h] + counts[h]] for h in hosts.tolist()]
        or [np.zeros(0, dtype=np.int64)]
    )
    sel_service = np.repeat(services, counts[hosts])
    required = np.bincount(services, minlength=n_services)
    i_s, i_e, i_g = _intersect_all(m_s[sel_index], m_e[sel_index], sel_service, required, span)
    service_down = _length_by_group(i_s, i_e, i_g, n_services, lo, hi) / (hi - lo)
    return host_down, service_down


def monte_carlo(
    inputs: AvailabilityInputs, *, n_runs: int, years_per_run: float, seed: int
) -> MonteCarloResult:
    """Seeded Monte Carlo of failures on the actual placement.

    Simulates every host, path and appliance node as an independent alternating renewal
    process (exponential up and down times), applies the HA / N+k rule at each host failure
    instant, and measures the time each VM and service is down. Planned maintenance is
    deterministic and added as in the closed form.

    Parameters
    ----------
    inputs
        The placement and its reliability figures.
    n_runs
        Independent replicates (the standard error comes from their spread).
    years_per_run
        Simulated years per replicate (after a warm-up that reaches steady state).
    seed
        Random seed: the same seed gives the same answer.

    Returns
    -------
    MonteCarloResult
        Means and standard errors per VM and per service.
    """
    rng = np.random.default_rng(seed)
    host_runs = np.empty((n_runs, inputs.n_hosts))
    service_runs = np.empty((n_runs, inputs.n_services))
    for run in range(n_runs):
        host_runs[run], service_runs[run] = _one_run(rng, inputs, years_per_run)
    maint = maintenance_unavailability(
        inputs.maintenance_windows_per_year,
        inputs.maintenance_window_h,
        live_migration=inputs.live_migration,
    )
    services, _ = _service_hosts(inputs)
    n_hosts_of = np.bincount(services, minlength=inputs.n_services)
    maint_s = np.where(n_hosts_of == 1, maint, 0.0)
    vm_runs = combine_independent(host_runs[:, inputs.host_of_vm], maint)
    service_runs = combine_independent(service_runs, maint_s)
    scale = 1.0 / np.sqrt(n_runs)
    return MonteCarloResult(
        vm_unavailability_frac=vm_runs.mean(axis=0),
        vm_stderr=vm_runs.std(axis=0, ddof=1) * scale,
        service_unavailability_frac=service_runs.mean(axis=0),
        service_stderr=service_runs.std(axis=0, ddof=1) * scale,
        vm_mean_stderr=float(vm_runs.mean(axis=1).std(ddof=1) * scale) if vm_runs.size else 0.0,
        n_runs=n_runs,
        years_per_run=years_per_run,
        seed=seed,
    )


def service_index(
    groups: Sequence[str | None], vm_ids: Sequence[str]
) -> tuple[IntArray, list[str]]:
    """Map VMs to services: their HA group, or the VM itself when it has none.

    Returns
    -------
    tuple
        ``(service_of_vm (n_vms,), service names)``.
    """
    names: dict[str, int] = {}
    out = np.empty(len(vm_ids), dtype=np.int64)
    for i, (group, vm) in enumerate(zip(groups, vm_ids, strict=True)):
        key = f"group:{group}" if group else f"vm:{vm}"
        out[i] = names.setdefault(key, len(names))
    labels = [key.split(":", 1)[1] for key in names]
    return out, labels
