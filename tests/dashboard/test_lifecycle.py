"""One bad upload or run cannot take down the server: child processes with limits, the
server-wide run queue, SIGTERM, deletion, and session-bound tokens.

Everything is real: the server is ``capplan serve`` in its own process, uploads are read by
real child processes, runs are real studies.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import flask
import psutil
import pytest

from capplan.dashboard import create_app
from capplan.dashboard.callbacks import routing, upload
from capplan.dashboard.limits import ExpansionError, check_expansion
from capplan.dashboard.runner import RunQueue
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import COOKIE_KEY, SessionError, TokenSigner
from capplan.dashboard.settings import Settings
from capplan.dashboard.studyfile import DATASET_PREFIX, StudyForm
from capplan.dashboard.uploads import UploadError
from capplan.dashboard.workspace import NotFoundError
from capplan.errors import SpecError

from .conftest import OTHER_SID, SID, data_url, two_mode_form

#: Bytes of one block of the test zip bomb, and how many of them are (hex) noise: about
#: 180:1 with deflate, under the 200:1 ratio guard of the readers.
BLOCK = 65536
NOISE = 460


def zip_bomb(expanded_mb: int) -> bytes:
    """A zip of one CSV that expands about 180:1 to ``expanded_mb`` MiB."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("trace.csv", "w") as stream,
    ):
        stream.write(b"vm_id,timestamp,cpu_usage_mhz\n")
        for _ in range(expanded_mb * (1 << 20) // BLOCK):
            stream.write(os.urandom(NOISE // 2).hex().encode() + b"0" * (BLOCK - NOISE))
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_server(workspace: Path, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``capplan serve`` on ``port``; returns once it answers."""
    with log.open("ab") as stream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "capplan.cli",
                "serve",
                "--port",
                str(port),
                "--workspace",
                str(workspace),
            ],
            stdout=stream,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            kill_group(process)
            pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Clean up after a test: SIGKILL the server's process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class PeakRss:
    """Samples a process's resident memory in a thread; ``peak_mb`` is the highest seen."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self._process = psutil.Process(pid)
        self._every_s = every_s
        self._stop = threading.Event()
        self.start_mb = self._process.memory_info().rss / 1e6
        self.peak_mb = self.start_mb
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 1e6)
            except psutil.Error:
                return
            self._stop.wait(self._every_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------- uploads
def test_a_180_to_1_zip_is_stopped_by_the_budget_outside_the_web_process(
    tmp_path: Path,
) -> None:
    data = zip_bomb(160)
    ratio = 160 * (1 << 20) / len(data)
    assert 150 < ratio < 200, f"the test zip should expand about 180:1, not {ratio:.0f}:1"
    services = Services(
        Settings(
            workspace=tmp_path / "ws", max_upload_bytes=5_000_000, max_expanded_bytes=100_000_000
        )
    )
    with PeakRss(os.getpid()) as rss, pytest.raises(UploadError) as refused:
        services.ingest_upload(SID, ["bomb.zip"], [data_url(data, "application/zip")])
    message = str(refused.value)
    assert "bomb.zip expands to more than 100 MB" in message
    assert "CAPPLAN_MAX_EXPANDED_MB" in message and str(tmp_path) not in message
    # the web process only held the upload itself (1 MB), never its expansion (160 MiB)
    assert rss.peak_mb - rss.start_mb < 60, (rss.start_mb, rss.peak_mb)
    assert services.datasets(SID) == []
    assert not any((services.workspace.session_dir(SID) / "tmp").iterdir()), "nothing left"


def test_the_budget_counts_bytes_really_expanded(tmp_path: Path) -> None:
    plain = tmp_path / "a.csv"
    plain.write_bytes(b"x" * 1000)
    archive = tmp_path / "b.zip"
    archive.write_bytes(zip_bomb(2))
    assert check_expansion([plain, archive], 10**8) == 1000 + 2 * (1 << 20) + 30
    with pytest.raises(ExpansionError, match=r"b\.zip expands to more"):
        check_expansion([plain, archive], 2 * (1 << 20))
    broken = tmp_path / "c.zip"
    damaged = bytearray(archive.read_bytes())
    damaged[200:400] = os.urandom(200)
    broken.write_bytes(bytes(damaged))
    with pytest.raises(ExpansionError, match=r"c\.zip: not a readable zip archive"):
        check_expansion([broken], 10**8)


def test_an_upload_reader_out_of_memory_fails_alone(tmp_path: Path) -> None:
    services = Services(
        Settings(workspace=tmp_path / "ws", ingest_memory_bytes=150_000_000, ingest_cpu_s=60)
    )
    csv = b"vm_id,timestamp,cpu_usage_mhz\n" + b"vm1,0,1\n" * 10
    with pytest.raises(UploadError, match=r"memory|stopped unexpectedly"):
        services.ingest_upload(SID, ["t.csv"], [data_url(csv)])
    assert services.datasets(SID) == []


def test_limits_apply_to_the_child_only() -> None:
    code = (
        "from capplan.dashboard.limits import apply_limits\n"
        "apply_limits(300_000_000, 30)\n"
        "try:\n    bytearray(600_000_000)\nexcept MemoryError:\n    print('refused')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "refused"
    spin = (
        "from capplan.dashboard.limits import apply_limits\napply_limits(None, 1)\nwhile 1: pass\n"
    )
    started = time.monotonic()
    ended = subprocess.run([sys.executable, "-c", spin], capture_output=True, timeout=60)
    assert ended.returncode == -signal.SIGXCPU and time.monotonic() - started < 30


# ----------------------------------------------------------------------------- runs
def _study(services: Services, sid: str, time_limit_s: str = "5") -> StudyForm:
    demo = services.add_demo(sid)
    form = two_mode_form(services, sid, f"{DATASET_PREFIX}{demo.id}")
    values = dict(form.values)
    values["time_limit_s"] = (float(time_limit_s),)
    return StudyForm(form.name, form.workload, values, form.hosts)


def test_the_solver_time_is_capped(tmp_path: Path) -> None:
    services = Services(Settings(workspace=tmp_path / "ws", max_solver_s=120))
    with pytest.raises(SpecError) as refused:
        services.prepare_study(SID, _study(services, SID, "1e9"))
    assert refused.value.problems[0][0] == "base.time_limit_s"
    assert "CAPPLAN_MAX_SOLVER_S" in refused.value.problems[0][1]
    assert services.prepare_study(SID, _study(services, SID, "120")).scenario_names


@pytest.mark.slow
def test_the_queue_runs_at_most_max_runs_at_once_and_needs_no_tab(tmp_path: Path) -> None:
    services = Services(Settings(workspace=tmp_path / "ws", max_runs=1))
    first = services.start_run(SID, _study(services, SID, "3"))
    second = services.start_run(OTHER_SID, _study(services, OTHER_SID, "3"))
    assert "starts as soon as a slot is free" in services.progress_label(first)
    assert "1 run(s) ahead" in services.progress_label(second)
    queue = RunQueue(services.settings, poll_s=0.1).start()
    most = 0
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            states = [services.run(SID, first.id).status, services.run(OTHER_SID, second.id).status]
            most = max(most, states.count("running"))
            if "queued" not in states and "running" not in states:
                break
            time.sleep(0.1)
    finally:
        queue.stop()
    assert states == ["done", "done"], states
    assert most == 1


def test_runs_share_one_local_dask_cluster_started_once(tmp_path: Path) -> None:
    """With CAPPLAN_DASK_WORKERS the queue starts one local cluster with its first run and
    every later run's scenarios execute on that same cluster."""
    from dask.distributed import Client

    services = Services(Settings(workspace=tmp_path / "ws", max_runs=1, dask_workers=1))
    first = services.start_run(SID, _study(services, SID, "3"))
    second = services.start_run(OTHER_SID, _study(services, OTHER_SID, "3"))
    queue = RunQueue(services.settings, poll_s=0.1).start()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = [services.run(SID, first.id).status, services.run(OTHER_SID, second.id).status]
            if "queued" not in states and "running" not in states:
                break
            time.sleep(0.2)
        assert states == ["done", "done"], states
        address = queue.scheduler_address()
        assert address is not None and address == queue.scheduler_address()  # one cluster
        with Client(address) as client:

            def finished(dask_scheduler: object) -> int:
                prefixes = dask_scheduler.task_prefixes  # type: ignore[attr-defined]
                prefix = prefixes.get("run_remote")  # dask drops the leading underscore
                return 0 if prefix is None else int(prefix.state_counts.get("memory", 0))

            # both studies' two scenarios each finished on this cluster
            assert client.run_on_scheduler(finished) == 4
            executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
            assert sum(executed.values()) == 2 * 4  # per study: plan, read, 2 scenarios
            assert len(client.scheduler_info()["workers"]) == 1
    finally:
        queue.stop()
    done = services.result(SID, first.id)
    assert len(done.results) == 2


@pytest.mark.slow
def test_deleting_uploads_and_runs(
    services: Services, queue: RunQueue, bitbrains_files: list[Path]
) -> None:
    record = services.ingest_upload(SID, [bitbrains_files[0].name], [data_url(bitbrains_files[0])])
    folder = record.path.parent
    assert folder.is_dir()
    with pytest.raises(NotFoundError):
        services.delete_dataset(OTHER_SID, record.id)
    run = services.start_run(SID, _study(services, SID, "30"))
    deadline = time.monotonic() + 60
    while run.id not in queue.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = queue.worker_pids()[run.id]
    with pytest.raises(NotFoundError):
        services.delete_run(OTHER_SID, run.id)
    page = routing.delete_run(services, SID, run.id)
    assert "Deleted run" in str(page)
    assert services.runs(SID) == []
    assert not services.workspace.run_dir(SID, run.id).exists()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(pid), "the live run's worker was ended"
    message, listing = upload.delete(services, SID, record.id)
    assert "Deleted" in str(message) and record.id not in str(listing)
    assert not folder.exists()
    assert [d.kind for d in services.datasets(SID)] == ["demo"]


def test_tokens_are_bound_to_the_cookie_and_expire(tmp_path: Path) -> None:
    app = create_app(Settings(workspace=tmp_path / "ws"), run_queue=False)
    signer = TokenSigner(b"k" * 32)
    token = signer.token(SID)
    with app.server.test_request_context("/"):
        flask.session[COOKIE_KEY] = SID
        assert signer.session_id(token) == SID
    with app.server.test_request_context("/"):
        flask.session[COOKIE_KEY] = OTHER_SID
        with pytest.raises(SessionError, match="another browser session"):
            signer.session_id(token)
    with app.server.test_request_context("/"), pytest.raises(SessionError):
        signer.session_id(token)  # no cookie at all
    with pytest.raises(SessionError, match="open too long"):
        TokenSigner(b"k" * 32, max_age_s=-1).session_id(token)


# ----------------------------------------------------------------------------- SIGTERM
@pytest.mark.slow
def test_sigterm_ends_the_workers_frees_the_port_and_runs_read_interrupted(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    services = Services(Settings(workspace=workspace))
    # queued before the server starts, by no browser at all: the server's queue runs it
    record = services.start_run(SID, _study(services, SID, "60"))
    port = _free_port()
    server = start_server(workspace, port, tmp_path / "server.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = services.workspace.run(SID, record.id)
            if current.status == "running" and current.pid not in (None, server.pid):
                break
            time.sleep(0.1)
        worker = psutil.Process(current.pid)
        assert worker.ppid() == server.pid
        time.sleep(2.0)  # well into the run
        os.kill(server.pid, signal.SIGTERM)  # the server only, as `kill PID` does
        sent = time.monotonic()
        server.wait(timeout=30)
        while not _port_free(port):
            assert time.monotonic() - sent < 30, "the port stays taken"
            time.sleep(0.05)
        freed_s = time.monotonic() - sent
        assert freed_s < 10, freed_s
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
        final = services.workspace.run(SID, record.id)
        assert final.status == "interrupted", final
        assert "server stopped" in final.message
        print(f"SIGTERM to a free port: {freed_s:.2f} s")
        # a new server takes the same port at once
        again = start_server(workspace, port, tmp_path / "server2.log")
        kill_group(again)
    finally:
        kill_group(server)


# ----------------------------------------------------------------------------- wording
def test_scenario_labels_and_messages_speak_the_pages_language(tmp_path: Path) -> None:
    from capplan.viz.labels import scenario_label

    assert scenario_label("mem_overcommit_ratio=1.0,mode=containers#c44d59") == (
        "containers · mem 1.0"
    )
    assert scenario_label("ha_hosts=2,headroom_frac=0.3#0a1b2c") == "N+2 · headroom 0.3"
    assert scenario_label("baseline") == "baseline"
    services = Services(Settings(workspace=tmp_path / "ws"))
    with pytest.raises(UploadError) as refused:
        services.ingest_upload(SID, ["notes.csv"], [data_url(b"not a trace\n1,2,3\n")])
    assert "format not recognised" in str(refused.value)
    assert "--format" not in str(refused.value) and "FORMAT:PATH" not in str(refused.value)


def test_a_loaded_study_on_the_demo_fills_the_workload_selector(tmp_path: Path) -> None:
    from capplan.dashboard.callbacks import setup

    services = Services(Settings(workspace=tmp_path / "ws"))
    saved_name, text = services.study_file(SID, _study(services, SID, "5"))
    other = Services(Settings(workspace=tmp_path / "ws2"))
    form, _ = other.read_study_file(OTHER_SID, saved_name, text.encode())
    (demo,) = other.datasets(OTHER_SID)
    assert demo.kind == "demo" and form.workload == f"{DATASET_PREFIX}{demo.id}"
    body, _ = setup.load_study(
        other, OTHER_SID, data_url(text.encode(), "application/toml"), saved_name
    )
    assert f"{DATASET_PREFIX}{demo.id}" in str(body)
