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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import CapplanError
from capplan.outcomes import (
    EconomicsSummary,
    EmulationKpis,
    PlanSummary,
    StorageSummary,
    WorkloadSummary,
    jsonable,
)
from capplan.placement import Placement
from capplan.spec.study import Scenario, Study
from capplan.status import SolveStatus

__all__ = [
    "INDICATORS",
    "MAX_RECOMMENDED_SLATAH_FRAC",
    "EstateSummary",
    "Indicator",
    "ScenarioResult",
    "ScenarioSummary",
    "SolveStatus",
    "StudyResult",
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


_FIELDS: Final[dict[type, frozenset[str]]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls))
    for cls in (EstateSummary, ScenarioSummary)
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
        The workload's summary (:class:`~capplan.outcomes.WorkloadSummary`: format, VMs,
        steps, quality, problems).
    solve
        The consolidation solve (:class:`~capplan.outcomes.PlanSummary`: status, hosts,
        bound, gap, binding resource, wall time).
    kpis
        The emulation's KPIs (:class:`~capplan.outcomes.EmulationKpis`; None without a
        placement).
    economics
        Energy, TCO (with today's estate as baseline) and availability
        (:class:`~capplan.outcomes.EconomicsSummary`; None without a placement).
    storage
        The storage plan (:class:`~capplan.outcomes.StorageSummary`: pools, risk, moves) or
        why there is none.
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
    workload: WorkloadSummary
    solve: PlanSummary
    kpis: EmulationKpis | None
    economics: EconomicsSummary | None
    storage: StorageSummary
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
            "workload": self.workload.to_dict(),
            "solve": self.solve.to_dict(),
            "kpis": None if self.kpis is None else self.kpis.to_dict(),
            "economics": None if self.economics is None else self.economics.to_dict(),
            "storage": self.storage.to_dict(),
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
            workload=WorkloadSummary.from_dict(doc["workload"], strict=False),
            solve=PlanSummary.from_dict(doc["solve"]),
            kpis=EmulationKpis.from_dict(doc["kpis"], strict=False) if doc["kpis"] else None,
            economics=(
                EconomicsSummary.from_dict(doc["economics"], strict=False)
                if doc["economics"]
                else None
            ),
            storage=StorageSummary.from_dict(doc["storage"], strict=False),
            placement=placement,
            series=series,
            timings_s=doc["timings_s"],
            backtest=doc.get("backtest") or {},
        )


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
