"""Storage planning end to end: volumes → instance → placement → per-pool risk → report.

:func:`plan_storage` is what the CLI and other callers use. It never invents data: missing
disk sizes raise :class:`capplan.storage.volumes.StorageDataError`, missing I/O metrics and
missing prices are reported, and every assumption (growth, paging split, migration rate)
is listed in the report's ``notes`` with the sources it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.demand.workload import Workload
from capplan.errors import CapplanError
from capplan.spec.catalog import Catalog
from capplan.status import SolveStatus
from capplan.storage.files import UsedHistory
from capplan.storage.forecast import (
    DAYS_PER_YEAR,
    drift_and_volatility,
    first_passage_probability,
    linear_trend,
)
from capplan.storage.instance import (
    R_IOPS,
    R_MIB_S,
    R_PROV,
    PlanSettings,
    StorageInstance,
    build_instance,
    planned_latency_ms,
    planned_load,
    unit_cost_usd_per_gib,
)
from capplan.storage.placement import Progress, solve_placement
from capplan.storage.solution import StorageSolution, pool_loads
from capplan.storage.sources import cite
from capplan.storage.spec import StorageSpec
from capplan.storage.tiering import TieringResult, TierOption, recommend_tiers
from capplan.storage.volumes import Volumes, build_volumes

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StorageOptions:
    """Every knob of a storage plan (None: take the catalog's or the spec's value).

    Attributes
    ----------
    horizon_days
        Planning horizon, days.
    ratio
        Over-subscription ratio for every pool (what-if), else the spec's per-pool ratios.
    thin
        Thin (True) or thick (False) provisioning; None: the catalog's SAN design.
    appliance
        ``none`` (driver-based), ``in-band`` or ``out-of-band``; None: the catalog's.
    appliance_max_iops, appliance_max_mib_s, appliance_mirrored
        In-band appliance ceiling and redundancy; None: the catalog's.
    mirror
        True: mirror every volume; False: none; None: per the attributes file.
    snapshot_policy
        One snapshot policy for every volume; None: per the attributes (default ``catalog``).
    prices
        Tier or pool name → price per GiB, USD (replaces the catalog's / spec's).
    latency_class
        Class of volumes without one in the attributes.
    paging_mib_s
        Pool name → paging MiB/s landing on it (memory over-commit).
    paging_total_mib_s
        Paging MiB/s spread evenly over the pools of the catalog's swap tier.
    io_path_latency_ms
        Latency the virtualization mode's I/O path adds to a VM I/O (kept within the latency
        objective with the pool's own response time).
    vm_iops_ceiling
        The most IOPS one VM's I/O path passes under the mode (inf: no limit).
    max_moved_gib
        Limit on data moved from the current layout (inf: none).
    quantile
        I/O planning statistic (0.95: p95).
    used_missing
        ``error`` or ``provisioned`` (see :func:`capplan.storage.volumes.build_volumes`).
    migration_mib_s
        Throughput for tiering migrations; None: one SAN path (catalog ``path_speed_mib_s``).
    time_limit_s, workers, seed
        Solver budget.
    target_gap_frac
        Stop once a plan is within this share of the bound (0: prove optimality or use the
        whole time limit).
    """

    horizon_days: float = 365.0
    ratio: float | None = None
    thin: bool | None = None
    appliance: str | None = None
    appliance_max_iops: float | None = None
    appliance_max_mib_s: float | None = None
    appliance_mirrored: bool | None = None
    mirror: bool | None = None
    snapshot_policy: str | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    latency_class: str = "slo"
    paging_mib_s: Mapping[str, float] = field(default_factory=dict)
    paging_total_mib_s: float = 0.0
    io_path_latency_ms: float = 0.0
    vm_iops_ceiling: float = math.inf
    max_moved_gib: float = math.inf
    quantile: float = 0.95
    used_missing: str = "error"
    migration_mib_s: float | None = None
    time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    target_gap_frac: float = 1e-3


@dataclass(frozen=True)
class PoolRisk:
    """Forecast and run-out risk of one pool under a plan (see :func:`pool_risk`)."""

    used_now_gib: float
    forecast_gib: float
    band_lo_gib: float
    band_hi_gib: float
    days_to_full: float
    days_to_full_earliest: float
    days_to_full_latest: float
    p_run_out_frac: float
    p_alert_frac: float


@dataclass(frozen=True, eq=False)
class StoragePlanResult:
    """Everything a storage plan produced.

    Attributes
    ----------
    solution
        The placement and its cost, bound and gap.
    instance
        The instance it solved.
    volumes
        The volumes.
    spec
        Pools and policy actually used (after the what-if knobs).
    settings
        Instance settings actually used.
    risks
        Per pool, forecast and run-out risk (empty without a plan).
    tiering
        The access-density tiering result.
    appliance
        JSON-ready appliance section.
    notes
        Assumptions and findings.
    sources
        Citation key → reference of the defaults relied on.
    """

    solution: StorageSolution
    instance: StorageInstance
    volumes: Volumes
    spec: StorageSpec
    settings: PlanSettings
    paging: FloatArray
    risks: tuple[PoolRisk, ...]
    tiering: TieringResult
    appliance: dict[str, Any]
    notes: tuple[str, ...]
    sources: dict[str, str]

    def moves(self) -> list[dict[str, Any]]:
        """Volumes whose pools change relative to the current layout."""
        vols = self.volumes
        if vols.current_pool is None or not self.solution.has_plan:
            return []
        names = self.instance.pool_names
        out = []
        cur = np.sort(vols.current_pool, axis=1)
        new = np.sort(self.solution.assign, axis=1)
        changed = np.flatnonzero((cur != new).any(axis=1))
        for v in changed:
            before = [names[p] for p in vols.current_pool[v] if p >= 0]
            after = [names[p] for p in self.solution.assign[v] if p >= 0]
            n_new = len([p for p in after if p not in before])
            out.append(
                {
                    "volume_id": str(vols.volume_ids[v]),
                    "from": before,
                    "to": after,
                    "gib": float(vols.used_gib[v] * n_new),
                }
            )
        return out

    def layout(self) -> pl.DataFrame:
        """One row per volume copy: the ``--out`` CSV."""
        vols, inst = self.volumes, self.instance
        assign = self.solution.assign
        rows_v, slots = np.nonzero(assign >= 0)
        pools = assign[rows_v, slots]
        return pl.DataFrame(
            {
                "volume_id": vols.volume_ids[rows_v].tolist(),
                "vm_id": vols.vm_ids[rows_v].tolist(),
                "copy": slots.astype(np.int64),
                "pool": [inst.pool_names[p] for p in pools],
                "tier": [inst.pool_tiers[p] for p in pools],
                "failure_domain": [inst.domain_names[inst.pool_domain[p]] for p in pools],
                "provisioned_gib": vols.provisioned_gib[rows_v],
                "used_gib": vols.used_gib[rows_v],
                "forecast_used_gib": vols.forecast_used_gib[rows_v],
                "latency_class": vols.latency_class[rows_v].tolist(),
                "mirrored": vols.mirrored[rows_v],
            }
        )

    def to_json(self, max_moves: int | None = None) -> dict[str, Any]:
        """The JSON the CLI prints (``max_moves`` truncates the move list)."""
        sol, inst, spec = self.solution, self.instance, self.spec
        loads = pool_loads(inst, sol.assign) if sol.has_plan else np.zeros_like(inst.capacity)
        pools = []
        for j, pool in enumerate(spec.pools):
            entry: dict[str, Any] = {
                "name": pool.name,
                "tier": pool.tier.name,
                "failure_domain": pool.failure_domain,
                "physical_gib": pool.physical_gib,
                "over_subscription_ratio": spec.ratio_of(pool) if self.settings.thin else 1.0,
                "alert_threshold_frac": spec.alert_of(pool),
                "price_usd_per_gib": pool.price_usd_per_gib,
                "n_copies": int((sol.assign == j).sum()) if sol.has_plan else 0,
                "provisioned_gib": float(loads[j, R_PROV]),
                "provisioned_ratio": float(loads[j, R_PROV] / pool.physical_gib),
                "paging_iops": float(self.paging[j, 0]),
                "paging_mib_s": float(self.paging[j, 1]),
                "iops_util_frac": _util(loads[j, R_IOPS] + self.paging[j, 0], pool.tier.max_iops),
                "mib_s_util_frac": _util(
                    loads[j, R_MIB_S] + self.paging[j, 1], pool.tier.max_mib_s
                ),
            }
            if self.risks:
                risk = self.risks[j]
                entry |= {
                    "used_now_gib": risk.used_now_gib,
                    "forecast_used_gib": risk.forecast_gib,
                    "forecast_band_gib": [risk.band_lo_gib, risk.band_hi_gib],
                    "days_to_full": risk.days_to_full,
                    "days_to_full_earliest": risk.days_to_full_earliest,
                    "days_to_full_latest": risk.days_to_full_latest,
                    "p_run_out_frac": risk.p_run_out_frac,
                    "p_alert_frac": risk.p_alert_frac,
                }
            pools.append(entry)
        moves = self.moves()
        vols = self.volumes
        return clean_json(
            {
                "status": sol.status,
                "cost_usd": _num(sol.cost_usd),
                "bound": _num(sol.bound_usd),
                "gap_frac": _num(sol.gap_frac),
                "wall_s": sol.wall_s,
                "method": sol.method,
                "reasons": list(sol.reasons),
                "n_volumes": vols.n_volumes,
                "n_mirrored": int(vols.mirrored.sum()),
                "horizon_days": vols.horizon_days,
                "thin": self.settings.thin,
                "forecast_basis": vols.forecast_basis,
                "history_window_days": vols.history_window_days,
                "growth_frac_per_year": spec.growth_frac_per_year,
                "io": {"available": vols.io is not None, "reason": vols.io_reason},
                "pools": pools,
                "moves": moves if max_moves is None else moves[:max_moves],
                "n_moves": len(moves),
                "moved_gib": float(sum(m["gib"] for m in moves)),
                "max_moved_gib": _num(inst.max_moved_gib),
                "appliance": self.appliance,
                "tiering": self.tiering.summary(),
                "notes": list(self.notes),
                "sources": self.sources,
            }
        )


def clean_json(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        return clean_json(value.item())
    return value


def _util(load: float, capacity: float) -> float:
    return float(load / capacity) if capacity > 0 else math.nan


def _num(value: float) -> float | None:
    """JSON cannot hold NaN or infinity: they become null."""
    return float(value) if math.isfinite(value) else None


def _interp_rows(t: FloatArray, series: FloatArray) -> FloatArray:
    """Fill NaN in each row by linear interpolation (constant beyond the ends); all-NaN → 0."""
    out = series.copy()
    for i in np.flatnonzero(~np.isfinite(series).all(axis=1)):
        ok = np.isfinite(series[i])
        out[i] = np.interp(t, t[ok], series[i, ok]) if ok.any() else 0.0
    return out


def pool_risk(
    volumes: Volumes,
    inst: StorageInstance,
    spec: StorageSpec,
    assign: npt.NDArray[np.int64],
    *,
    thin: bool,
) -> tuple[PoolRisk, ...]:
    """Forecast, days to full and run-out probabilities per pool under a placement.

    Physical use of a pool is the sum over its copies of used × (1 + snapshot reserve) (thin)
    or provisioned × (1 + reserve) (thick: allocated up front, so it does not grow). With a
    used-space history the pool's series is the sum of its volumes' series, the volumes without
    history back-cast along their assumed drift; the trend and the Brownian-motion parameters
    are fitted on that series (correlation between volumes included). The assumed noise of
    volumes without history is added in full (perfectly correlated: conservative). A pool
    whose copies are all thin and together provisioned below a level can never reach it.
    """
    horizon = volumes.horizon_days
    reserve = 1.0 + volumes.snapshot_reserve_frac
    now = (volumes.used_gib if thin else volumes.provisioned_gib) * reserve
    ceiling = volumes.provisioned_gib * reserve
    mu = np.where(thin, volumes.growth_mu_gib_per_day * reserve, 0.0)
    sigma_assumed = np.where(
        thin & ~volumes.has_history, volumes.growth_sigma_gib_per_sqrt_day * reserve, 0.0
    )
    history = volumes.history
    growth = spec.growth_frac_per_year
    out = []
    for j, pool in enumerate(spec.pools):
        on = (assign == j).any(axis=1)
        phys = pool.physical_gib
        levels = np.array([phys, spec.alert_of(pool) * phys])
        used_now = float(now[on].sum())
        max_possible = float(ceiling[on].sum()) if thin else used_now
        hist_on = on & volumes.has_history
        if thin and history is not None and hist_on.any():
            t = history.t_days - history.t_days[-1]
            series = (
                _interp_rows(history.t_days, history.used_gib[hist_on]) * reserve[hist_on, None]
            )
            rest = on & ~volumes.has_history
            back = now[rest, None] + mu[rest, None] * t[None, :]
            total = series.sum(axis=0) + back.sum(axis=0)
            total = total - total[-1] + used_now  # anchor the series at today's use
            trend = linear_trend(t, total[None, :], levels[:1], horizon)
            h_mu, h_sigma = drift_and_volatility(t, total[None, :])
            p_mu = float(np.nan_to_num(h_mu[0]))
            p_sigma = float(np.nan_to_num(h_sigma[0])) + float(sigma_assumed[on].sum())
            forecast = float(trend.forecast_gib[0])
            band = (float(trend.band_lo_gib[0]), float(trend.band_hi_gib[0]))
            days = (
                float(trend.days_to_full[0]),
                float(trend.days_to_full_earliest[0]),
                float(trend.days_to_full_latest[0]),
            )
        else:
            p_mu = float(mu[on].sum())
            p_sigma = float(sigma_assumed[on].sum())
            forecast = used_now + p_mu * horizon if thin else used_now
            if thin and not volumes.has_history[on].any():
                forecast = used_now * (1 + growth) ** (horizon / DAYS_PER_YEAR)
            band = (forecast, forecast)
            d = _days_to_level(
                used_now, phys, p_mu, growth if not volumes.has_history[on].any() else None
            )
            days = (d, d, d) if thin else ((0.0,) * 3 if used_now >= phys else (math.inf,) * 3)
        forecast = min(forecast, max_possible) if thin else forecast
        probs = first_passage_probability(levels - used_now, p_mu, p_sigma, horizon)
        probs = np.where(max_possible < levels * (1 - 1e-12), 0.0, probs)
        if max_possible < phys:
            days = (math.inf, math.inf, math.inf)
        out.append(
            PoolRisk(
                used_now_gib=used_now,
                forecast_gib=forecast,
                band_lo_gib=min(band[0], forecast),
                band_hi_gib=min(max(band[1], forecast), max_possible) if thin else band[1],
                days_to_full=days[0],
                days_to_full_earliest=days[1],
                days_to_full_latest=days[2],
                p_run_out_frac=float(probs[0]),
                p_alert_frac=float(probs[1]),
            )
        )
    return tuple(out)


def _days_to_level(used: float, level: float, mu: float, growth: float | None) -> float:
    """Days until ``used`` reaches ``level``: compound ``growth`` if given, else drift ``mu``."""
    if used >= level:
        return 0.0
    if growth is not None:
        if growth <= 0 or used <= 0:
            return math.inf
        return DAYS_PER_YEAR * math.log(level / used) / math.log1p(growth)
    return (level - used) / mu if mu > 0 else math.inf


def _appliance(
    catalog: Catalog, options: StorageOptions, volumes: Volumes
) -> tuple[PlanSettings, dict[str, Any], list[str]]:
    """Appliance part of the settings, its JSON section and any infeasibility reason."""
    san = catalog.san
    kind = options.appliance or san.appliance
    if kind not in ("none", "in-band", "out-of-band"):
        raise CapplanError(f"unknown appliance {kind!r}; expected none, in-band or out-of-band")
    max_iops = (
        options.appliance_max_iops
        if options.appliance_max_iops is not None
        else san.appliance_max_iops
    )
    max_mib_s = (
        options.appliance_max_mib_s
        if options.appliance_max_mib_s is not None
        else san.appliance_max_mib_s
    )
    mirrored = (
        options.appliance_mirrored
        if options.appliance_mirrored is not None
        else san.appliance_mirrored
    )
    if kind == "in-band":
        added = san.appliance_latency_ms
    elif kind == "out-of-band":
        added = san.metadata_latency_ms * san.metadata_lookup_frac
    else:
        added = 0.0
    io = volumes.io
    copies = volumes.n_copies
    frontend_iops = (
        float((io.read_iops + copies * io.write_iops).sum()) if io and io.has_iops else math.nan
    )
    frontend_mib_s = (
        float((io.read_mib_s + copies * io.write_mib_s).sum()) if io and io.has_mib_s else math.nan
    )
    reasons: list[str] = []
    section: dict[str, Any] = {
        "kind": kind,
        "single_point_of_failure": kind == "in-band" and not mirrored,
        "needs_host_driver": kind == "out-of-band",
        "added_latency_ms": added,
        "mirrored": bool(mirrored) if kind == "in-band" else None,
    }
    if kind == "in-band":
        section |= {
            "max_iops": _num(max_iops),
            "max_mib_s": _num(max_mib_s),
            "frontend_iops": _num(frontend_iops),
            "frontend_mib_s": _num(frontend_mib_s),
            "iops_util_frac": _num(frontend_iops / max_iops) if max_iops > 0 else None,
            "mib_s_util_frac": _num(frontend_mib_s / max_mib_s) if max_mib_s > 0 else None,
        }
        for label, load, cap in (
            ("IOPS", frontend_iops, max_iops),
            ("MiB/s", frontend_mib_s, max_mib_s),
        ):
            if math.isfinite(load) and load > cap:
                reasons.append(
                    f"the in-band appliance carries {load:,.0f} {label} (p95 sums, mirror writes "
                    f"included) but its ceiling is {cap:,.0f} {label}: no placement helps, "
                    "since every I/O passes through it"
                )
    elif kind == "out-of-band":
        section["note"] = (
            "out of the data path: no throughput ceiling; hosts need modified SAN drivers and "
            "lose the block mapping (not the SAN) if the appliance fails"
        )
    settings = PlanSettings(
        appliance=kind,
        appliance_max_iops=max_iops,
        appliance_max_mib_s=max_mib_s,
        appliance_mirrored=bool(mirrored),
        appliance_added_latency_ms=added,
    )
    return settings, section, reasons


def _paging(catalog: Catalog, spec: StorageSpec, options: StorageOptions) -> dict[str, float]:
    paging = dict(options.paging_mib_s)
    if options.paging_total_mib_s > 0:
        swap = [p.name for p in spec.pools if p.tier.name == catalog.san.swap_tier]
        if not swap:
            raise CapplanError(
                f"paging traffic lands on the swap tier {catalog.san.swap_tier!r}, but no pool "
                "uses that tier; name the pool with --paging POOL=MIB_S"
            )
        for name in swap:
            paging[name] = paging.get(name, 0.0) + options.paging_total_mib_s / len(swap)
    return paging


def _tiering(
    result_volumes: Volumes,
    workload: Workload,
    spec: StorageSpec,
    settings: PlanSettings,
    inst: StorageInstance,
    catalog: Catalog,
    options: StorageOptions,
) -> TieringResult:
    unit_cost = unit_cost_usd_per_gib(spec, settings)
    added = settings.added_latency_ms
    by_tier: dict[str, list[int]] = {}
    for j, pool in enumerate(spec.pools):
        by_tier.setdefault(pool.tier.name, []).append(j)
    tiers: list[TierOption] = []
    tier_of_pool = np.full(spec.n_pools, -1, dtype=np.int64)
    for name, pools in by_tier.items():
        tier = spec.pools[pools[0]].tier
        unit = float(unit_cost[pools].min())
        tier_of_pool[pools] = len(tiers)
        tiers.append(
            TierOption(
                name=name,
                density_iops_per_gib=planned_load(tier, spec, added)
                * tier.max_iops
                / tier.usable_gib,
                write_penalty=tier.write_penalty,
                unit_cost_usd_per_gib=unit,
                latency_ms=planned_latency_ms(tier, spec, added),
            )
        )
    vols = result_volumes
    if vols.current_pool is not None:
        baseline_tier = np.where(
            vols.current_pool[:, 0] >= 0, tier_of_pool[np.maximum(vols.current_pool[:, 0], 0)], -1
        )
        label = "current layout"
    else:
        default = catalog.san.default_tier
        index = [t.name for t in tiers]
        fill = index.index(default) if default in index else -1
        baseline_tier = np.full(vols.n_volumes, fill, dtype=np.int64)
        label = f"every volume on the catalog's default tier {default!r}"
    rate = (
        options.migration_mib_s
        if options.migration_mib_s is not None
        else catalog.san.path_speed_mib_s
    )
    return recommend_tiers(
        vols, workload, tiers, baseline_tier=baseline_tier, baseline=label, migration_mib_s=rate
    )


def plan_storage(
    workload: Workload,
    catalog: Catalog,
    spec: StorageSpec,
    options: StorageOptions,
    *,
    electricity_usd_per_kwh: float,
    pue_ratio: float,
    attributes: pl.DataFrame | None = None,
    attributes_label: str = "",
    history: UsedHistory | None = None,
    current_layout: pl.DataFrame | None = None,
    layout_label: str = "",
    progress: Progress | None = None,
) -> StoragePlanResult:
    """Plan where every volume goes, and what the pools' run-out risk is.

    Parameters
    ----------
    workload
        Demand and inventory (disk sizes required).
    catalog
        Hardware catalog (SAN tiers and design).
    spec
        Pools and policy.
    options
        Knobs (see :class:`StorageOptions`).
    electricity_usd_per_kwh, pue_ratio
        Energy price and facility overhead (from the economics settings).
    attributes, attributes_label, history, current_layout, layout_label
        Optional inputs (see :mod:`capplan.storage.files`).
    progress
        Solver progress messages.
    """
    notes: list[str] = []
    if options.ratio is not None:
        spec = spec.with_ratio(options.ratio)
    if options.prices:
        spec = spec.with_prices(options.prices)
    thin = catalog.san.thin_provisioning if options.thin is None else options.thin
    volumes = build_volumes(
        workload,
        spec,
        horizon_days=options.horizon_days,
        attributes=attributes,
        attributes_label=attributes_label,
        history=history,
        current_layout=current_layout,
        layout_label=layout_label,
        latency_class=options.latency_class,
        mirror=options.mirror,
        snapshot_policy=options.snapshot_policy,
        quantile=options.quantile,
        used_missing=options.used_missing,
    )
    notes.extend(volumes.notes)
    if volumes.io_reason:
        notes.append(volumes.io_reason)
    appliance_settings, appliance, appliance_reasons = _appliance(catalog, options, volumes)
    settings = replace(
        appliance_settings,
        thin=thin,
        paging_mib_s=_paging(catalog, spec, options),
        page_size_kib=catalog.memory.page_size_kib,
        max_moved_gib=options.max_moved_gib,
        electricity_usd_per_kwh=electricity_usd_per_kwh,
        pue_ratio=pue_ratio,
        horizon_days=options.horizon_days,
        path_added_latency_ms=options.io_path_latency_ms,
        vm_iops_ceiling=options.vm_iops_ceiling,
    )
    if volumes.current_pool is None:
        notes.append(
            "no current layout was given (--current): every volume is placed afresh and no "
            "moves are listed"
        )
    if math.isfinite(options.max_moved_gib) and volumes.current_pool is None:
        notes.append(
            "a move limit was given without a current layout (--current); it has no effect"
        )
    no_watts = [p.name for p in spec.pools if not p.watts_per_tib >= 0]
    if no_watts:
        notes.append(
            f"power is not costed for pool(s) {', '.join(no_watts)}: the catalog has no "
            "published watts per TiB for their tier(s)"
        )
    if any(v > 0 for v in settings.paging_mib_s.values()):
        notes.append(
            "paging I/O is split half reads, half writes (every page swapped out is swapped "
            f"back in), one I/O per {catalog.memory.page_size_kib:g} KiB page"
        )
    instance, paging = build_instance(volumes, spec, settings)
    if appliance_reasons:
        solution = StorageSolution(
            np.full((volumes.n_volumes, 2), -1, dtype=np.int64),
            SolveStatus.INFEASIBLE,
            method="appliance-check",
            reasons=tuple(appliance_reasons),
        )
    else:
        solution = solve_placement(
            instance,
            time_limit_s=options.time_limit_s,
            workers=options.workers,
            seed=options.seed,
            target_gap_frac=options.target_gap_frac,
            progress=progress,
        )
    risks = (
        pool_risk(volumes, instance, spec, solution.assign, thin=thin) if solution.has_plan else ()
    )
    tiering = _tiering(volumes, workload, spec, settings, instance, catalog, options)
    keys = [
        "sapcc-ratio-1.5",
        "cinder-oversubscription",
        "vcenter-datastore-alarm",
        "nutanix-ser",
        "first-passage-bm-drift",
        "ols-prediction-interval",
        "hpe-3par-forecast-window",
        "seed-storage-virtualization",
    ]
    if volumes.forecast_basis != "history":
        keys.append("idc-storagesphere-2020")
    if (volumes.snapshot_reserve_frac == 0.05).any():
        keys.append("ontap-snapshot-reserve")
    return StoragePlanResult(
        solution=solution,
        instance=instance,
        volumes=volumes,
        spec=spec,
        settings=settings,
        paging=paging,
        risks=risks,
        tiering=tiering,
        appliance=appliance,
        notes=tuple(notes),
        sources=cite(*keys),
    )
