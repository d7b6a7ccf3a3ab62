"""The dashboard's only seam to the engine: ingest, catalog, studies, runs and results.

Callbacks parse their inputs, call one method of :class:`Services` with the session id, and
turn what it returns into components and figures. Every method takes the session id first and
only ever reads or writes that session's records in the :class:`Workspace`. Every failure a
user can cause comes out as a :class:`capplan.errors.CapplanError` with a message fit for the
page; anything else is logged with its traceback and reported as an internal error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from capplan.dashboard.settings import Settings
from capplan.dashboard.studyfile import (
    CATALOG_PREFIX,
    DATASET_PREFIX,
    DEMO_REF,
    EDITABLE_HOST_KEYS,
    FIELDS_BY_PATH,
    HostRow,
    StudyForm,
    doc_to_form,
    dumps_toml,
    form_to_doc,
)
from capplan.dashboard.uploads import UploadError, check_batch
from capplan.dashboard.workspace import (
    DatasetRecord,
    NotFoundError,
    RunRecord,
    Workspace,
    atomic_write_text,
)
from capplan.errors import CapplanError, SpecError

log = logging.getLogger(__name__)

#: Longest error message shown in the page (readers may quote a whole binary header).
MAX_MESSAGE_CHARS = 600
#: How often :meth:`Services.wait_run` looks at a run.
POLL_S = 0.5
OUTPUT_DIR = "output"
#: Files of an upload being read: the uploaded files, their names in order, the outcome.
FILES_DIR = "files"
NAMES_FILE = "names.json"
OUTCOME_FILE = "outcome.json"
#: Uploads read at once by one server process (the others wait their turn).
MAX_INGESTS_PER_PROCESS = 2
_INGEST_SLOTS = threading.BoundedSemaphore(MAX_INGESTS_PER_PROCESS)
#: Files a run offers for download: kind → (file inside the output folder, MIME type).
DOWNLOADS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "report": ("report.html", "text/html"),
        "placements": ("placements.csv", "text/csv"),
        "comparison": ("comparison.csv", "text/csv"),
        "tables": (
            "tables.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "study": ("study.toml", "application/toml"),
    }
)


#: CLI wording in engine messages → what a web user can do instead.
WEB_WORDS: tuple[tuple[str, str], ...] = (
    (
        "Name it with --format or FORMAT:PATH",
        "Check that the file is in one of the formats listed on this page",
    ),
    ("--format", "the format"),
    ("capplan formats", "the list of formats on this page"),
)


def web_words(message: str) -> str:
    """A message of the engine in the words of the page (no CLI options)."""
    for cli, web in WEB_WORDS:
        message = message.replace(cli, web)
    return message


def clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Shorten a message for the page (keeping its start, which says where and what), in
    the words of the page (:func:`web_words`)."""
    text = web_words(message.replace("\x00", ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class PreparedStudy:
    """A validated study from the form.

    Attributes
    ----------
    doc
        The study document with session references (what a saved study file holds).
    text
        ``doc`` as TOML.
    resolved_text
        The same study with references replaced by paths (what the worker runs).
    scenario_names
        The stable ids of the scenarios it expands into.
    dataset_id
        The dataset the study's workload names.
    """

    doc: dict[str, Any]
    text: str
    resolved_text: str
    scenario_names: tuple[str, ...]
    dataset_id: str


class Services:
    """Everything callbacks may ask of the engine, for one app (holds settings only)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.workspace)

    # ======================================================================== datasets
    def ingest_upload(
        self, session_id: str, names: Sequence[object] | None, contents: Sequence[object] | None
    ) -> DatasetRecord:
        """Check, read and store an upload batch as a dataset of the session.

        Several files are first read together as one folder (formats spread over several
        files, such as Azure or Alibaba); if that fails, each file is read on its own and the
        traces merged (traces plus an RVTools inventory).

        Raises
        ------
        UploadError
            For anything wrong with the batch; nothing is stored then.
        """
        files = check_batch(names, contents, self.settings.max_upload_bytes)
        staging = self.workspace.staging_dir(session_id)
        folder = staging / FILES_DIR
        try:
            folder.mkdir()
            for item in files:
                (folder / item.name).write_bytes(item.data)
            atomic_write_text(staging / NAMES_FILE, json.dumps([item.name for item in files]))
            summary = self._ingest_in_child(staging)
            shutil.rmtree(folder)
            label = ", ".join(item.name for item in files)
            return self.workspace.add_dataset(
                session_id, name=clip(label, 120), kind="upload", summary=summary, staged=staging
            )
        except CapplanError as exc:
            self.workspace.discard(staging)
            raise UploadError(clip(_strip_folder(str(exc), folder))) from None
        except Exception as exc:
            self.workspace.discard(staging)
            log.exception("reading an upload failed")
            raise UploadError(
                f"the upload could not be read ({type(exc).__name__}); "
                "check that it is a trace in one of the supported formats"
            ) from None

    def _ingest_in_child(self, staging: Path) -> dict[str, Any]:
        """Read a staged upload in a limited child process; return the workload summary.

        Raises
        ------
        UploadError
            With the reader's message, or why the child ended (memory, CPU time).
        """
        from capplan.dashboard.runner import CHILDREN, exit_reason, spawn

        settings = self.settings
        wall_s = settings.ingest_cpu_s * 2 + 60
        with _INGEST_SLOTS:
            process = spawn(
                ["ingest", str(staging), "--budget", str(settings.max_expanded_bytes)],
                memory_bytes=settings.ingest_memory_bytes,
                cpu_s=settings.ingest_cpu_s,
                log_path=staging / "ingest.log",
            )
            try:
                process.wait(timeout=wall_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            finally:
                CHILDREN.discard(process)
        outcome_path = staging / OUTCOME_FILE
        if not outcome_path.is_file():
            log.warning(
                "the upload reader ended with code %s; log: %s",
                process.returncode,
                (staging / "ingest.log").read_text(errors="replace")[-2000:],
            )
            raise UploadError(
                exit_reason(
                    process.returncode,
                    "reading the upload",
                    settings.ingest_cpu_s,
                    "CAPPLAN_INGEST_CPU_S",
                )
            )
        outcome = json.loads(outcome_path.read_text())
        outcome_path.unlink()
        if not outcome.get("ok"):
            raise UploadError(str(outcome.get("message") or "the upload could not be read"))
        return dict(outcome["summary"])

    def add_demo(self, session_id: str) -> DatasetRecord:
        """Register the bundled demo workload as a dataset of the session (once)."""
        for record in self.workspace.datasets(session_id):
            if record.kind == "demo":
                return record
        from capplan.dashboard.demo import demo_workload_path
        from capplan.demand import load_workload

        workload = load_workload(demo_workload_path())
        summary = workload.summary()
        summary["sources"] = ["bundled demo workload (workloads/demo)"]
        return self.workspace.add_dataset(
            session_id, name="demo workload", kind="demo", summary=summary
        )

    @staticmethod
    def formats() -> list[str]:
        """Names of the trace readers, sorted."""
        from capplan.io import READERS

        return sorted(READERS)

    def datasets(self, session_id: str) -> list[DatasetRecord]:
        """The session's datasets, newest first."""
        return self.workspace.datasets(session_id)

    def dataset(self, session_id: str, dataset_id: str) -> DatasetRecord:
        """One dataset of the session."""
        return self.workspace.dataset(session_id, dataset_id)

    # ======================================================================== catalog
    def mode_names(self) -> list[str]:
        """Virtualization modes of the bundled catalog."""
        from capplan.spec.catalog import load_catalog

        return list(load_catalog().modes)

    def host_table(self, session_id: str, catalog_ref: str | None = None) -> list[dict[str, Any]]:
        """One row per host model of the catalog a study uses (display units: GiB, W), with
        its availability ``status`` and ``launch_year``.

        Parameters
        ----------
        catalog_ref
            ``catalog:<id>`` of this session, or ``None`` for the bundled catalog.
        """
        from capplan.spec.catalog import load_catalog
        from capplan.units import MIB_PER_GIB

        catalog = load_catalog(self._catalog_dir(session_id, catalog_ref))
        rows = []
        for host in catalog.hosts.values():
            rows.append(
                {
                    "model": host.name,
                    "status": host.status,
                    "launch_year": host.launch_year,
                    "cores": host.n_cores,
                    "threads": host.n_threads,
                    "ram_gib": round(host.ram_mib / MIB_PER_GIB, 1),
                    "idle_w": host.idle_w,
                    "max_w": host.max_w,
                    **{key: _finite(getattr(host, key)) for key in EDITABLE_HOST_KEYS},
                    "max_count": None,
                }
            )
        return rows

    def _catalog_dir(self, session_id: str, catalog_ref: str | None) -> Path | None:
        if not catalog_ref:
            return None
        if not catalog_ref.startswith(CATALOG_PREFIX):
            raise SpecError([("base.catalog", f"expected {CATALOG_PREFIX}<id> of this session")])
        try:
            return self.workspace.catalog_dir(session_id, catalog_ref[len(CATALOG_PREFIX) :])
        except NotFoundError as exc:
            raise SpecError([("base.catalog", str(exc))]) from None

    def _catalog_for_edits(self, session_id: str, hosts: Sequence[HostRow]) -> str | None:
        """Store the hosts whose parameters differ from the bundled catalog as a user catalog.

        Returns ``catalog:<id>`` (the same id for the same edits), or ``None`` if nothing was
        edited.
        """
        from capplan.spec.catalog import bundled_catalog_dir, load_catalog

        bundled = load_catalog()
        raw = _raw_hosts(bundled_catalog_dir())
        edited: dict[str, dict[str, Any]] = {}
        for row in hosts:
            if row.model not in bundled.hosts:
                raise SpecError([(f"hosts.{row.model}", "not a host model of the catalog")])
            model = bundled.hosts[row.model]
            changes = {
                key: row.params.get(key)
                for key in EDITABLE_HOST_KEYS
                if key in row.params and not _same_number(row.params.get(key), getattr(model, key))
            }
            if not changes:
                continue
            entry = dict(raw[row.model])
            for key, value in changes.items():
                if value is None:
                    entry.pop(key, None)
                else:
                    entry[key] = float(value)
            sources = entry.get("source", [])
            entry["source"] = [*([sources] if isinstance(sources, str) else sources)]
            entry["source"].append("analyst-edits")
            edited[row.model] = entry
        if not edited:
            return None
        doc = {
            "extends": "bundled",
            "sources": {
                "analyst-edits": "Values entered by the analyst in the capplan dashboard "
                "(host table of the scenario set-up page)."
            },
            "hosts": edited,
        }
        text = dumps_toml(doc, header="Host parameters edited in the capplan dashboard.")
        catalog_id = hashlib.sha256(f"{session_id}\n{text}".encode()).hexdigest()[:16]
        try:
            self.workspace.catalog_dir(session_id, catalog_id)
        except NotFoundError:
            staging = self.workspace.staging_dir(session_id)
            try:
                atomic_write_text(staging / "hosts.toml", text)
                try:
                    load_catalog(staging)
                except SpecError as exc:
                    problems = [(where.split(":", 1)[-1], what) for where, what in exc.problems]
                    raise SpecError(problems) from None
                self.workspace.add_catalog(session_id, {"hosts.toml": text}, catalog_id)
            finally:
                self.workspace.discard(staging)
        return f"{CATALOG_PREFIX}{catalog_id}"

    # ======================================================================== studies
    def default_form(self, session_id: str) -> StudyForm:
        """The form a new study starts from: defaults, the newest dataset, bundled hosts."""
        datasets = self.datasets(session_id)
        workload = f"{DATASET_PREFIX}{datasets[0].id}" if datasets else ""
        values = {f.path: f.default for f in FIELDS_BY_PATH.values()}
        return StudyForm(
            name="what-if study",
            workload=workload,
            values=values,
            hosts=tuple(self.host_rows(session_id)),
        )

    def host_rows(self, session_id: str, catalog_ref: str | None = None) -> list[HostRow]:
        """Form rows of a catalog's hosts, none offered yet."""
        return [
            HostRow(model=row["model"], params={k: row[k] for k in EDITABLE_HOST_KEYS})
            for row in self.host_table(session_id, catalog_ref)
        ]

    def prepare_study(self, session_id: str, form: StudyForm) -> PreparedStudy:
        """Validate a form as a study and resolve its references.

        Raises
        ------
        SpecError
            With every problem and its dotted path (as ``capplan validate`` reports them).
        """
        catalog_ref = self._catalog_for_edits(session_id, form.hosts)
        if form.workload.startswith(DATASET_PREFIX):
            try:
                chosen = self.dataset(session_id, form.workload[len(DATASET_PREFIX) :])
            except NotFoundError:
                chosen = None
            if chosen is not None and chosen.kind == "demo":
                # a study file on the demo works in every session
                form = replace(form, workload=DEMO_REF)
        doc = form_to_doc(form, catalog_ref)
        return self._prepare_doc(session_id, doc, label="study")

    def _prepare_doc(self, session_id: str, doc: dict[str, Any], *, label: str) -> PreparedStudy:
        from capplan.spec.study import load_study

        resolved, dataset_id = self._resolve(session_id, doc)
        text = dumps_toml(doc, header=_STUDY_HEADER)
        resolved_text = dumps_toml(resolved)
        staging = self.workspace.staging_dir(session_id)
        try:
            path = atomic_write_text(staging / "study.toml", resolved_text)
            try:
                study = load_study(path)
            except SpecError as exc:
                raise SpecError(exc.problems, path=label) from None
        finally:
            self.workspace.discard(staging)
        scenarios = study.expand()
        names = tuple(s.name for s in scenarios)
        slowest = max((float(s.time_limit_s) for s in scenarios), default=0.0)
        if slowest > self.settings.max_solver_s:
            raise SpecError(
                [
                    (
                        "base.time_limit_s",
                        f"{slowest:g} s is above the largest solver time limit of this server, "
                        f"{self.settings.max_solver_s:g} s (setting CAPPLAN_MAX_SOLVER_S)",
                    )
                ],
                path=label,
            )
        if len(names) > self.settings.max_scenarios:
            raise SpecError(
                [
                    (
                        "axes",
                        f"the study expands into {len(names)} scenarios; at most "
                        f"{self.settings.max_scenarios} are allowed here (setting "
                        "CAPPLAN_MAX_SCENARIOS); tick fewer options",
                    )
                ],
                path=label,
            )
        return PreparedStudy(doc, text, resolved_text, names, dataset_id)

    def _resolve(self, session_id: str, doc: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """Replace the session references of a study document by paths; check ownership."""
        base = dict(doc.get("base") or {})
        axes = doc.get("axes") or {}
        problems = [
            (f"axes.{name}", "cannot be an axis in the dashboard")
            for name in axes
            if name.split(".")[0] in ("workload", "catalog")
        ]
        workload = base.get("workload")
        dataset_id = ""
        if workload == DEMO_REF:
            record = self.add_demo(session_id)
            base["workload"], dataset_id = str(record.path), record.id
        elif isinstance(workload, str) and workload.startswith(DATASET_PREFIX):
            try:
                record = self.dataset(session_id, workload[len(DATASET_PREFIX) :])
            except NotFoundError as exc:
                problems.append(("base.workload", f"{exc}; upload it again or pick another"))
            else:
                base["workload"], dataset_id = str(record.path), record.id
        else:
            problems.append(
                (
                    "base.workload",
                    f"expected {DEMO_REF!r} or '{DATASET_PREFIX}<id>' naming one of your "
                    f"uploads, got {workload!r}",
                )
            )
        if base.get("catalog") is not None:
            try:
                base["catalog"] = str(self._catalog_dir(session_id, str(base["catalog"])))
            except SpecError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SpecError(problems)
        return {**doc, "base": base}, dataset_id

    def study_file(self, session_id: str, form: StudyForm) -> tuple[str, str]:
        """A validated study file of the form: ``(file name, TOML text)``."""
        prepared = self.prepare_study(session_id, form)
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in form.name) or "study"
        return f"{name}.toml", prepared.text

    def read_study_file(
        self, session_id: str, file_name: str, data: bytes
    ) -> tuple[StudyForm, str | None]:
        """Load a study file saved by the dashboard back into the form.

        Returns
        -------
        tuple
            The form, and the ``catalog:<id>`` reference the study uses (or None).

        Raises
        ------
        SpecError
            If it is not TOML, names a workload or catalog outside this session, or is invalid.
        """
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SpecError([("", f"not a TOML study file: {exc}")], path=file_name) from None
        workload = (doc.get("base") or {}).get("workload")
        if isinstance(workload, str) and workload.startswith(DATASET_PREFIX):
            try:
                record = self.dataset(session_id, workload[len(DATASET_PREFIX) :])
                if record.kind == "demo":
                    doc["base"]["workload"] = DEMO_REF
            except NotFoundError:
                pass
        try:
            self._prepare_doc(session_id, doc, label=file_name)
            catalog = (doc.get("base") or {}).get("catalog")
            rows = self.host_rows(session_id, catalog)
            form = doc_to_form(doc, rows)
            if form.workload == DEMO_REF:
                # the selector lists the session's datasets: name the demo by its dataset
                demo = self.add_demo(session_id)
                form = replace(form, workload=f"{DATASET_PREFIX}{demo.id}")
            return form, (str(catalog) if catalog else None)
        except SpecError as exc:
            raise SpecError(exc.problems, path=file_name) from None

    # ======================================================================== runs
    def start_run(self, session_id: str, form: StudyForm) -> RunRecord:
        """Validate the form and queue a run (the server's run queue executes it, whether or
        not a page follows it)."""
        prepared = self.prepare_study(session_id, form)
        return self.workspace.create_run(
            session_id,
            name=form.name,
            dataset_id=prepared.dataset_id,
            n_scenarios=len(prepared.scenario_names),
            files={"study.toml": prepared.text, "study.resolved.toml": prepared.resolved_text},
        )

    def wait_run(
        self,
        session_id: str,
        run_id: str,
        timeout_s: float = 600.0,
        report: Callable[[RunRecord], None] | None = None,
        poll_s: float = POLL_S,
    ) -> RunRecord:
        """Wait until a run has ended (the server's queue executes it); return its record.

        Raises
        ------
        CapplanError
            If it is still live after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.workspace.run(session_id, run_id)
            if report is not None:
                report(record)
            if not record.live:
                return record
            if time.monotonic() > deadline:
                raise CapplanError(f"run {run_id} is still {record.status} after {timeout_s} s")
            time.sleep(poll_s)

    def progress_label(self, record: RunRecord) -> str:
        """One line on where a run is: its place in the queue, or its stage and share done."""
        if record.status == "queued":
            ahead = self.workspace.queue_position(record.id)
            running = f"{self.settings.max_runs} at once"
            return (
                f"queued: {ahead} run(s) ahead ({running} on this server)"
                if ahead
                else f"queued: starts as soon as a slot is free ({running} on this server)"
            )
        if record.status == "running":
            return f"{record.progress_frac:.0%} · {record.progress_text or 'starting'}"
        return record.status

    def delete_run(self, session_id: str, run_id: str) -> RunRecord:
        """Delete a run of the session (a live one is cancelled; its worker is ended)."""
        return self.workspace.delete_run(session_id, run_id)

    def delete_dataset(self, session_id: str, dataset_id: str) -> DatasetRecord:
        """Delete an upload of the session (finished runs keep their results)."""
        return self.workspace.delete_dataset(session_id, dataset_id)

    def cancel_run(self, session_id: str, run_id: str) -> bool:
        """Mark a live run cancelled (the server's queue then ends its worker)."""
        return self.workspace.cancel_run(session_id, run_id)

    def run(self, session_id: str, run_id: str) -> RunRecord:
        """One run of the session."""
        return self.workspace.run(session_id, run_id)

    def runs(self, session_id: str) -> list[RunRecord]:
        """The session's runs, newest first."""
        return self.workspace.runs(session_id)

    def result(self, session_id: str, run_id: str) -> Any:
        """The :class:`capplan.results.StudyResult` of a finished run of the session."""
        from capplan.results import StudyResult

        record = self.run(session_id, run_id)
        if record.status != "done":
            raise CapplanError(f"run {run_id} has no results (it is {record.status})")
        from capplan.reporting.outputs import RESULTS_DIR

        folder = self.workspace.run_dir(session_id, run_id) / OUTPUT_DIR
        saved = folder / RESULTS_DIR
        # Runs written before the one output layout kept the result in "result".
        return StudyResult.load(saved if saved.exists() else folder / "result")

    def ingest_notes(self, session_id: str, run_id: str) -> list[dict[str, Any]]:
        """The data-quality problems found when the run's workload was uploaded."""
        record = self.run(session_id, run_id)
        try:
            dataset = self.dataset(session_id, record.dataset_id)
        except NotFoundError:
            return []
        return list(dataset.summary.get("problems") or [])

    @staticmethod
    def comparison(study: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The comparison table of a study result: rows, and column key → heading in order."""
        from capplan.results import INDICATORS

        table = study.comparison()
        labels = {"scenario": "scenario"}
        if "status" in table.columns:
            labels["status"] = "status"
        labels |= {ind.key: ind.label for ind in INDICATORS if ind.key in table.columns}
        labels |= {
            c: f"Δ {c.removeprefix('delta_').replace('_', ' ')}"
            for c in table.columns
            if c.startswith("delta_")
        }
        labels["pareto"] = "on Pareto front"
        return table.to_dicts(), labels

    def download(self, session_id: str, run_id: str, kind: str) -> tuple[Path, str]:
        """The file of one download of a run: ``(path, MIME type)``.

        Raises
        ------
        CapplanError
            If the kind is unknown or the run has no such file.
        """
        if kind not in DOWNLOADS:
            raise CapplanError(f"unknown download {kind!r}; expected one of {sorted(DOWNLOADS)}")
        record = self.run(session_id, run_id)
        file_name, mime = DOWNLOADS[kind]
        folder = self.workspace.run_dir(session_id, run_id)
        in_run_folder = kind == "study"
        path = folder / file_name if in_run_folder else folder / OUTPUT_DIR / file_name
        if not path.is_file():
            raise CapplanError(f"run {record.id} has no {kind} file (it is {record.status})")
        return path, mime


_STUDY_HEADER = """Study saved by the capplan dashboard. Load it again on the set-up page.
workload = "dataset:<id>" names an upload of the session that saved it ("demo": the bundled
demo workload); catalog = "catalog:<id>" names host parameters edited there."""


class ResourceLimitError(CapplanError):
    """A worker reached its CPU-time limit."""


def _on_cpu_limit(signum: int, frame: Any) -> None:
    raise ResourceLimitError("CPU-time limit reached")


def execute_run(
    workspace_root: Path,
    run_id: str,
    *,
    memory_bytes: int | None = None,
    scheduler: str | None = None,
) -> int:
    """Run a claimed study run (in the worker process) and store its outputs atomically.

    With ``scheduler`` the scenarios run on that Dask cluster (the queue's shared one).

    Writes ``output/`` (the study result, the HTML report, placements and tables as CSV and
    XLSX) under a temporary name, with the server's folders replaced by the names the analyst
    knows, and renames it into place before marking the run done.

    Returns
    -------
    int
        Process exit code: 0 done, 1 failed, 2 not started (no longer queued or claimed).
    """
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    workspace = Workspace(workspace_root)
    session_id = workspace.session_of_run(run_id)
    folder = workspace.run_dir(session_id, run_id)
    if not workspace.start_run(run_id, os.getpid(), claimed_by=os.getppid()):
        return 2
    last_write = [0.0]

    def progress(label: str, frac: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= 0.2 or frac >= 1.0:
            last_write[0] = now
            workspace.set_progress(run_id, frac, label)

    try:
        from capplan.pipeline import run_study
        from capplan.spec.study import load_study

        study = load_study(folder / "study.resolved.toml")
        workspace.set_progress(run_id, 0.0, "reading the workload")
        result = run_study(study, progress=progress, scheduler=scheduler)
        workspace.set_progress(run_id, 1.0, "writing the report and tables")
        staging = folder / f".{OUTPUT_DIR}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        write_outputs(result, staging)
        scrub_paths(staging, _server_paths(workspace, session_id, run_id))
        os.replace(staging, folder / OUTPUT_DIR)
        workspace.finish_run(run_id, "done", summary=_run_summary(result))
        return 0
    except CapplanError as exc:
        message = clip(str(exc))
        if isinstance(exc, ResourceLimitError):
            message = "the run used up its CPU-time limit (setting CAPPLAN_RUN_CPU_S)"
        workspace.finish_run(run_id, "failed", message)
        return 1
    except MemoryError:
        limit = f" of {memory_bytes / 1e6:,.0f} MB" if memory_bytes else ""
        workspace.finish_run(
            run_id,
            "failed",
            f"the run needed more memory than its limit{limit} (setting CAPPLAN_RUN_MEMORY_MB); "
            "study fewer VMs or scenarios at once",
        )
        return 1
    except Exception as exc:
        traceback.print_exc()
        workspace.finish_run(
            run_id, "failed", f"internal error ({type(exc).__name__}); the server log has details"
        )
        return 1


def _server_paths(workspace: Workspace, session_id: str, run_id: str) -> dict[str, str]:
    """Server paths a run's outputs may hold → what the page shows instead."""
    replacements: dict[str, str] = {}
    record = workspace.run(session_id, run_id, check_lost=False)
    try:
        dataset = workspace.dataset(session_id, record.dataset_id)
    except NotFoundError:
        dataset = None
    if dataset is not None and dataset.kind != "demo":
        label = f"upload {dataset.name}"
        replacements[str(dataset.path.parent) + os.sep] = ""
        replacements[str(dataset.path)] = label
        replacements[str(dataset.path.parent)] = label
    session_dir = workspace.session_dir(session_id)
    replacements[str(session_dir) + os.sep] = ""
    replacements[str(session_dir)] = "(your session)"
    return replacements


def scrub_paths(folder: Path, replacements: Mapping[str, str]) -> None:
    """Replace server paths in every text file under ``folder`` (report, JSON, CSV, TOML).

    Longer paths are replaced first, so a file inside a folder becomes its label, not the
    folder's label plus the rest of the path.
    """
    ordered = sorted(replacements.items(), key=lambda item: -len(item[0]))
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        changed = text
        for old, new in ordered:
            if old:
                changed = changed.replace(old, new)
                changed = changed.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
        if changed != text:
            path.write_text(changed, encoding="utf-8", errors="surrogateescape")


_TEXT_SUFFIXES = frozenset({".html", ".json", ".csv", ".toml", ".txt", ".md"})


def ingest_staged(staging: Path, budget_bytes: int, *, memory_bytes: int | None = None) -> int:
    """Read a staged upload (in the ingest child) and write its outcome.

    ``staging`` holds ``files/`` and ``names.json``; this writes ``trace.parquet`` and
    ``outcome.json``: ``{"ok": true, "summary": ...}`` or ``{"ok": false, "message": ...}``.

    Returns
    -------
    int
        0 when the upload was read, 1 when it was refused.
    """
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    folder = staging / FILES_DIR
    names = [str(n) for n in json.loads((staging / NAMES_FILE).read_text())]
    outcome: dict[str, Any]
    try:
        from capplan.dashboard.limits import check_expansion

        check_expansion([folder / name for name in names], budget_bytes)
        trace, workload = read_upload(folder, names, budget_bytes)
        from capplan.io.canonical import write_canonical_parquet

        write_canonical_parquet(trace, staging / "trace.parquet")
        outcome = {"ok": True, "summary": _clean_summary(workload.summary(), folder)}
    except ResourceLimitError:
        outcome = {
            "ok": False,
            "message": "reading the upload used up its CPU-time limit (setting "
            "CAPPLAN_INGEST_CPU_S); upload a part of it",
        }
    except CapplanError as exc:
        outcome = {"ok": False, "message": clip(_strip_folder(str(exc), folder))}
    except MemoryError:
        limit = f" of {memory_bytes / 1e6:,.0f} MB" if memory_bytes else ""
        outcome = {
            "ok": False,
            "message": f"reading the upload needed more memory than its limit{limit} "
            "(setting CAPPLAN_INGEST_MEMORY_MB); upload a part of it",
        }
    except Exception as exc:
        traceback.print_exc()
        outcome = {
            "ok": False,
            "message": f"the upload could not be read ({type(exc).__name__}); check that it is "
            "a trace in one of the supported formats",
        }
    atomic_write_text(staging / OUTCOME_FILE, json.dumps(outcome))
    return 0 if outcome["ok"] else 1


def read_upload(folder: Path, names: list[str], max_expanded_bytes: int) -> tuple[Any, Any]:
    """Read uploaded files as a trace and its workload.

    Several files are first read together as one folder (formats spread over several files,
    such as Azure or Alibaba); if that fails, each file is read on its own and the traces
    merged (traces plus an RVTools inventory).
    """
    from capplan.demand import build_workload
    from capplan.io import ReadOptions, read_trace, read_traces

    options = ReadOptions(max_expanded_bytes=max_expanded_bytes)
    paths = [folder / name for name in names]
    if len(paths) == 1:
        trace = read_trace(paths[0], None, options)
    else:
        try:
            trace = read_trace(folder, None, options)
        except CapplanError:
            trace = read_traces(paths, None, options)
    if trace.is_inventory_only:
        raise UploadError(
            f"{', '.join(names)} holds an inventory ({trace.format}) but no usage; upload "
            "it together with the usage traces"
        )
    return trace, build_workload(trace)


def write_outputs(result: Any, folder: Path) -> Path:
    """Write a study result, its HTML report and its tables into ``folder``: the layout of
    :func:`capplan.reporting.outputs.write_study_outputs` with the report inside the folder."""
    from capplan.reporting.outputs import write_study_outputs

    write_study_outputs(result, folder / "report.html", folder)
    return folder


def _run_summary(result: Any) -> dict[str, Any]:
    best, why = result.recommended()
    return {
        "n_scenarios": len(result.results),
        "recommended": best.name if best is not None else None,
        "why": why,
    }


def _raw_hosts(directory: Path) -> dict[str, dict[str, Any]]:
    hosts: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as stream:
            hosts.update(tomllib.load(stream).get("hosts", {}))
    return hosts


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _same_number(edited: Any, current: float) -> bool:
    current_value = _finite(current)
    if edited is None or current_value is None:
        return edited is None and current_value is None
    return math.isclose(float(edited), current_value, rel_tol=1e-12, abs_tol=1e-12)


def _strip_folder(message: str, folder: Path) -> str:
    """Remove the server's staging folder from a message, leaving the uploaded file names."""
    for prefix in (str(folder) + os.sep, str(folder.resolve()) + os.sep, str(folder)):
        message = message.replace(prefix, "")
    return message


def _clean_summary(summary: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A workload summary without the server's paths (problems keep the file names)."""
    cleaned = dict(summary)
    cleaned["sources"] = [_strip_folder(str(s), folder) for s in summary.get("sources", [])]
    cleaned["problems"] = [
        {**p, "path": _strip_folder(str(p["path"]), folder) if p.get("path") else p.get("path")}
        for p in summary.get("problems", [])
    ]
    return cleaned


__all__ = [
    "DOWNLOADS",
    "PreparedStudy",
    "Services",
    "UploadError",
    "clip",
    "execute_run",
    "ingest_staged",
    "read_upload",
    "scrub_paths",
    "web_words",
    "write_outputs",
]
