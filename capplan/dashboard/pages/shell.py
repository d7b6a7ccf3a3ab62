"""The frame around every page: top bar, run progress bar, stores and Dash's page container."""

from __future__ import annotations

import dash
from dash import dcc, html

import capplan.dashboard.ids as ids

#: How often a page following a run asks for its progress, ms.
POLL_MS = 1000


def layout(token: str, max_upload_bytes: int) -> html.Div:
    """The app shell.

    Parameters
    ----------
    token
        The signed session token every callback takes as ``State(ids.SESSION_TOKEN, "data")``.
    max_upload_bytes
        Upload limit, checked in the browser before anything is sent.
    """
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.SESSION_TOKEN, data=token),
            dcc.Store(id=ids.UPLOAD_LIMIT, data=max_upload_bytes),
            dcc.Store(id=ids.RUN_FOLLOW),
            dcc.Store(id=ids.RUN_DONE),
            dcc.Interval(id=ids.RUN_POLL, interval=POLL_MS, disabled=True),
            html.Div(
                [
                    html.Span("capplan", className="brand"),
                    dcc.Link("1 · Upload", href="/", id=ids.NAV_UPLOAD),
                    dcc.Link("2 · Set up & run", href="/setup", id=ids.NAV_SETUP),
                    dcc.Link("3 · Runs & results", href="/runs", id=ids.NAV_RUNS),
                ],
                className="topbar",
            ),
            html.Div(
                [
                    html.Strong("Running:", id=ids.RUN_TITLE),
                    html.Progress(id=ids.RUN_PROGRESS, max="1", value="0"),
                    html.Span("", id=ids.RUN_PROGRESS_LABEL),
                    html.Button(
                        "Cancel run", id=ids.CANCEL_BUTTON, className="danger", disabled=True
                    ),
                    html.Span("", id=ids.CANCEL_MESSAGE, className="muted"),
                ],
                id=ids.RUN_PANEL,
                className="runbar",
                style={"display": "none"},
            ),
            html.Div(dash.page_container, id=ids.PAGE, className="page"),
        ]
    )
