"""The pipeline: a scenario in, a :class:`ScenarioResult` out; a study in, a :class:`StudyResult`.

``run_scenario`` consolidates the workload (optimizer), plans storage, replays the plan on the
emulated hardware, and computes the economics (energy, TCO, availability) against today's
estate. ``run_study`` runs every scenario of a study in-process, on a local Dask cluster
(``workers=N``) or on an existing one (``scheduler="tcp://host:8786"``); scenarios are
independent, so they run in parallel and their results are identical to an in-process run.
On Dask, each distinct workload of the study is read once, part by part on the workers
(:mod:`capplan.demand.dask_ingest`), and broadcast to every worker for its scenarios.

The result types, their persistence, the comparison indicators, the Pareto front and the
recommendation live in :mod:`capplan.results`; running on Dask in :mod:`capplan.study_dask`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from capplan.demand import load_workload
from capplan.demand.workload import Workload
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
from capplan.results import EstateSummary, ScenarioResult, ScenarioSummary, StudyResult
from capplan.runcontrol import Cancelled, Progress
from capplan.spec.catalog import Catalog, load_catalog
from capplan.spec.study import CONSOLIDATION_SETTINGS, Scenario, Study

if TYPE_CHECKING:
    from capplan.emulate.routing import StorageRouting

#: The stages of a scenario, in order; ``progress(stage, done_frac)`` is called as each starts
#: and ends (:data:`capplan.runcontrol.Progress`).
STAGES = ("ingest", "optimize", "emulate", "storage", "economics", "backtest")
#: Per-host series kept in a result are reduced to at most this many steps (block maxima).
SERIES_MAX_STEPS = 2016


# --------------------------------------------------------------------------- running
def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was cancelled")


def _block_max(
    values: npt.NDArray[Any], times: npt.NDArray[np.datetime64], max_steps: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.datetime64]]:
    from capplan.viz.figures import downsample_max

    reduced, ticks = downsample_max(np.asarray(values, dtype=np.float32), times, max_steps)
    return np.asarray(reduced, dtype=np.float32), ticks


def scenario_catalog(scenario: Scenario) -> Catalog:
    """The scenario's catalog with its network and storage design knobs applied.

    ``network.uplink_oversubscription_ratio`` sets the uplinks per ToR switch (the nearest whole
    number, at least one), ``network.vpn_frac`` the VPN share of north-south traffic, and
    ``storage.snapshot_reserve_frac`` the SAN design's snapshot reserve. Unset knobs keep the
    catalog's values.
    """
    catalog = load_catalog(Path(scenario.catalog) if scenario.catalog else None)
    fabric, san = catalog.fabric, catalog.san
    ratio = scenario.network.uplink_oversubscription_ratio
    if ratio is not None:
        downlink_mbps = fabric.tor_downlink_ports * fabric.tor_port_speed_mbps
        uplinks = max(1, round(downlink_mbps / (ratio * fabric.uplink_speed_mbps)))
        fabric = dataclasses.replace(fabric, tor_uplinks=uplinks)
    if scenario.network.vpn_frac is not None:
        fabric = dataclasses.replace(fabric, vpn_frac=scenario.network.vpn_frac)
    if scenario.storage.snapshot_reserve_frac is not None:
        san = dataclasses.replace(
            san, snapshot_overhead_frac=scenario.storage.snapshot_reserve_frac
        )
    return dataclasses.replace(catalog, fabric=fabric, san=san)


def _consolidation_options(scenario: Scenario, economics: Any = None) -> Any:
    from capplan.optimize.consolidate import ConsolidateOptions
    from capplan.optimize.consolidate import HostOffer as OptHostOffer

    return ConsolidateOptions(
        hosts=tuple(OptHostOffer(h.model, h.max_count) for h in scenario.hosts),
        **{name: getattr(scenario, name) for name in CONSOLIDATION_SETTINGS},
        economics=economics,
    )


def _path_latency_ms(catalog: Catalog, mode: str) -> float:
    """The larger of the mode's read and write I/O path latencies, ms."""
    virt = catalog.mode(mode)
    return max(virt.io_added_read_latency_ms, virt.io_added_write_latency_ms)


def _plan_storage(
    scenario: Scenario,
    workload: Workload,
    catalog: Catalog,
    paging_mib_s: float,
    econ: Any,
    quantile: float,
) -> tuple[dict[str, Any], StorageRouting | None]:
    """The storage plan as JSON, and the routing of each VM's I/O to its planned pools (None
    without a plan)."""
    from capplan.storage.planner import StorageOptions, plan_storage
    from capplan.storage.routing import routing_from_plan
    from capplan.storage.spec import default_spec

    design = scenario.storage
    options = StorageOptions(
        horizon_days=float(design.horizon_days),
        ratio=design.oversubscription_ratio,
        thin=design.provisioning == "thin",
        appliance=design.appliance,
        mirror=design.mirrored,
        snapshot_policy="catalog",
        paging_total_mib_s=paging_mib_s,
        used_missing="provisioned",
        time_limit_s=max(scenario.time_limit_s / 2, 5.0),
        workers=scenario.workers,
        seed=scenario.seed,
        quantile=quantile,
        io_path_latency_ms=_path_latency_ms(catalog, scenario.mode),
        vm_iops_ceiling=catalog.mode(scenario.mode).vm_iops_ceiling,
    )
    try:
        plan = plan_storage(
            workload,
            catalog,
            default_spec(catalog),
            options,
            electricity_usd_per_kwh=econ.energy.electricity_usd_per_kwh,
            pue_ratio=econ.energy.pue_ratio,
        )
    except CapplanError as exc:  # StorageDataError included: no disk data, no plan
        return {"status": "not available", "reason": str(exc)}, None
    return plan.to_json(max_moves=200), routing_from_plan(plan)


def _plan_and_route(
    scenario: Scenario,
    workload: Workload,
    catalog: Catalog,
    placement: Placement,
    emulation: Any,
    econ: Any,
) -> tuple[Any, dict[str, Any]]:
    """Plan storage for the replay's paging, then replay again with each VM's I/O on the
    pools the plan chose (the first replay stands when there is no plan).

    The plan sizes each volume at a quantile ``q`` of its I/O. Its replay rejects it when a
    pool's VM I/O latency breaches the objective in more than ``1 − q`` of the steps (at the
    peak, in any step); the plan is then redone at the next quantile of
    :data:`IO_QUANTILE_LADDER`. ``replay_check`` in the plan's JSON lists each attempt and the
    pools it breached; ``replay_accepted`` says whether the plan kept holds in its replay
    (when no rung does, or a higher rung finds no plan, the last plan that had one is kept).
    """
    from capplan.emulate.engine import emulate

    paging = emulation.peak_paging_mib_s
    start = scenario.storage.io_quantile
    ladder = [start, *(q for q in IO_QUANTILE_LADDER if q > start)]
    attempts: list[dict[str, Any]] = []
    kept: tuple[dict[str, Any], Any] | None = None
    for quantile in ladder:
        plan, routing = _plan_storage(scenario, workload, catalog, paging, econ, quantile)
        if routing is None:
            if kept is None:
                return emulation, jsonable(plan)
            reason = plan.get("reason") or "; ".join(plan.get("reasons") or []) or "no plan"
            attempts.append({"io_quantile": quantile, "no_plan": reason})
            break
        routed = emulate(workload, placement, catalog, scenario.mode, storage_routing=routing)
        allowed = (1.0 - quantile) * routed.n_steps
        breached = {
            name: tier.slo_breach_steps
            for name, tier in routed.tiers.items()
            if name in routing.pool_names and tier.slo_breach_steps > allowed
        }
        attempts.append({"io_quantile": quantile, "breach_steps_by_pool": breached})
        kept = (plan, routed)
        if not breached:
            break
    assert kept is not None
    plan, routed = kept
    accepted = "breach_steps_by_pool" in attempts[-1] and not attempts[-1]["breach_steps_by_pool"]
    plan = {
        **plan,
        "io_quantile": next(
            a["io_quantile"] for a in reversed(attempts) if "breach_steps_by_pool" in a
        ),
        "replay_check": attempts,
        "replay_accepted": accepted,
    }
    return routed, jsonable(plan)


#: Quantiles a storage plan is redone at while its replay breaches a pool's latency objective.
IO_QUANTILE_LADDER: tuple[float, ...] = (0.99, 0.999, 1.0)


def _summary(
    workload: Workload,
    solve: PlanSummary,
    kpis: EmulationKpis | None,
    econ: EconomicsSummary | None,
    storage: StorageSummary,
) -> ScenarioSummary:
    n_hosts = solve.n_hosts
    run_out = [r.get("expected_date") for r in (solve.horizon or {}).get("run_out", [])]
    return ScenarioSummary(
        status=solve.status,
        n_vms=workload.n_vms,
        n_hosts=n_hosts,
        consolidation_ratio=workload.n_vms / n_hosts if n_hosts else None,
        cost_usd=econ.tco_usd if econ else None,
        hardware_cost_usd=solve.cost_usd,
        energy_kwh_per_year=econ.energy_kwh_per_year if econ else None,
        power_w_mean=econ.power_w_mean if econ else None,
        co2_kg_per_year=econ.co2_kg_per_year if econ else None,
        availability_frac_min=econ.availability_frac_min if econ else None,
        downtime_min_per_year_max=econ.downtime_min_per_year_max if econ else None,
        slatah_frac=kpis.slatah_frac if kpis else None,
        pdm_frac=kpis.pdm_frac if kpis else None,
        overloaded_host_steps=kpis.overloaded_host_steps if kpis else None,
        paging_mib=kpis.paging_mib if kpis else None,
        p95_cpu_util_frac=kpis.p95_cpu_util_frac if kpis else None,
        storage_status=storage.status,
        storage_cost_usd=storage.cost_usd,
        storage_runout_prob_max=storage.runout_prob_max,
        compute_runs_out_date=min((d for d in run_out if d), default=None),
        gap_frac=solve.gap_frac,
        binding=solve.binding,
    )


def _baseline(econ: EconomicsSummary, n_vms: int) -> EstateSummary:
    """Today's estate (unconsolidated), as the economics report describes it."""
    base = econ.baseline
    return EstateSummary(
        n_vms=n_vms,
        n_hosts=base.n_hosts,
        consolidation_ratio=n_vms / base.n_hosts if base.n_hosts else None,
        cost_usd=base.tco_usd,
        energy_kwh_per_year=base.energy_kwh_per_year,
        power_w_mean=base.power_w_mean,
        availability_frac_min=base.availability_frac_min,
        downtime_min_per_year_max=base.downtime_min_per_year_max,
        rule=econ.comparison.baseline_rule or None,
    )


def _not_run() -> StorageSummary:
    """The storage outcome of a scenario without a placement."""
    return StorageSummary(status="not run", reason="no placement")


def run_scenario(
    scenario: Scenario,
    *,
    workload: Workload | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ScenarioResult:
    """Consolidate, plan storage, emulate and cost one scenario.

    Parameters
    ----------
    scenario
        The scenario (its ``workload`` is read unless ``workload`` is given).
    workload
        An already built workload for the scenario's trace (studies share one).
    progress
        ``progress(stage, done_frac)`` as stages start and end.
    cancel
        When set, the run stops at the next stage boundary with :class:`Cancelled`.

    Returns
    -------
    ScenarioResult
        A result even when the plan is infeasible (``solve.status`` says so, with the reason).
    """
    from capplan.economics.evaluate import economics_report
    from capplan.economics.replay import emulation_replay
    from capplan.emulate.engine import emulate
    from capplan.optimize.consolidate import consolidate
    from capplan.spec.economics import load_economics

    timings: dict[str, float] = {}
    report = progress or (lambda stage, frac: None)

    def stage(name: str, index: int) -> float:
        _check_cancel(cancel)
        report(name, index / len(STAGES))
        return time.perf_counter()

    start = stage("ingest", 0)
    wl = workload if workload is not None else load_workload(scenario.workload)
    catalog = scenario_catalog(scenario)
    bundled_settings = load_economics(None)
    econ_settings = dataclasses.replace(
        bundled_settings,
        availability=dataclasses.replace(bundled_settings.availability, mc_seed=scenario.seed),
    )
    timings["ingest"] = time.perf_counter() - start

    start = stage("optimize", 1)
    result = consolidate(
        wl,
        catalog,
        _consolidation_options(scenario, econ_settings),
        progress=_solver_progress(report, scenario.time_limit_s),
    )
    solve = result.summary
    timings["optimize"] = time.perf_counter() - start
    placement = result.placement
    if placement is None:
        report("done", 1.0)
        empty = Placement.from_assignment([], [], [])
        return ScenarioResult(
            scenario,
            _summary(wl, solve, None, None, not_run := _not_run()),
            WorkloadSummary.from_dict(jsonable(wl.summary())),
            solve,
            None,
            None,
            not_run,
            empty,
            {},
            timings,
        )

    start = stage("emulate", 2)
    emulation = emulate(wl, placement, catalog, scenario.mode)
    timings["emulate"] = time.perf_counter() - start

    start = stage("storage", 3)
    emulation, plan = _plan_and_route(scenario, wl, catalog, placement, emulation, econ_settings)
    storage = StorageSummary.from_dict(plan)
    kpis = emulation.kpis()
    timings["storage"] = time.perf_counter() - start

    start = stage("economics", 4)
    plan_replay = emulation_replay(catalog)

    def replay(w: Workload, p: Placement, mode: str) -> tuple[npt.NDArray[Any], list[str]]:
        if p is placement or (mode == scenario.mode and _same(p, placement)):
            if emulation.cpu is None:
                raise CapplanError("the workload has no cpu_demand_mhz: power cannot be derived")
            notes = [*emulation.compat.problems, *emulation.notes]
            return np.asarray(emulation.cpu.util_frac, dtype=np.float64), notes
        return plan_replay(w, p, mode)

    econ = EconomicsSummary.from_dict(
        jsonable(
            economics_report(
                wl,
                placement,
                catalog,
                econ_settings,
                scenario.mode,
                replay,
                plan_reserve_hosts=scenario.ha_hosts,
            )
        )
    )
    timings["economics"] = time.perf_counter() - start

    series = _series(wl, emulation)
    backtest: dict[str, Any] = {}
    if scenario.backtest_days > 0:
        start = stage("backtest", 5)
        backtest = _backtest(scenario, wl, catalog, econ_settings)
        timings["backtest"] = time.perf_counter() - start
    report("done", 1.0)
    return ScenarioResult(
        scenario=scenario,
        summary=_summary(wl, solve, kpis, econ, storage),
        workload=WorkloadSummary.from_dict(jsonable(wl.summary())),
        solve=solve,
        kpis=kpis,
        economics=econ,
        storage=storage,
        placement=placement,
        series=series,
        timings_s=timings,
        backtest=backtest,
    )


def _solver_progress(report: Progress, time_limit_s: float) -> Any:
    """The solver's progress events as progress within the optimize stage (index 1)."""

    def on_event(event: Any) -> None:
        share = min(max(float(event.elapsed_s) / max(time_limit_s, 1e-9), 0.0), 0.99)
        report(
            f"optimize: {event.phase}, {event.elapsed_s:.0f} s of at most {time_limit_s:g} s",
            (1 + share) / len(STAGES),
        )

    return on_event


def _series(workload: Workload, emulation: Any) -> dict[str, npt.NDArray[Any]]:
    """Per-host CPU utilization and power, block maxima over at most SERIES_MAX_STEPS."""
    times = workload.times()
    series: dict[str, npt.NDArray[Any]] = {}
    if emulation.cpu is not None:
        series["cpu_util_frac"], ticks = _block_max(
            emulation.cpu.util_frac, times, SERIES_MAX_STEPS
        )
        series["times"] = ticks
    series["power_w"], ticks = _block_max(emulation.power_w, times, SERIES_MAX_STEPS)
    series.setdefault("times", ticks)
    return series


def _backtest(
    scenario: Scenario, workload: Workload, catalog: Catalog, econ: Any
) -> dict[str, Any]:
    """The scenario's options planned on all but the last ``backtest_days`` of the workload
    and replayed on those days."""
    from capplan.forecast.backtest import backtest

    days = workload.n_steps * workload.step_s / 86_400
    train = days - scenario.backtest_days
    if train <= 0:
        raise CapplanError(
            f"backtest_days {scenario.backtest_days:g} leaves no training days: the workload "
            f"spans {days:.2f} days; expected backtest_days < {days:.2f}"
        )
    options = dataclasses.replace(
        _consolidation_options(scenario, econ), horizon_days=0.0, new_vms_per_month=0.0
    )
    result = backtest(
        workload, catalog, options, train_days=train, test_days=scenario.backtest_days
    )
    return jsonable(result.to_dict())


def _same(a: Placement, b: Placement) -> bool:
    return (
        a.n_vms == b.n_vms
        and a.n_hosts == b.n_hosts
        and bool(np.array_equal(a.vm_ids, b.vm_ids))
        and bool(np.array_equal(a.host_of_vm, b.host_of_vm))
        and bool(np.array_equal(a.host_models, b.host_models))
    )


def run_study(
    study: Study,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> StudyResult:
    """Run every scenario of a study.

    Parameters
    ----------
    study
        The study (expanded into scenarios by :meth:`Study.expand`).
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``): scenarios run there.
    workers
        Start a local Dask cluster with this many worker processes.
    progress
        ``progress(label, done_frac)`` with the label ``scenario-id: stage``; on Dask
        ``ingest k of n: ...`` while the study's workloads are read, then ``k of n scenarios``.
    cancel
        Stops in-process runs at the next stage boundary; on Dask, the ingest and pending
        scenarios are cancelled.

    Notes
    -----
    ``timings_s["ingest"]`` includes reading each distinct workload once: in-process, or on
    Dask part by part on the workers (until the Workload is on every worker).
    """
    scenarios = study.expand()
    report = progress or (lambda label, frac: None)
    started = time.perf_counter()
    shared_ingest_s = 0.0  # workloads read once and shared by in-process scenarios
    if scheduler is None and not workers:
        results = []
        shared: dict[str, Workload] = {}
        for index, scenario in enumerate(scenarios):
            if scenario.workload not in shared:
                loading = time.perf_counter()
                shared[scenario.workload] = load_workload(scenario.workload)
                shared_ingest_s += time.perf_counter() - loading

            def scenario_progress(
                stage: str, frac: float, i: int = index, s: Scenario = scenario
            ) -> None:
                report(f"{s.name}: {stage}", (i + frac) / len(scenarios))

            results.append(
                run_scenario(
                    scenario,
                    workload=shared[scenario.workload],
                    progress=scenario_progress,
                    cancel=cancel,
                )
            )
    else:
        from capplan.study_dask import run_on_dask

        results, shared_ingest_s = run_on_dask(
            scenarios, scheduler, workers, report, cancel, run=run_scenario
        )
    baseline = next(
        (_baseline(r.economics, r.workload.n_vms) for r in results if r.economics),
        EstateSummary(),
    )
    timings: dict[str, float] = {"ingest": shared_ingest_s}
    for result in results:
        for name, seconds in result.timings_s.items():
            timings[name] = timings.get(name, 0.0) + seconds
    timings["total"] = time.perf_counter() - started
    report("done", 1.0)
    return StudyResult(study, results, baseline, timings)
