"""Plotly figures of capplan results. Every function takes plain arrays or frames and returns a
``plotly.graph_objects.Figure``; reports and the dashboard call the same functions.

Large time axes are reduced to at most ``max_points`` columns by taking the maximum over blocks
of steps, so a heat map of a month at 300 s stays small without hiding peaks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from capplan.units import PERCENT

_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def downsample_max(
    values: npt.NDArray[np.floating], times: npt.NDArray[np.datetime64], max_points: int = 400
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.datetime64]]:
    """Reduce the last axis to at most ``max_points`` columns by block maxima.

    Parameters
    ----------
    values
        Array ``(n_rows, n_steps)`` (or ``(n_steps,)``).
    times
        Step times ``(n_steps,)``.

    Returns
    -------
    tuple
        Reduced values ``(n_rows, n_blocks)`` and the time of each block's first step.
    """
    n_steps = values.shape[-1]
    if n_steps <= max_points:
        return values, times
    block = int(np.ceil(n_steps / max_points))
    starts = np.arange(0, n_steps, block)
    return np.maximum.reduceat(values, starts, axis=-1), times[starts]


def utilization_heatmap(
    util_frac: npt.NDArray[np.floating],
    times: npt.NDArray[np.datetime64],
    host_ids: Sequence[str],
    *,
    title: str = "Host CPU utilization",
    max_points: int = 400,
) -> go.Figure:
    """Heat map of utilization, hosts × time, in percent (block maxima when downsampled)."""
    values, ticks = downsample_max(np.asarray(util_frac, dtype=np.float64), times, max_points)
    figure = go.Figure(
        go.Heatmap(
            z=values * PERCENT,
            x=ticks.astype("datetime64[s]").astype(str),
            y=list(host_ids),
            colorscale="YlOrRd",
            zmin=0,
            zmax=100,
            colorbar={"title": "%"},
            hovertemplate="%{y}<br>%{x}<br>%{z:.1f} %<extra></extra>",
        )
    )
    figure.update_layout(title=title, yaxis={"title": "host"}, **_LAYOUT)
    return figure


def power_over_time(
    power_w: npt.NDArray[np.floating],
    times: npt.NDArray[np.datetime64],
    *,
    title: str = "Power draw (IT load)",
    max_points: int = 800,
) -> go.Figure:
    """Total power over time, in kW, from per-host power ``(n_hosts, n_steps)`` in W."""
    total_kw = np.asarray(power_w, dtype=np.float64).sum(axis=0) / 1000.0
    values, ticks = downsample_max(total_kw, times, max_points)
    figure = go.Figure(
        go.Scatter(x=ticks.astype("datetime64[s]").astype(str), y=values, mode="lines")
    )
    figure.update_layout(title=title, yaxis={"title": "kW"}, **_LAYOUT)
    return figure


def cost_breakdown(
    categories: Mapping[str, float], *, title: str = "Total cost of ownership"
) -> go.Figure:
    """Horizontal bar chart of cost per category, in USD."""
    items = sorted(categories.items(), key=lambda kv: kv[1])
    figure = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    figure.update_layout(title=title, xaxis={"title": "USD"}, **_LAYOUT)
    return figure


def comparison_bars(
    names: Sequence[str], values: Sequence[float], *, metric: str, title: str | None = None
) -> go.Figure:
    """One bar per scenario for one metric."""
    figure = go.Figure(go.Bar(x=list(names), y=list(values)))
    figure.update_layout(title=title or metric, yaxis={"title": metric}, **_LAYOUT)
    return figure


def pareto_scatter(
    names: Sequence[str],
    cost_usd: Sequence[float],
    availability_frac: Sequence[float],
    sla_violation_frac: Sequence[float],
    on_front: Sequence[bool],
    *,
    today: tuple[float, float] | None = None,
    title: str = "Cost vs availability (marker size: SLA violation)",
) -> go.Figure:
    """Scenarios in the cost / availability plane, each labelled; the Pareto front highlighted.

    Scenarios at the same cost and availability (to the dollar and 1e-7) share one marker
    whose label lists them all, so none hides behind another. ``today``: today's estate as
    (TCO in USD, availability fraction), drawn as a star.
    """
    groups: dict[tuple[float, float], list[int]] = {}
    for k, (c, a) in enumerate(zip(cost_usd, availability_frac, strict=True)):
        groups.setdefault((round(float(c)), round(float(a), 7)), []).append(k)
    sla = np.asarray(sla_violation_frac, dtype=np.float64)
    top = float(sla.max()) if sla.size and sla.max() > 0 else 0.0
    xs, ys, labels, sizes, colours, hover = [], [], [], [], [], []
    for (c, a), members in groups.items():
        xs.append(c)
        ys.append(a * PERCENT)
        labels.append("<br>".join(names[k] for k in members))
        worst = max(sla[k] for k in members) if sla.size else 0.0
        sizes.append(10 + (30 * worst / top if top else 0.0))
        colours.append("#d62728" if any(on_front[k] for k in members) else "#7f7f7f")
        hover.append(
            "<br>".join(names[k] for k in members)
            + f"<br>TCO ${c:,.0f}<br>availability {a * PERCENT:.5f} %"
            + f"<br>SLA violation {worst * PERCENT:.2f} %"
        )
    figure = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=labels,
            textposition=["top center" if k % 2 == 0 else "bottom center" for k in range(len(xs))],
            marker={"size": sizes, "color": colours, "line": {"width": 1, "color": "#333"}},
            hovertext=hover,
            hoverinfo="text",
            name="scenarios (red: Pareto front)",
        )
    )
    if today is not None:
        figure.add_trace(
            go.Scatter(
                x=[today[0]],
                y=[today[1] * PERCENT],
                mode="markers+text",
                text=["today"],
                textposition="top center",
                marker={"symbol": "star", "size": 16, "color": "#1f77b4"},
                hovertext=[
                    f"today's estate<br>TCO ${today[0]:,.0f}<br>availability "
                    f"{today[1] * PERCENT:.5f} %"
                ],
                hoverinfo="text",
                name="today's estate",
            )
        )
    figure.update_layout(
        title=title,
        xaxis={"title": "TCO (USD)"},
        yaxis={"title": "lowest VM availability (%)", "tickformat": ".4f"},
        **_LAYOUT,
    )
    return figure


def pool_forecast(
    days: npt.NDArray[np.floating],
    used_gib: npt.NDArray[np.floating],
    low_gib: npt.NDArray[np.floating],
    high_gib: npt.NDArray[np.floating],
    capacity_gib: float,
    *,
    title: str,
) -> go.Figure:
    """A pool's used capacity forecast with its confidence band and the capacity line."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=days, y=high_gib, line={"width": 0}, showlegend=False))
    figure.add_trace(
        go.Scatter(x=days, y=low_gib, fill="tonexty", line={"width": 0}, name="confidence band")
    )
    figure.add_trace(go.Scatter(x=days, y=used_gib, name="forecast used"))
    figure.add_hline(y=capacity_gib, line_dash="dash", annotation_text="physical capacity")
    figure.update_layout(title=title, xaxis={"title": "days"}, yaxis={"title": "GiB"}, **_LAYOUT)
    return figure


def link_utilization(
    link_names: Sequence[str], util_frac_p95: Sequence[float], util_frac_peak: Sequence[float]
) -> go.Figure:
    """p95 and peak utilization per network link, in percent."""
    figure = go.Figure()
    figure.add_trace(go.Bar(name="p95", x=list(link_names), y=[u * PERCENT for u in util_frac_p95]))
    figure.add_trace(
        go.Bar(name="peak", x=list(link_names), y=[u * PERCENT for u in util_frac_peak])
    )
    figure.update_layout(
        title="Network link utilization", yaxis={"title": "%"}, barmode="group", **_LAYOUT
    )
    return figure


#: Most run-out lines drawn (those that come closest to their capacity).
MAX_RUNOUT_LINES = 6


def runout_lines(horizon: Mapping[str, Any], *, title: str | None = None) -> go.Figure:
    """Demand of each zone and resource as a share of the plan's capacity over the days ahead.

    ``horizon`` is a consolidation summary's ``horizon`` entry
    (:func:`capplan.optimize.horizon.horizon_summary`). The expected trajectory is a line, the
    range between the lower and upper trajectories a band; 100 % is where the plan runs out.
    Only the :data:`MAX_RUNOUT_LINES` rows that come closest to their capacity are drawn.
    """
    rows = sorted(
        (r for r in horizon["run_out"] if r.get("trajectory")),
        key=lambda r: -max(r["trajectory"]["upper"]),
    )[:MAX_RUNOUT_LINES]
    figure = go.Figure()
    for r in rows:
        t = r["trajectory"]
        label = f"{r['zone']} · {r['dim']}"
        figure.add_trace(
            go.Scatter(
                x=t["days"],
                y=[v * PERCENT for v in t["upper"]],
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                legendgroup=label,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=t["days"],
                y=[v * PERCENT for v in t["lower"]],
                fill="tonexty",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                legendgroup=label,
                opacity=0.3,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=t["days"],
                y=[v * PERCENT for v in t["expected"]],
                name=label,
                legendgroup=label,
                hovertemplate=f"{label}<br>day %{{x}}: %{{y:.1f}} % of capacity<extra></extra>",
            )
        )
    figure.add_hline(y=100.0, line_dash="dash", annotation_text="capacity of the plan")
    figure.add_vline(
        x=float(horizon["horizon_days"]), line_dash="dot", annotation_text="planning horizon"
    )
    figure.update_layout(
        title=title or f"Demand over the next {horizon['window_days']} days, % of capacity",
        xaxis={"title": f"days after {str(horizon['history_end'])[:10]}"},
        yaxis={"title": "% of the plan's capacity (less the HA reserve)"},
        **_LAYOUT,
    )
    return figure


def backtest_chart(backtest: Mapping[str, Any], *, title: str | None = None) -> go.Figure:
    """Promised vs experienced peak load per resource, % of the capacity the plan planned.

    ``backtest`` is :meth:`capplan.forecast.backtest.BacktestResult.to_dict`. One window: bars
    per resource for the plan's own sizing, the training days (promised) and the test days
    (experienced). Several (rolling): per resource, the training peak (dashed) and the test
    peak (solid) of each window by its test start. Above 100 % the plan was short.
    """
    windows = [w for w in backtest["windows"] if w.get("resources")]
    figure = go.Figure()
    if len(windows) == 1:
        res = windows[0]["resources"]
        names = list(res)
        for key, label in (
            ("planned_peak_pct", "plan sized"),
            ("train_peak_pct", "promised (training days)"),
            ("test_peak_pct", "experienced (test days)"),
        ):
            figure.add_trace(go.Bar(x=names, y=[res[n][key] for n in names], name=label))
        figure.update_layout(barmode="group", xaxis={"title": "resource"})
    else:
        starts = [str(w["test_start"])[:16] for w in windows]
        names = list(windows[0]["resources"]) if windows else []
        for name in names:
            figure.add_trace(
                go.Scatter(
                    x=starts,
                    y=[w["resources"][name]["train_peak_pct"] for w in windows],
                    name=f"{name} promised",
                    line={"dash": "dash"},
                    legendgroup=name,
                )
            )
            figure.add_trace(
                go.Scatter(
                    x=starts,
                    y=[w["resources"][name]["test_peak_pct"] for w in windows],
                    name=f"{name} experienced",
                    legendgroup=name,
                )
            )
        figure.update_layout(xaxis={"title": "test window start (UTC)"})
    figure.add_hline(y=100.0, line_dash="dash", annotation_text="capacity planned")
    figure.update_layout(
        title=title
        or (
            f"Backtest: plan on {backtest['train_days']:g} days, replay on the next "
            f"{backtest['test_days']:g}"
        ),
        yaxis={"title": "peak load, % of planned capacity"},
        **_LAYOUT,
    )
    return figure


def tornado(sensitivity: Mapping[str, Any], *, title: str | None = None) -> go.Figure:
    """The NPV saving at each end of each assumption's range, around the base saving.

    ``sensitivity`` is :func:`capplan.economics.evaluate.sensitivity`'s result (rows largest
    swing first; drawn with the largest at the top). A bar crossing 0 marks an assumption
    that can flip the verdict.
    """
    rows = list(sensitivity["rows"])[::-1]
    base = float(sensitivity["npv_savings_usd"] or 0.0)
    labels = [str(r["label"]) for r in rows]
    figure = go.Figure()
    for end, colour in (("low", "#1f77b4"), ("high", "#ff7f0e")):
        values = [float(r[f"npv_savings_usd_{end}"] or 0.0) for r in rows]
        figure.add_trace(
            go.Bar(
                y=labels,
                x=[v - base for v in values],
                base=[base] * len(rows),
                orientation="h",
                name=f"at the {end} end",
                marker={"color": colour},
                customdata=[[r[end], v] for r, v in zip(rows, values, strict=True)],
                hovertemplate="%{y}: %{customdata[0]}<br>NPV saving $%{customdata[1]:,.0f}"
                "<extra></extra>",
            )
        )
    figure.add_vline(x=base, line_dash="dot", annotation_text="base saving")
    figure.add_vline(x=0.0, line_color="#b00020", annotation_text="break-even")
    figure.update_layout(
        title=title or "What moves the saving (NPV, USD)",
        barmode="overlay",
        xaxis={"title": "NPV saving vs today (USD)"},
        **_LAYOUT,
    )
    return figure
