"""Routing: the page for the URL (``/``, ``/setup``, ``/runs``, ``/run/<id>``).

Each page is registered with Dash's page registry (:func:`register_pages`: ``register_page``
with a path, or the ``/run/<run_id>`` path template), so Dash's page container shows it. A
page's layout is built per request by :func:`render`, for the session the page's signed
token names (checked against the cookie, as every callback checks it) and with the services
of the app serving the request (``flask.current_app``): Dash's registry is global, and this
way one registry serves every app of a process.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import dash
import flask
from dash import ALL, Input, Output, State, html

import capplan.dashboard.ids as ids
from capplan.dashboard.callbacks.common import clicked_id, guarded
from capplan.dashboard.pages import common, results, runs, setup, upload
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner
from capplan.dashboard.studyfile import DATASET_PREFIX
from capplan.dashboard.workspace import NotFoundError

RUN_PATH = re.compile(r"^/run/([^/]+)/?$")
#: Where an app keeps its services and its token signer in its Flask server's ``extensions``.
SERVICES_KEY = "capplan_services"
SIGNER_KEY = "capplan_signer"
#: What Dash's router passes every page layout besides the URL: the session token.
ROUTING_INPUTS: dict[str, Input | State] = {"token": State(ids.SESSION_TOKEN, "data")}


def render(
    services: Services, session_id: str, pathname: str | None, search: str | None
) -> tuple[Any, str | None]:
    """The page for a path, and the run this tab should follow (a live run it shows).

    Raises
    ------
    CapplanError
        Shown in the page by the registered callback.
    """
    path = pathname or "/"
    if path in ("/", "/upload"):
        page = upload.layout(
            services.datasets(session_id), services.formats(), services.settings.max_upload_bytes
        )
        return page, None
    if path == "/setup":
        form = services.default_form(session_id)
        wanted = parse_qs((search or "").lstrip("?")).get("dataset", [None])[0]
        if wanted:
            dataset = services.dataset(session_id, wanted)
            form = replace(form, workload=f"{DATASET_PREFIX}{dataset.id}")
        page = setup.layout(
            form,
            services.datasets(session_id),
            services.mode_names(),
            services.host_table(session_id),
        )
        return page, None
    if path == "/runs":
        return runs.layout(services.runs(session_id)), None
    match = RUN_PATH.match(path)
    if match:
        try:
            record = services.run(session_id, match.group(1))
        except NotFoundError:
            return not_found(path), None
        if record.status == "done":
            study = services.result(session_id, record.id)
            best, _ = study.recommended()
            names = [r.name for r in study.results]
            chosen = best.name if best is not None else (names[0] if names else None)
            return results.layout(record, names, chosen), None
        return results.pending(record), record.id if record.live else None
    return not_found(path), None


def delete_run(services: Services, session_id: str, run_id: str) -> Any:
    """Delete a run of the session; the runs page again, saying so."""
    record = services.delete_run(session_id, run_id)
    page = runs.layout(services.runs(session_id))
    page.children[1].children = common.ok_box(f"Deleted run {record.id} ({record.name}).")
    return page


def not_found(path: str) -> html.Div:
    """The page for an unknown path or a run of another session."""
    return html.Div(
        [
            html.H2("Not found"),
            common.error_box(
                f"{path}: there is no such page or run in this browser session. Runs can only "
                "be opened from the browser session that made them."
            ),
        ]
    )


def follow_of(services: Services, session_id: str, pathname: str | None) -> str | None:
    """The run a tab on ``pathname`` follows: the live run its page shows, or None."""
    match = RUN_PATH.match(pathname or "")
    if not match:
        return None
    try:
        record = services.run(session_id, match.group(1))
    except NotFoundError:
        return None
    return record.id if record.status != "done" and record.live else None


@guarded(lambda message, exc: common.error_box(message))
def _page(token: str | None = None, **_query: Any) -> Any:
    """The page of the request's URL, for the session its signed token names (failures: an
    error box). Dash's router calls it with the token (``routing_callback_inputs``) and the
    URL's path variables and query; the page is chosen from the URL itself, as
    :func:`render` routes it, so a query cannot override the path."""
    server = flask.current_app.extensions
    services: Services = server[SERVICES_KEY]
    signer: TokenSigner = server[SIGNER_KEY]
    inputs = dash.ctx.inputs
    pathname = inputs.get("_pages_location.pathname")
    search = inputs.get("_pages_location.search")
    return render(services, signer.session_id(token), pathname, search)[0]


def register_pages(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Register the pages with Dash's registry and give ``app``'s server its services and
    token signer (the app passes the session token to layouts: :data:`ROUTING_INPUTS`)."""
    app.server.extensions[SERVICES_KEY] = services
    app.server.extensions[SIGNER_KEY] = signer
    dash.register_page("upload", path="/", redirect_from=["/upload"], layout=_page)
    dash.register_page("setup", path="/setup", layout=_page)
    dash.register_page("runs", path="/runs", layout=_page)
    dash.register_page("run", path_template="/run/<run_id>", layout=_page)
    dash.register_page("not_found_404", layout=_page)


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Follow the live run of a run's page, and re-render the page when its run ends or a
    run is deleted (the pages themselves are :func:`register_pages`')."""

    @app.callback(
        Output(ids.RUN_FOLLOW, "data", allow_duplicate=True),
        Input(ids.URL, "pathname"),
        State(ids.SESSION_TOKEN, "data"),
        State(ids.RUN_FOLLOW, "data"),
        prevent_initial_call="initial_duplicate",
    )
    @guarded(lambda message, exc: dash.no_update)
    def follow(pathname: str | None, token: str, following: str | None) -> Any:
        run_id = follow_of(services, signer.session_id(token), pathname)
        # Only a new value is written: the same run is already being polled.
        return run_id if run_id and run_id != following else dash.no_update

    # A separate callback: the run's end comes from the polling callback that ``route``
    # started, and Dash does not trigger a callback again from its own chain.
    @app.callback(
        Output(ids.PAGE_CONTENT, "children", allow_duplicate=True),
        Input(ids.RUN_DONE, "data"),
        State(ids.URL, "pathname"),
        State(ids.URL, "search"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: common.error_box(message))
    def on_run_end(done: Any, pathname: str | None, search: str | None, token: str) -> Any:
        run_id = (done or {}).get("run_id")
        if not run_id or pathname not in (f"/run/{run_id}", "/runs"):
            raise dash.exceptions.PreventUpdate
        return render(services, signer.session_id(token), pathname, search)[0]

    @app.callback(
        Output(ids.PAGE_CONTENT, "children", allow_duplicate=True),
        Input({"type": ids.DELETE_RUN_TYPE, "id": ALL}, "n_clicks"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: common.error_box(message))
    def on_delete_run(clicks: list[int | None], token: str) -> Any:
        return delete_run(services, signer.session_id(token), clicked_id(clicks))
