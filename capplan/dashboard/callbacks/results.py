"""Results page: the content of each tab (figures from :mod:`capplan.viz`) and downloads."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc

import capplan.dashboard.ids as ids
from capplan.dashboard.callbacks.common import guarded
from capplan.dashboard.callbacks.routing import RUN_PATH
from capplan.dashboard.pages import common, results
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner
from capplan.errors import CapplanError
from capplan.results import INDICATORS
from capplan.viz import results as result_figures
from capplan.viz.labels import scenario_label

#: Metrics drawn as bars under the comparison table: (summary key, label).
#: Indicators drawn as bar charts under the comparison table (labels from their declaration).
COMPARISON_BAR_KEYS = ("n_hosts", "cost_usd", "energy_kwh_per_year")


def run_id_of(pathname: str | None) -> str:
    """The run id in a ``/run/<id>`` path."""
    match = RUN_PATH.match(pathname or "")
    if not match:
        raise CapplanError(f"{pathname!r} is not the page of a run")
    return match.group(1)


def tab_content(
    services: Services, session_id: str, run_id: str, tab: str, scenario: str | None
) -> tuple[Any, dict[str, str]]:
    """The content of one tab and the scenario picker's style (shown on per-scenario tabs)."""
    study = services.result(session_id, run_id)
    picker = {"display": "block" if tab in results.SCENARIO_TABS else "none"}
    if tab == "overview":
        best, why = study.recommended()
        notes = services.ingest_notes(session_id, run_id)
        return results.overview(study, best, why, notes), picker
    if tab == "comparison":
        rows, labels = services.comparison(study)
        rows = [{**row, "scenario": scenario_label(str(row["scenario"]))} for row in rows]
        labels_of = {ind.key: ind.label for ind in INDICATORS}
        bars = [
            result_figures.comparison(study, key, labels_of[key]) for key in COMPARISON_BAR_KEYS
        ]
        return results.comparison(rows, labels, result_figures.pareto(study), bars), picker
    by_name = {r.name: r for r in study.results}
    if scenario not in by_name:
        raise CapplanError(f"no scenario {scenario!r} in run {run_id}")
    result = by_name[scenario]
    if tab == "consolidation":
        return (
            results.consolidation(
                result,
                result_figures.utilization(result),
                result_figures.horizon(result),
                result_figures.backtest(result),
            ),
            picker,
        )
    if tab == "storage":
        return results.storage(result, result_figures.pool_forecasts(result)), picker
    if tab == "network":
        return results.network(result, result_figures.links(result)), picker
    if tab == "power":
        return (
            results.power_cost(
                result,
                result_figures.power(result),
                result_figures.cost(result),
                result_figures.tornado(result),
            ),
            picker,
        )
    if tab == "availability":
        return results.availability(result), picker
    raise CapplanError(f"unknown tab {tab!r}")


def download(services: Services, session_id: str, run_id: str, kind: str) -> dict[str, Any]:
    """The ``dcc.Download`` payload of one file of a run."""
    path, mime = services.download(session_id, run_id, kind)
    return dict(dcc.send_file(str(path), filename=f"{run_id}-{path.name}", type=mime))


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Wire the results tabs and the download buttons."""

    @app.callback(
        Output(ids.RESULT_CONTENT, "children"),
        Output(ids.SCENARIO_PICKER, "style"),
        Input(ids.RESULT_TABS, "value"),
        Input(ids.RESULT_SCENARIO, "value"),
        State(ids.URL, "pathname"),
        State(ids.SESSION_TOKEN, "data"),
    )
    @guarded(lambda message, exc: (common.error_box(message), dash.no_update))
    def on_tab(tab: str, scenario: str | None, pathname: str, token: str) -> Any:
        return tab_content(services, signer.session_id(token), run_id_of(pathname), tab, scenario)

    @app.callback(
        Output(ids.RESULT_DOWNLOAD, "data"),
        Output(ids.DOWNLOAD_MESSAGE, "children"),
        Input({"type": ids.DOWNLOAD_TYPE, "kind": ALL}, "n_clicks"),
        State(ids.URL, "pathname"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (dash.no_update, common.error_box(message)))
    def on_download(clicks: list[int | None], pathname: str, token: str) -> Any:
        trigger = dash.ctx.triggered_id
        if not trigger or not any(clicks):
            raise dash.exceptions.PreventUpdate
        sid = signer.session_id(token)
        return download(services, sid, run_id_of(pathname), trigger["kind"]), ""
