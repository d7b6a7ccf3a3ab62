"""The workspace: rows per session, atomic folders, run states, survival of a restart."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from capplan.dashboard.workspace import (
    NotFoundError,
    Workspace,
    atomic_write_text,
    check_session_id,
)
from capplan.errors import CapplanError

SID = "1" * 32
OTHER = "2" * 32


def test_a_session_only_reaches_its_own_rows(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    staged = ws.staging_dir(SID)
    (staged / "trace.parquet").write_bytes(b"x")
    dataset = ws.add_dataset(SID, name="a.csv", kind="upload", summary={"n_vms": 1}, staged=staged)
    run = ws.create_run(
        SID, name="s", dataset_id=dataset.id, n_scenarios=2, files={"study.toml": "name = 's'\n"}
    )
    assert ws.dataset(SID, dataset.id).path.read_bytes() == b"x"
    assert [d.id for d in ws.datasets(OTHER)] == []
    assert [r.id for r in ws.runs(OTHER)] == []
    with pytest.raises(NotFoundError):
        ws.dataset(OTHER, dataset.id)
    with pytest.raises(NotFoundError):
        ws.run(OTHER, run.id)
    with pytest.raises(NotFoundError):
        ws.run(SID, "../../etc")
    assert not staged.exists()
    assert (ws.run_dir(SID, run.id) / "study.toml").read_text() == "name = 's'\n"


def test_malformed_session_ids_never_become_paths(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for bad in ("../" * 5, "A" * 32, "", "1" * 31):
        with pytest.raises(CapplanError):
            ws.session_dir(bad)
    assert check_session_id(SID) == SID


def test_rows_survive_a_restart(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    dataset = ws.add_dataset(SID, name="demo", kind="demo", summary={"n_vms": 200})
    again = Workspace(tmp_path)
    assert again.dataset(SID, dataset.id).summary == {"n_vms": 200}
    assert again.secret_key() == ws.secret_key()
    assert stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode) == 0o600


def test_run_states_move_forward_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    run = ws.create_run(SID, name="s", dataset_id="d", n_scenarios=1, files={})
    assert ws.start_run(run.id, os.getpid())
    assert not ws.start_run(run.id, os.getpid()), "a run starts once"
    ws.set_progress(run.id, 0.5, "half")
    assert ws.run(SID, run.id).progress_frac == 0.5
    assert ws.finish_run(run.id, "done", summary={"n": 1})
    assert not ws.finish_run(run.id, "failed", "late"), "a finished run stays finished"
    assert not ws.cancel_run(SID, run.id)
    record = ws.run(SID, run.id)
    assert (record.status, record.progress_frac, record.summary) == ("done", 1.0, {"n": 1})
    with pytest.raises(ValueError):
        ws.finish_run(run.id, "running")


def test_a_run_whose_worker_died_reads_as_interrupted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    run = ws.create_run(SID, name="s", dataset_id="d", n_scenarios=1, files={})
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert ws.start_run(run.id, worker.pid)
        assert ws.run(SID, run.id).status == "running"
    finally:
        worker.kill()
        worker.wait()
    record = ws.run(SID, run.id)
    assert record.status == "interrupted"
    assert "without finishing" in record.message


def test_cancel_marks_a_live_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    run = ws.create_run(SID, name="s", dataset_id="d", n_scenarios=1, files={})
    with pytest.raises(NotFoundError):
        ws.cancel_run(OTHER, run.id)
    assert ws.cancel_run(SID, run.id)
    assert ws.run(SID, run.id).status == "cancelled"
    assert not ws.start_run(run.id, os.getpid()), "a cancelled run never starts"


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "sub" / "a.toml", "x = 1\n")
    assert path.read_text() == "x = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["a.toml"]


def test_discard_only_removes_staging_folders(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    staged = ws.staging_dir(SID)
    keep = tmp_path / "keep"
    keep.mkdir()
    ws.discard(keep)
    ws.discard(staged)
    assert keep.exists() and not staged.exists()
