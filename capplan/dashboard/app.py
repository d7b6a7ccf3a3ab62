"""``create_app()``: the Dash app of the capplan dashboard.

All state lives in the workspace on disk and in the browser (session cookie, stores); the app
object holds only its settings and its run queue, so several workers (gunicorn) can serve the
same workspace. The run queue (:mod:`capplan.dashboard.runner`) starts with the first request
the process serves (after gunicorn has forked), and stops, ending its workers, on SIGTERM.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dash

import capplan.dashboard.callbacks as callbacks
from capplan.dashboard.callbacks.routing import ROUTING_INPUTS, register_pages
from capplan.dashboard.pages import shell
from capplan.dashboard.runner import RunQueue, install_shutdown_handlers, register_queue
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner, current_session_id, install
from capplan.dashboard.settings import Settings

#: Headroom of the HTTP request limit over the upload limit (base64 is 4/3 of the bytes,
#: plus the JSON around it); the exact limit is checked in the browser and in the callback.
REQUEST_OVERHEAD_RATIO = 1.4
REQUEST_OVERHEAD_BYTES = 1_000_000


def create_app(
    settings: Settings | None = None, *, run_queue: bool = True, **overrides: object
) -> dash.Dash:
    """Build the dashboard.

    Parameters
    ----------
    settings
        Settings; by default read from ``CAPPLAN_*`` environment variables (see
        :mod:`capplan.dashboard.settings`), with ``overrides`` (``workspace=...``) applied.
    run_queue
        Run queued studies in this process (started by the first request; the app's
        ``capplan_queue`` attribute). False for an app that only serves pages.
    """
    settings = settings or Settings.from_env(**overrides)
    services = Services(settings)
    secret = settings.secret_key or services.workspace.secret_key()
    signer = TokenSigner(secret)
    app = dash.Dash(
        __name__,
        title="capplan dashboard",
        assets_folder=str(Path(__file__).parent / "assets"),
        suppress_callback_exceptions=True,
        serve_locally=True,
        use_pages=True,
        pages_folder="",
        routing_callback_inputs=ROUTING_INPUTS,
    )
    register_pages(app, services, signer)
    install(app.server, secret)
    app.server.config["MAX_CONTENT_LENGTH"] = int(
        settings.max_upload_bytes * REQUEST_OVERHEAD_RATIO + REQUEST_OVERHEAD_BYTES
    )

    def serve_layout() -> object:
        return shell.layout(signer.token(current_session_id()), settings.max_upload_bytes)

    app.layout = serve_layout
    callbacks.register(app, services, signer)
    if run_queue:
        queue = RunQueue(settings)
        started = threading.Lock()
        install_shutdown_handlers()

        @app.server.before_request
        def _start_queue() -> None:
            if not queue.running:
                with started:
                    if not queue.running:
                        register_queue(queue.start())

        app.capplan_queue = queue  # type: ignore[attr-defined]
    return app
