"""Fixtures of the dashboard tests: a workspace, real uploads, and one finished real run."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from capplan.dashboard.runner import RunQueue
from capplan.dashboard.services import Services
from capplan.dashboard.settings import Settings
from capplan.dashboard.studyfile import (
    FORM_FIELDS,
    HostRow,
    StudyForm,
    control_value,
    form_from_controls,
)
from capplan.dashboard.workspace import DatasetRecord, RunRecord

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
SCREENSHOTS = REPO_ROOT / "reports" / "screenshots"
#: A small host model of the bundled catalog: two Bitbrains VMs need one or two of them.
SMALL_HOST = "ibm-x3550-m3-x5675"


def data_url(path: Path | bytes, mime: str = "text/csv") -> str:
    """A file (or bytes) as ``dcc.Upload`` delivers it."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def bitbrains_files() -> list[Path]:
    """Two real Bitbrains GWA-T-12 VM files (skips when ../shared is absent)."""
    folder = SHARED / "data" / "bitbrains-gwa-t-12" / "rnd" / "2013-7"
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent (it lives beside the checkout)")
    return [folder / "420.csv", folder / "1.csv"]


@pytest.fixture(name="data_url")
def data_url_fixture() -> object:
    """:func:`data_url` for tests."""
    return data_url


@pytest.fixture(name="bitbrains_files")
def bitbrains_files_fixture() -> list[Path]:
    """:func:`bitbrains_files` for tests."""
    return bitbrains_files()


@pytest.fixture(name="two_mode_form")
def two_mode_form_fixture() -> object:
    """:func:`two_mode_form` for tests."""
    return two_mode_form


def two_mode_form(services: Services, session_id: str, workload: str) -> StudyForm:
    """A two-scenario study (hw-assisted vs paravirt) offering one small host model."""
    controls = {f.path: control_value(f, f.default) for f in FORM_FIELDS}
    controls["mode"] = ["hw-assisted", "paravirt"]
    controls["time_limit_s"] = "5"
    hosts = [
        HostRow(r.model, offered=r.model == SMALL_HOST, params=r.params)
        for r in services.host_rows(session_id)
    ]
    return form_from_controls("two modes", workload, controls, hosts)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    """Services on an empty workspace (upload limit 5 MB, at most 4 scenarios)."""
    return Services(
        Settings(workspace=tmp_path / "ws", max_upload_bytes=5_000_000, max_scenarios=4)
    )


@pytest.fixture
def queue(services: Services) -> Iterator[RunQueue]:
    """The server's run queue on the ``services`` workspace (what ``create_app`` starts)."""
    running = RunQueue(services.settings, poll_s=0.1).start()
    yield running
    running.stop()


SID = "a" * 32
OTHER_SID = "b" * 32


@pytest.fixture
def sid() -> str:
    """A session id."""
    return SID


@pytest.fixture
def other_sid() -> str:
    """Another browser's session id."""
    return OTHER_SID


@dataclass(frozen=True)
class FinishedRun:
    """A real two-scenario run on real Bitbrains data, finished in its own workspace."""

    services: Services
    session_id: str
    dataset: DatasetRecord
    run: RunRecord


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedRun]:
    """Ingest two Bitbrains VMs and run hw-assisted vs paravirt through the worker process."""
    files = bitbrains_files()
    services = Services(Settings(workspace=tmp_path_factory.mktemp("ws") / "ws"))
    dataset = services.ingest_upload(SID, [f.name for f in files], [data_url(f) for f in files])
    form = two_mode_form(services, SID, f"dataset:{dataset.id}")
    run = services.start_run(SID, form)
    queue = RunQueue(services.settings, poll_s=0.1).start()
    try:
        final = services.wait_run(SID, run.id, timeout_s=300, poll_s=0.1)
    finally:
        queue.stop()
    assert final.status == "done", final.message
    yield FinishedRun(services, SID, dataset, final)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the browser tests saved their screenshots."""
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"dashboard screenshots: {SCREENSHOTS}")
