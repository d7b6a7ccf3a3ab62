"""Running a study: a background callback follows the worker (progress bar, cancel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State

from capplan.dashboard.callbacks.common import guarded
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner


def follow(
    services: Services,
    session_id: str,
    run_id: str | None,
    set_progress: Callable[[tuple[str, str]], None],
) -> dict[str, Any]:
    """Execute (or keep watching) a run until it ends; report progress as it goes.

    Returns
    -------
    dict
        ``{"run_id", "status", "message"}`` of the finished run (it triggers the re-render of
        the run's page).
    """
    if not run_id:
        raise dash.exceptions.PreventUpdate

    def report(frac: float, text: str) -> None:
        set_progress((f"{frac:.3f}", f"{frac:.0%} · {text or 'starting'}"))

    record = services.follow_run(session_id, run_id, report)
    return {"run_id": record.id, "status": record.status, "message": record.message}


def cancel(services: Services, session_id: str, run_id: str | None) -> tuple[str, Any]:
    """Mark the followed run cancelled: ``(message, run-done data)``."""
    if not run_id:
        raise dash.exceptions.PreventUpdate
    cancelled = services.cancel_run(session_id, run_id)
    record = services.run(session_id, run_id)
    message = "Run cancelled." if cancelled else f"The run had already ended ({record.status})."
    return message, {"run_id": record.id, "status": record.status, "message": record.message}


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Wire the background run and its cancel button."""

    @app.callback(
        Output("run-done", "data"),
        Input("run-follow", "data"),
        State("session-token", "data"),
        background=True,
        progress=[Output("run-progress", "value"), Output("run-progress-label", "children")],
        progress_default=["0", "starting"],
        running=[
            (Output("run-panel", "style"), {"display": "flex"}, {"display": "none"}),
            (Output("cancel-button", "disabled"), False, True),
        ],
        cancel=[Input("cancel-button", "n_clicks")],
        interval=500,
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: {"run_id": None, "status": "error", "message": message})
    def on_follow(set_progress: Callable[[Any], None], run_id: str | None, token: str) -> Any:
        return follow(services, signer.session_id(token), run_id, set_progress)

    @app.callback(
        Output("cancel-message", "children"),
        Output("run-done", "data", allow_duplicate=True),
        Input("cancel-button", "n_clicks"),
        State("run-follow", "data"),
        State("session-token", "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (message, dash.no_update))
    def on_cancel(n_clicks: int | None, run_id: str | None, token: str) -> Any:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        return cancel(services, signer.session_id(token), run_id)
