"""Dashboard settings: where the workspace lives and the limits on uploads and studies.

Every setting can be given to :func:`capplan.dashboard.create_app` or through an environment
variable (so ``gunicorn app:server`` is configured without code):

==========================  =============================================  ==================
variable                    meaning                                        default
==========================  =============================================  ==================
``CAPPLAN_WORKSPACE``       folder of the on-disk workspace                ``~/.local/share/
                                                                           capplan/workspace``
``CAPPLAN_MAX_UPLOAD_MB``   largest upload batch (sum of files), MB        ``200``
``CAPPLAN_MAX_EXPANDED_MB`` largest size an upload may expand to (zips     ``1000``
                            and gzip files, counted while expanding), MB
``CAPPLAN_MAX_SCENARIOS``   largest number of scenarios in one study       ``24``
``CAPPLAN_MAX_RUNS``        runs executed at once, server-wide (the        ``2``
                            others wait in the queue)
``CAPPLAN_MAX_SOLVER_S``    largest solver time limit per scenario, s      ``600``
``CAPPLAN_RUN_MEMORY_MB``   address-space limit of a run's worker, MB      ``8000``
``CAPPLAN_RUN_CPU_S``       CPU-time limit of a run's worker, s            ``14400``
``CAPPLAN_INGEST_MEMORY_MB`` address-space limit of an upload's reader, MB ``8000``
``CAPPLAN_INGEST_CPU_S``    CPU-time limit of an upload's reader, s        ``600``
``CAPPLAN_SECRET_KEY``      key that signs session cookies (else a random  stored in the
                            key kept in the workspace, file mode 0600)     workspace
``CAPPLAN_DASK_WORKERS``    run studies on a local Dask cluster of this    ``0`` (in the run's
                            many worker processes, started with the first  own process)
                            run and kept for the next ones
``CAPPLAN_DASK_SCHEDULER``  run studies on this existing Dask cluster      none
                            (``tcp://host:8786``)
==========================  =============================================  ==================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from capplan.errors import CapplanError

BYTES_PER_MB = 1_000_000
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_MAX_EXPANDED_MB = 1000
DEFAULT_MAX_SCENARIOS = 24
DEFAULT_MAX_RUNS = 2
DEFAULT_MAX_SOLVER_S = 600.0
DEFAULT_RUN_MEMORY_MB = 8000
DEFAULT_RUN_CPU_S = 14400.0
DEFAULT_INGEST_MEMORY_MB = 8000
DEFAULT_INGEST_CPU_S = 600.0


def default_workspace() -> Path:
    """The workspace folder used when neither an argument nor ``CAPPLAN_WORKSPACE`` names one."""
    return Path.home() / ".local" / "share" / "capplan" / "workspace"


@dataclass(frozen=True)
class Settings:
    """Dashboard settings (frozen; one instance per app).

    Attributes
    ----------
    workspace
        Folder holding the run catalog (SQLite), uploads and results (Parquet, JSON, HTML).
    max_upload_bytes
        Largest total size of one upload batch (decoded bytes).
    max_expanded_bytes
        Largest number of bytes the zip archives and gzip files of one upload may expand to
        together (zip-bomb guard, counted while expanding, before anything is parsed).
    max_scenarios
        Largest number of scenarios one study may expand into.
    max_runs
        Runs executed at once by the whole server (all its processes); more wait, queued.
    max_solver_s
        Largest solver time limit (``time_limit_s``) a study may ask for, per scenario.
    run_memory_bytes, run_cpu_s
        Address-space and CPU-time limits of a run's worker process (``RLIMIT_AS``,
        ``RLIMIT_CPU``).
    ingest_memory_bytes, ingest_cpu_s
        The same limits for the process that reads an upload.
    secret_key
        Key that signs session cookies; ``None`` means a random key stored in the workspace.
    dask_workers, dask_scheduler
        Run studies on Dask: a local cluster of ``dask_workers`` processes that the run queue
        starts with its first run and reuses for every later one (0: no cluster), or an
        existing cluster at ``dask_scheduler`` (which wins).
    """

    workspace: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * BYTES_PER_MB
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_MB * BYTES_PER_MB
    max_scenarios: int = DEFAULT_MAX_SCENARIOS
    secret_key: str | None = None
    max_runs: int = DEFAULT_MAX_RUNS
    max_solver_s: float = DEFAULT_MAX_SOLVER_S
    run_memory_bytes: int = DEFAULT_RUN_MEMORY_MB * BYTES_PER_MB
    run_cpu_s: float = DEFAULT_RUN_CPU_S
    ingest_memory_bytes: int = DEFAULT_INGEST_MEMORY_MB * BYTES_PER_MB
    ingest_cpu_s: float = DEFAULT_INGEST_CPU_S
    dask_workers: int = 0
    dask_scheduler: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``CAPPLAN_*`` environment variables; keyword arguments win.

        Raises
        ------
        CapplanError
            If a variable is not a positive number.
        """
        values: dict[str, object] = {
            "workspace": Path(os.environ.get("CAPPLAN_WORKSPACE") or default_workspace()),
            "max_upload_bytes": _mb("CAPPLAN_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
            "max_expanded_bytes": _mb("CAPPLAN_MAX_EXPANDED_MB", DEFAULT_MAX_EXPANDED_MB),
            "max_scenarios": int(_number("CAPPLAN_MAX_SCENARIOS", DEFAULT_MAX_SCENARIOS)),
            "secret_key": os.environ.get("CAPPLAN_SECRET_KEY") or None,
            "max_runs": int(_number("CAPPLAN_MAX_RUNS", DEFAULT_MAX_RUNS)),
            "max_solver_s": _number("CAPPLAN_MAX_SOLVER_S", DEFAULT_MAX_SOLVER_S),
            "run_memory_bytes": _mb("CAPPLAN_RUN_MEMORY_MB", DEFAULT_RUN_MEMORY_MB),
            "run_cpu_s": _number("CAPPLAN_RUN_CPU_S", DEFAULT_RUN_CPU_S),
            "ingest_memory_bytes": _mb("CAPPLAN_INGEST_MEMORY_MB", DEFAULT_INGEST_MEMORY_MB),
            "ingest_cpu_s": _number("CAPPLAN_INGEST_CPU_S", DEFAULT_INGEST_CPU_S),
            "dask_workers": _count("CAPPLAN_DASK_WORKERS"),
            "dask_scheduler": os.environ.get("CAPPLAN_DASK_SCHEDULER") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["workspace"] = Path(str(values["workspace"])).expanduser().resolve()
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.max_runs < 1:
            raise CapplanError("CAPPLAN_MAX_RUNS: at least one run must be allowed at once")
        return settings


def _number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise CapplanError(f"environment variable {name}={text!r}: expected a positive number")
    return value


def _count(name: str) -> int:
    """A whole number >= 0 from the environment (0 when unset)."""
    text = (os.environ.get(name) or "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise CapplanError(f"environment variable {name}={text!r}: expected a whole number >= 0")
    return int(text)


def _mb(name: str, default: float) -> int:
    return int(_number(name, default) * BYTES_PER_MB)
