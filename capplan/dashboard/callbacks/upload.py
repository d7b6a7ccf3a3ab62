"""Upload page: size check in the browser, then ingestion and the dataset summaries."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State

import capplan.dashboard.ids as ids
from capplan.dashboard.callbacks.common import clicked_id, guarded
from capplan.dashboard.pages import common, upload
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner

#: Browser-side check of the batch size, so an oversized upload is refused before it is sent.
CHECK_SIZE_JS = """
function(contents, filenames, limit) {
    const skip = window.dash_clientside.no_update;
    if (!contents) { return [skip, skip, skip]; }
    const list = Array.isArray(contents) ? contents : [contents];
    const names = Array.isArray(filenames) ? filenames : [filenames];
    let total = 0;
    for (const c of list) {
        const comma = c.indexOf(',');
        total += Math.floor((c.length - comma - 1) * 3 / 4);
    }
    if (total > limit) {
        const mb = x => (x / 1e6).toFixed(1);
        return [{error: 'the upload is ' + mb(total) + ' MB, above the limit of ' + mb(limit)
                 + ' MB (setting CAPPLAN_MAX_UPLOAD_MB); upload fewer files or a compressed zip',
                 t: Date.now()}, null, null];
    }
    return [{names: names, contents: list, t: Date.now()}, null, null];
}
"""


def ingest(services: Services, session_id: str, batch: dict[str, Any] | None) -> tuple[Any, Any]:
    """Ingest a batch from the browser: ``(result area, dataset list)``.

    A batch the browser refused (``{"error": ...}``) or that ingestion refuses gives a red
    message and leaves the dataset list as it was.
    """
    if not batch:
        raise dash.exceptions.PreventUpdate
    if batch.get("error"):
        return common.error_box(str(batch["error"]), box_id=ids.UPLOAD_ERROR), dash.no_update
    record = services.ingest_upload(session_id, batch.get("names"), batch.get("contents"))
    done = common.ok_box(
        f"Read {record.summary.get('n_vms')} VMs from {record.name} "
        f"({record.summary.get('format')}); its summary is first below.",
        box_id=ids.UPLOAD_OK,
    )
    return done, upload.dataset_list(services.datasets(session_id), fresh=record.id)


def use_demo(services: Services, session_id: str) -> tuple[Any, Any]:
    """Add the bundled demo workload: ``(result area, dataset list)``."""
    record = services.add_demo(session_id)
    done = common.ok_box("The demo workload is ready; its summary is below.", box_id=ids.UPLOAD_OK)
    return done, upload.dataset_list(services.datasets(session_id), fresh=record.id)


def delete(services: Services, session_id: str, dataset_id: str) -> tuple[Any, Any]:
    """Delete an upload of the session: ``(result area, dataset list)``."""
    record = services.delete_dataset(session_id, dataset_id)
    done = common.ok_box(f"Deleted {record.name}.", box_id=ids.UPLOAD_OK)
    return done, upload.dataset_list(services.datasets(session_id))


def _error(message: str, exc: BaseException) -> tuple[Any, ...]:
    return common.error_box(message, box_id=ids.UPLOAD_ERROR), dash.no_update, None


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Wire the upload page."""
    app.clientside_callback(
        CHECK_SIZE_JS,
        Output(ids.UPLOAD_BATCH, "data"),
        Output(ids.UPLOAD, "contents"),
        Output(ids.UPLOAD, "filename"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.UPLOAD_RESULT, "children"),
        Output(ids.DATASET_LIST, "children"),
        Output(ids.UPLOAD_BATCH, "data", allow_duplicate=True),
        Input(ids.UPLOAD_BATCH, "data"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(_error)
    def on_batch(batch: dict[str, Any] | None, token: str) -> Any:
        return (*ingest(services, signer.session_id(token), batch), None)

    @app.callback(
        Output(ids.UPLOAD_RESULT, "children", allow_duplicate=True),
        Output(ids.DATASET_LIST, "children", allow_duplicate=True),
        Input(ids.DEMO_BUTTON, "n_clicks"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (common.error_box(message), dash.no_update))
    def on_demo(n_clicks: int | None, token: str) -> Any:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        return use_demo(services, signer.session_id(token))

    @app.callback(
        Output(ids.UPLOAD_RESULT, "children", allow_duplicate=True),
        Output(ids.DATASET_LIST, "children", allow_duplicate=True),
        Input({"type": ids.DELETE_DATASET_TYPE, "id": ALL}, "n_clicks"),
        State(ids.SESSION_TOKEN, "data"),
        prevent_initial_call=True,
    )
    @guarded(lambda message, exc: (common.error_box(message), dash.no_update))
    def on_delete(clicks: list[int | None], token: str) -> Any:
        return delete(services, signer.session_id(token), clicked_id(clicks))


__all__ = ["delete", "ingest", "register", "use_demo"]
