"""The page of one run (``/run/<id>``): progress while it runs, then its results in tabs.

Every builder takes result data and ready-made figures (drawn by the callback with
:mod:`capplan.viz`) and returns components; nothing here computes or reads files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

import capplan.dashboard.ids as ids
from capplan.dashboard.pages.common import (
    error_box,
    fmt,
    fmt_as,
    key_values,
    kind_of,
    table,
    when,
)
from capplan.dashboard.workspace import RunRecord
from capplan.forecast.kpi_rows import KPI_ROWS
from capplan.outcomes import EconomicsSummary
from capplan.results import ScenarioResult, ScenarioSummary
from capplan.viz.labels import scenario_label

TABS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("consolidation", "Consolidation"),
    ("storage", "Storage"),
    ("network", "Network"),
    ("power", "Power & cost"),
    ("availability", "Availability"),
    ("comparison", "Comparison"),
)
#: Tabs about one scenario (they show the scenario picker).
SCENARIO_TABS = ("consolidation", "storage", "network", "power", "availability")
DOWNLOAD_BUTTONS: tuple[tuple[str, str], ...] = (
    ("report", "HTML report"),
    ("placements", "Placements (CSV)"),
    ("comparison", "Comparison (CSV)"),
    ("tables", "Tables (XLSX)"),
    ("study", "Study file (TOML)"),
)


def _header(record: RunRecord) -> html.Div:
    return html.Div(
        [
            html.H2(record.name, id=ids.RUN_NAME),
            html.Div(
                f"run {record.id} · {record.n_scenarios} scenario(s) · started "
                f"{when(record.created_s)} · {record.status}",
                className="muted",
                id=ids.RUN_STATUS,
            ),
        ]
    )


def pending(record: RunRecord) -> html.Div:
    """A run that is not done: its state, and why it ended if it failed."""
    if record.live:
        done = f"{record.progress_frac:.0%}" + (
            f", {record.progress_text}" if record.progress_text else ""
        )
        body: Any = html.P(
            f"The study is {record.status} ({done}). The bar at the top follows it; this page "
            "shows the results when it ends. You may leave: the run goes on and stays listed "
            "under Runs.",
            id=ids.RUN_PENDING,
        )
    else:
        body = error_box(
            f"The run ended {record.status}: {record.message or 'no results'}",
            box_id=ids.RUN_FAILED,
        )
    return html.Div([_header(record), html.Div(body, className="card")])


def layout(record: RunRecord, scenarios: Sequence[str], chosen: str | None) -> html.Div:
    """A finished run: downloads, tabs, the scenario picker (``chosen`` first) and the tab
    content area."""
    return html.Div(
        [
            _header(record),
            html.Div(
                [
                    html.Strong("Download: "),
                    *[
                        html.Button(
                            label,
                            id={"type": ids.DOWNLOAD_TYPE, "kind": kind},
                            className="secondary",
                        )
                        for kind, label in DOWNLOAD_BUTTONS
                    ],
                    dcc.Download(id=ids.RESULT_DOWNLOAD),
                    html.Span(id=ids.DOWNLOAD_MESSAGE),
                ],
                className="card",
            ),
            dcc.Tabs(
                id=ids.RESULT_TABS,
                value="overview",
                children=[dcc.Tab(label=label, value=value) for value, label in TABS],
            ),
            html.Div(
                [
                    html.Label("Scenario: ", htmlFor=ids.RESULT_SCENARIO),
                    dcc.Dropdown(
                        id=ids.RESULT_SCENARIO,
                        options=[{"label": scenario_label(n), "value": n} for n in scenarios],
                        value=chosen,
                        clearable=False,
                        style={"minWidth": "420px"},
                    ),
                ],
                id=ids.SCENARIO_PICKER,
                className="card",
                style={"display": "none"},
            ),
            dcc.Loading(html.Div(id=ids.RESULT_CONTENT), type="dot"),
        ],
        id=ids.RESULTS_PAGE,
    )


def graph(figure: go.Figure | None, graph_id: str, missing: str) -> Any:
    """A graph, or a note saying why there is none."""
    if figure is None:
        return html.P(missing, className="muted")
    return dcc.Graph(figure=figure, id=graph_id, config={"displaylogo": False})


def _tile(label: str, value: str, delta: str = "") -> html.Div:
    return html.Div(
        [
            html.Div(label, className="label"),
            html.Div(value, className="value"),
            html.Div(delta, className="delta"),
        ],
        className="tile",
    )


def _kw(watts: Any) -> float | None:
    """Watts as kW (the unit of the power chart), None kept."""
    return None if watts is None else float(watts) / 1000.0


def _usd(value: Any) -> str:
    return "—" if value is None else f"${float(value):,.0f}"


def _avail(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.4f} %"


def overview(
    study: Any, best: Any, why: str, ingest_notes: Sequence[Mapping[str, Any]] = ()
) -> html.Div:
    """Before/after tiles, the recommendation (``best``, or None) and ``why``, per-scenario
    status, and data quality: the problems found at upload (``ingest_notes``) and those of
    reading the workload for the run."""
    base = study.baseline
    after = best.summary if best is not None else ScenarioSummary()
    tiles = html.Div(
        [
            _tile(
                "hosts",
                f"{fmt(base.n_hosts)} → {fmt(after.n_hosts)}",
                "today → recommended",
            ),
            _tile("TCO", f"{_usd(after.cost_usd)}", f"today {_usd(base.cost_usd)}"),
            _tile(
                "energy per year",
                f"{fmt(after.energy_kwh_per_year)} kWh",
                f"today {fmt(base.energy_kwh_per_year)} kWh",
            ),
            _tile(
                "lowest VM availability",
                _avail(after.availability_frac_min),
                f"today {_avail(base.availability_frac_min)}",
            ),
        ],
        className="tiles",
        id=ids.OVERVIEW_TILES,
    )
    rows = [
        {
            "scenario": scenario_label(r.name),
            "status": r.solve.status,
            "hosts": r.summary.n_hosts,
            "TCO": fmt_as("usd", r.summary.cost_usd),
            "SLA violation time": fmt_as("frac", r.summary.slatah_frac),
            "reason": r.solve.reason or None,
        }
        for r in study.results
    ]
    first = study.results[0] if study.results else None
    read_again = list(first.workload.problems) if first else []
    # the run re-reads the uploaded dataset, which repeats the upload's problems: show each once
    notes = list(dict.fromkeys(_note(p) for p in [*ingest_notes, *read_again]))
    return html.Div(
        [
            tiles,
            html.Div(
                [
                    html.H4("Recommendation"),
                    html.P(
                        [
                            html.Strong(scenario_label(best.name) + ": ")
                            if best is not None
                            else "",
                            why,
                        ],
                        id=ids.RECOMMENDATION,
                    ),
                    html.P(
                        f"Today's estate: {base.rule or 'as found in the trace'}",
                        className="muted",
                    ),
                ],
                className="card",
            ),
            html.Div([html.H4("Scenarios"), table(rows)], className="card"),
            html.Div(
                [
                    html.H4("Data quality of the workload"),
                    html.P(f"{len(notes)} note(s) from reading the workload.", className="muted"),
                    html.Ul([html.Li(note) for note in notes[:50]], id=ids.QUALITY_NOTES),
                ],
                className="card",
            ),
        ]
    )


def _note(problem: Mapping[str, Any]) -> str:
    where = str(problem.get("path") or "")
    if problem.get("line"):
        where += f":{problem['line']}"
    return f"{where}: {problem.get('message')}" if where else str(problem.get("message"))


def horizon_card(plan: Mapping[str, Any], figure: go.Figure | None) -> html.Div:
    """A plan made for a horizon: when each resource runs out and what to buy when."""
    later = f"after {plan['window_days']} days"
    rows = [
        {
            "zone": r["zone"],
            "resource": f"{r['dim']} ({r['unit']})",
            "capacity": fmt(r["capacity"]),
            "peak today": fmt(r["demand_today"]),
            "at the horizon": fmt(r["demand_at_horizon"]),
            "runs out": r["expected_date"] or later,
            "earliest": r["earliest_date"] or later,
            "latest": r["latest_date"] or later,
        }
        for r in plan["run_out"]
    ]
    buys = [
        f"by {p['date']} (day {p['day']}): {p['add_hosts_total']} × {p['host_model']} in all "
        f"for zone {p['zone']} ({p['binding']} binds)"
        for p in plan["purchases"]
    ]
    columns = [
        "zone",
        "resource",
        "capacity",
        "peak today",
        "at the horizon",
        "runs out",
        "earliest",
        "latest",
    ]
    return html.Div(
        [
            html.H4(f"Capacity over time (sized for {plan['horizon_days']:g} days)"),
            html.P(f"Growth: {plan['growth']}.", className="muted"),
            graph(figure, ids.HORIZON_RUNOUT, "No run-out data."),
            table(rows, columns),
            html.H4("What to buy when"),
            html.Ul([html.Li(b) for b in buys], id=ids.PURCHASES)
            if buys
            else html.P(f"No purchase needed within {plan['window_days']} days."),
            html.P(str(plan.get("method", "")), className="muted"),
        ],
        className="card",
        id=ids.HORIZON,
    )


def backtest_card(data: Mapping[str, Any], figure: go.Figure | None) -> html.Div:
    """The scenario's backtest: promised (training days) vs experienced (test days)."""
    window = data["windows"][0]
    rows = [
        {
            "figure": label,
            "promised": fmt_as(kind, window["promised"].get(key)),
            "experienced": fmt_as(kind, window["experienced"].get(key)),
        }
        for key, label, kind in KPI_ROWS
        if window.get("promised")
    ]
    return html.Div(
        [
            html.H4(
                f"Backtest: planned on {data['train_days']:.1f} days, replayed on the next "
                f"{data['test_days']:g}"
            ),
            html.P(
                f"Plan {window['status']}, {window['n_hosts']} hosts; test "
                f"{str(window['test_start'])[:16]} – {str(window['test_end'])[:16]} UTC.",
                className="muted",
            ),
            graph(figure, ids.BACKTEST_CHART, "The backtest's plan found no placement."),
            table(rows, ["figure", "promised", "experienced"]) if rows else html.Div(),
        ],
        className="card",
        id=ids.BACKTEST,
    )


def consolidation(
    result: ScenarioResult,
    heatmap: go.Figure | None,
    horizon_figure: go.Figure | None = None,
    backtest_figure: go.Figure | None = None,
) -> html.Div:
    """Solver outcome, why this many hosts, hosts and their VMs, the utilization heat map, and
    for a plan made for a horizon, its run-out and purchases."""
    solve = result.solve
    placement = result.placement
    counts = placement.vms_per_host().tolist() if placement.n_hosts else []
    hosts = [
        {"host": h, "model": m, "VMs": c}
        for h, m, c in zip(
            placement.host_ids.tolist(), placement.host_models.tolist(), counts, strict=True
        )
    ]
    why = list(solve.why)
    if solve.binding:
        bucket = solve.binding_bucket
        why.insert(
            0, f"binding resource: {solve.binding}" + (f" (in bucket {bucket})" if bucket else "")
        )
    if solve.bound_hosts is not None:
        why.append(f"lower bound: {solve.bound_hosts} hosts")
    if solve.reason:
        why.append(solve.reason)
    notes = list(solve.notes)
    return html.Div(
        [
            html.Div(
                [
                    html.H4("Consolidation"),
                    key_values(
                        [
                            ("status", str(solve.status)),
                            ("hosts", result.summary.n_hosts),
                            ("VMs per host", result.summary.consolidation_ratio),
                            ("optimality gap", result.summary.gap_frac),
                            ("solver wall time (s)", solve.wall_s),
                            ("method", solve.method),
                        ]
                    ),
                    html.H4("Why this many hosts"),
                    html.Ul([html.Li(line) for line in why], id=ids.BINDING)
                    if why
                    else html.P("The solver reported no binding constraint.", className="muted"),
                    *([html.H4("Notes"), html.Ul([html.Li(n) for n in notes])] if notes else []),
                ],
                className="card",
            ),
            html.Div(
                graph(heatmap, ids.UTILIZATION_HEATMAP, "No placement: nothing to show."),
                className="card",
            ),
            *([horizon_card(solve.horizon, horizon_figure)] if solve.horizon else []),
            *(
                [backtest_card(result.backtest, backtest_figure)]
                if getattr(result, "backtest", None)
                else []
            ),
            html.Div([html.H4("Hosts"), table(hosts, ["host", "model", "VMs"])], className="card"),
        ]
    )


def storage(result: ScenarioResult, forecasts: Sequence[go.Figure]) -> html.Div:
    """Storage pools (over-commit, time to full, run-out risk) and their forecasts."""
    plan = result.storage
    if not plan.pools:
        return html.Div(
            html.P(f"No storage plan: {plan.reason or plan.status or 'n/a'}"),
            className="card",
        )
    rows = [
        {
            "pool": p.name,
            "tier": p.tier,
            "physical GiB": p.physical_gib,
            "provisioned / physical": p.provisioned_ratio,
            "used now GiB": p.used_now_gib,
            "forecast GiB": p.forecast_used_gib,
            "days to full": p.days_to_full,
            "run-out probability": p.p_run_out_frac,
        }
        for p in plan.pools
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.H4("Storage plan"),
                    key_values(
                        [
                            ("status", plan.status),
                            ("volumes", plan.n_volumes),
                            ("mirrored volumes", plan.n_mirrored),
                            ("thin provisioning", plan.thin),
                            ("appliance", dict(plan.appliance)),
                            ("cost (USD)", plan.cost_usd),
                            ("horizon (days)", plan.horizon_days),
                        ]
                    ),
                    html.H4("Pools"),
                    table(rows),
                ],
                className="card",
            ),
            *[
                html.Div(
                    dcc.Graph(figure=fig, id=f"{ids.POOL_FORECAST_PREFIX}{i}"), className="card"
                )
                for i, fig in enumerate(forecasts)
            ],
        ]
    )


def network(result: ScenarioResult, link_figure: go.Figure | None) -> html.Div:
    """Link utilization, VLAN trunks and VPN load."""
    k = result.kpis
    if k is None:
        return html.Div(html.P("Not emulated: no placement.", className="muted"))
    return html.Div(
        [
            html.Div(
                graph(link_figure, ids.LINK_UTILIZATION, "No network data in the workload."),
                className="card",
            ),
            html.Div(
                [
                    html.H4("VLANs and VPN"),
                    key_values(
                        [
                            ("most VLANs on one host trunk", k.max_vlans_per_host_trunk),
                            ("most VLANs on one rack trunk", k.max_vlans_per_rack_trunk),
                            ("trunks over the VLAN limit", k.n_trunks_over_vlan_limit),
                            ("peak VPN traffic (Mbit/s)", k.peak_vpn_mbps),
                            ("network latency factor of the mode", k.net_latency_factor),
                        ]
                    ),
                ],
                className="card",
            ),
        ]
    )


def saving_card(economics: EconomicsSummary, tornado_figure: go.Figure | None) -> html.Div:
    """The saving vs today's estate, what today's estate was taken to be, and the tornado."""
    comparison = economics.comparison
    assumptions = comparison.assumptions
    flips = comparison.sensitivity.get("flips") or []
    baseline = str(assumptions.get("baseline") or "not stated")
    return html.Div(
        [
            html.H4("Saving vs today's estate"),
            key_values(
                [
                    ("TCO saving (USD)", fmt_as("usd", comparison.tco_savings_usd)),
                    ("NPV saving (USD)", fmt_as("usd", comparison.npv_savings_usd)),
                    ("discount rate a year", comparison.discount_rate_frac),
                ]
            ),
            html.P(
                [
                    html.Strong(
                        "Today's estate, assumed: "
                        if assumptions.get("baseline_assumed")
                        else "Today's estate, from the inventory: "
                    ),
                    baseline,
                ],
                id=ids.BASELINE_ASSUMPTION,
            ),
            html.Ul(
                [
                    html.Li(f"Labour: {assumptions.get('labor')}"),
                    html.Li(f"Availability: {assumptions.get('availability')}"),
                ],
                className="muted",
            )
            if assumptions
            else html.Div(),
            graph(tornado_figure, ids.TORNADO, "No sensitivity figures."),
            html.P(
                f"Could flip if: {', '.join(flips)} (at one end of its stated range)."
                if flips
                else "No single assumption within its stated range flips the saving.",
                className="bad" if flips else "muted",
                id=ids.FLIPS,
            ),
        ],
        className="card",
        id=ids.SAVING,
    )


def power_cost(
    result: ScenarioResult,
    power_figure: go.Figure | None,
    cost_figure: go.Figure | None,
    tornado_figure: go.Figure | None = None,
) -> html.Div:
    """Power over time, energy and CO2 per year, the cost breakdown, and the saving vs today
    with its sensitivity."""
    e = result.economics
    if e is None:
        return html.Div(html.P("Not costed: no placement.", className="muted"))
    return html.Div(
        [
            html.Div(
                graph(power_figure, ids.POWER_OVER_TIME, "No power series."), className="card"
            ),
            html.Div(
                key_values(
                    [
                        ("mean power (kW)", _kw(e.power_w_mean)),
                        ("peak power (kW)", _kw(e.power_w_peak)),
                        ("energy per year (kWh)", e.energy_kwh_per_year),
                        ("with cooling, per year (kWh)", e.facility_energy_kwh_per_year),
                        ("CO2 per year (kg)", e.co2_kg_per_year),
                        ("TCO (USD)", e.tco_usd),
                        ("cost items without a price", list(e.tco_missing)),
                    ]
                ),
                className="card",
            ),
            html.Div(graph(cost_figure, ids.COST_BREAKDOWN, "No cost figures."), className="card"),
            *([saving_card(e, tornado_figure)] if e.comparison.baseline_rule else []),
        ]
    )


def availability(result: ScenarioResult) -> html.Div:
    """Availability per service (closed form and Monte Carlo)."""
    a = result.economics.availability if result.economics else {}
    services = a.get("per_service") or []
    ordered = sorted(services, key=lambda s: s.get("availability_frac") or 0.0)
    rows = [
        {
            "service": s.get("id"),
            "availability": fmt_as("avail", s.get("availability_frac")),
            "nines": s.get("nines"),
            "downtime (min/year)": s.get("downtime_min_per_year"),
            "Monte Carlo": fmt_as("avail", s.get("mc_availability_frac")),
        }
        for s in ordered
    ]
    summary = a.get("services") or {}
    ci = a.get("vm_mean_ci95") or {}
    interval = (
        f"{fmt(ci.get('downtime_min_per_year_low'))}–{fmt(ci.get('downtime_min_per_year_high'))}"
        if ci
        else None
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H4("Availability"),
                    key_values(
                        [
                            ("lowest", fmt_as("avail", summary.get("availability_frac_min"))),
                            ("mean", fmt_as("avail", summary.get("availability_frac_mean"))),
                            ("worst downtime (min/year)", summary.get("downtime_min_per_year_max")),
                            ("mean VM downtime, Monte Carlo 95 % interval (min/year)", interval),
                            ("HA restart", a.get("ha")),
                            ("reserve hosts", a.get("reserve_hosts")),
                            ("live migration", a.get("live_migration")),
                        ]
                    ),
                ],
                className="card",
            ),
            html.Div(
                [
                    html.H4(f"Per service ({len(rows)}, least available first)"),
                    table(rows[:200])
                    if rows
                    else html.P("No per-service figures.", className="muted"),
                ],
                className="card",
                id=ids.AVAILABILITY_SERVICES,
            ),
        ]
    )


def comparison(
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    pareto_figure: go.Figure | None,
    bars: Sequence[go.Figure],
) -> html.Div:
    """The comparison table against today's estate, the Pareto chart and metric bars.

    Parameters
    ----------
    labels
        Column key → heading, in display order.
    """
    kinds = {key: kind_of(key.removeprefix("delta_")) for key in labels}
    return html.Div(
        [
            html.Div(
                [
                    html.H4("Comparison with today's estate"),
                    table(
                        rows,
                        list(labels),
                        table_id=ids.COMPARISON_TABLE,
                        labels=labels,
                        kinds=kinds,
                    ),
                ],
                className="card",
                style={"overflowX": "auto"},
            ),
            html.Div(
                graph(pareto_figure, ids.PARETO_CHART, "No planned scenario to compare."),
                className="card",
            ),
            *[
                html.Div(
                    dcc.Graph(figure=fig, id=f"{ids.COMPARISON_BARS_PREFIX}{i}"), className="card"
                )
                for i, fig in enumerate(bars)
            ],
        ]
    )
