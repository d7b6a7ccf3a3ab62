"""Dashboard settings: where the workspace lives and the limits on uploads and studies.

Every setting can be given to :func:`capplan.dashboard.create_app` or through an environment
variable (so ``gunicorn app:server`` is configured without code):

==========================  =============================================  ==================
variable                    meaning                                        default
==========================  =============================================  ==================
``CAPPLAN_WORKSPACE``       folder of the on-disk workspace                ``~/.local/share/
                                                                           capplan/workspace``
``CAPPLAN_MAX_UPLOAD_MB``   largest upload batch (sum of files), MB        ``200``
``CAPPLAN_MAX_EXPANDED_MB`` largest size a zip or gzip may expand to, MB   ``2000``
``CAPPLAN_MAX_SCENARIOS``   largest number of scenarios in one study       ``24``
``CAPPLAN_SECRET_KEY``      key that signs session cookies (else a random  stored in the
                            key kept in the workspace, file mode 0600)     workspace
==========================  =============================================  ==================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from capplan.errors import CapplanError

BYTES_PER_MB = 1_000_000
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_MAX_EXPANDED_MB = 2000
DEFAULT_MAX_SCENARIOS = 24


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
        Largest number of bytes a zip archive or gzip file may expand to (zip-bomb guard).
    max_scenarios
        Largest number of scenarios one study may expand into.
    secret_key
        Key that signs session cookies; ``None`` means a random key stored in the workspace.
    """

    workspace: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * BYTES_PER_MB
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_MB * BYTES_PER_MB
    max_scenarios: int = DEFAULT_MAX_SCENARIOS
    secret_key: str | None = None

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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["workspace"] = Path(str(values["workspace"])).expanduser().resolve()
        return cls(**values)  # type: ignore[arg-type]


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


def _mb(name: str, default: float) -> int:
    return int(_number(name, default) * BYTES_PER_MB)
