"""The frame around every page: top bar, run progress bar, stores and the page container."""

from __future__ import annotations

from dash import dcc, html

#: How often a page following a run asks for its progress, ms.
POLL_MS = 1000


def layout(token: str, max_upload_bytes: int) -> html.Div:
    """The app shell.

    Parameters
    ----------
    token
        The signed session token every callback takes as ``State("session-token", "data")``.
    max_upload_bytes
        Upload limit, checked in the browser before anything is sent.
    """
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            dcc.Store(id="session-token", data=token),
            dcc.Store(id="upload-limit", data=max_upload_bytes),
            dcc.Store(id="run-follow"),
            dcc.Store(id="run-done"),
            dcc.Interval(id="run-poll", interval=POLL_MS, disabled=True),
            html.Div(
                [
                    html.Span("capplan", className="brand"),
                    dcc.Link("1 · Upload", href="/", id="nav-upload"),
                    dcc.Link("2 · Set up & run", href="/setup", id="nav-setup"),
                    dcc.Link("3 · Runs & results", href="/runs", id="nav-runs"),
                ],
                className="topbar",
            ),
            html.Div(
                [
                    html.Strong("Running:", id="run-title"),
                    html.Progress(id="run-progress", max="1", value="0"),
                    html.Span("", id="run-progress-label"),
                    html.Button(
                        "Cancel run", id="cancel-button", className="danger", disabled=True
                    ),
                    html.Span("", id="cancel-message", className="muted"),
                ],
                id="run-panel",
                className="runbar",
                style={"display": "none"},
            ),
            html.Div(id="page", className="page"),
        ]
    )
