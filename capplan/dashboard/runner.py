"""The server side of runs and uploads: child processes, the run queue, and shutdown.

**Child processes.** Reading an upload and running a study happen in child processes
(:mod:`capplan.dashboard.worker`) with memory and CPU-time limits. Every child the web process
starts is registered here, so stopping the server stops them.

**The run queue.** A submitted run is only a ``queued`` row in the workspace catalog. In every
server process a :class:`RunQueue` thread claims queued runs, oldest first, while fewer than
``max_runs`` run in the whole server (the claim is one SQLite transaction, so several
gunicorn workers share the limit), and starts a worker for each. It watches its workers: a
run cancelled in the page has its worker killed; a worker that ends without recording the end
of its run has the run marked failed. No browser tab is involved: a run submitted from a tab
closed at once runs all the same.

**Shutdown.** On SIGTERM (or a normal exit) the queue stops claiming, its workers are
terminated (SIGKILL after a short grace), and their runs are marked ``interrupted``; then the
previous SIGTERM handler runs (the server's own, or the default: exit). Workers also die with
the server if it is killed outright (``PR_SET_PDEATHSIG``); their runs then read as
``interrupted`` when next looked at.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from capplan.dashboard.settings import Settings
from capplan.dashboard.workspace import Workspace

log = logging.getLogger(__name__)

#: How often the queue looks for queued runs and at its workers.
POLL_S = 0.3
#: Time a terminated child gets to end before it is killed.
GRACE_S = 2.0
INTERRUPTED_MESSAGE = "the server stopped during the run; start it again from the set-up page"


class Children:
    """The child processes of this web process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[bytes]] = set()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.add(process)

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.discard(process)

    def terminate_all(self, grace_s: float = GRACE_S) -> None:
        """SIGTERM every child, then SIGKILL those still alive after ``grace_s``."""
        with self._lock:
            processes = list(self._processes)
        terminate(processes, grace_s)


def terminate(processes: Sequence[subprocess.Popen[bytes]], grace_s: float = GRACE_S) -> None:
    """End processes: SIGTERM, then SIGKILL after ``grace_s``; reap them."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()


CHILDREN = Children()


def spawn(
    args: Sequence[str],
    *,
    memory_bytes: int | None,
    cpu_s: float | None,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    """Start ``python -m capplan.dashboard.worker [limits] ARGS`` with output to ``log_path``.

    The child is registered in :data:`CHILDREN`; the caller discards it once reaped.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "capplan.dashboard.worker", "--parent", str(os.getpid())]
    if memory_bytes:
        command += ["--memory", str(int(memory_bytes))]
    if cpu_s:
        command += ["--cpu", str(float(cpu_s))]
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [*command, *args],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    CHILDREN.add(process)
    return process


def exit_reason(returncode: int | None, what: str, cpu_s: float, cpu_setting: str) -> str:
    """Why a child ended without recording its outcome, in the words of the page."""
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return (
            f"{what} used up its CPU-time limit of {cpu_s:,.0f} s (setting {cpu_setting}) "
            "or was stopped"
        )
    return f"{what} stopped unexpectedly (exit code {returncode}); the server log has details"


class RunQueue:
    """Claims queued runs of a workspace and runs each in a limited worker process."""

    def __init__(self, settings: Settings, poll_s: float = POLL_S) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.workspace)
        self.poll_s = poll_s
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cluster: Any = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> RunQueue:
        """Start the queue's thread (once)."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._loop, name="capplan-run-queue", daemon=True
                )
                self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """True while the queue's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, message: str = INTERRUPTED_MESSAGE, grace_s: float = GRACE_S) -> None:
        """Stop claiming runs, end the workers, and mark their runs ``interrupted``."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:
            workers = dict(self._workers)
            self._workers.clear()
        terminate(list(workers.values()), grace_s)
        for run_id, process in workers.items():
            CHILDREN.discard(process)
            with contextlib.suppress(Exception):
                self.workspace.finish_run(run_id, "interrupted", message)
        with self._lock:
            cluster, self._cluster = self._cluster, None
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=grace_s + 5)

    def scheduler_address(self) -> str | None:
        """Where runs execute their scenarios: the configured Dask scheduler, the queue's own
        local cluster (started on first use, then reused by every run), or None (in the run's
        own process)."""
        if self.settings.dask_scheduler:
            return self.settings.dask_scheduler
        if self.settings.dask_workers <= 0:
            return None
        with self._lock:
            if self._cluster is None:
                from dask.distributed import LocalCluster

                self._cluster = LocalCluster(
                    n_workers=self.settings.dask_workers,
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=self.settings.run_memory_bytes,
                    dashboard_address=":0",
                    silence_logs=logging.CRITICAL,
                )
            return str(self._cluster.scheduler_address)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the queue must outlive a bad row or a busy database
                log.exception("the run queue failed a step")
            self._stop.wait(self.poll_s)

    # ------------------------------------------------------------------ one step
    def step(self) -> list[str]:
        """Reap and police this queue's workers, then start queued runs; return the started."""
        self._watch_workers()
        self.workspace.reap_lost_runs()
        started: list[str] = []
        while not self._stop.is_set():
            record = self.workspace.claim_next_run(self.settings.max_runs, os.getpid())
            if record is None:
                break
            started.append(record.id)
            self._start_worker(record.session_id, record.id)
        return started

    def _start_worker(self, session_id: str, run_id: str) -> None:
        folder = self.workspace.run_dir(session_id, run_id)
        try:
            scheduler = self.scheduler_address()
            where = ["--scheduler", scheduler] if scheduler else []
            process = spawn(
                ["run", str(self.workspace.root), run_id, *where],
                memory_bytes=self.settings.run_memory_bytes,
                cpu_s=self.settings.run_cpu_s,
                log_path=folder / "worker.log",
            )
        except (OSError, RuntimeError, TimeoutError) as exc:
            log.exception("starting a run worker failed")
            self.workspace.finish_run(run_id, "failed", f"the worker could not start ({exc})")
            return
        with self._lock:
            self._workers[run_id] = process
        self.workspace.set_worker(run_id, process.pid)

    def _watch_workers(self) -> None:
        with self._lock:
            workers = list(self._workers.items())
        for run_id, process in workers:
            returncode = process.poll()
            status = self.workspace.run_status(run_id)
            if returncode is None:
                if status not in ("queued", "running"):  # cancelled or deleted in the page
                    terminate([process], grace_s=0.5)
                else:
                    continue
            with self._lock:
                self._workers.pop(run_id, None)
            CHILDREN.discard(process)
            if status in ("queued", "running"):
                self.workspace.finish_run(
                    run_id,
                    "failed",
                    exit_reason(
                        process.returncode, "the run", self.settings.run_cpu_s, "CAPPLAN_RUN_CPU_S"
                    ),
                )

    def worker_pids(self) -> dict[str, int]:
        """Run id → pid of this queue's live workers."""
        with self._lock:
            return {run_id: p.pid for run_id, p in self._workers.items() if p.poll() is None}


# ---------------------------------------------------------------------- shutdown
_QUEUES: list[RunQueue] = []
_INSTALLED = threading.Event()
_SHUTDOWN_LOCK = threading.Lock()


def register_queue(queue: RunQueue) -> RunQueue:
    """Make ``queue`` stop (and its runs read ``interrupted``) when the server stops."""
    with _SHUTDOWN_LOCK:
        _QUEUES.append(queue)
    return queue


def shutdown() -> None:
    """Stop every queue of this process and end every child process."""
    with _SHUTDOWN_LOCK:
        queues = list(_QUEUES)
        _QUEUES.clear()
    for queue in queues:
        queue.stop()
    CHILDREN.terminate_all()


def install_shutdown_handlers() -> None:
    """Run :func:`shutdown` on SIGTERM (then the previous handler) and at exit.

    Only possible from the main thread (signal handlers); elsewhere only the exit hook is set.
    Idempotent.
    """
    if _INSTALLED.is_set():
        return
    _INSTALLED.set()
    atexit.register(shutdown)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> Any:
        shutdown()
        if callable(previous):
            return previous(signum, frame)
        if previous == signal.SIG_IGN:
            return None
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return None

    signal.signal(signal.SIGTERM, on_sigterm)
