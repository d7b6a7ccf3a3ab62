"""Page 2: set up the scenarios of a study, save or load a study file, and run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dash_table, dcc, html

import capplan.dashboard.ids as ids
from capplan.dashboard.studyfile import (
    BOOL_CHOICES,
    DATASET_PREFIX,
    EDITABLE_HOST_KEYS,
    FORM_FIELDS,
    FormField,
    StudyForm,
    control_value,
    host_table_data,
)
from capplan.dashboard.workspace import DatasetRecord

HOST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "host model"),
    ("status", "status"),
    ("launch_year", "launched"),
    ("cores", "cores"),
    ("threads", "threads"),
    ("ram_gib", "RAM (GiB)"),
    ("idle_w", "idle (W)"),
    ("max_w", "max (W)"),
    ("price_usd", "price (USD) ✎"),
    ("perf_factor", "perf. factor ✎"),
    ("mtbf_h", "MTBF (h) ✎"),
    ("mttr_h", "MTTR (h) ✎"),
    ("max_count", "max count ✎"),
)


def layout(
    form: StudyForm,
    datasets: Sequence[DatasetRecord],
    modes: Sequence[str],
    host_info: Sequence[Mapping[str, Any]],
) -> html.Div:
    """The set-up page: study file buttons, the form, and the run button."""
    return html.Div(
        [
            html.H2("Set up scenarios"),
            html.Div(
                [
                    dcc.Upload(
                        html.Button("Load a study file", className="secondary"),
                        id=ids.STUDY_UPLOAD,
                        multiple=False,
                        style={"display": "inline-block"},
                    ),
                    html.Button("Save the study file", id=ids.STUDY_SAVE, className="secondary"),
                    dcc.Download(id=ids.STUDY_DOWNLOAD),
                    html.Span(
                        "Study files are TOML; saved ones load back here.", className="muted"
                    ),
                ],
                className="card",
                style={"display": "flex", "gap": "8px", "alignItems": "center"},
            ),
            html.Div(id=ids.SETUP_MESSAGES),
            html.Div(form_body(form, datasets, modes, host_info), id=ids.SETUP_FORM),
            html.Div(
                [
                    html.Button("Run the study", id=ids.RUN_BUTTON),
                    html.Span(
                        " Every combination of the ticked options and listed values is one "
                        "scenario; all are compared with today's estate.",
                        className="muted",
                    ),
                ],
                className="card",
            ),
        ]
    )


def form_body(
    form: StudyForm,
    datasets: Sequence[DatasetRecord],
    modes: Sequence[str],
    host_info: Sequence[Mapping[str, Any]],
) -> list[Any]:
    """The form controls, filled from ``form``."""
    options = [
        {
            "label": f"{d.name} ({d.summary.get('n_vms')} VMs, {d.summary.get('format')})",
            "value": f"{DATASET_PREFIX}{d.id}",
        }
        for d in datasets
    ]
    data, selected = host_table_data(host_info, form.hosts)
    groups: dict[str, list[FormField]] = {"Scenario": [], "Storage": [], "Network & solver": []}
    for field_def in FORM_FIELDS:
        if field_def.path.startswith("storage."):
            groups["Storage"].append(field_def)
        elif field_def.path.startswith("network.") or field_def.path in ("time_limit_s", "seed"):
            groups["Network & solver"].append(field_def)
        else:
            groups["Scenario"].append(field_def)
    return [
        html.Div(
            [
                html.Div(
                    [
                        html.Label("Study name"),
                        dcc.Input(id=ids.STUDY_NAME, type="text", value=form.name, debounce=True),
                    ],
                    className="field",
                ),
                html.Div(
                    [
                        html.Label("Workload"),
                        dcc.Dropdown(
                            id=ids.STUDY_WORKLOAD,
                            options=options,
                            value=form.workload or None,
                            clearable=False,
                            placeholder="upload a workload first, or use the demo",
                        ),
                    ],
                    className="field",
                ),
            ],
            className="card grid2",
        ),
        *[
            html.Div(
                [
                    html.H4(title),
                    html.Div([_control(f, form, modes) for f in fields], className="grid2"),
                ],
                className="card",
            )
            for title, fields in groups.items()
        ],
        html.Div(
            [
                html.H4("Host models offered"),
                html.P(
                    "Tick the models the optimizer may buy (none ticked: any model of the "
                    "catalog). Cells marked ✎ can be edited; edited prices and parameters are "
                    "saved with the study as your own catalog.",
                    className="muted",
                ),
                dash_table.DataTable(  # type: ignore[attr-defined]
                    id=ids.HOST_TABLE,
                    columns=[
                        {
                            "name": label,
                            "id": key,
                            "editable": key in (*EDITABLE_HOST_KEYS, "max_count"),
                            "type": "text" if key in ("model", "status") else "numeric",
                        }
                        for key, label in HOST_COLUMNS
                    ],
                    data=data,
                    selected_rows=selected,
                    row_selectable="multi",
                    style_table={"overflowX": "auto"},
                    style_cell={"fontSize": 13, "padding": "3px 8px"},
                    style_header={"fontWeight": "600"},
                ),
            ],
            className="card",
        ),
    ]


def _control(field_def: FormField, form: StudyForm, modes: Sequence[str]) -> html.Div:
    values = form.values.get(field_def.path, field_def.default)
    control_id = {"type": ids.STUDY_FIELD_TYPE, "path": field_def.path}
    if field_def.kind in ("choice", "bool"):
        choices = BOOL_CHOICES if field_def.kind == "bool" else field_def.choices or tuple(modes)
        control: Any = dcc.Checklist(
            id=control_id,
            options=[{"label": f" {c}", "value": c} for c in choices],
            value=control_value(field_def, values),
            inline=True,
            inputStyle={"marginLeft": "10px"},
        )
    else:
        control = dcc.Input(
            id=control_id, type="text", value=control_value(field_def, values), debounce=True
        )
    return html.Div(
        [html.Label(field_def.label), control, html.Div(field_def.help, className="help")],
        className="field",
    )
