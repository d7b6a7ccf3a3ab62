"""Services on a real workspace: ingestion of real traces, refusals, studies, real runs."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import psutil
import pytest

from capplan.dashboard.runner import RunQueue
from capplan.dashboard.services import Services
from capplan.dashboard.studyfile import DATASET_PREFIX, HostRow, StudyForm
from capplan.dashboard.uploads import UploadError
from capplan.dashboard.workspace import NotFoundError
from capplan.demand import load_workload
from capplan.errors import CapplanError, SpecError

BITBRAINS_HEADER = (
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\t"
    "CPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\t"
    "Disk read throughput [KB/s];\tDisk write throughput [KB/s];\t"
    "Network received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n"
)


def _nothing_staged(services: Services, sid: str) -> bool:
    tmp = services.workspace.session_dir(sid) / "tmp"
    return not tmp.exists() or not any(tmp.iterdir())


def test_real_bitbrains_upload_becomes_a_dataset(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    record = services.ingest_upload(
        sid, [f.name for f in bitbrains_files], [data_url(f) for f in bitbrains_files]
    )
    summary = record.summary
    assert summary["format"] == "bitbrains"
    assert summary["n_vms"] == 2 and summary["step_s"] == 300
    assert summary["n_steps"] > 8000
    assert "cpu_demand_mhz" in summary["metrics"]
    assert summary["problems"], "the July files have a known gap and irregular rows"
    text = json.dumps(summary)
    assert str(services.workspace.root) not in text, "no server path reaches the page"
    assert sorted(summary["sources"]) == ["1.csv", "420.csv"]
    workload = load_workload(record.path)
    assert workload.n_vms == 2
    assert [d.id for d in services.datasets(sid)] == [record.id]
    assert _nothing_staged(services, sid)


def test_a_zip_of_the_traces_reads_the_same(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in bitbrains_files:
            archive.write(path, path.name)
    record = services.ingest_upload(sid, ["july.zip"], [data_url(buffer.getvalue())])
    assert (record.summary["format"], record.summary["n_vms"]) == ("bitbrains", 2)


def test_traces_with_an_rvtools_inventory_are_merged(
    services: Services,
    sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
) -> None:
    rvtools = bitbrains_files[0].parents[3] / "rvtools-export" / "SizingWorkshop-RVTools.xlsx"
    if not rvtools.exists():
        pytest.skip(f"real data not available: {rvtools} is absent")
    names = [bitbrains_files[0].name, rvtools.name]
    record = services.ingest_upload(sid, names, [data_url(bitbrains_files[0]), data_url(rvtools)])
    assert record.summary["n_vms"] == 1
    assert "rvtools" in record.summary["format"]
    with pytest.raises(UploadError, match=r"inventory .* but no usage"):
        services.ingest_upload(sid, [rvtools.name], [data_url(rvtools)])


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("garbage.csv", b"hello\nworld\n", "format not recognised"),
        (
            "bad.csv",
            (BITBRAINS_HEADER + "1372629804;\t2;\tx;\t1;\t1;\t1;\t1;\t1;\t1;\t1;\t1\n").encode(),
            r"^bad\.csv",
        ),
        ("../up.csv", b"a", "has path parts"),
        ("big.csv", b"0" * 5_000_100, "above the limit"),
        ("broken.zip", b"PK\x03\x04 not really a zip", "zip"),
    ],
)
def test_bad_uploads_get_a_message_and_change_nothing(
    services: Services,
    sid: str,
    data_url: Callable[..., str],
    name: str,
    content: bytes,
    expected: str,
) -> None:
    with pytest.raises(UploadError) as info:
        services.ingest_upload(sid, [name], [data_url(content)])
    assert pytest.importorskip("re").search(expected, str(info.value)), str(info.value)
    assert str(services.workspace.root) not in str(info.value)
    assert services.datasets(sid) == []
    assert _nothing_staged(services, sid)


def test_a_zip_bomb_is_refused(services: Services, sid: str, data_url: Callable[..., str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.csv", b"0" * 50_000_000)
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(UploadError, match="zip bomb"):
        services.ingest_upload(sid, ["bomb.zip"], [data_url(buffer.getvalue())])
    assert services.datasets(sid) == []
    assert _nothing_staged(services, sid)


@pytest.mark.slow
def test_demo_workload_is_added_once(services: Services, sid: str) -> None:
    first = services.add_demo(sid)
    assert (first.kind, first.summary["n_vms"]) == ("demo", 200)
    assert services.add_demo(sid).id == first.id
    assert len(services.datasets(sid)) == 1


# ------------------------------------------------------------------------------ studies
def _uploaded(services: Services, sid: str, files: list[Path], data_url: Callable[..., str]) -> str:
    record = services.ingest_upload(sid, [f.name for f in files], [data_url(f) for f in files])
    return f"{DATASET_PREFIX}{record.id}"


def test_a_study_cannot_name_another_sessions_upload(
    services: Services,
    sid: str,
    other_sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
    two_mode_form: Callable[..., StudyForm],
) -> None:
    workload = _uploaded(services, sid, bitbrains_files, data_url)
    assert services.prepare_study(sid, two_mode_form(services, sid, workload)).scenario_names
    with pytest.raises(SpecError) as info:
        services.prepare_study(other_sid, two_mode_form(services, other_sid, workload))
    assert [p for p, _ in info.value.problems] == ["base.workload"]


def test_study_file_round_trip_and_foreign_references(
    services: Services,
    sid: str,
    other_sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
    two_mode_form: Callable[..., StudyForm],
) -> None:
    workload = _uploaded(services, sid, bitbrains_files, data_url)
    form = two_mode_form(services, sid, workload)
    name, text = services.study_file(sid, form)
    assert name == "two-modes.toml"
    doc = tomllib.loads(text)
    assert doc["base"]["workload"] == workload, "no server path in a saved study"
    assert doc["axes"] == {"mode": ["hw-assisted", "paravirt"]}
    back, catalog = services.read_study_file(sid, name, text.encode())
    assert catalog is None
    assert back.values == form.values and back.workload == workload
    assert [h.model for h in back.hosts if h.offered] == [h.model for h in form.hosts if h.offered]
    with pytest.raises(SpecError, match=r"two-modes\.toml") as info:
        services.read_study_file(other_sid, name, text.encode())
    assert "base.workload" in [p for p, _ in info.value.problems]
    sneaky = text.replace(workload, "/etc/passwd")
    with pytest.raises(SpecError, match=r"base\.workload"):
        services.read_study_file(sid, name, sneaky.encode())
    with pytest.raises(SpecError, match="not a TOML study file"):
        services.read_study_file(sid, "x.toml", b"name = [")


def test_edited_host_prices_become_a_user_catalog(
    services: Services,
    sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
    two_mode_form: Callable[..., StudyForm],
) -> None:
    workload = _uploaded(services, sid, bitbrains_files, data_url)
    form = two_mode_form(services, sid, workload)
    edited = tuple(
        HostRow(h.model, h.offered, h.max_count, {**h.params, "price_usd": 4321.0})
        if h.offered
        else h
        for h in form.hosts
    )
    prepared = services.prepare_study(sid, StudyForm(form.name, workload, form.values, edited))
    ref = prepared.doc["base"]["catalog"]
    assert ref.startswith("catalog:")
    again = services.prepare_study(sid, StudyForm(form.name, workload, form.values, edited))
    assert again.doc["base"]["catalog"] == ref, "the same edits give the same catalog"
    rows = {r["model"]: r for r in services.host_table(sid, ref)}
    offered = next(h.model for h in edited if h.offered)
    assert rows[offered]["price_usd"] == 4321.0
    with pytest.raises(SpecError):
        services.host_table(sid.replace("a", "c"), ref)
    bad = tuple(
        HostRow(h.model, h.offered, h.max_count, {**h.params, "perf_factor": -2.0}) for h in edited
    )
    with pytest.raises(SpecError, match="perf_factor"):
        services.prepare_study(sid, StudyForm(form.name, workload, form.values, bad))


def test_too_many_scenarios_are_refused(
    services: Services,
    sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
    two_mode_form: Callable[..., StudyForm],
) -> None:
    workload = _uploaded(services, sid, bitbrains_files, data_url)
    form = two_mode_form(services, sid, workload)
    values = {**form.values, "headroom_frac": (0.1, 0.2, 0.3)}
    with pytest.raises(SpecError, match="6 scenarios; at most 4"):
        services.prepare_study(sid, StudyForm(form.name, workload, values, form.hosts))


# ------------------------------------------------------------------------------ runs
@pytest.mark.slow
def test_a_finished_run_has_results_and_downloads(finished_run: object) -> None:
    run = finished_run
    services, sid, record = run.services, run.session_id, run.run  # type: ignore[attr-defined]
    assert record.n_scenarios == 2 and record.summary["n_scenarios"] == 2
    study = services.result(sid, record.id)
    assert [r.scenario.mode for r in study.results] == ["hw-assisted", "paravirt"]
    report, mime = services.download(sid, record.id, "report")
    html = report.read_text()
    assert mime == "text/html" and "<html" in html and study.results[0].name in html
    placements = pl.read_csv(services.download(sid, record.id, "placements")[0])
    assert placements.columns[:2] == ["scenario", "vm_id"]
    assert placements.height == 2 * 2
    assert services.download(sid, record.id, "tables")[0].stat().st_size > 0
    study_text = services.download(sid, record.id, "study")[0].read_text()
    assert "dataset:" in study_text and str(services.workspace.root) not in study_text
    with pytest.raises(NotFoundError):
        services.result("f" * 32, record.id)
    with pytest.raises(NotFoundError):
        services.download("f" * 32, record.id, "report")
    with pytest.raises(CapplanError, match="unknown download"):
        services.download(sid, record.id, "../../secret.key")
    rows, labels = services.comparison(study)
    assert len(rows) == 3 and next(iter(labels)) == "scenario"


def _worker_pid(services: Services, run_id: str) -> int | None:
    with sqlite3.connect(services.workspace.db_path) as db:
        row = db.execute("SELECT pid FROM runs WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None


@pytest.mark.slow
def test_cancel_stops_the_worker_and_keeps_no_output(
    services: Services, queue: RunQueue, sid: str, two_mode_form: Callable[..., StudyForm]
) -> None:
    demo = services.add_demo(sid)
    form = two_mode_form(services, sid, f"{DATASET_PREFIX}{demo.id}")
    record = services.start_run(sid, form)
    progress: list[tuple[float, str]] = []
    outcome: dict[str, object] = {}
    follower = threading.Thread(
        target=lambda: outcome.setdefault(
            "final",
            services.wait_run(
                sid, record.id, report=lambda r: progress.append((r.progress_frac, r.status))
            ),
        )
    )
    follower.start()
    deadline = time.monotonic() + 120
    while services.run(sid, record.id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while record.id not in queue.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = _worker_pid(services, record.id)
    assert pid is not None and pid == queue.worker_pids()[record.id]
    assert services.cancel_run(sid, record.id)
    follower.join(timeout=60)
    assert not follower.is_alive()
    final = outcome["final"]
    assert final.status == "cancelled"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (services.workspace.run_dir(sid, record.id) / "output").exists()
    with pytest.raises(CapplanError, match="no results"):
        services.result(sid, record.id)


@pytest.mark.slow
def test_two_watchers_of_one_run_start_one_worker(
    services: Services,
    queue: RunQueue,
    sid: str,
    bitbrains_files: list[Path],
    data_url: Callable[..., str],
    two_mode_form: Callable[..., StudyForm],
) -> None:
    workload = _uploaded(services, sid, bitbrains_files, data_url)
    record = services.start_run(sid, two_mode_form(services, sid, workload))
    outcomes: list[object] = []
    pids: set[int] = set()

    def follow() -> None:
        def seen(run: Any) -> None:
            pids.update(queue.worker_pids().values())

        outcomes.append(services.wait_run(sid, record.id, report=seen, poll_s=0.1))

    watchers = [threading.Thread(target=follow) for _ in range(2)]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join(timeout=120)
    assert [o.status for o in outcomes] == ["done", "done"]  # type: ignore[attr-defined]
    assert len(pids) == 1, "one worker ran the run"
    log = (services.workspace.run_dir(sid, record.id) / "worker.log").read_text()
    assert "Traceback" not in log


def test_a_run_that_fails_says_why(services: Services, queue: RunQueue, sid: str) -> None:
    record = services.workspace.create_run(
        sid,
        name="broken",
        dataset_id="0123456789abcdef",
        n_scenarios=1,
        files={"study.resolved.toml": 'name = "x"\n[base]\nworkload = "/nowhere/trace.csv"\n'},
    )
    final = services.wait_run(sid, record.id, poll_s=0.1)
    assert final.status == "failed"
    assert "/nowhere/trace.csv" in final.message
    assert not (services.workspace.run_dir(sid, record.id) / "output").exists()
