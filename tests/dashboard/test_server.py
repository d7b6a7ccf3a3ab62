"""The server without a browser: ``capplan serve``, ``app.py``, settings and session cookies."""

from __future__ import annotations

import http.cookiejar
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dash
import pytest
from typer.testing import CliRunner

from capplan.cli import app as cli
from capplan.dashboard import Settings, create_app
from capplan.dashboard.callbacks import routing
from capplan.dashboard.sessions import SessionError, TokenSigner
from capplan.errors import CapplanError

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def _token(opener: urllib.request.OpenerDirector, url: str) -> str:
    with opener.open(url + "/_dash-layout", timeout=10) as response:
        layout = json.loads(response.read())
    stores = [c["props"] for c in layout["props"]["children"] if c["type"] == "Store"]
    return next(s["data"] for s in stores if s["id"] == "session-token")


@pytest.mark.slow
def test_capplan_serve_gives_each_browser_its_own_signed_session(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "capplan.cli",
            "serve",
            "--port",
            str(port),
            "--workspace",
            str(tmp_path / "ws"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        first = _opener()
        deadline = time.monotonic() + 60
        while True:
            try:
                with first.open(url + "/", timeout=5) as response:
                    assert response.status == 200
                    assert b"capplan dashboard" in response.read()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        # tokens carry their signing time, so compare the sessions they name
        signer = TokenSigner((tmp_path / "ws" / "secret.key").read_bytes())
        session = signer.session_id(_token(first, url))
        assert len(session) == 32
        assert signer.session_id(_token(first, url)) == session, "the cookie keeps the session"
        other = signer.session_id(_token(_opener(), url))
        assert other != session, "another browser gets another session"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def test_forged_or_missing_tokens_are_refused(tmp_path: Path) -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.token("c" * 32)
    assert signer.session_id(token) == "c" * 32
    with pytest.raises(SessionError):
        TokenSigner(b"other key" * 4).session_id(token)
    for bad in (None, "", token[:-2] + "xx", 42):
        with pytest.raises(SessionError):
            signer.session_id(bad)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAPPLAN_WORKSPACE", str(tmp_path / "w"))
    monkeypatch.setenv("CAPPLAN_MAX_UPLOAD_MB", "1.5")
    monkeypatch.setenv("CAPPLAN_MAX_SCENARIOS", "3")
    settings = Settings.from_env()
    assert settings.workspace == (tmp_path / "w").resolve()
    assert (settings.max_upload_bytes, settings.max_scenarios) == (1_500_000, 3)
    assert Settings.from_env(max_scenarios=9).max_scenarios == 9
    assert (settings.dask_workers, settings.dask_scheduler) == (0, None)
    monkeypatch.setenv("CAPPLAN_DASK_WORKERS", "3")
    monkeypatch.setenv("CAPPLAN_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert Settings.from_env().dask_workers == 3
    assert Settings.from_env().dask_scheduler == "tcp://10.0.0.5:8786"
    monkeypatch.setenv("CAPPLAN_DASK_WORKERS", "two")
    with pytest.raises(CapplanError, match="CAPPLAN_DASK_WORKERS='two'"):
        Settings.from_env()
    monkeypatch.setenv("CAPPLAN_DASK_WORKERS", "0")
    monkeypatch.setenv("CAPPLAN_MAX_UPLOAD_MB", "lots")
    with pytest.raises(CapplanError, match="CAPPLAN_MAX_UPLOAD_MB='lots'"):
        Settings.from_env()


def test_app_py_is_the_entry_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAPPLAN_WORKSPACE", str(tmp_path / "w"))
    monkeypatch.setenv("CAPPLAN_MAX_UPLOAD_MB", "0.01")
    namespace = runpy.run_path(str(REPO_ROOT / "app.py"), run_name="app")
    assert namespace["server"] is namespace["app"].server
    client = namespace["server"].test_client()
    assert client.get("/").status_code == 200
    limit = namespace["server"].config["MAX_CONTENT_LENGTH"]
    assert limit < 2_000_000
    too_big = client.post(
        "/_dash-update-component", data=b"0" * (limit + 1), content_type="application/json"
    )
    assert too_big.status_code == 413


def test_create_app_keeps_no_state_between_apps(tmp_path: Path) -> None:
    first = create_app(Settings(workspace=tmp_path / "a"))
    second = create_app(Settings(workspace=tmp_path / "b"))
    assert first.server is not second.server
    assert (tmp_path / "a" / "catalog.sqlite").exists()
    assert (tmp_path / "b" / "catalog.sqlite").exists()
    # Dash's page registry is global; each app's pages read the services of their own server
    services = routing.SERVICES_KEY
    assert first.server.extensions[services] is not second.server.extensions[services]
    pages = dash.page_registry.values()
    registered = {p["module"]: (p["path"], p.get("path_template")) for p in pages}
    assert registered["upload"] == ("/", None)
    assert registered["setup"] == ("/setup", None)
    assert registered["runs"] == ("/runs", None)
    assert registered["run"][1] == "/run/<run_id>"
    assert "not_found_404" in registered


def test_serve_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workspace", "--max-upload-mb", "--json"):
        assert option in result.output
