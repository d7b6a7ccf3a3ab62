"""Study and scenario results: typed containers, persistence, comparison, Pareto, recommendation.

A :class:`ScenarioResult` holds one scenario's figures; a :class:`StudyResult` all of a study's,
with today's estate. Results save to a folder (JSON for figures, Parquet for tables and per-host
series) and load back without loss. The comparison's indicators are declared once, as data
(:data:`INDICATORS`: key, label, unit, better direction); the HTML report, the dashboard and the
CSV/XLSX tables all read them. Numbers are kept at full precision here; rounding is for
presentation.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.study import Scenario, Study
from capplan.status import SolveStatus, has_plan

__all__ = [
    "INDICATORS",
    "MAX_RECOMMENDED_SLATAH_FRAC",
    "EmulationKpis",
    "EstateSummary",
    "Indicator",
    "PlanSummary",
    "ScenarioResult",
    "ScenarioSummary",
    "SolveStatus",
    "StudyResult",
    "TierKpis",
]


@dataclass(frozen=True)
class Indicator:
    """One figure the comparison shows for every scenario and for today's estate.

    Attributes
    ----------
    key
        Key in :attr:`ScenarioResult.summary` and :attr:`StudyResult.baseline`.
    label
        What a reader sees.
    unit
        Unit of the value (``""``: a count or a label).
    better
        ``"lower"``, ``"higher"`` or ``""`` (not ranked, e.g. the status).
    """

    key: str
    label: str
    unit: str
    better: Literal["lower", "higher", ""]


#: The comparison's columns, in order.
INDICATORS: Final[tuple[Indicator, ...]] = (
    Indicator("status", "plan status", "", ""),
    Indicator("n_hosts", "hosts", "hosts", "lower"),
    Indicator("consolidation_ratio", "VMs per host", "VMs/host", "higher"),
    Indicator("cost_usd", "TCO (USD)", "USD", "lower"),
    Indicator("energy_kwh_per_year", "energy (kWh/year)", "kWh/year", "lower"),
    Indicator("power_w_mean", "mean power (W)", "W", "lower"),
    Indicator("availability_frac_min", "lowest VM availability", "fraction", "higher"),
    Indicator("downtime_min_per_year_max", "worst downtime (min/year)", "min/year", "lower"),
    Indicator("slatah_frac", "SLA violation time (SLATAH)", "fraction", "lower"),
    Indicator("overloaded_host_steps", "overloaded host-steps", "host-steps", "lower"),
    Indicator("paging_mib", "paging (MiB)", "MiB", "lower"),
    Indicator("storage_runout_prob_max", "storage run-out risk", "probability", "lower"),
    Indicator("gap_frac", "optimality gap", "fraction", "lower"),
)
#: Indicators whose change against today's estate the comparison adds (``delta_<key>``).
DELTA_KEYS: Final = ("n_hosts", "cost_usd", "energy_kwh_per_year", "availability_frac_min")


@dataclass(frozen=True)
class EstateSummary:
    """Today's estate (unconsolidated), as the economics report describes it.

    Attributes
    ----------
    n_vms, n_hosts
        Workloads and today's servers.
    consolidation_ratio
        VMs per server.
    cost_usd
        TCO over the economics horizon, USD.
    energy_kwh_per_year, power_w_mean
        IT energy a year and mean power.
    availability_frac_min, downtime_min_per_year_max
        The worst VM's availability and downtime.
    rule
        How today's estate was built (from the inventory, or an assumption).
    """

    n_vms: int | None = None
    n_hosts: int | None = None
    consolidation_ratio: float | None = None
    cost_usd: float | None = None
    energy_kwh_per_year: float | None = None
    power_w_mean: float | None = None
    availability_frac_min: float | None = None
    downtime_min_per_year_max: float | None = None
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> EstateSummary:
        """From :meth:`to_dict` output (keys it does not know are ignored)."""
        return cls(**{k: v for k, v in doc.items() if k in _FIELDS[cls]})


@dataclass(frozen=True)
class ScenarioSummary:
    """Headline figures of one scenario, at full precision (rounding is for presentation).

    Attributes
    ----------
    status
        How the consolidation solve ended (None: no solve).
    n_vms, n_hosts, consolidation_ratio
        Workloads, planned hosts, VMs per host.
    cost_usd, hardware_cost_usd
        TCO over the horizon; the optimizer's objective in USD (hardware or cost).
    energy_kwh_per_year, power_w_mean, co2_kg_per_year
        IT energy a year, mean power, emissions.
    availability_frac_min, downtime_min_per_year_max
        The worst VM's availability and downtime.
    slatah_frac, pdm_frac, overloaded_host_steps, paging_mib, p95_cpu_util_frac
        The emulation's service KPIs.
    storage_status, storage_cost_usd, storage_runout_prob_max
        The storage plan's status, cost and largest run-out probability.
    compute_runs_out_date
        With a horizon: the earliest expected run-out date (ISO), else None.
    gap_frac, binding
        The optimality gap and the binding resource.
    """

    status: SolveStatus | None = None
    n_vms: int | None = None
    n_hosts: int | None = None
    consolidation_ratio: float | None = None
    cost_usd: float | None = None
    hardware_cost_usd: float | None = None
    energy_kwh_per_year: float | None = None
    power_w_mean: float | None = None
    co2_kg_per_year: float | None = None
    availability_frac_min: float | None = None
    downtime_min_per_year_max: float | None = None
    slatah_frac: float | None = None
    pdm_frac: float | None = None
    overloaded_host_steps: float | None = None
    paging_mib: float | None = None
    p95_cpu_util_frac: float | None = None
    storage_status: str | None = None
    storage_cost_usd: float | None = None
    storage_runout_prob_max: float | None = None
    compute_runs_out_date: str | None = None
    gap_frac: float | None = None
    binding: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None:
            object.__setattr__(self, "status", SolveStatus(self.status))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the status as its text)."""
        doc = dataclasses.asdict(self)
        doc["status"] = None if self.status is None else str(self.status)
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ScenarioSummary:
        """From :meth:`to_dict` output (keys it does not know are ignored)."""
        return cls(**{k: v for k, v in doc.items() if k in _FIELDS[cls]})


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
        return cls(**{k: v for k, v in doc.items() if k in _FIELDS[cls]})


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
class EmulationKpis:
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the tiers as mappings)."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, strict: bool = True) -> EmulationKpis:
        """From :meth:`to_dict` output. ``strict``: a key that is not a field is an error (the
        producer and the type must not drift); otherwise it is ignored (results saved by a
        newer version)."""
        unknown = set(doc) - _FIELDS[cls]
        if strict and unknown:
            raise ValueError(f"unknown KPI(s) {sorted(unknown)}: add them to EmulationKpis")
        return cls(**{k: v for k, v in doc.items() if k in _FIELDS[cls]})


_FIELDS: Final[dict[type, frozenset[str]]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls))
    for cls in (EstateSummary, ScenarioSummary, PlanSummary, EmulationKpis)
}


def indicator_value(summary: ScenarioSummary | EstateSummary, key: str) -> Any:
    """The value of indicator ``key`` (an :class:`Indicator` key) in a summary, or None."""
    return getattr(summary, key, None)


@dataclass
class ScenarioResult:
    """Everything reports, the dashboard and the CLI need about one scenario.

    Attributes
    ----------
    scenario
        The scenario that was run.
    summary
        Headline figures (:class:`ScenarioSummary`): hosts, cost, energy, availability, SLA,
        paging, storage.
    workload
        The workload's summary (format, VMs, steps, quality, problems).
    solve
        The consolidation solve (:class:`PlanSummary`: status, hosts, bound, gap, binding
        resource, wall time).
    kpis
        The emulation's KPIs (:class:`EmulationKpis`; None without a placement).
    economics
        Energy, TCO (with today's estate as baseline) and availability.
    storage
        The storage plan (pools, risk, moves) or why it is not available.
    placement
        The consolidated placement.
    series
        Per-host arrays ``(n_hosts, n_points)``: ``cpu_util_frac``, ``power_w``; and ``times``.
    timings_s
        Wall time per stage.
    backtest
        With ``scenario.backtest_days``: the scenario's options backtested on the workload
        (:meth:`capplan.forecast.backtest.BacktestResult.to_dict`); empty otherwise.
    """

    scenario: Scenario
    summary: ScenarioSummary
    workload: dict[str, Any]
    solve: PlanSummary
    kpis: EmulationKpis | None
    economics: dict[str, Any]
    storage: dict[str, Any]
    placement: Placement
    series: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The scenario's stable id."""
        return self.scenario.name

    def save(self, directory: Path) -> Path:
        """Write the result to ``directory`` (``result.json``, placement and series Parquet)."""
        directory.mkdir(parents=True, exist_ok=True)
        doc = {
            "scenario": self.scenario.model_dump(mode="json"),
            "summary": self.summary.to_dict(),
            "workload": self.workload,
            "solve": self.solve.to_dict(),
            "kpis": None if self.kpis is None else self.kpis.to_dict(),
            "economics": self.economics,
            "storage": self.storage,
            "timings_s": self.timings_s,
            "backtest": self.backtest,
        }
        _atomic_write(directory / "result.json", json.dumps(jsonable(doc), indent=1))
        _atomic_parquet(self.placement.to_frame(), directory / "placement.parquet")
        if self.series:
            times = self.series["times"].astype("datetime64[s]").astype(np.int64)
            frames = {"times_s": pl.Series(times)}
            frame = pl.DataFrame(frames)
            rows = pl.DataFrame(
                {
                    name: pl.Series(name, array.tolist(), dtype=pl.List(pl.Float32))
                    for name, array in self.series.items()
                    if name != "times"
                }
            )
            _atomic_parquet(frame, directory / "series_times.parquet")
            _atomic_parquet(rows, directory / "series_hosts.parquet")
        return directory

    @classmethod
    def load(cls, directory: Path) -> ScenarioResult:
        """Load a result written by :meth:`save`."""
        doc = _read_json(directory / "result.json", "scenario result")
        frame = pl.read_parquet(directory / "placement.parquet")
        hosts = frame.select("host_id", "host_model").unique(maintain_order=True)
        lookup = {h: i for i, h in enumerate(hosts["host_id"].to_list())}
        placement = Placement.from_assignment(
            frame["vm_id"].to_list(),
            [lookup[h] for h in frame["host_id"].to_list()],
            hosts["host_model"].to_list(),
            hosts["host_id"].to_list(),
        )
        series: dict[str, npt.NDArray[Any]] = {}
        if (directory / "series_hosts.parquet").exists():
            times = pl.read_parquet(directory / "series_times.parquet")["times_s"].to_numpy()
            series["times"] = times.astype("datetime64[s]")
            rows = pl.read_parquet(directory / "series_hosts.parquet")
            for name in rows.columns:
                values = rows[name].to_list()
                series[name] = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
        return cls(
            scenario=Scenario.model_validate(doc["scenario"]),
            summary=ScenarioSummary.from_dict(doc["summary"]),
            workload=doc["workload"],
            solve=PlanSummary.from_dict(doc["solve"]),
            kpis=EmulationKpis.from_dict(doc["kpis"], strict=False) if doc["kpis"] else None,
            economics=doc["economics"],
            storage=doc["storage"],
            placement=placement,
            series=series,
            timings_s=doc["timings_s"],
            backtest=doc.get("backtest") or {},
        )


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


def _read_json(path: Path, what: str) -> Any:
    """The JSON document at ``path``; a missing file says no saved ``what`` is there."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CapplanError(f"no saved {what} here", path=path.parent) from None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _atomic_parquet(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


#: A scenario whose SLA violation time exceeds this is never recommended.
MAX_RECOMMENDED_SLATAH_FRAC = 0.01


@dataclass
class StudyResult:
    """The results of every scenario of a study, and the estate as it is today.

    Attributes
    ----------
    study
        The study that was run.
    results
        One result per scenario, in the study's order.
    baseline
        Today's estate (unconsolidated): hosts, cost, energy, availability.
    timings_s
        Wall time per stage, summed over scenarios, and ``total``.
    """

    study: Study
    results: list[ScenarioResult]
    baseline: EstateSummary
    timings_s: dict[str, float] = field(default_factory=dict)

    def comparison(self) -> pl.DataFrame:
        """One row for today's estate and one per scenario; deltas against today's estate."""
        rows: list[dict[str, Any]] = [
            {"scenario": "today (unconsolidated)", **self.baseline.to_dict()}
        ]
        rows += [{"scenario": r.name, **r.summary.to_dict()} for r in self.results]
        rows[0]["status"] = "today"
        keys = [ind.key for ind in INDICATORS]
        schema = {
            "scenario": pl.String,
            **{k: pl.String if k == "status" else pl.Float64 for k in keys},
        }
        table = pl.DataFrame(
            [{"scenario": row["scenario"], **{k: row.get(k) for k in keys}} for row in rows],
            schema=schema,
            orient="row",
        )
        deltas = [(pl.col(key) - pl.col(key).first()).alias(f"delta_{key}") for key in DELTA_KEYS]
        front = [False, *self.pareto_front()]
        return table.with_columns(*deltas, pl.Series("pareto", front))

    def pareto_front(self) -> list[bool]:
        """Per scenario: True when no other scenario is at least as good in cost, availability
        and SLA violation time, and strictly better in one."""
        points = np.array(
            [
                [
                    _num(r.summary.cost_usd, math.inf),
                    -_num(r.summary.availability_frac_min, 0.0),
                    _num(r.summary.slatah_frac, math.inf),
                ]
                for r in self.results
            ],
            dtype=np.float64,
        ).reshape(len(self.results), 3)
        front = []
        for i in range(len(points)):
            dominated = np.any(
                np.all(points <= points[i], axis=1) & np.any(points < points[i], axis=1)
            )
            front.append(not bool(dominated))
        return front

    def recommended(self) -> tuple[ScenarioResult | None, str]:
        """The scenario to recommend and why (cheapest on the Pareto front within the SLA)."""
        front = self.pareto_front()
        feasible = [
            r
            for r, on in zip(self.results, front, strict=True)
            if on
            and r.solve.has_plan
            and _num(r.summary.slatah_frac, 1.0) <= MAX_RECOMMENDED_SLATAH_FRAC
        ]
        if not feasible:
            return None, (
                "no scenario has a valid placement with SLA violation time at most "
                f"{MAX_RECOMMENDED_SLATAH_FRAC:.0%}; relax headroom or over-commit, or add hosts"
            )
        best = min(feasible, key=lambda r: _num(r.summary.cost_usd, math.inf))
        s = best.summary
        base_cost = _num(self.baseline.cost_usd, math.nan)
        saving = base_cost - _num(s.cost_usd, math.nan)
        reason = (
            f"cheapest scenario on the cost/availability/SLA Pareto front with SLA violation time "
            f"≤ {MAX_RECOMMENDED_SLATAH_FRAC:.0%}: {s.n_hosts} hosts instead of "
            f"{self.baseline.n_hosts}, TCO {_money(s.cost_usd)} "
            f"({_money(abs(saving))} {'less' if saving >= 0 else 'more'} than today), "
            "lowest VM availability "
            f"{_num(s.availability_frac_min, math.nan):.6f}"
        )
        return best, reason

    def save(self, directory: Path) -> Path:
        """Write every scenario result and the study summary to ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        entries: list[dict[str, str]] = []
        for index, result in enumerate(self.results):
            folder = f"scenario_{index:03d}"
            result.save(directory / folder)
            entries.append({"name": result.name, "folder": folder})
        doc = {
            "study": self.study.model_dump(mode="json"),
            "baseline": self.baseline.to_dict(),
            "timings_s": self.timings_s,
            "scenarios": entries,
        }
        _atomic_write(directory / "study.json", json.dumps(jsonable(doc), indent=1))
        return directory

    @classmethod
    def load(cls, directory: Path) -> StudyResult:
        """Load a study result written by :meth:`save`."""
        doc = _read_json(directory / "study.json", "study result")
        return cls(
            study=Study.model_validate(doc["study"]),
            results=[ScenarioResult.load(directory / s["folder"]) for s in doc["scenarios"]],
            baseline=EstateSummary.from_dict(doc["baseline"]),
            timings_s=doc["timings_s"],
        )


def _num(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _money(value: Any) -> str:
    number = _num(value, math.nan)
    return "n/a" if math.isnan(number) else f"${number:,.0f}"
