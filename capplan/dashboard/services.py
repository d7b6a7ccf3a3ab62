"""The dashboard's only seam to the engine: ingest, catalog, studies, runs and results.

Callbacks parse their inputs, call one method of :class:`Services` with the session id, and
turn what it returns into components and figures. Every method takes the session id first and
only ever reads or writes that session's records in the :class:`Workspace`. Every failure a
user can cause comes out as a :class:`capplan.errors.CapplanError` with a message fit for the
page; anything else is logged with its traceback and reported as an internal error.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import subprocess
import sys
import time
import tomllib
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
#: How often a background job looks at its worker's progress.
POLL_S = 0.5
OUTPUT_DIR = "output"
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
        # the same study with the session's datasets and catalog as paths on this server:
        # ``capplan report`` / ``capplan study`` run it there without the dashboard
        "study-cli": ("study.resolved.toml", "application/toml"),
    }
)


def clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Shorten a message for the page (keeping its start, which says where and what)."""
    text = message.replace("\x00", "")
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
        folder = staging / "files"
        try:
            folder.mkdir()
            for item in files:
                (folder / item.name).write_bytes(item.data)
            trace, workload = self._read_upload(folder, [item.name for item in files])
            from capplan.io.canonical import write_canonical_parquet

            write_canonical_parquet(trace, staging / "trace.parquet")
            summary = _clean_summary(workload.summary(), folder)
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

    def _read_upload(self, folder: Path, names: list[str]) -> tuple[Any, Any]:
        from capplan.demand import build_workload
        from capplan.io import ReadOptions, read_trace, read_traces

        options = ReadOptions(max_expanded_bytes=self.settings.max_expanded_bytes)
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
        names = tuple(s.name for s in study.expand())
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
            return doc_to_form(doc, rows), (str(catalog) if catalog else None)
        except SpecError as exc:
            raise SpecError(exc.problems, path=file_name) from None

    # ======================================================================== runs
    def start_run(self, session_id: str, form: StudyForm) -> RunRecord:
        """Validate the form and create a queued run (the background job then executes it)."""
        prepared = self.prepare_study(session_id, form)
        return self.workspace.create_run(
            session_id,
            name=form.name,
            dataset_id=prepared.dataset_id,
            n_scenarios=len(prepared.scenario_names),
            files={"study.toml": prepared.text, "study.resolved.toml": prepared.resolved_text},
        )

    def follow_run(
        self,
        session_id: str,
        run_id: str,
        report: Callable[[float, str], None],
        poll_s: float = POLL_S,
    ) -> RunRecord:
        """Execute a queued run in a worker process and report its progress until it ends.

        Called from a background callback. A queued run gets a worker, a child process, so
        cancelling the callback (which kills the job and its children) stops it at once; a run
        that is already running (followed from another tab) is only watched. Nothing is lost
        but the unfinished run, whose output is only ever moved into place when complete.
        """
        record = self.workspace.run(session_id, run_id)
        worker = self._start_worker(session_id, run_id) if record.status == "queued" else None
        last: tuple[float, str] | None = None
        try:
            while True:
                exited = worker is not None and worker.poll() is not None
                current = self.workspace.run(session_id, run_id, check_lost=not exited)
                if (current.progress_frac, current.progress_text) != last:
                    last = (current.progress_frac, current.progress_text)
                    report(*last)
                if not current.live:
                    return current
                if (
                    exited
                    and worker is not None
                    and (current.status == "queued" or current.pid == worker.pid)
                ):
                    self.workspace.finish_run(
                        run_id,
                        "failed",
                        f"the worker stopped unexpectedly (exit code {worker.returncode}); "
                        "details in worker.log",
                    )
                    return self.workspace.run(session_id, run_id)
                time.sleep(poll_s)
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
                worker.wait()

    def _start_worker(self, session_id: str, run_id: str) -> subprocess.Popen[bytes]:
        folder = self.workspace.run_dir(session_id, run_id)
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        with (folder / "worker.log").open("ab") as log_file:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "capplan.dashboard.worker",
                    str(self.workspace.root),
                    run_id,
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def cancel_run(self, session_id: str, run_id: str) -> bool:
        """Mark a live run cancelled (its job is killed by the callback's cancel input)."""
        return self.workspace.cancel_run(session_id, run_id)

    def run(self, session_id: str, run_id: str) -> RunRecord:
        """One run of the session."""
        return self.workspace.run(session_id, run_id)

    def runs(self, session_id: str) -> list[RunRecord]:
        """The session's runs, newest first."""
        return self.workspace.runs(session_id)

    def result(self, session_id: str, run_id: str) -> Any:
        """The :class:`capplan.pipeline.StudyResult` of a finished run of the session."""
        from capplan.pipeline import StudyResult

        record = self.run(session_id, run_id)
        if record.status != "done":
            raise CapplanError(f"run {run_id} has no results (it is {record.status})")
        folder = self.workspace.run_dir(session_id, run_id) / OUTPUT_DIR / "result"
        return StudyResult.load(folder)

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
        from capplan.pipeline import COMPARISON_COLUMNS

        table = study.comparison()
        labels = {"scenario": "scenario"}
        if "status" in table.columns:
            labels["status"] = "status"
        labels |= {key: label for key, label, _ in COMPARISON_COLUMNS if key in table.columns}
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
        in_run_folder = kind in ("study", "study-cli")
        path = folder / file_name if in_run_folder else folder / OUTPUT_DIR / file_name
        if not path.is_file():
            raise CapplanError(f"run {record.id} has no {kind} file (it is {record.status})")
        return path, mime


_STUDY_HEADER = """Study saved by the capplan dashboard. Load it again on the set-up page.
workload = "dataset:<id>" names an upload of the session that saved it ("demo": the bundled
demo workload); catalog = "catalog:<id>" names host parameters edited there."""


def execute_run(workspace_root: Path, run_id: str) -> int:
    """Run a queued study run (in the worker process) and store its outputs atomically.

    Writes ``output/`` (the study result, the HTML report, placements and tables as CSV and
    XLSX) under a temporary name and renames it into place before marking the run done.

    Returns
    -------
    int
        Process exit code: 0 done, 1 failed, 2 not started (no longer queued).
    """
    from capplan.pipeline import run_study
    from capplan.spec.study import load_study

    workspace = Workspace(workspace_root)
    session_id = workspace.session_of_run(run_id)
    folder = workspace.run_dir(session_id, run_id)
    if not workspace.start_run(run_id, os.getpid()):
        return 2
    last_write = [0.0]

    def progress(label: str, frac: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= 0.2 or frac >= 1.0:
            last_write[0] = now
            workspace.set_progress(run_id, frac, label)

    try:
        study = load_study(folder / "study.resolved.toml")
        workspace.set_progress(run_id, 0.0, "reading the workload")
        result = run_study(study, progress=progress)
        workspace.set_progress(run_id, 1.0, "writing the report and tables")
        staging = folder / f".{OUTPUT_DIR}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        write_outputs(result, staging)
        os.replace(staging, folder / OUTPUT_DIR)
        workspace.finish_run(run_id, "done", summary=_run_summary(result))
        return 0
    except CapplanError as exc:
        workspace.finish_run(run_id, "failed", clip(str(exc)))
        return 1
    except Exception as exc:
        traceback.print_exc()
        workspace.finish_run(
            run_id, "failed", f"internal error ({type(exc).__name__}); details in worker.log"
        )
        return 1


def write_outputs(result: Any, folder: Path) -> Path:
    """Write a study result, its HTML report and its tables (CSV, XLSX) into ``folder``."""
    import polars as pl

    from capplan.reporting.export import write_csv, write_xlsx
    from capplan.reporting.html import comparison_frame, write_report

    folder.mkdir(parents=True, exist_ok=True)
    result.save(folder / "result")
    write_report(result, folder / "report.html")
    placements = pl.concat(
        [
            r.placement.to_frame().with_columns(pl.lit(r.name).alias("scenario"))
            for r in result.results
        ],
        how="vertical_relaxed",
    ).select("scenario", pl.exclude("scenario"))
    comparison = comparison_frame(result)
    write_csv(placements, folder / "placements.csv")
    write_csv(comparison, folder / "comparison.csv")
    write_xlsx({"comparison": comparison, "placements": placements}, folder / "tables.xlsx")
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
    "write_outputs",
]
