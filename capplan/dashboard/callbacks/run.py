"""Following a run: the page polls the run's row (progress bar, cancel); the server runs it.

Runs are executed by the server's queue (:mod:`capplan.dashboard.runner`), not by the page:
a tab only watches. Closing it, or the server restarting, changes nothing for the run; when
the server is back, the next poll shows where the run is (``interrupted`` if the server
stopped during it).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State

import capplan.dashboard.ids as ids
from capplan.dashboard.callbacks.common import guarded
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner
from capplan.dashboard.workspace import NotFoundError

SHOWN = {"display": "flex"}
HIDDEN = {"display": "none"}


def poll(services: Services, session_id: str, run_id: str | None) -> tuple[Any, ...]:
    """Where the followed run is.

    Returns
    -------
    tuple
        ``(progress value, label, panel style, cancel disabled, run-done data, poll disabled)``;
        once the run has ended, ``run-done`` names it (the page is then re-rendered) and the
        polling stops.
    """
    if not run_id:
        return "0", "", HIDDEN, True, dash.no_update, True
    try:
        record = services.run(session_id, run_id)
    except NotFoundError:
        return "0", "", HIDDEN, True, {"run_id": run_id, "status": "deleted", "message": ""}, True
    label = services.progress_label(record)
    if record.live:
        return f"{record.progress_frac:.3f}", label, SHOWN, False, dash.no_update, False
    done = {"run_id": record.id, "status": record.status, "message": record.message}
    return f"{record.progress_frac:.3f}", label, HIDDEN, True, done, True


def cancel(services: Services, session_id: str, run_id: str | None) -> tuple[str, Any]:
    """Mark the followed run cancelled: ``(message, run-done data)``."""
    if not run_id:
        raise dash.exceptions.PreventUpdate
    cancelled = services.cancel_run(session_id, run_id)
    record = services.run(session_id, run_id)
    message = "Run cancelled." if cancelled else f"The run had already ended ({record.status})."
    return message, {"run_id": record.id, "status": record.status, "message": record.message}


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Wire the run bar (polling) and its cancel button."""

    @app.callback(
        Output(ids.RUN_PROGRESS, "value"),
        Output(ids.RUN_PROGRESS_LABEL, "children"),
        Output(ids.RUN_PANEL, "style"),
        Output(ids.CANCEL_BUTTON, "disabled"),
        Output(ids.RUN_DONE, "data"),
        Output(ids.RUN_POLL, "disabled"),
        Input(ids.RUN_FOLLOW, "data"),
        Input(ids.RUN_POLL, "n_intervals"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: ("0", message, SHOWN, True, dash.no_update, dash.no_update))
    def on_poll(run_id: str | None, n_intervals: int | None, token: str) -> Any:
        return poll(services, signer.session_id(token), run_id)

    @app.callback(
        Output(ids.CANCEL_MESSAGE, "children"),
        Output(ids.RUN_DONE, "data", allow_duplicate=True),
        Input(ids.CANCEL_BUTTON, "n_clicks"),
        State(ids.RUN_FOLLOW, "data"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (message, dash.no_update))
    def on_cancel(n_clicks: int | None, run_id: str | None, token: str) -> Any:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        return cancel(services, signer.session_id(token), run_id)
