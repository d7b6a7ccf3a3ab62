"""The placement instance: every number the storage solver and the validator need, as arrays.

Built once from volumes, pools and the what-if settings; no data preparation happens inside
the solver. Resources per pool (axis ``r`` of ``capacity`` and ``demand``):

``provisioned_gib``
    Thin pools: provisioned GiB ≤ over-subscription ratio × physical GiB. Thick pools: the
    ratio is 1 (space is allocated at creation).
``forecast_gib``
    Physical GiB in use at the horizon, snapshot reserve included, ≤ alert threshold ×
    physical GiB. Thin: forecast used × (1 + reserve); thick: provisioned × (1 + reserve).
``iops``
    Back-end IOPS: read + write penalty of the pool's RAID/mirroring × write, ≤ the pool's
    IOPS minus the back-end IOPS of memory paging that lands on it.
``mib_s``
    Front-end MiB/s (read + write) ≤ the pool's MiB/s minus the paging MiB/s.

Each copy of a mirrored volume carries the volume's full demand: after the other copy's
failure domain fails it must serve every read alone (a stated, conservative assumption).
Costs are per copy: ``forecast_gib`` × (price per GiB + energy per GiB over the horizon), the
energy from the pool's W/TiB, the economics settings' PUE and electricity price.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from capplan.emulate.storage import RHO_CAP, load_for_latency, mean_latency_ms
from capplan.errors import CapplanError
from capplan.spec.catalog import SanTier
from capplan.storage.spec import StorageSpec
from capplan.storage.volumes import Volumes
from capplan.units import GIB_PER_TIB, KIB_PER_MIB, S_PER_DAY, S_PER_HOUR, W_PER_KW

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

RESOURCES: Final = ("provisioned_gib", "forecast_gib", "iops", "mib_s")
R_PROV, R_FORECAST, R_IOPS, R_MIB_S = range(4)
#: Share of paging I/O that is writes: in steady state every page swapped out is swapped back
#: in, so reads and writes balance (a stated assumption, not a measurement).
PAGING_WRITE_FRAC: Final = 0.5


@dataclass(frozen=True)
class PlanSettings:
    """What-if knobs that shape the instance.

    Attributes
    ----------
    thin
        Thin provisioning (space allocated on write) or thick (at creation).
    appliance
        ``none`` (driver-based / array-native), ``in-band`` or ``out-of-band``.
    appliance_max_iops, appliance_max_mib_s
        In-band ceiling on all front-end I/O (inf: none).
    appliance_mirrored
        In-band appliance deployed as a mirrored pair (otherwise a single point of failure).
    appliance_added_latency_ms
        Latency the appliance adds to an average I/O, ms.
    path_added_latency_ms
        Latency the virtualization mode's I/O path adds to a VM I/O, ms (the replay adds it to
        the pool's response time, so the planner keeps it within the objective too).
    vm_iops_ceiling
        The most IOPS one VM's I/O path passes under the mode (a volume never gets more).
    paging_mib_s
        Pool name → MiB/s of hypervisor paging (memory over-commit) that lands on it.
    page_size_kib
        Size of one paging I/O, KiB (the catalog's ``memory.page_size_kib``).
    max_moved_gib
        Largest amount of data moved from the current layout (inf: no limit).
    electricity_usd_per_kwh, pue_ratio
        Energy price and facility overhead for the power cost.
    horizon_days
        Planning horizon (energy is costed over it).
    """

    thin: bool = True
    appliance: str = "none"
    appliance_max_iops: float = math.inf
    appliance_max_mib_s: float = math.inf
    appliance_mirrored: bool = False
    appliance_added_latency_ms: float = 0.0
    paging_mib_s: Mapping[str, float] = field(default_factory=dict)
    page_size_kib: float = 4.0
    max_moved_gib: float = math.inf
    electricity_usd_per_kwh: float = 0.0
    pue_ratio: float = 1.0
    horizon_days: float = 365.0
    path_added_latency_ms: float = 0.0
    vm_iops_ceiling: float = math.inf

    @property
    def added_latency_ms(self) -> float:
        """What a VM I/O sees beyond the pool's response time: appliance plus I/O path."""
        return self.appliance_added_latency_ms + self.path_added_latency_ms


@dataclass(frozen=True, eq=False)
class StorageInstance:
    """A prepared placement problem (``n`` volumes, ``m`` pools, ``R`` = 4 resources).

    Attributes
    ----------
    volume_ids
        ``(n,)`` volume ids.
    pool_names, pool_tiers
        ``(m,)`` pool names and their tier names.
    pool_domain
        ``(m,)`` failure-domain index of each pool.
    domain_names
        Failure-domain names, indexed by ``pool_domain``.
    capacity
        ``(m, R)`` limit per pool and resource (inf: no limit).
    demand
        ``(n, m, R)`` demand of one copy of volume ``v`` on pool ``p``.
    allowed
        ``(n, m)`` whether a copy of ``v`` may go on ``p`` (latency class, fits at all).
    cost_usd
        ``(n, m)`` cost of one copy of ``v`` on ``p`` over the horizon.
    copies
        ``(n,)`` copies per volume (1, or 2 when mirrored: in two failure domains).
    current
        ``(n, m)`` current layout (True where a copy of ``v`` is on ``p``), or None.
    move_gib
        ``(n,)`` data copied when a copy of ``v`` moves to a new pool, GiB.
    max_moved_gib
        Limit on the total data moved (inf: none).
    """

    volume_ids: npt.NDArray[np.str_]
    pool_names: tuple[str, ...]
    pool_tiers: tuple[str, ...]
    pool_domain: IntArray
    domain_names: tuple[str, ...]
    capacity: FloatArray
    demand: FloatArray
    allowed: BoolArray
    cost_usd: FloatArray
    copies: IntArray
    current: BoolArray | None = None
    move_gib: FloatArray = field(default_factory=lambda: np.zeros(0))
    max_moved_gib: float = math.inf

    @property
    def n_volumes(self) -> int:
        """Number of volumes."""
        return int(self.demand.shape[0])

    @property
    def n_pools(self) -> int:
        """Number of pools."""
        return int(self.demand.shape[1])

    def moved_gib(self, assign: IntArray) -> float:
        """GiB moved by an assignment ``(n, 2)`` relative to the current layout (0 without one)."""
        if self.current is None:
            return 0.0
        rows = np.arange(self.n_volumes)
        total = 0.0
        for slot in range(assign.shape[1]):
            pools = assign[:, slot]
            placed = pools >= 0
            stays = np.zeros(self.n_volumes, dtype=bool)
            stays[placed] = self.current[rows[placed], pools[placed]]
            total += float(self.move_gib[placed & ~stays].sum())
        return total


def _capacity(spec: StorageSpec, settings: PlanSettings) -> tuple[FloatArray, FloatArray]:
    """Capacity ``(m, R)`` and the paging back-end load ``(m, 2)`` (IOPS, MiB/s) per pool."""
    m = spec.n_pools
    cap = np.zeros((m, len(RESOURCES)))
    paging = np.zeros((m, 2))
    names = spec.pool_index()
    unknown = sorted(set(settings.paging_mib_s) - set(names))
    if unknown:
        raise CapplanError(
            f"paging traffic given for unknown pool(s) {unknown}; valid: {', '.join(names)}"
        )
    for j, pool in enumerate(spec.pools):
        ratio = spec.ratio_of(pool) if settings.thin else 1.0
        cap[j, R_PROV] = ratio * pool.physical_gib
        cap[j, R_FORECAST] = spec.alert_of(pool) * pool.physical_gib
        page_mib_s = float(settings.paging_mib_s.get(pool.name, 0.0))
        if not page_mib_s >= 0:
            raise CapplanError(f"paging MiB/s on pool {pool.name!r} must be >= 0")
        page_iops = page_mib_s * KIB_PER_MIB / settings.page_size_kib
        pen = pool.tier.write_penalty
        backend_iops = page_iops * ((1 - PAGING_WRITE_FRAC) + PAGING_WRITE_FRAC * pen)
        paging[j] = (backend_iops, page_mib_s)
        usable = planned_load(pool.tier, spec, settings.added_latency_ms)
        cap[j, R_IOPS] = usable * pool.tier.max_iops - backend_iops
        cap[j, R_MIB_S] = usable * pool.tier.max_mib_s - page_mib_s
    return cap, paging


def planned_load(tier: SanTier, spec: StorageSpec, added_ms: float = 0.0) -> float:
    """Share of a pool's IOPS and MiB/s the plan may fill: the highest load at which the
    emulator's latency model (M/M/c, :func:`capplan.emulate.storage.mean_latency_ms`) plus the
    appliance's ``added_ms`` keeps the mean response time within the ``slo`` latency class,
    and never above the model's cap (ρ = 0.99). The planner and the replay so use one latency
    model: a pool filled to 99.9 % of its IOPS, which the replay puts far above the
    objective, is no longer planned. A tier too slow for the objective even unloaded takes no
    ``slo`` volume (the latency check bars them) and is filled to the cap by the others."""
    slo = spec.latency_classes.get("slo", math.inf) - added_ms
    if not math.isfinite(slo) or slo < tier.base_latency_ms:
        return RHO_CAP
    return load_for_latency(tier, slo)


def planned_latency_ms(tier: SanTier, spec: StorageSpec, added_ms: float = 0.0) -> float:
    """Mean response time of a pool filled to :func:`planned_load`, appliance included
    (what a volume's latency class is checked against)."""
    return float(mean_latency_ms(tier, planned_load(tier, spec, added_ms))) + added_ms


def unit_cost_usd_per_gib(spec: StorageSpec, settings: PlanSettings) -> FloatArray:
    """Cost of one consumed GiB per pool over the horizon, USD, shape ``(m,)``.

    Price per GiB plus energy: ``W/TiB / (GiB per TiB) / (W per kW) × PUE × USD/kWh ×
    horizon hours``; pools without a published W/TiB get no energy cost (reported).
    """
    hours = settings.horizon_days * S_PER_DAY / S_PER_HOUR
    out = np.zeros(spec.n_pools)
    for j, pool in enumerate(spec.pools):
        watts = pool.watts_per_tib if pool.watts_per_tib >= 0 else 0.0
        energy = (
            watts
            / GIB_PER_TIB
            / W_PER_KW
            * settings.pue_ratio
            * settings.electricity_usd_per_kwh
            * hours
        )
        out[j] = pool.price_usd_per_gib + energy
    return out


def build_instance(
    volumes: Volumes, spec: StorageSpec, settings: PlanSettings
) -> tuple[StorageInstance, FloatArray]:
    """Build the placement instance.

    Parameters
    ----------
    volumes
        What to place.
    spec
        The pools (with prices) and policy.
    settings
        What-if knobs.

    Returns
    -------
    instance, paging
        The instance and the paging back-end load per pool ``(m, 2)`` (IOPS, MiB/s).

    Raises
    ------
    CapplanError
        When a pool has no price per GiB (the catalog leaves prices undefined where no
        published figure exists: give ``--price TIER=USD``), or a knob is out of range.
    """
    n, m = volumes.n_volumes, spec.n_pools
    if m == 0:
        raise CapplanError("the storage spec has no pools")
    no_price = [p.name for p in spec.pools if not p.price_usd_per_gib >= 0]
    if no_price:
        tiers = sorted({p.tier.name for p in spec.pools if p.name in no_price})
        raise CapplanError(
            "not available: no price per GiB for pool(s) "
            f"{', '.join(no_price)} (tier(s) {', '.join(tiers)}: the catalog has no published "
            "price); give one with --price TIER=USD_PER_GIB or price_usd_per_gib in the pools "
            "file"
        )
    if settings.appliance not in ("none", "in-band", "out-of-band"):
        raise CapplanError(
            f"unknown appliance {settings.appliance!r}; expected none, in-band or out-of-band"
        )
    capacity, paging = _capacity(spec, settings)
    prov = volumes.provisioned_gib
    reserve = 1.0 + volumes.snapshot_reserve_frac
    consumed = (volumes.forecast_used_gib if settings.thin else prov) * reserve
    demand = np.zeros((n, m, len(RESOURCES)))
    demand[:, :, R_PROV] = prov[:, None]
    demand[:, :, R_FORECAST] = consumed[:, None]
    io = volumes.io
    if io is not None and io.has_iops:
        pen = np.array([p.tier.write_penalty for p in spec.pools])
        total = io.read_iops + io.write_iops
        with np.errstate(invalid="ignore", divide="ignore"):
            passed = np.where(
                total > settings.vm_iops_ceiling, settings.vm_iops_ceiling / total, 1.0
            )
        reads, writes = io.read_iops * passed, io.write_iops * passed
        demand[:, :, R_IOPS] = reads[:, None] + pen[None, :] * writes[:, None]
    else:
        capacity[:, R_IOPS] = np.inf
    if io is not None and io.has_mib_s:
        demand[:, :, R_MIB_S] = (io.read_mib_s + io.write_mib_s)[:, None]
    else:
        capacity[:, R_MIB_S] = np.inf
    added = settings.added_latency_ms
    latency = np.array([planned_latency_ms(p.tier, spec, added) for p in spec.pools])
    allowed = latency[None, :] <= volumes.latency_limit_ms[:, None]
    allowed &= np.all(demand <= capacity[None, :, :] + 1e-12, axis=2)
    price = unit_cost_usd_per_gib(spec, settings)
    cost = consumed[:, None] * price[None, :]
    domains: dict[str, int] = {}
    pool_domain = np.array(
        [domains.setdefault(p.failure_domain, len(domains)) for p in spec.pools], dtype=np.int64
    )
    current = None
    if volumes.current_pool is not None:
        current = np.zeros((n, m), dtype=bool)
        for slot in range(2):
            pools = volumes.current_pool[:, slot]
            has = pools >= 0
            current[np.flatnonzero(has), pools[has]] = True
    instance = StorageInstance(
        volume_ids=volumes.volume_ids,
        pool_names=tuple(p.name for p in spec.pools),
        pool_tiers=tuple(p.tier.name for p in spec.pools),
        pool_domain=pool_domain,
        domain_names=tuple(domains),
        capacity=capacity,
        demand=demand,
        allowed=allowed,
        cost_usd=cost,
        copies=volumes.n_copies,
        current=current,
        move_gib=volumes.used_gib.copy(),
        max_moved_gib=float(settings.max_moved_gib),
    )
    return instance, paging


def infeasibility_reasons(inst: StorageInstance, limit: int = 5) -> list[str]:
    """Quick, sufficient reasons why no plan can exist (empty when none is found).

    Checks, in order: volumes with fewer allowed failure domains than copies; pools whose
    capacity is already negative (paging exceeds the pool); resources whose total minimum
    demand exceeds the total capacity of all pools.
    """
    reasons: list[str] = []
    n_domains = len(inst.domain_names)
    dom_allowed = np.zeros((inst.n_volumes, n_domains), dtype=bool)
    for d in range(n_domains):
        dom_allowed[:, d] = inst.allowed[:, inst.pool_domain == d].any(axis=1)
    short = dom_allowed.sum(axis=1) < inst.copies
    for v in np.flatnonzero(short)[:limit]:
        n_ok = int(dom_allowed[v].sum())
        need = int(inst.copies[v])
        what = "no pool" if n_ok == 0 else f"pools in only {n_ok} failure domain(s)"
        reasons.append(
            f"volume {inst.volume_ids[v]!s} needs {need} cop{'y' if need == 1 else 'ies'} but "
            f"{what} can take it (latency class, or larger than every allowed pool)"
        )
    if short.sum() > limit:
        reasons.append(f"... and {int(short.sum()) - limit} more volume(s) like these")
    negative = np.argwhere(inst.capacity < 0)
    for j, r in negative[:limit]:
        reasons.append(
            f"pool {inst.pool_names[j]}: paging traffic alone exceeds its {RESOURCES[r]} capacity"
        )
    if reasons:
        return reasons
    for r, name in enumerate(RESOURCES):
        cap = inst.capacity[:, r]
        if np.isinf(cap).any():
            continue
        masked = np.where(inst.allowed, inst.demand[:, :, r], np.inf)
        total_need = float((masked.min(axis=1) * inst.copies).sum())
        have = float(cap.sum())
        if total_need > have * (1 + 1e-9):
            reasons.append(
                f"{name}: the volumes need at least {total_need:,.1f} in total but all pools "
                "together "
                f"allow {have:,.1f}"
            )
    return reasons
