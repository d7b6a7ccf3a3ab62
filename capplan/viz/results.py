"""Figures of pipeline results: a ``ScenarioResult`` / ``StudyResult`` in, a figure out.

Thin adapters from the result's saved fields to the plotting functions of
:mod:`capplan.viz.figures`, so the dashboard (and any other consumer) draws a result exactly
as the batch report does. Every function returns ``None`` when the result lacks the data
(an infeasible scenario has no placement, a workload without storage data has no pools).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from capplan.results import ScenarioResult, indicator_value
from capplan.viz import figures
from capplan.viz.labels import scenario_label


def utilization(result: Any) -> go.Figure | None:
    """Host CPU utilization heat map (hosts × time) of one scenario."""
    series = result.series
    if "cpu_util_frac" not in series or not len(series["cpu_util_frac"]):
        return None
    return figures.utilization_heatmap(
        series["cpu_util_frac"], series["times"], result.placement.host_ids.tolist()
    )


def horizon(result: ScenarioResult) -> go.Figure | None:
    """Run-out of the plan's capacity over the days ahead (a plan made for a horizon)."""
    plan = result.solve.horizon
    if not plan or not plan.get("run_out"):
        return None
    return figures.runout_lines(plan)


def backtest(result: Any) -> go.Figure | None:
    """Promised vs experienced peak loads of the scenario's backtest (when one was run)."""
    data = getattr(result, "backtest", None) or {}
    if not any(w.get("resources") for w in data.get("windows", [])):
        return None
    return figures.backtest_chart(data)


def tornado(result: ScenarioResult) -> go.Figure | None:
    """The sensitivity of the scenario's saving vs today (when economics computed it)."""
    sens = result.economics.comparison.sensitivity if result.economics else {}
    if not sens.get("rows"):
        return None
    return figures.tornado(sens)


def power(result: Any) -> go.Figure | None:
    """Total IT power over time of one scenario."""
    series = result.series
    if "power_w" not in series or not len(series["power_w"]):
        return None
    return figures.power_over_time(series["power_w"], series["times"])


def cost(result: ScenarioResult) -> go.Figure | None:
    """TCO breakdown by category of one scenario (zero categories left out)."""
    econ = result.economics
    breakdown = {k: v for k, v in econ.tco_breakdown.items() if v} if econ else {}
    if not econ or not breakdown:
        return None
    horizon = econ.horizon_years
    title = "Total cost of ownership" + (f" over {horizon:g} years" if horizon else "")
    return figures.cost_breakdown(breakdown, title=title)


def links(result: ScenarioResult) -> go.Figure | None:
    """p95 and peak load of the busiest host NIC and top-of-rack uplink of one scenario."""
    kpis = result.kpis
    if kpis is None or kpis.p95_nic_load_ratio is None:
        return None
    return figures.link_utilization(
        ["busiest host NIC", "busiest ToR uplink"],
        [kpis.p95_nic_load_ratio, kpis.p95_uplink_load_ratio or 0.0],
        [kpis.peak_nic_load_ratio or 0.0, kpis.peak_uplink_load_ratio or 0.0],
    )


def pool_forecasts(result: ScenarioResult) -> list[go.Figure]:
    """One used-capacity forecast per storage pool that has one (linear trend to the horizon).

    The storage plan keeps the trend's value now and at the horizon, and the prediction band at
    the horizon; the figure draws the trend between them and the band narrowing to today.
    """
    horizon = result.storage.horizon_days
    out = []
    for pool in result.storage.pools:
        used = pool.used_now_gib
        forecast = pool.forecast_used_gib
        band = pool.forecast_band_gib or (None, None)
        if horizon is None or used is None or forecast is None or None in band:
            continue
        days = np.array([0.0, float(horizon)])
        out.append(
            figures.pool_forecast(
                days,
                np.array([used, forecast], dtype=np.float64),
                np.array([used, band[0]], dtype=np.float64),
                np.array([used, band[1]], dtype=np.float64),
                pool.physical_gib,
                title=f"Pool {pool.name} ({pool.tier}): used capacity forecast",
            )
        )
    return out


def pareto(study: Any) -> go.Figure | None:
    """Cost vs availability of every planned scenario, the Pareto front highlighted."""
    flags = study.pareto_front()
    planned = [
        (r, f) for r, f in zip(study.results, flags, strict=True) if r.summary.cost_usd is not None
    ]
    if not planned:
        return None
    base = study.baseline
    today = (
        (float(base.cost_usd), float(base.availability_frac_min))
        if base.cost_usd is not None and base.availability_frac_min is not None
        else None
    )
    return figures.pareto_scatter(
        [scenario_label(r.name) for r, _ in planned],
        [r.summary.cost_usd for r, _ in planned],
        [r.summary.availability_frac_min or 0.0 for r, _ in planned],
        [r.summary.slatah_frac or 0.0 for r, _ in planned],
        [f for _, f in planned],
        today=today,
    )


def comparison(study: Any, key: str, label: str | None = None) -> go.Figure:
    """One bar per scenario (and today's estate first) for one indicator (its key)."""
    names: Sequence[str] = ["today", *(scenario_label(r.name) for r in study.results)]
    values = [
        indicator_value(study.baseline, key),
        *(indicator_value(r.summary, key) for r in study.results),
    ]
    return figures.comparison_bars(
        list(names), [np.nan if v is None else float(v) for v in values], metric=label or key
    )
