"""The dashboard's workspace on disk: a SQLite catalog of datasets and runs, and their files.

Layout under the workspace root::

    catalog.sqlite                       datasets, catalogs and runs (one row each)
    secret.key                           signs session cookies (mode 0600), unless configured
    jobs/                                (unused; kept for workspaces of earlier versions)
    sessions/<sid>/datasets/<id>/        trace.parquet (canonical), summary.json
    sessions/<sid>/catalogs/<id>/        a user catalog (TOML) extending the bundled one
    sessions/<sid>/runs/<id>/            study.toml, study.resolved.toml, worker.log, output/
                                         (report.html, comparison.csv, placements.csv,
                                         tables.xlsx, results/: capplan.reporting.outputs)
    sessions/<sid>/tmp/                  staging folders of uploads being read

Every folder is written under a temporary name and renamed into place before its row is
inserted, and every row change is one SQLite transaction, so a crash or a server restart never
leaves a half-written dataset or result behind a row. Every lookup takes the session id: a
session can only ever reach its own rows (a foreign id reads as "not found").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from capplan.errors import CapplanError

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
RECORD_ID = re.compile(r"^[0-9a-f]{16}$")
#: Run states. ``queued`` and ``running`` are live; the others are final.
RUN_STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
LIVE_STATES = ("queued", "running")
BUNDLED_DEMO = "bundled:demo"
LOST_MESSAGE = "the run stopped without finishing (the server was stopped or restarted)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_s REAL NOT NULL,
    location TEXT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datasets_session ON datasets(session_id, created_s);
CREATE TABLE IF NOT EXISTS catalogs (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    n_scenarios INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_s REAL NOT NULL,
    started_s REAL,
    finished_s REAL,
    progress_frac REAL NOT NULL DEFAULT 0,
    progress_text TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    pid_created_s REAL,
    summary_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_session ON runs(session_id, created_s);
"""


class NotFoundError(CapplanError):
    """A dataset, catalog or run does not exist in this session."""


@dataclass(frozen=True)
class DatasetRecord:
    """An ingested workload of one session.

    Attributes
    ----------
    id, session_id, name
        Identity and the label shown (the uploaded file names, or "demo workload").
    kind
        ``"upload"`` or ``"demo"``.
    created_s
        Unix time of ingestion.
    path
        What a scenario's ``workload`` names: the canonical Parquet file, or the bundled demo.
    summary
        The workload summary shown on the upload page (format, n_vms, ..., problems).
    """

    id: str
    session_id: str
    name: str
    kind: str
    created_s: float
    path: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunRecord:
    """One study run of one session (see :data:`RUN_STATES`)."""

    id: str
    session_id: str
    name: str
    dataset_id: str
    n_scenarios: int
    status: str
    created_s: float
    started_s: float | None
    finished_s: float | None
    progress_frac: float
    progress_text: str
    message: str
    summary: dict[str, Any]
    pid: int | None = None

    @property
    def live(self) -> bool:
        """True while the run is queued or running."""
        return self.status in LIVE_STATES


def new_id() -> str:
    """A random 16-hex-digit record id (unguessable, safe as a folder name)."""
    return secrets.token_hex(8)


def new_session_id() -> str:
    """A random 32-hex-digit session id."""
    return secrets.token_hex(16)


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` if it is well formed; raise otherwise (it becomes a folder name)."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise CapplanError("invalid session; reload the page to start a new one")
    return session_id


def _check_record_id(record_id: str, what: str) -> str:
    if not isinstance(record_id, str) or not RECORD_ID.match(record_id):
        raise NotFoundError(f"no {what} {record_id!r} in this session")
    return record_id


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class Workspace:
    """The on-disk workspace rooted at ``root`` (created if missing).

    Holds no open handles: every method opens its own SQLite connection, so one instance may
    be shared by threads and used by the worker processes.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "sessions").mkdir(parents=True, exist_ok=True)
        (self.root / "jobs").mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ basics
    @property
    def db_path(self) -> Path:
        """The SQLite catalog."""
        return self.root / "catalog.sqlite"

    @property
    def jobs_dir(self) -> Path:
        """Folder of the former background-callback cache (unused; earlier workspaces)."""
        return self.root / "jobs"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection; the block is one transaction (commit on success, else rollback)."""
        connection = sqlite3.connect(self.db_path, timeout=30.0)
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            with connection:
                yield connection
        finally:
            connection.close()

    def secret_key(self) -> bytes:
        """The key that signs session cookies: created once (mode 0600), then read back."""
        path = self.root / "secret.key"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
            if len(key) >= 32:
                return key
            raise CapplanError(
                "the session key file is damaged; delete it to create a new one", path=path
            ) from None
        key = secrets.token_bytes(32)
        with os.fdopen(handle, "wb") as stream:
            stream.write(key)
        return key

    def session_dir(self, session_id: str) -> Path:
        """The folder of one session (created if missing)."""
        folder = self.root / "sessions" / check_session_id(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def staging_dir(self, session_id: str) -> Path:
        """A new empty folder in which an upload is assembled before it becomes a dataset."""
        tmp = self.session_dir(session_id) / "tmp"
        tmp.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(dir=tmp, prefix="upload-"))

    # ------------------------------------------------------------------ datasets
    def add_dataset(
        self,
        session_id: str,
        *,
        name: str,
        kind: str,
        summary: Mapping[str, Any],
        staged: Path | None = None,
        data_file: str = "trace.parquet",
    ) -> DatasetRecord:
        """Register a dataset; ``staged`` (a folder holding ``data_file``) is moved into place.

        Parameters
        ----------
        staged
            Folder prepared by the caller (e.g. from :meth:`staging_dir`); ``None`` for the
            bundled demo, which stays where it is.
        """
        dataset_id = new_id()
        if staged is None:
            location = BUNDLED_DEMO
        else:
            target = self.session_dir(session_id) / "datasets" / dataset_id
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(staged / "summary.json", json.dumps(summary, indent=1))
            os.replace(staged, target)
            location = f"sessions/{session_id}/datasets/{dataset_id}/{data_file}"
        with self._db() as db:
            db.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset_id,
                    session_id,
                    name,
                    kind,
                    time.time(),
                    location,
                    json.dumps(summary),
                ),
            )
        return self.dataset(session_id, dataset_id)

    def _dataset_from_row(self, row: sqlite3.Row) -> DatasetRecord:
        location = row["location"]
        if location == BUNDLED_DEMO:
            from capplan.dashboard.demo import demo_workload_path

            path = demo_workload_path()
        else:
            path = self.root / location
        return DatasetRecord(
            id=row["id"],
            session_id=row["session_id"],
            name=row["name"],
            kind=row["kind"],
            created_s=row["created_s"],
            path=path,
            summary=json.loads(row["summary_json"]),
        )

    def dataset(self, session_id: str, dataset_id: str) -> DatasetRecord:
        """The dataset ``dataset_id`` of this session; any other id is "not found"."""
        _check_record_id(dataset_id, "dataset")
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM datasets WHERE id = ? AND session_id = ?",
                (dataset_id, check_session_id(session_id)),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no dataset {dataset_id!r} in this session")
        return self._dataset_from_row(row)

    def datasets(self, session_id: str) -> list[DatasetRecord]:
        """This session's datasets, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM datasets WHERE session_id = ? ORDER BY created_s DESC",
                (check_session_id(session_id),),
            ).fetchall()
        return [self._dataset_from_row(row) for row in rows]

    # ------------------------------------------------------------------ catalogs
    def add_catalog(
        self, session_id: str, files: Mapping[str, str], catalog_id: str | None = None
    ) -> str:
        """Store a user catalog (file name → TOML text) and return its id (random if None)."""
        catalog_id = _check_record_id(catalog_id, "catalog") if catalog_id else new_id()
        staging = self.staging_dir(session_id)
        for name, text in files.items():
            atomic_write_text(staging / name, text)
        target = self.session_dir(session_id) / "catalogs" / catalog_id
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        with self._db() as db:
            db.execute(
                "INSERT INTO catalogs VALUES (?, ?, ?)", (catalog_id, session_id, time.time())
            )
        return catalog_id

    def catalog_dir(self, session_id: str, catalog_id: str) -> Path:
        """The folder of a user catalog of this session."""
        _check_record_id(catalog_id, "catalog")
        with self._db() as db:
            row = db.execute(
                "SELECT id FROM catalogs WHERE id = ? AND session_id = ?",
                (catalog_id, check_session_id(session_id)),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no catalog {catalog_id!r} in this session")
        return self.session_dir(session_id) / "catalogs" / catalog_id

    # ------------------------------------------------------------------ runs
    def run_dir(self, session_id: str, run_id: str) -> Path:
        """The folder of a run (whether or not the run exists)."""
        _check_record_id(run_id, "run")
        return self.session_dir(session_id) / "runs" / run_id

    def create_run(
        self,
        session_id: str,
        *,
        name: str,
        dataset_id: str,
        n_scenarios: int,
        files: Mapping[str, str],
    ) -> RunRecord:
        """Create a queued run whose folder holds ``files`` (name → text)."""
        run_id = new_id()
        staging = self.staging_dir(session_id)
        for file_name, text in files.items():
            atomic_write_text(staging / file_name, text)
        target = self.run_dir(session_id, run_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        with self._db() as db:
            db.execute(
                "INSERT INTO runs (id, session_id, name, dataset_id, n_scenarios, status, "
                "created_s) VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (run_id, session_id, name, dataset_id, n_scenarios, time.time()),
            )
        return self.run(session_id, run_id)

    def _run_from_row(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            session_id=row["session_id"],
            name=row["name"],
            dataset_id=row["dataset_id"],
            n_scenarios=row["n_scenarios"],
            status=row["status"],
            created_s=row["created_s"],
            started_s=row["started_s"],
            finished_s=row["finished_s"],
            progress_frac=row["progress_frac"],
            progress_text=row["progress_text"],
            message=row["message"],
            summary=json.loads(row["summary_json"]),
            pid=row["pid"],
        )

    def run(self, session_id: str, run_id: str, *, check_lost: bool = True) -> RunRecord:
        """The run ``run_id`` of this session.

        A live run whose worker process is gone is moved to ``interrupted`` first, unless
        ``check_lost`` is False.
        """
        _check_record_id(run_id, "run")
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE id = ? AND session_id = ?",
                (run_id, check_session_id(session_id)),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no run {run_id!r} in this session")
        if check_lost and row["status"] in LIVE_STATES and self._lost(row):
            self.finish_run(run_id, "interrupted", LOST_MESSAGE)
            return self.run(session_id, run_id)
        return self._run_from_row(row)

    def runs(self, session_id: str) -> list[RunRecord]:
        """This session's runs, newest first."""
        with self._db() as db:
            ids = [
                r["id"]
                for r in db.execute(
                    "SELECT id FROM runs WHERE session_id = ? ORDER BY created_s DESC",
                    (check_session_id(session_id),),
                ).fetchall()
            ]
        return [self.run(session_id, run_id) for run_id in ids]

    @staticmethod
    def _lost(row: sqlite3.Row) -> bool:
        """True when a running run has no living process (its worker, or the server that
        claimed it, is gone or was replaced). A queued run waits for a server's queue."""
        pid, created = row["pid"], row["pid_created_s"]
        if row["status"] != "running":
            return False
        if pid is None:
            return True
        try:
            process = psutil.Process(pid)
            alive = process.status() != psutil.STATUS_ZOMBIE
            return not alive or abs(process.create_time() - created) > 1.0
        except psutil.Error:
            return True

    def session_of_run(self, run_id: str) -> str:
        """The session a run belongs to (for the worker process, which has no cookie)."""
        _check_record_id(run_id, "run")
        with self._db() as db:
            row = db.execute("SELECT session_id FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        return str(row["session_id"])

    def claim_next_run(self, max_running: int, owner_pid: int) -> RunRecord | None:
        """Claim the oldest queued run if fewer than ``max_running`` runs are running.

        One transaction over the whole workspace, so every server process sharing it shares
        the limit. The claimed run is ``running`` under ``owner_pid`` (the server) until its
        worker is recorded (:meth:`set_worker`).
        """
        created = psutil.Process(owner_pid).create_time()
        connection = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                (n_running,) = connection.execute(
                    "SELECT COUNT(*) FROM runs WHERE status = 'running'"
                ).fetchone()
                row = None
                if n_running < max_running:
                    row = connection.execute(
                        "SELECT * FROM runs WHERE status = 'queued' ORDER BY created_s LIMIT 1"
                    ).fetchone()
                if row is not None:
                    connection.execute(
                        "UPDATE runs SET status = 'running', started_s = ?, pid = ?, "
                        "pid_created_s = ?, progress_text = 'starting' WHERE id = ?",
                        (time.time(), owner_pid, created, row["id"]),
                    )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()
        return None if row is None else self.run(row["session_id"], row["id"], check_lost=False)

    def set_worker(self, run_id: str, pid: int) -> bool:
        """Record the worker process of a run this process claimed."""
        return self.start_run(run_id, pid, claimed_by=os.getpid())

    def start_run(self, run_id: str, pid: int, claimed_by: int | None = None) -> bool:
        """Mark a run as running in process ``pid``.

        Only a queued run, or one already running under ``claimed_by`` (the server that
        claimed it) or ``pid`` itself, can be started; False otherwise (it has ended, or
        another process runs it).
        """
        created = psutil.Process(pid).create_time()
        owners = (pid, pid if claimed_by is None else claimed_by)
        with self._db() as db:
            changed = db.execute(
                "UPDATE runs SET status = 'running', started_s = COALESCE(started_s, ?), "
                "pid = ?, pid_created_s = ? WHERE id = ? AND (status = 'queued' OR "
                "(status = 'running' AND pid IN (?, ?) AND started_s IS NOT NULL "
                "AND ? IS NOT NULL))",
                (time.time(), pid, created, run_id, *owners, claimed_by),
            ).rowcount
        return changed == 1

    def run_status(self, run_id: str) -> str | None:
        """The status of a run of any session (for the server's queue); None if deleted."""
        with self._db() as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else str(row["status"])

    def queue_position(self, run_id: str) -> int:
        """How many queued runs (of any session) are ahead of a queued run."""
        with self._db() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'queued' AND created_s < "
                "(SELECT created_s FROM runs WHERE id = ?)",
                (run_id,),
            ).fetchone()
        return int(row[0])

    def reap_lost_runs(self) -> list[str]:
        """Mark ``interrupted`` every running run whose process is gone; return their ids."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM runs WHERE status = 'running'").fetchall()
        lost = [row["id"] for row in rows if self._lost(row)]
        for run_id in lost:
            self.finish_run(run_id, "interrupted", LOST_MESSAGE)
        return lost

    def set_progress(self, run_id: str, frac: float, text: str) -> None:
        """Record the progress of a running run (0–1 and a one-line description)."""
        with self._db() as db:
            db.execute(
                "UPDATE runs SET progress_frac = ?, progress_text = ? "
                "WHERE id = ? AND status = 'running'",
                (min(max(frac, 0.0), 1.0), text, run_id),
            )

    def finish_run(
        self, run_id: str, status: str, message: str = "", summary: Mapping[str, Any] | None = None
    ) -> bool:
        """Move a live run to a final state; False if it had already finished."""
        if status not in RUN_STATES or status in LIVE_STATES:
            raise ValueError(f"not a final run state: {status!r}")
        frac_sql = ", progress_frac = 1" if status == "done" else ""
        with self._db() as db:
            changed = db.execute(
                f"UPDATE runs SET status = ?, message = ?, finished_s = ?, summary_json = ?"
                f"{frac_sql} WHERE id = ? AND status IN ('queued', 'running')",
                (status, message, time.time(), json.dumps(summary or {}), run_id),
            ).rowcount
        return changed == 1

    def cancel_run(self, session_id: str, run_id: str) -> bool:
        """Mark a live run of this session as cancelled; False if it had already finished."""
        record = self.run(session_id, run_id)
        if not record.live:
            return False
        return self.finish_run(run_id, "cancelled", "cancelled by the analyst")

    def delete_run(self, session_id: str, run_id: str) -> RunRecord:
        """Delete a run of this session: its row and its folder (a live run is cancelled
        first; the server's queue then ends its worker)."""
        record = self.run(session_id, run_id)
        if record.live:
            self.finish_run(run_id, "cancelled", "deleted by the analyst")
        with self._db() as db:
            db.execute(
                "DELETE FROM runs WHERE id = ? AND session_id = ?", (run_id, record.session_id)
            )
        self._remove_tree(self.run_dir(session_id, run_id))
        return record

    def delete_dataset(self, session_id: str, dataset_id: str) -> DatasetRecord:
        """Delete a dataset of this session: its row and its files.

        Finished runs keep their results; a queued or running run that reads the dataset is
        cancelled first.
        """
        record = self.dataset(session_id, dataset_id)
        with self._db() as db:
            live = db.execute(
                "SELECT id FROM runs WHERE session_id = ? AND dataset_id = ? "
                "AND status IN ('queued', 'running')",
                (record.session_id, dataset_id),
            ).fetchall()
        for row in live:
            self.finish_run(row["id"], "cancelled", "its workload was deleted")
        with self._db() as db:
            db.execute(
                "DELETE FROM datasets WHERE id = ? AND session_id = ?",
                (dataset_id, record.session_id),
            )
        if record.kind != "demo":
            self._remove_tree(self.session_dir(session_id) / "datasets" / dataset_id)
        return record

    def _remove_tree(self, folder: Path) -> None:
        sessions = (self.root / "sessions").resolve()
        resolved = folder.resolve()
        if sessions in resolved.parents and resolved.is_dir():
            shutil.rmtree(resolved, ignore_errors=True)

    def discard(self, folder: Path) -> None:
        """Remove a staging folder (after a failed upload); never touches anything else."""
        tmp_root = (self.root / "sessions").resolve()
        resolved = folder.resolve()
        if resolved.parent.name == "tmp" and tmp_root in resolved.parents:
            shutil.rmtree(resolved, ignore_errors=True)
