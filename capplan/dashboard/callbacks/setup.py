"""Set-up page: form → study (validate, save, load a study file, start a run)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import dash
from dash import ALL, Input, Output, State

import capplan.dashboard.ids as ids
from capplan.dashboard.callbacks.common import guarded, problems_of
from capplan.dashboard.pages import common, setup
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner
from capplan.dashboard.studyfile import StudyForm, form_from_controls, host_rows_from_table
from capplan.errors import CapplanError, SpecError

FORM_STATES = (
    State(ids.STUDY_NAME, "value"),
    State(ids.STUDY_WORKLOAD, "value"),
    State({"type": ids.STUDY_FIELD_TYPE, "path": ALL}, "value"),
    State({"type": ids.STUDY_FIELD_TYPE, "path": ALL}, "id"),
    State(ids.HOST_TABLE, "data"),
    State(ids.HOST_TABLE, "selected_rows"),
)


def read_form(
    name: str | None,
    workload: str | None,
    values: Sequence[Any],
    ids: Sequence[dict[str, str]],
    host_data: Sequence[dict[str, Any]] | None,
    selected_rows: Sequence[int] | None,
) -> StudyForm:
    """The form's controls as a :class:`StudyForm` (every problem at once in a SpecError)."""
    controls = {control_id["path"]: value for control_id, value in zip(ids, values, strict=True)}
    problems: list[tuple[str, str]] = []
    try:
        hosts = host_rows_from_table(host_data, selected_rows)
    except SpecError as exc:
        problems += exc.problems
        hosts = []
    try:
        form = form_from_controls(name or "", workload or "", controls, hosts)
    except SpecError as exc:
        problems = list(exc.problems) + problems
    if problems:
        raise SpecError(problems)
    return form


def save_study(services: Services, session_id: str, form: StudyForm) -> tuple[Any, Any]:
    """``(download, message)`` of a validated study file."""
    file_name, text = services.study_file(session_id, form)
    return {"content": text, "filename": file_name, "type": "application/toml"}, common.ok_box(
        f"Saved {file_name}: load it here again to continue."
    )


def load_study(
    services: Services, session_id: str, contents: str | None, file_name: str | None
) -> tuple[Any, Any]:
    """``(form controls, message)`` of an uploaded study file."""
    if not contents:
        raise dash.exceptions.PreventUpdate
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        raise CapplanError("the study file arrived damaged; try again", path=file_name) from None
    form, catalog = services.read_study_file(session_id, file_name or "study.toml", data)
    body = setup.form_body(
        form,
        services.datasets(session_id),
        services.mode_names(),
        services.host_table(session_id, catalog),
    )
    return body, common.ok_box(f"Loaded {file_name}.")


def start_run(services: Services, session_id: str, form: StudyForm) -> tuple[str, str]:
    """Create the run: ``(run id to follow, URL of its page)``."""
    live = [r for r in services.runs(session_id) if r.live]
    if live:
        raise CapplanError(
            f"run {live[0].id} ({live[0].name}) is still running; wait for it or cancel it"
        )
    record = services.start_run(session_id, form)
    return record.id, f"/run/{record.id}"


def _problems_box(message: str, exc: BaseException) -> Any:
    title = "The study has problems:" if isinstance(exc, SpecError) else "Not possible:"
    return common.problem_list(title, problems_of(exc))


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Wire the set-up page."""

    @app.callback(
        Output(ids.STUDY_DOWNLOAD, "data"),
        Output(ids.SETUP_MESSAGES, "children"),
        Input(ids.STUDY_SAVE, "n_clicks"),
        *FORM_STATES,
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (dash.no_update, _problems_box(message, exc)))
    def on_save(n_clicks: int | None, *args: Any) -> Any:
        *form_args, token = args
        return save_study(services, signer.session_id(token), read_form(*form_args))

    @app.callback(
        Output(ids.SETUP_FORM, "children"),
        Output(ids.SETUP_MESSAGES, "children", allow_duplicate=True),
        Input(ids.STUDY_UPLOAD, "contents"),
        State(ids.STUDY_UPLOAD, "filename"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (dash.no_update, _problems_box(message, exc)))
    def on_load(contents: str | None, file_name: str | None, token: str) -> Any:
        return load_study(services, signer.session_id(token), contents, file_name)

    @app.callback(
        Output(ids.URL, "pathname", allow_duplicate=True),
        Output(ids.SETUP_MESSAGES, "children", allow_duplicate=True),
        Input(ids.RUN_BUTTON, "n_clicks"),
        *FORM_STATES,
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (dash.no_update, _problems_box(message, exc)))
    def on_run(n_clicks: int | None, *args: Any) -> Any:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        *form_args, token = args
        _, url = start_run(services, signer.session_id(token), read_form(*form_args))
        # The run page (routing) then starts following the run.
        return url, None
