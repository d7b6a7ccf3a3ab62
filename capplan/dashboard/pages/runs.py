"""Page 3: the session's runs, newest first, each with a link that reopens it."""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

import capplan.dashboard.ids as ids
from capplan.dashboard.pages.common import when
from capplan.dashboard.workspace import RunRecord


def layout(runs: Sequence[RunRecord]) -> html.Div:
    """A table of runs with status, size, recommendation and a delete button each."""
    if not runs:
        body: html.Div | html.Table = html.Div(
            [html.P("No runs yet. "), dcc.Link("Set up a study →", href="/setup")]
        )
    else:
        header = html.Thead(
            html.Tr(
                [
                    html.Th(h)
                    for h in ("run", "study", "scenarios", "status", "started", "recommended", "")
                ]
            )
        )
        rows = [
            html.Tr(
                [
                    html.Td(dcc.Link(r.id, href=f"/run/{r.id}")),
                    html.Td(r.name),
                    html.Td(str(r.n_scenarios)),
                    html.Td(r.status if not r.live else f"{r.status} ({r.progress_frac:.0%})"),
                    html.Td(when(r.created_s)),
                    html.Td(str(r.summary.get("recommended") or "—")),
                    html.Td(
                        html.Button(
                            "Delete",
                            id={"type": ids.DELETE_RUN_TYPE, "id": r.id},
                            className="secondary small",
                            title="Delete this run and its results (a live run is stopped)",
                        )
                    ),
                ],
                className=f"run-row run-{r.status}",
            )
            for r in runs
        ]
        body = html.Table([header, html.Tbody(rows)], className="plain", id=ids.RUNS_TABLE)
    return html.Div(
        [html.H2("Runs"), html.Div(id=ids.RUNS_MESSAGE), html.Div(body, className="card")],
        id=ids.RUNS_PAGE,
    )
