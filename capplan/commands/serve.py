"""``capplan serve``: run the analysts' dashboard (Dash) on a local address."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capplan.cli_app import app, console, print_json, user_errors


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8050,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            help="Workspace folder (default: $CAPPLAN_WORKSPACE or "
            "~/.local/share/capplan/workspace).",
        ),
    ] = None,
    max_upload_mb: Annotated[
        float | None, typer.Option("--max-upload-mb", help="Upload size limit per batch, MB.")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print the address as JSON, then serve.")
    ] = False,
) -> None:
    """Serve the dashboard: upload traces, set up and run studies, see and download results."""
    from capplan.dashboard import Settings, create_app
    from capplan.dashboard.settings import BYTES_PER_MB

    settings = Settings.from_env(
        workspace=workspace,
        max_upload_bytes=int(max_upload_mb * BYTES_PER_MB) if max_upload_mb else None,
    )
    dash_app = create_app(settings)
    url = f"http://{host}:{port}/"
    if json:
        print_json({"url": url, "workspace": str(settings.workspace)})
    else:
        console.print(f"capplan dashboard on {url} (workspace {settings.workspace})")
    dash_app.run(host=host, port=port, debug=False)
