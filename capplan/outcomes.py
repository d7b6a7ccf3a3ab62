"""The typed outcome of each stage of a scenario: the workload read, the solve, the
emulation's KPIs, the economics and the storage plan.

Frozen dataclasses at full precision (rounding is for presentation), each with
``to_dict()`` (JSON-ready) and ``from_dict()``. A producer builds its outcome with
``from_dict(..., strict=True)`` where it assembles a mapping first, so a figure it adds
without a field is refused by name; saved results load with ``strict=False`` (keys of a
newer version are ignored). :mod:`capplan.results` holds a scenario's and a study's results
built from these.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import numpy as np

from capplan.status import SolveStatus, has_plan

T = TypeVar("T")


class Outcome:
    """What every outcome type shares: its JSON form and back (see the module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (nested outcomes as mappings)."""
        return jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, strict: bool = True) -> Self:
        """From the producer's mapping or :meth:`to_dict` output. ``strict``: a key that is
        not a field is an error naming it (the producer and the type must not drift);
        otherwise it is ignored (results saved by a newer version)."""
        return _build(cls, doc, strict=strict)


@dataclass(frozen=True)
class WorkloadSummary(Outcome):
    """The workload a scenario ran on (:meth:`capplan.demand.workload.Workload.summary`).

    Attributes
    ----------
    format, sources
        The trace format and the files read.
    n_vms, n_steps, step_s, start, end
        VMs, steps of ``step_s`` seconds, and the first and last step (ISO 8601).
    metrics
        The metrics the trace has.
    quality_frac
        Share of the expected samples that were observed.
    sum_of_peaks_ratio
        Per metric, the sum of the VMs' peaks over the peak of their sum.
    problems
        What reading the trace found (``file``, ``line``, ``column``, ``message``...).
    """

    format: str
    n_vms: int
    n_steps: int
    step_s: int
    start: str
    end: str
    metrics: tuple[str, ...] = ()
    quality_frac: float | None = None
    sum_of_peaks_ratio: Mapping[str, float] = field(default_factory=dict)
    problems: tuple[Mapping[str, Any], ...] = ()
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _tuples(self, "metrics", "sources")
        object.__setattr__(self, "problems", tuple(self.problems))


@dataclass(frozen=True)
class PlanSummary:
    """The consolidation solve's outcome, at full precision (rounding is for presentation).

    Attributes
    ----------
    status, reason, method, stopped_by
        How the solve ended, why (infeasible or no plan), which method found the plan, and
        what stopped the search (``None``: it finished).
    n_vms, n_hosts, hosts_by_model
        VMs planned, hosts of the plan, and hosts per model.
    cost_usd
        Price of the new hosts of the plan (owned hosts are free), USD; None without a plan.
    objective, objective_unit, bound, bound_hosts, gap_frac
        The solver's objective and its lower bound (in ``objective_unit``), the host-count
        bound, and the relative gap between them.
    binding, binding_bucket, why, bins_bound_by, util_peak_frac
        The binding resource (and the time bucket where it binds), the explanation's lines,
        hosts bound by each resource, and each resource's peak utilisation.
    wall_s, total_wall_s
        Solver wall time, and the whole consolidation's (sizing included), s.
    sizing, n_buckets, statistic, mode, dims, sizing_basis
        How demand was sized: the sizing rule, time buckets and their statistic, the
        virtualization mode, the resource dimensions, and ``usage``, ``allocation`` or ``mixed``.
    sized_from_inventory, sized_from_inventory_vms
        VMs sized from their configuration per resource: counts, and up to 20 ids each.
    price_estimated_models
        Host models whose price was estimated (no list price in the catalog).
    notes
        Facts about the solve a reader should know.
    horizon
        With a planning horizon: the run-out dates and purchases
        (:func:`capplan.optimize.horizon.horizon_summary`); None otherwise.
    """

    status: SolveStatus
    n_vms: int = 0
    n_hosts: int = 0
    hosts_by_model: Mapping[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    objective: float | None = None
    objective_unit: str = ""
    bound: float | None = None
    bound_hosts: int | None = None
    gap_frac: float | None = None
    stopped_by: str | None = None
    binding: str | None = None
    binding_bucket: str | None = None
    why: tuple[str, ...] = ()
    bins_bound_by: Mapping[str, int] = field(default_factory=dict)
    util_peak_frac: Mapping[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    total_wall_s: float | None = None
    reason: str = ""
    method: str = ""
    sizing: str = ""
    n_buckets: int = 0
    statistic: str = ""
    mode: str = ""
    dims: tuple[str, ...] = ()
    sizing_basis: str = ""
    sized_from_inventory: Mapping[str, int] = field(default_factory=dict)
    sized_from_inventory_vms: Mapping[str, list[str]] = field(default_factory=dict)
    price_estimated_models: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    horizon: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", SolveStatus(self.status))
        for name in ("why", "dims", "price_estimated_models", "notes"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))

    @property
    def has_plan(self) -> bool:
        """Whether the solve returned a plan."""
        return has_plan(self.status)

    @property
    def gap_of(self) -> str:
        """What the gap is measured on."""
        return f"objective ({self.objective_unit})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the status as its text, sequences as lists)."""
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        doc["status"] = str(self.status)
        doc["gap_of"] = self.gap_of
        return jsonable(doc)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PlanSummary:
        """From :meth:`to_dict` output; keys it does not know (``gap_of``, keys of newer
        versions) are ignored."""
        return _build(cls, doc, strict=False)


@dataclass(frozen=True)
class TierKpis:
    """One storage tier's figures of a replay (see :mod:`capplan.emulate.kpis`).

    Attributes
    ----------
    p50_latency_ms, p95_latency_ms, p99_latency_ms
        Request-level latency percentiles from the queueing model (None: no I/O).
    step_p95_latency_ms
        The p95 over steps of the mean VM latency.
    peak_backlog_s, peak_load_ratio, overloaded_steps
        The fluid queue's largest backlog, the largest load, and the steps at load ≥ 1.
    slo_breach_steps, latency_slo_ms
        Steps whose VM latency broke the objective, and the objective.
    capacity_used_frac, allocated_gib, provisioned_gib, usable_gib
        Capacity: share used, allocated, provisioned and usable.
    unserved_io
        I/O requests the tier could not serve.
    """

    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    step_p95_latency_ms: float | None = None
    peak_backlog_s: float = 0.0
    peak_load_ratio: float = 0.0
    overloaded_steps: int = 0
    slo_breach_steps: int = 0
    latency_slo_ms: float | None = None
    capacity_used_frac: float | None = None
    allocated_gib: float | None = None
    provisioned_gib: float | None = None
    usable_gib: float | None = None
    unserved_io: float = 0.0


@dataclass(frozen=True)
class EmulationKpis(Outcome):
    """Key figures of an emulation's replay (definitions: :mod:`capplan.emulate.kpis`).

    A figure whose metric was not replayed (no CPU, memory or network data) is None.

    Attributes
    ----------
    mode, n_vms, n_hosts, n_hosts_active, n_hosts_on, n_steps, step_s
        The replay: virtualization mode, VMs, hosts (with VMs, switched on), steps, step (s).
    energy_kwh, mean_power_w
        IT energy of the replay and mean power.
    overloaded_host_steps, overloaded_frac, slatah_frac, pdm_frac, slav
        CPU contention: overloaded active host-steps and their share, SLA violation time per
        active host, unserved share of CPU demand (contention and paging), their product.
    p95_cpu_util_frac, peak_cpu_util_frac, mean_cpu_util_frac
        CPU utilization of the active hosts.
    peak_cpu_ready_frac, cpu_ready_host_steps
        CPU ready per vCPU (share of wall time): the peak, and host-steps over the limit.
    pdm_vm_mean_frac, vms_over_cpu_ready_limit, worst_cpu_ready_vms
        Per VM (``kpis(per_vm=True)`` only): mean unserved share, VMs over the ready limit,
        and the worst VMs (``vm_id``, ``host_id``, peak and p95 ready).
    paging_mib, peak_paging_mib_s, mem_overcommitted_host_steps
        Memory: paged MiB, peak paging rate, host-steps that reclaimed memory.
    peak_balloon_mib, peak_compressed_mib, peak_swapped_mib
        The reclamation ladder's peaks per host-step.
    peak_mem_slowdown_frac, mem_slowdown_host_steps, peak_mem_used_frac
        Memory stalls: the largest share of time waiting for faults, host-steps above 1 %,
        and the largest share of RAM in use.
    storage
        Each storage tier's figures (:class:`TierKpis`).
    storage_unserved_io, storage_p95_latency_ms
        I/O no tier served, and the worst tier's p95 request latency.
    peak_path_util_frac, peak_path_util_after_failover_frac
        Storage path utilization, and after a path fails.
    p95_nic_load_ratio, peak_nic_load_ratio, p95_uplink_load_ratio, peak_uplink_load_ratio
        Network load over capacity at the hosts' NICs and at the uplinks.
    max_vlans_per_host_trunk, max_vlans_per_rack_trunk, n_trunks_over_vlan_limit
        VLANs carried per trunk, and trunks over the limit.
    peak_vpn_mbps, net_latency_factor
        Peak VPN traffic, and the mode's network latency factor.
    n_incompatible_vms, n_unknown_os_vms, compat_problems
        VMs the mode cannot run, VMs of unknown OS, and what was found.
    missing_metrics, notes
        Metrics not replayed, and facts a reader should know.
    """

    mode: str
    n_vms: int
    n_hosts: int
    n_hosts_active: int
    n_hosts_on: int
    n_steps: int
    step_s: int
    energy_kwh: float
    mean_power_w: float
    overloaded_host_steps: int | None = None
    overloaded_frac: float | None = None
    slatah_frac: float | None = None
    pdm_frac: float | None = None
    slav: float | None = None
    p95_cpu_util_frac: float | None = None
    peak_cpu_util_frac: float | None = None
    mean_cpu_util_frac: float | None = None
    peak_cpu_ready_frac: float | None = None
    cpu_ready_host_steps: int | None = None
    pdm_vm_mean_frac: float | None = None
    vms_over_cpu_ready_limit: int | None = None
    worst_cpu_ready_vms: tuple[Mapping[str, Any], ...] = ()
    paging_mib: float | None = None
    peak_paging_mib_s: float | None = None
    mem_overcommitted_host_steps: int | None = None
    peak_balloon_mib: float | None = None
    peak_compressed_mib: float | None = None
    peak_swapped_mib: float | None = None
    peak_mem_slowdown_frac: float | None = None
    mem_slowdown_host_steps: int | None = None
    peak_mem_used_frac: float | None = None
    storage: Mapping[str, TierKpis] = field(default_factory=dict)
    storage_unserved_io: float = 0.0
    storage_p95_latency_ms: float | None = None
    peak_path_util_frac: float | None = None
    peak_path_util_after_failover_frac: float | None = None
    p95_nic_load_ratio: float | None = None
    peak_nic_load_ratio: float | None = None
    p95_uplink_load_ratio: float | None = None
    peak_uplink_load_ratio: float | None = None
    max_vlans_per_host_trunk: int | None = None
    max_vlans_per_rack_trunk: int | None = None
    n_trunks_over_vlan_limit: int | None = None
    peak_vpn_mbps: float | None = None
    net_latency_factor: float = 1.0
    n_incompatible_vms: int = 0
    n_unknown_os_vms: int = 0
    compat_problems: tuple[str, ...] = ()
    missing_metrics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        tiers = {
            name: tier if isinstance(tier, TierKpis) else TierKpis(**tier)
            for name, tier in self.storage.items()
        }
        object.__setattr__(self, "storage", tiers)
        object.__setattr__(self, "worst_cpu_ready_vms", tuple(self.worst_cpu_ready_vms))
        for name in ("compat_problems", "missing_metrics", "notes"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, strict: bool = True) -> Self:
        """As :meth:`Outcome.from_dict`, the storage tiers too."""
        doc = dict(doc)
        doc["storage"] = {
            name: t if isinstance(t, TierKpis) else _build(TierKpis, t, strict=strict)
            for name, t in (doc.get("storage") or {}).items()
        }
        return super().from_dict(doc, strict=strict)


@dataclass(frozen=True)
class EstateFigures:
    """Energy, cost and availability of an estate: what a plan and today's estate both have.

    Attributes
    ----------
    n_hosts, n_spare_hosts
        Servers and the spare ones among them.
    power_w_mean, power_w_peak, host_power_w_mean
        Mean and peak IT power, and per server, W.
    energy_kwh, energy_kwh_per_year, facility_energy_kwh_per_year, co2_kg_per_year
        IT energy of the trace and a year, with cooling and distribution, and emissions.
    tco_usd, tco_breakdown, tco_missing
        TCO over the horizon, per cost item, and the items without a price.
    availability_frac_min, availability_frac_mean, nines_min
        The worst and mean VM availability, and the worst's nines.
    downtime_min_per_year_max, downtime_min_per_year_mean
        The worst and mean VM downtime, min/year.
    notes
        Facts a reader should know.
    """

    n_hosts: int = 0
    n_spare_hosts: int = 0
    power_w_mean: float | None = None
    power_w_peak: float | None = None
    host_power_w_mean: float | None = None
    energy_kwh: float | None = None
    energy_kwh_per_year: float | None = None
    facility_energy_kwh_per_year: float | None = None
    co2_kg_per_year: float | None = None
    tco_usd: float | None = None
    tco_breakdown: Mapping[str, float | None] = field(default_factory=dict)
    tco_missing: tuple[str, ...] = ()
    availability_frac_min: float | None = None
    availability_frac_mean: float | None = None
    nines_min: float | None = None
    downtime_min_per_year_max: float | None = None
    downtime_min_per_year_mean: float | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _tuples(self, "tco_missing", "notes")


@dataclass(frozen=True, kw_only=True)
class EstateEconomics(EstateFigures):
    """Today's estate in an economics report (:class:`EstateFigures`, and these).

    Attributes
    ----------
    label, description
        Which estate, and how it was built (from the inventory, or an assumption).
    storage_power_w, switch_power_w
        Power of its storage and of its switches, W.
    """

    label: str = ""
    description: str = ""
    storage_power_w: float | None = None
    switch_power_w: float | None = None


@dataclass(frozen=True)
class EconomicsComparison:
    """The plan against today's estate.

    Attributes
    ----------
    baseline_rule
        How today's estate was taken (from the inventory, or an assumption).
    tco_savings_usd, tco_savings_frac, tco_breakdown_delta
        TCO saved over the horizon, as a share of today's, and per cost item.
    npv_usd_today, npv_usd_plan, npv_savings_usd, discount_rate_frac
        Net present cost of both and the saving, at the discount rate.
    energy_savings_kwh_per_year, hosts_before, hosts_after
        Energy saved a year; servers today and in the plan.
    assumptions
        What both sides assume (labour, availability, NPV), in words.
    sensitivity
        The saving's sensitivity to each uncertain input (the tornado's data).
    """

    baseline_rule: str = ""
    tco_savings_usd: float | None = None
    tco_savings_frac: float | None = None
    npv_usd_today: float | None = None
    npv_usd_plan: float | None = None
    npv_savings_usd: float | None = None
    discount_rate_frac: float | None = None
    assumptions: Mapping[str, Any] = field(default_factory=dict)
    sensitivity: Mapping[str, Any] = field(default_factory=dict)
    energy_savings_kwh_per_year: float | None = None
    hosts_before: int | None = None
    hosts_after: int | None = None
    tco_breakdown_delta: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EconomicsSummary(EstateFigures, Outcome):
    """Energy, TCO and availability of a plan (:class:`EstateFigures`), with today's estate
    beside it (:func:`capplan.economics.evaluate.economics_report`).

    Attributes
    ----------
    mode, n_vms, trace_days, horizon_years
        The plan's virtualization mode and VMs, the trace's length, and the TCO horizon.
    baseline, comparison
        Today's estate (:class:`EstateEconomics`) and the plan against it
        (:class:`EconomicsComparison`).
    availability
        The availability model's detail: failure domains, HA, the Monte Carlo check, the
        worst VMs and services.
    sources, settings
        The source of every setting, and the settings file.
    """

    mode: str
    n_vms: int
    trace_days: float | None = None
    horizon_years: float | None = None
    baseline: EstateEconomics = field(default_factory=EstateEconomics)
    comparison: EconomicsComparison = field(default_factory=EconomicsComparison)
    availability: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    settings: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.baseline, EstateEconomics):
            object.__setattr__(
                self, "baseline", _build(EstateEconomics, self.baseline, strict=True)
            )
        if not isinstance(self.comparison, EconomicsComparison):
            comparison = _build(EconomicsComparison, self.comparison, strict=True)
            object.__setattr__(self, "comparison", comparison)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, strict: bool = True) -> Self:
        """As :meth:`Outcome.from_dict` (from
        :func:`~capplan.economics.evaluate.economics_report`), today's estate and the
        comparison too."""
        doc = dict(doc)
        for key, kind in (("baseline", EstateEconomics), ("comparison", EconomicsComparison)):
            if isinstance(doc.get(key), Mapping):
                doc[key] = _build(kind, doc[key], strict=strict)
        return super().from_dict(doc, strict=strict)


@dataclass(frozen=True)
class PoolSummary:
    """One storage pool of a plan.

    Attributes
    ----------
    name, tier, failure_domain
        The pool, its tier and its failure domain.
    physical_gib, over_subscription_ratio, alert_threshold_frac, price_usd_per_gib
        Its capacity, the over-subscription it allows, its alert threshold and its price.
    n_copies, provisioned_gib, provisioned_ratio
        Volume copies placed on it, the capacity they provision, and that over the capacity.
    paging_iops, paging_mib_s, iops_util_frac, mib_s_util_frac
        The hosts' paging I/O it takes, and its I/O utilization (paging included).
    used_now_gib, forecast_used_gib, forecast_band_gib
        Used capacity now and forecast at the horizon, with the forecast's band.
    days_to_full, days_to_full_earliest, days_to_full_latest
        When it fills up (expected, earliest and latest).
    p_run_out_frac, p_alert_frac
        Probabilities of running out, and of reaching the alert threshold, by the horizon.
    """

    name: str
    tier: str
    failure_domain: str | None = None
    physical_gib: float = 0.0
    over_subscription_ratio: float = 1.0
    alert_threshold_frac: float | None = None
    price_usd_per_gib: float | None = None
    n_copies: int = 0
    provisioned_gib: float = 0.0
    provisioned_ratio: float = 0.0
    paging_iops: float = 0.0
    paging_mib_s: float = 0.0
    iops_util_frac: float | None = None
    mib_s_util_frac: float | None = None
    used_now_gib: float | None = None
    forecast_used_gib: float | None = None
    forecast_band_gib: tuple[float | None, float | None] | None = None
    days_to_full: float | None = None
    days_to_full_earliest: float | None = None
    days_to_full_latest: float | None = None
    p_run_out_frac: float | None = None
    p_alert_frac: float | None = None

    def __post_init__(self) -> None:
        if self.forecast_band_gib is not None:
            object.__setattr__(self, "forecast_band_gib", tuple(self.forecast_band_gib))


@dataclass(frozen=True)
class StorageSummary(Outcome):
    """A scenario's storage plan (:meth:`capplan.storage.planner.StoragePlan.to_json`), its
    replay check, or why there is none.

    Attributes
    ----------
    status, reason, reasons
        How the planner's solve ended (or ``not available`` / ``not run``), and why.
    cost_usd, bound, gap_frac, wall_s, method
        The plan's cost over the horizon, its lower bound and gap, solve time and method.
    n_volumes, n_mirrored, horizon_days, thin
        Volumes placed (mirrored ones among them), the planning horizon, thin provisioning.
    forecast_basis, history_window_days, growth_frac_per_year
        How each volume's growth was forecast.
    io
        Whether per-volume I/O was available (and why not).
    pools
        Each pool (:class:`PoolSummary`).
    moves, n_moves, moved_gib, max_moved_gib
        Volume moves from today's layout (at most 200 listed), their count and size, and the
        limit on data moved.
    appliance, tiering
        The storage virtualization appliance, and the tiering recommendation.
    notes, sources
        Facts a reader should know, and the source of every default.
    io_quantile, replay_check, replay_accepted
        The I/O quantile the plan was sized at, each attempt of its replay check (the pools
        whose latency broke the objective), and whether the plan kept holds in its replay.
    """

    status: str
    reason: str | None = None
    reasons: tuple[str, ...] = ()
    cost_usd: float | None = None
    bound: float | None = None
    gap_frac: float | None = None
    wall_s: float | None = None
    method: str | None = None
    n_volumes: int = 0
    n_mirrored: int = 0
    horizon_days: float | None = None
    thin: bool | None = None
    forecast_basis: str | None = None
    history_window_days: float | None = None
    growth_frac_per_year: float | None = None
    io: Mapping[str, Any] = field(default_factory=dict)
    pools: tuple[PoolSummary, ...] = ()
    moves: tuple[Mapping[str, Any], ...] = ()
    n_moves: int = 0
    moved_gib: float = 0.0
    max_moved_gib: float | None = None
    appliance: Mapping[str, Any] = field(default_factory=dict)
    tiering: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    io_quantile: float | None = None
    replay_check: tuple[Mapping[str, Any], ...] = ()
    replay_accepted: bool | None = None

    def __post_init__(self) -> None:
        _tuples(self, "reasons", "notes")
        object.__setattr__(self, "moves", tuple(self.moves))
        object.__setattr__(self, "replay_check", tuple(self.replay_check))
        pools = tuple(
            p if isinstance(p, PoolSummary) else _build(PoolSummary, p, strict=True)
            for p in self.pools
        )
        object.__setattr__(self, "pools", pools)

    @property
    def has_plan(self) -> bool:
        """Whether the planner returned a plan."""
        return self.status in {s.value for s in SolveStatus} and has_plan(self.status)

    @property
    def runout_prob_max(self) -> float | None:
        """The largest probability that a pool runs out by the horizon (None: no forecast)."""
        risks = [p.p_run_out_frac for p in self.pools if p.p_run_out_frac is not None]
        return max(risks) if risks else None

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, strict: bool = True) -> Self:
        """As :meth:`Outcome.from_dict` (from the plan's JSON with the pipeline's replay
        check), the pools too."""
        doc = dict(doc)
        doc["pools"] = [
            p if isinstance(p, PoolSummary) else _build(PoolSummary, p, strict=strict)
            for p in doc.get("pools") or []
        ]
        return super().from_dict(doc, strict=strict)


def _tuples(obj: object, *names: str) -> None:
    """Freeze the named sequence fields of a frozen dataclass as tuples of text."""
    for name in names:
        object.__setattr__(obj, name, tuple(str(v) for v in getattr(obj, name)))


def _build(cls: type[T], doc: Mapping[str, Any], *, strict: bool) -> T:
    """``cls`` from the keys of ``doc`` that are its fields; with ``strict`` any other key is
    an error naming it."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(doc) - names)
    if strict and unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}: add them to the type")
    return cls(**{k: v for k, v in doc.items() if k in names})


def jsonable(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays and non-finite floats into JSON-safe values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
