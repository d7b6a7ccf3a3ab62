"""Where the bundled demo workload lives (``workloads/demo`` beside the package)."""

from __future__ import annotations

from pathlib import Path

from capplan.errors import CapplanError
from capplan.resources import bundled_dir


def demo_workload_path() -> Path:
    """Return the bundled demo workload folder (its ``workload.toml`` generates the trace).

    Raises
    ------
    CapplanError
        If the folder is not next to the package (a non-editable install without it).
    """
    folder = bundled_dir("workloads") / "demo"
    if not (folder / "workload.toml").is_file():
        raise CapplanError(
            "the bundled demo workload was not found next to the capplan package", path=folder
        )
    return folder
