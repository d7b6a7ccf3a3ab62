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
* **Restart time by VM**: ``R`` is detection + the boot time of the VM's OS family
  (``vm_restart_h``); the formulas above hold per VM.
* **Correlated failure domains** (rack, PDU, storage array, site; nested, smallest first): a
  group's failure takes all its ``n_g`` hosts down at once. With HA its VMs restart
  elsewhere only if ``n_g`` plus the hosts already down outside the group fit the reserve:
  blocked with ``b_g = P(#down outside ≥ k − n_g + 1)`` (1 when ``n_g > k``; the array,
  holding every host, never restarts). ``U_g = f_g · D_g`` with ``D_g`` as for a host.
* **Planned maintenance**: guest OS patch reboots of every VM
  (``guest_patches_per_year × guest_patch_h / 8760``, live migration does not avoid them);
  host windows only without live migration (on bare metal they coincide with the guest
  patches and are charged once). Windows of different hosts or VMs never overlap.
* A VM is down when any independent cause holds: ``U = 1 − Π (1 − U_i)``.
* A **service** (HA group) is up while at least one of its VMs is up; VMs on one host fail
  together, the appliance takes them all down. Conditioning on the nested domains, bottom
  up: a group is down for the service with ``U_g + (1 − U_g) Π_children``, a host with the
  host-induced and path outage of its VMs; ``U_s = 1 − (1 − U_app)(1 − Π_top)(1 − U_m)``
  with ``U_m`` the VM's maintenance for one-VM services, the host windows for one-host
  services, else 0 (rolling). This
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


def others_down_tail_by_zone(q_hosts: npt.ArrayLike, k: int, zones: npt.ArrayLike) -> FloatArray:
    """:func:`others_down_tail` with the other hosts taken from each host's own zone."""
    q = np.asarray(q_hosts, dtype=np.float64)
    zone = np.asarray(zones, dtype=np.int64)
    out = np.empty(q.size)
    for z in np.unique(zone).tolist():
        members = zone == z
        out[members] = others_down_tail(q[members], k)
    return out


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
class Domain:
    """A correlated failure domain: each group's failure takes all its hosts down at once.

    Attributes
    ----------
    name
        ``rack``, ``pdu``, ``array`` ...
    group_of_host
        Group index of each host ``(n_hosts,)``; ``-1``: the host is outside the domain.
    mtbf_h, mttr_h
        One group's failure figures.
    """

    name: str
    group_of_host: IntArray
    mtbf_h: float
    mttr_h: float

    @property
    def n_groups(self) -> int:
        """Groups of the domain."""
        return int(self.group_of_host.max()) + 1 if self.group_of_host.size else 0


def racks_of_hosts(n_hosts: int, hosts_per_rack: int) -> IntArray:
    """Rack of each host when hosts fill racks of ``hosts_per_rack`` in order."""
    return np.arange(n_hosts, dtype=np.int64) // max(1, int(hosts_per_rack))


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
    vm_restart_h
        HA restart time of each VM (detection + its OS family's boot), hours ``(n_vms,)``;
        None: ``restart_h`` for every VM.
    domains
        Correlated failure domains (rack, PDU, storage array, site), smallest first and nested:
        every group of a domain lies inside one group of each larger domain.
    guest_patches_per_year, guest_patch_h
        Guest OS patch reboots of every VM (not avoided by live migration).
    bare_metal
        One OS per server: host maintenance and guest patches are the same windows.
    zone_of_host
        Zone (security zone) of each host, ``(n_hosts,)``; a host's VMs restart only on hosts
        of its zone, and the N+k reserve is held per zone, as consolidation plans it. None:
        one zone.
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
    vm_restart_h: FloatArray | None = None
    domains: tuple[Domain, ...] = ()
    guest_patches_per_year: float = 0.0
    guest_patch_h: float = 0.0
    bare_metal: bool = False
    zone_of_host: IntArray | None = None

    @property
    def zones(self) -> IntArray:
        """Zone of each host, ``(n_hosts,)`` (all 0 without zones)."""
        if self.zone_of_host is None:
            return np.zeros(self.n_hosts, dtype=np.int64)
        return np.asarray(self.zone_of_host, dtype=np.int64)

    @property
    def restart_of_vm_h(self) -> FloatArray:
        """HA restart time of each VM, hours ``(n_vms,)``."""
        if self.vm_restart_h is None:
            return np.full(self.host_of_vm.size, float(self.restart_h))
        return np.asarray(self.vm_restart_h, dtype=np.float64)

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


def tail_at_least(q: npt.ArrayLike, m: int) -> float:
    """``P(at least m of independent components are down)`` (Poisson-binomial); 1 if m ≤ 0."""
    qq = np.asarray(q, dtype=np.float64).ravel()
    if m <= 0:
        return 1.0
    if m > qq.size:
        return 0.0
    dist = np.zeros(m)
    dist[0] = 1.0
    for qj in qq:
        dist[1:] = dist[1:] * (1.0 - qj) + dist[:-1] * qj
        dist[0] *= 1.0 - qj
    return float(np.clip(1.0 - dist.sum(), 0.0, 1.0))


def domain_block_prob(
    q_hosts: npt.ArrayLike,
    members: npt.ArrayLike,
    reserve_hosts: int,
    same_zone: npt.ArrayLike | None = None,
) -> float:
    """``P(no reserve left)`` when a domain group holding ``members`` fails.

    Its VMs restart elsewhere only if its ``n_g`` hosts plus the hosts already down outside
    it fit the reserve: blocked when ``#down outside ≥ k − n_g + 1`` (always when
    ``n_g > k``). For a single host this is :func:`others_down_tail`. With ``same_zone`` (a
    bool mask of the hosts in the zone whose VMs are asked about), only that zone's hosts
    count, inside the group and outside it.
    """
    q = np.asarray(q_hosts, dtype=np.float64)
    inside = np.zeros(q.size, dtype=bool)
    inside[np.asarray(members, dtype=np.int64)] = True
    zone = np.ones(q.size, dtype=bool) if same_zone is None else np.asarray(same_zone, bool)
    n_g = int((inside & zone).sum())
    if n_g > reserve_hosts:
        return 1.0
    return tail_at_least(q[~inside & zone], reserve_hosts - n_g + 1)


def vm_maintenance_frac(inputs: AvailabilityInputs) -> tuple[float, float]:
    """Planned downtime shares ``(guest patches, host windows)`` of one VM.

    Guest patches are charged on every side; host windows only without live migration; on
    bare metal the two coincide (one OS), so only the larger is charged.
    """
    guest = min(1.0, inputs.guest_patches_per_year * inputs.guest_patch_h / HOURS_PER_YEAR)
    host = maintenance_unavailability(
        inputs.maintenance_windows_per_year,
        inputs.maintenance_window_h,
        live_migration=inputs.live_migration,
    )
    if inputs.bare_metal:
        return max(guest, host), 0.0
    return guest, host


def _domain_vm_unavailability(inputs: AvailabilityInputs) -> list[FloatArray]:
    """Per domain, the unavailability each VM suffers from its group's failures ``(n_vms,)``."""
    q_hosts = unavailability_frac(inputs.mtbf_h, inputs.mttr_h)
    restart = inputs.restart_of_vm_h
    out = []
    zones = inputs.zones
    n_zones = int(zones.max()) + 1 if zones.size else 1
    for dom in inputs.domains:
        f = float(failure_rate_per_h(dom.mtbf_h, dom.mttr_h))
        block = np.ones((dom.n_groups, n_zones))
        if inputs.ha:
            for g in range(dom.n_groups):
                members = np.flatnonzero(dom.group_of_host == g)
                for z in np.unique(zones[members]).tolist():
                    block[g, z] = domain_block_prob(
                        q_hosts, members, inputs.reserve_hosts, same_zone=zones == z
                    )
        group = dom.group_of_host[inputs.host_of_vm]
        inside = group >= 0
        b = np.where(inside, block[np.maximum(group, 0), zones[inputs.host_of_vm]], 1.0)
        if inputs.ha:
            d = (1.0 - b) * dom.mttr_h * -np.expm1(-restart / dom.mttr_h) + b * dom.mttr_h
        else:
            d = np.full(restart.size, dom.mttr_h)
        out.append(np.where(inside, f * d, 0.0))
    return out


def _host_vm_unavailability(inputs: AvailabilityInputs) -> FloatArray:
    """Unavailability each VM suffers from failures of its own host ``(n_vms,)``."""
    mtbf, mttr = inputs.mtbf_h, inputs.mttr_h
    q = unavailability_frac(mtbf, mttr)
    f = failure_rate_per_h(mtbf, mttr)
    h = inputs.host_of_vm
    if not inputs.ha:
        return np.asarray(f[h] * mttr[h], dtype=np.float64)
    block = others_down_tail_by_zone(q, inputs.reserve_hosts, inputs.zones)[h]
    restart = inputs.restart_of_vm_h
    d = (1.0 - block) * mttr[h] * -np.expm1(-restart / mttr[h]) + block * mttr[h]
    return np.asarray(f[h] * d, dtype=np.float64)


def closed_form(inputs: AvailabilityInputs) -> AvailabilityResult:
    """Closed-form availability of every VM and service (see the module docstring).

    Returns
    -------
    AvailabilityResult
        Unavailability fractions; availability is ``1 − U``.
    """
    host_vm = _host_vm_unavailability(inputs)
    q_path = float(unavailability_frac(inputs.path_mtbf_h, inputs.path_mttr_h))
    # No SAN paths (local disks only): nothing on the path can fail.
    path_u = float(redundant_unavailability(q_path, inputs.n_paths)) if inputs.n_paths else 0.0
    host_part = combine_independent(host_vm, path_u)
    domain_parts = _domain_vm_unavailability(inputs)
    q_app = float(unavailability_frac(inputs.appliance_mtbf_h, inputs.appliance_mttr_h))
    app_u = appliance_unavailability(inputs.appliance, inputs.appliance_mirrored, q_app)
    guest_m, host_m = vm_maintenance_frac(inputs)
    maint = float(combine_independent(guest_m, host_m))
    vm_u = combine_independent(host_part, *domain_parts, app_u, maint)
    host_total = np.zeros(inputs.n_hosts)
    np.maximum.at(host_total, inputs.host_of_vm, host_part)
    service_u = _service_closed_form(inputs, host_part, domain_parts, app_u, guest_m, host_m)
    return AvailabilityResult(vm_u, service_u, host_total, app_u, maint)


def _service_hosts(inputs: AvailabilityInputs) -> tuple[IntArray, IntArray]:
    """Distinct (service, host) pairs, sorted by service."""
    pairs = np.unique(np.stack([inputs.service_of_vm, inputs.host_of_vm], axis=1), axis=0)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _service_closed_form(
    inputs: AvailabilityInputs,
    host_part: FloatArray,
    domain_parts: list[FloatArray],
    app_u: float,
    guest_m: float,
    host_m: float,
) -> FloatArray:
    """Service down while every one of its VMs is, conditioning on the nested domains.

    Bottom up: on one host the service is down with the smallest host-level unavailability
    of its VMs there (they fail together; the first to restart brings it back); a domain
    group is down for the service with ``U_g + (1 − U_g) Π children``, ``U_g`` the
    smallest of its VMs' outage shares from that group's failures; the top-level groups
    are independent.
    """
    n_services = inputs.n_services
    svc = inputs.service_of_vm
    # Level 0: (service, host) nodes.
    keys = svc * inputs.n_hosts + inputs.host_of_vm
    nodes, node_of_vm = np.unique(keys, return_inverse=True)
    p = np.full(nodes.size, np.inf)
    np.minimum.at(p, node_of_vm, host_part)
    node_service = nodes // inputs.n_hosts
    node_host = nodes % inputs.n_hosts
    for dom, u_vm in zip(inputs.domains, domain_parts, strict=True):
        group = dom.group_of_host[node_host]
        if np.any(group < 0):
            # Hosts outside the domain: keep them as their own nodes (group -1 - host).
            group = np.where(group < 0, -1 - node_host, group)
        parent_keys = node_service * (inputs.n_hosts + dom.n_groups + 1) + (
            group + inputs.n_hosts + 1
        )
        parents, parent_of_node = np.unique(parent_keys, return_inverse=True)
        log_prod = np.zeros(parents.size)
        with np.errstate(divide="ignore"):
            np.add.at(log_prod, parent_of_node, np.log(p))
        children = np.exp(log_prod)
        # The group's own outage share for the service: smallest over its VMs.
        vm_parent = parent_of_node[node_of_vm]
        u_g = np.full(parents.size, np.inf)
        np.minimum.at(u_g, vm_parent, u_vm)
        p = u_g + (1.0 - u_g) * children
        node_of_vm = vm_parent
        node_service = parents // (inputs.n_hosts + dom.n_groups + 1)
        node_host = np.zeros(parents.size, dtype=np.int64)
        first_vm = np.full(parents.size, -1, dtype=np.int64)
        first_vm[node_of_vm[::-1]] = np.arange(node_of_vm.size)[::-1]
        node_host = inputs.host_of_vm[first_vm]
    log_down = np.zeros(n_services)
    with np.errstate(divide="ignore"):
        np.add.at(log_down, node_service, np.log(p))
    all_down = np.exp(log_down)
    n_vms_of = np.bincount(svc, minlength=n_services)
    services, _ = _service_hosts(inputs)
    n_hosts_of = np.bincount(services, minlength=n_services)
    single_vm = float(combine_independent(guest_m, host_m))
    maint_s = np.where(n_vms_of == 1, single_vm, np.where(n_hosts_of == 1, host_m, 0.0))
    return combine_independent(all_down, app_u, maint_s)


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
    conditional
        Blocked restarts weighed by the measured share of time without reserve
        (conditional Monte Carlo) rather than counted at the instants drawn.
    """

    vm_unavailability_frac: FloatArray
    vm_stderr: FloatArray
    service_unavailability_frac: FloatArray
    service_stderr: FloatArray
    vm_mean_stderr: float
    n_runs: int
    years_per_run: float
    seed: int
    conditional: bool = True


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


def _units(inputs: AvailabilityInputs) -> tuple[IntArray, IntArray, FloatArray]:
    """Simulation units: distinct (host, restart time) pairs.

    Returns ``(unit_of_vm (n_vms,), host_of_unit, restart_h_of_unit)``; VMs of one unit go
    down and come back together.
    """
    restart = inputs.restart_of_vm_h
    values, r_idx = np.unique(restart, return_inverse=True)
    keys = inputs.host_of_vm * values.size + r_idx
    units, unit_of_vm = np.unique(keys, return_inverse=True)
    return (
        unit_of_vm.astype(np.int64),
        (units // values.size).astype(np.int64),
        values[units % values.size],
    )


def _expand_to_units(
    starts: FloatArray,
    ends: FloatArray,
    host: IntArray,
    blocked: npt.NDArray[np.bool_],
    host_of_unit: IntArray,
    restart_of_unit: FloatArray,
    n_hosts: int,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """VM outage intervals of every unit on the hosts of host-level down intervals.

    A unit's outage ends at ``min(end, start + R_unit)`` unless the event was blocked (no
    reserve left), then at ``end``.
    """
    if starts.size == 0:
        return starts, ends, host
    order = np.argsort(host_of_unit, kind="stable")
    counts = np.bincount(host_of_unit, minlength=n_hosts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    per_event = counts[host]
    ev = np.repeat(np.arange(starts.size), per_event)
    offset = np.arange(ev.size) - np.repeat(np.cumsum(per_event) - per_event, per_event)
    unit = order[first[host[ev]] + offset]
    end = np.where(blocked[ev], ends[ev], np.minimum(ends[ev], starts[ev] + restart_of_unit[unit]))
    return starts[ev], end, unit.astype(np.int64)


def _down_count_at(
    times: FloatArray, starts: FloatArray, ends: FloatArray
) -> npt.NDArray[np.int64]:
    """Number of the intervals ``[starts, ends)`` covering each time."""
    s_sorted = np.sort(starts)
    e_sorted = np.sort(ends)
    return np.asarray(
        np.searchsorted(s_sorted, times, side="right")
        - np.searchsorted(e_sorted, times, side="right"),
        dtype=np.int64,
    )


def _host_blocked(
    inputs: AvailabilityInputs, h_start: FloatArray, h_end: FloatArray, h_host: IntArray
) -> npt.NDArray[np.bool_]:
    """Per host failure: no reserve left (at least k other hosts of its zone are down)."""
    if not inputs.ha or not h_start.size:
        return np.ones(h_start.size, dtype=bool)
    others = np.empty(h_start.size, dtype=np.int64)
    h_zone = inputs.zones[h_host]
    for z in np.unique(h_zone).tolist():
        here = h_zone == z
        others[here] = _down_count_at(h_start[here], h_start[here], h_end[here]) - 1
    return np.asarray(others >= inputs.reserve_hosts)


def _domain_blocked(
    inputs: AvailabilityInputs,
    dom: Domain,
    starts: FloatArray,
    groups: IntArray,
    hosts: IntArray,
    h_start: FloatArray,
    h_end: FloatArray,
    h_host: IntArray,
) -> npt.NDArray[np.bool_]:
    """Per member host of a failed domain group (event ``starts[j]``, group ``groups[j]``):
    no reserve left in the host's zone for the group's hosts of that zone plus the zone's
    hosts already down outside the group."""
    blocked = np.ones(hosts.size, dtype=bool)
    if not inputs.ha:
        return blocked
    zones = inputs.zones
    h_zone = zones[h_host]
    for j in range(hosts.size):
        z = int(zones[hosts[j]])
        n_g = int(np.sum((zones == z) & (dom.group_of_host == groups[j])))
        if n_g > inputs.reserve_hosts:
            continue
        inside = dom.group_of_host[h_host] == groups[j]
        down = (h_zone == z) & (h_start <= starts[j]) & (h_end > starts[j])
        blocked[j] = int(np.sum(down & ~inside)) >= inputs.reserve_hosts - n_g + 1
    return blocked


def _time_at_count(
    times: FloatArray, count: FloatArray, k: int, starts: FloatArray, ends: FloatArray
) -> FloatArray:
    """Time within each ``[starts, ends]`` during which a step function equals ``k``.

    The function is ``count[i]`` on ``[times[i], times[i + 1])``; the intervals lie inside
    ``[times[0], times[-1]]``.
    """
    width = np.diff(times)
    cumulative = np.concatenate([[0.0], np.cumsum(np.where(count[:-1] == k, width, 0.0))])

    def upto(x: FloatArray) -> FloatArray:
        i = np.clip(np.searchsorted(times, x, side="right") - 1, 0, times.size - 2)
        return np.asarray(
            cumulative[i] + np.where(count[i] == k, x - times[i], 0.0), dtype=np.float64
        )

    return upto(ends) - upto(starts)


def reserve_exhausted_frac(
    inputs: AvailabilityInputs,
    h_start: FloatArray,
    h_end: FloatArray,
    h_host: IntArray,
    lo: float,
    hi: float,
) -> FloatArray:
    """Per host, the share of ``[lo, hi]`` during which at least k *other* hosts of its zone
    are down (host failures only, as :func:`_host_blocked` counts them), ``(n_hosts,)``.

    With ``c(t)`` the zone's count of down hosts and ``o_h(t)`` whether host h is down,
    "others ≥ k" is ``c ≥ k`` less the time when h is down and ``c = k`` exactly; both are
    read off the zone's step function.
    """
    k = inputs.reserve_hosts
    out = np.ones(inputs.n_hosts) if k <= 0 else np.zeros(inputs.n_hosts)
    if k <= 0 or hi <= lo:
        return out
    s = np.clip(h_start, lo, hi)
    e = np.clip(h_end, lo, hi)
    h_zone = inputs.zones[h_host]
    for z in np.unique(h_zone).tolist():
        here = (h_zone == z) & (e > s)
        times = np.concatenate([[lo], s[here], e[here], [hi]])
        delta = np.concatenate([[0], np.ones(here.sum()), -np.ones(here.sum()), [0]])
        order = np.lexsort((delta, times))
        times, count = times[order], np.cumsum(delta[order])
        width = np.diff(times)
        at_least = float(np.sum(width[count[:-1] >= k]))
        own = np.bincount(
            h_host[here],
            weights=_time_at_count(times, count, k, s[here], e[here]),
            minlength=inputs.n_hosts,
        )
        members = np.flatnonzero(inputs.zones == z)
        out[members] = (at_least - own[members]) / (hi - lo)
    return np.clip(out, 0.0, 1.0)


def _shared_parts(
    rng: np.random.Generator,
    inputs: AvailabilityInputs,
    hosts_down: tuple[FloatArray, FloatArray, IntArray],
    units: tuple[IntArray, FloatArray],
    hi: float,
    span: float,
) -> list[tuple[FloatArray, FloatArray, IntArray]]:
    """Unit outages of every cause but a host's own failures: domain groups, paths, appliance."""
    host_of_unit, restart_of_unit = units
    n_hosts = inputs.n_hosts
    n_units = host_of_unit.size
    parts = []
    # Domain groups: all their hosts at once; restart only if they fit the reserve.
    for dom in inputs.domains:
        if not np.isfinite(dom.mtbf_h) or dom.n_groups == 0:
            continue
        g_s, g_e, g = _alternating_downs(
            rng, np.full(dom.n_groups, dom.mtbf_h), np.full(dom.n_groups, dom.mttr_h), hi
        )
        g_e = np.minimum(g_e, span / 2)
        # One host-level event per member host; each member host's zone decides its restart.
        members = [np.flatnonzero(dom.group_of_host == gi) for gi in range(dom.n_groups)]
        per = np.array([m.size for m in members], dtype=np.int64)[g]
        ev = np.repeat(np.arange(g_s.size), per)
        hosts = np.concatenate([members[gi] for gi in g.tolist()] or [np.zeros(0, np.int64)])
        hosts = hosts.astype(np.int64)
        blocked = _domain_blocked(inputs, dom, g_s[ev], g[ev], hosts, *hosts_down)
        parts.append(
            _expand_to_units(
                g_s[ev], g_e[ev], hosts, blocked, host_of_unit, restart_of_unit, n_hosts
            )
        )
    # Paths: a host loses storage when all its paths are down at once (no restart helps).
    if inputs.n_paths > 0 and np.isfinite(inputs.path_mtbf_h):
        n_comp = n_hosts * inputs.n_paths
        p_s, p_e, p_c = _alternating_downs(
            rng, np.full(n_comp, inputs.path_mtbf_h), np.full(n_comp, inputs.path_mttr_h), hi
        )
        p_s, p_e, p_host = _intersect_all(
            p_s,
            np.minimum(p_e, span / 2),
            p_c // inputs.n_paths,
            np.full(n_hosts, inputs.n_paths, dtype=np.int64),
            span,
        )
        always = np.ones(p_s.size, dtype=bool)
        parts.append(
            _expand_to_units(p_s, p_e, p_host, always, host_of_unit, restart_of_unit, n_hosts)
        )
    # The appliance takes every unit down.
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
        parts.append(
            (
                np.repeat(a_s[None, :], n_units, axis=0).ravel(),
                np.repeat(a_e[None, :], n_units, axis=0).ravel(),
                np.repeat(np.arange(n_units, dtype=np.int64), a_s.size),
            )
        )
    return parts


def _down_shares(
    inputs: AvailabilityInputs,
    parts: list[tuple[FloatArray, FloatArray, IntArray]],
    unit_of_vm: IntArray,
    n_units: int,
    window: tuple[float, float, float],
) -> tuple[FloatArray, FloatArray]:
    """Share of ``[lo, hi]`` each unit and each service is down, given every unit outage."""
    lo, hi, span = window
    m_s, m_e, m_u = _merge(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        span,
    )
    unit_down = _length_by_group(m_s, m_e, m_u, n_units, lo, hi) / (hi - lo)
    # Services: down while every unit holding one of its VMs is down.
    pairs = np.unique(np.stack([inputs.service_of_vm, unit_of_vm], axis=1), axis=0)
    services, units = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    n_services = inputs.n_services
    counts = np.bincount(m_u, minlength=n_units)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(m_u, kind="stable")
    sel_index = np.concatenate(
        [order[first[u] : first[u] + counts[u]] for u in units.tolist()]
        or [np.zeros(0, dtype=np.int64)]
    )
    sel_service = np.repeat(services, counts[units])
    required = np.bincount(services, minlength=n_services)
    i_s, i_e, i_g = _intersect_all(m_s[sel_index], m_e[sel_index], sel_service, required, span)
    service_down = _length_by_group(i_s, i_e, i_g, n_services, lo, hi) / (hi - lo)
    return unit_down, service_down


def _one_run(
    rng: np.random.Generator, inputs: AvailabilityInputs, years: float, *, conditional: bool
) -> tuple[FloatArray, FloatArray]:
    """Unplanned unavailability per unit and per service in one simulated run."""
    n_hosts = inputs.n_hosts
    unit_of_vm, host_of_unit, restart_of_unit = _units(inputs)
    n_units = host_of_unit.size
    repairs = [float(inputs.mttr_h.max()), inputs.path_mttr_h, inputs.appliance_mttr_h]
    repairs += [d.mttr_h for d in inputs.domains]
    lo = 50.0 * max(repairs)  # warm-up: steady state reached
    hi = lo + years * HOURS_PER_YEAR
    span = hi * 4.0 + 1.0
    window = (lo, hi, span)
    h_start, h_end, h_host = _alternating_downs(rng, inputs.mtbf_h, inputs.mttr_h, hi)
    h_end = np.minimum(h_end, span / 2)
    hosts_down = (h_start, h_end, h_host)
    shared = _shared_parts(rng, inputs, hosts_down, (host_of_unit, restart_of_unit), hi, span)

    def with_hosts(blocked: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
        own = _expand_to_units(
            h_start, h_end, h_host, blocked, host_of_unit, restart_of_unit, n_hosts
        )
        return _down_shares(inputs, [own, *shared], unit_of_vm, n_units, window)

    # Sampled: a failure is blocked when at least k other hosts of its zone are down.
    unit_down, service_down = with_hosts(_host_blocked(inputs, h_start, h_end, h_host))
    if not (conditional and inputs.ha):
        return unit_down, service_down
    p_block = reserve_exhausted_frac(inputs, h_start, h_end, h_host, lo, hi)
    unit_0, service_0 = with_hosts(np.zeros(h_start.size, dtype=bool))
    unit_1, service_1 = with_hosts(np.ones(h_start.size, dtype=bool))
    unit_down = unit_0 + p_block[host_of_unit] * (unit_1 - unit_0)
    # Services on one host are linear in its blocking as well; the others keep the sample.
    service_hosts, hosts = _service_hosts(inputs)
    n_hosts_of = np.bincount(service_hosts, minlength=inputs.n_services)
    host_of_service = np.zeros(inputs.n_services, dtype=np.int64)
    host_of_service[service_hosts] = hosts
    one_host = n_hosts_of == 1
    weighted = service_0 + p_block[host_of_service] * (service_1 - service_0)
    return unit_down, np.where(one_host, weighted, service_down)


def monte_carlo(
    inputs: AvailabilityInputs,
    *,
    n_runs: int,
    years_per_run: float,
    seed: int,
    conditional: bool = True,
) -> MonteCarloResult:
    """Seeded Monte Carlo of failures on the actual placement.

    Simulates every host, domain group (rack, PDU, array), path and appliance node as an
    independent alternating renewal process (exponential up and down times), applies the
    HA / N+k rule at each failure instant (a group's hosts restart elsewhere only if they
    and the hosts already down fit the reserve), with each VM's own restart time, and
    measures the time each VM and service is down. Planned maintenance is deterministic and
    added as in the closed form.

    Rare blocked restarts are not left to chance (``conditional=True``, the default). A
    failure is blocked when at least k other hosts of its zone are down at its instant; a
    run of decades sees only a handful of such instants per host, so a VM's estimate
    depends on whether its host happened to draw one. Because the other hosts fail
    independently of the failing host, the chance that a failure of host h is blocked is
    the share of time during which at least k *other* hosts of its zone are down, which
    the run measures from its whole trajectory (:func:`reserve_exhausted_frac`), not from
    the few failure instants. A VM's down time is linear in the blocking of its host's
    failures (a host's outages never overlap, and a blocked outage contains the unblocked
    one), so each run weighs "no failure blocked" and "every failure blocked" by that
    share: conditional Monte Carlo (post-stratification of each failure on the reserve
    state). It is unbiased, still independent of the closed form's Poisson-binomial
    formula, and its spread between runs is far smaller. Services spread over several
    hosts need their hosts' outages to coincide and are not linear in the blocking; they
    keep the sampled decisions.

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
    conditional
        Weigh blocked restarts by the run's measured share of time without reserve (see
        above); False: count only the blocked failure instants the run drew (the plain
        estimator, kept to show the difference).

    Returns
    -------
    MonteCarloResult
        Means and standard errors per VM and per service.
    """
    rng = np.random.default_rng(seed)
    unit_of_vm, host_of_unit, _ = _units(inputs)
    unit_runs = np.empty((n_runs, host_of_unit.size))
    service_runs = np.empty((n_runs, inputs.n_services))
    for run in range(n_runs):
        unit_runs[run], service_runs[run] = _one_run(
            rng, inputs, years_per_run, conditional=conditional
        )
    guest_m, host_m = vm_maintenance_frac(inputs)
    maint = float(combine_independent(guest_m, host_m))
    services, _ = _service_hosts(inputs)
    n_hosts_of = np.bincount(services, minlength=inputs.n_services)
    n_vms_of = np.bincount(inputs.service_of_vm, minlength=inputs.n_services)
    maint_s = np.where(n_vms_of == 1, maint, np.where(n_hosts_of == 1, host_m, 0.0))
    vm_runs = combine_independent(unit_runs[:, unit_of_vm], maint)
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
        conditional=conditional and inputs.ha,
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
