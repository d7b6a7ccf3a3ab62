"""Page 1: upload traces (drag and drop, several files, zips) or pick the demo workload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

import capplan.dashboard.ids as ids
from capplan.dashboard.pages.common import fmt, key_values, table, when
from capplan.dashboard.workspace import DatasetRecord


def layout(
    datasets: Sequence[DatasetRecord], formats: Sequence[str], max_upload_bytes: int
) -> html.Div:
    """The upload page: drop zone, demo button, result area and the session's datasets."""
    return html.Div(
        [
            html.H2("Upload traces"),
            html.P(
                [
                    "Drop trace or inventory files here, several at once or as a zip archive. "
                    "The format is detected from the content. Formats read: ",
                    html.Span(", ".join(formats), className="muted"),
                    f". Limit: {max_upload_bytes / 1e6:,.0f} MB per upload.",
                ]
            ),
            dcc.Upload(
                id=ids.UPLOAD,
                multiple=True,
                className="dropzone",
                children=html.Div(["Drag and drop files here, or ", html.A("choose files")]),
            ),
            dcc.Store(id=ids.UPLOAD_BATCH),
            html.Div(
                [
                    html.Button(
                        "Use the bundled demo workload", id=ids.DEMO_BUTTON, className="secondary"
                    ),
                    html.Span(" 200 synthetic VMs, one week at 5-minute steps.", className="muted"),
                ],
                style={"marginTop": "12px"},
            ),
            dcc.Loading(html.Div(id=ids.UPLOAD_RESULT), type="dot"),
            html.H3("Your workloads"),
            html.Div(dataset_list(datasets), id=ids.DATASET_LIST),
        ]
    )


def dataset_list(datasets: Sequence[DatasetRecord], fresh: str | None = None) -> list[Any]:
    """One card per dataset, the ``fresh`` one (just read) first with its problems open."""
    if not datasets:
        return [html.P("None yet: upload traces or use the demo workload.", className="muted")]
    ordered = sorted(datasets, key=lambda d: d.id != fresh)
    return [dataset_card(record, fresh=record.id == fresh) for record in ordered]


def dataset_card(record: DatasetRecord, *, fresh: bool = False) -> html.Div:
    """What an ingested workload holds: format, size, time range, quality and problems."""
    s = record.summary
    problems = s.get("problems") or []
    rows = [
        {
            "where": _where(p),
            "problem": p.get("message"),
            "count": p.get("count"),
        }
        for p in problems
    ]
    return html.Div(
        [
            html.H4(
                [
                    record.name,
                    html.Span(f"  ({record.kind}, {when(record.created_s)})", className="muted"),
                ]
            ),
            key_values(
                [
                    ("detected format", s.get("format")),
                    ("VMs", s.get("n_vms")),
                    ("time steps", s.get("n_steps")),
                    ("step (s)", s.get("step_s")),
                    ("start", s.get("start")),
                    ("end", s.get("end")),
                    ("metrics", s.get("metrics")),
                    ("data quality", _quality(s.get("quality_frac"))),
                ]
            ),
            html.Details(
                [
                    html.Summary(f"{len(problems)} data-quality problem(s)"),
                    table(rows, ["where", "problem", "count"]) if rows else html.Span(""),
                ],
                open=fresh and bool(problems),
            ),
            dcc.Link(
                "Set up scenarios with this workload →",
                href=f"/setup?dataset={record.id}",
                className="button",
            ),
            html.Button(
                "Delete",
                id={"type": ids.DELETE_DATASET_TYPE, "id": record.id},
                className="secondary small",
                title="Delete this workload (runs made with it keep their results)",
                style={"marginLeft": "12px"},
            ),
        ],
        className="card dataset",
        id={"type": ids.DATASET_CARD_TYPE, "id": record.id},
    )


def _quality(frac: Any) -> str:
    return "—" if frac is None else f"{float(frac) * 100:.2f} % of expected samples present"


def _where(problem: dict[str, Any]) -> str:
    where = str(problem.get("path") or "")
    if problem.get("line"):
        where += f":{problem['line']}"
    if problem.get("column"):
        where += f" ({problem['column']})"
    if problem.get("vm_id"):
        where += f" VM {problem['vm_id']}"
    return where.strip() or fmt(None)
