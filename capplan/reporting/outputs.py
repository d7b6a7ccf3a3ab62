"""The files of a study run, one layout for the CLI (``capplan report``/``demo``) and the dashboard.

Given the report's path ``R`` and a folder ``F`` (default ``R``'s stem + ``_files`` beside it):

- ``R``: the self-contained HTML report;
- ``F/comparison.csv``: today's estate and every scenario, one row each (the indicators of
  :data:`capplan.results.INDICATORS` and the deltas against today);
- ``F/placements.csv``: every scenario's placement, with a ``scenario`` column;
- ``F/tables.xlsx``: both tables as sheets ``comparison`` and ``placements``;
- ``F/results/``: the saved :class:`capplan.results.StudyResult` (loads back without loss).

CSV and XLSX cells that a spreadsheet would run as formulas are neutralized
(:mod:`capplan.reporting.export`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from capplan.reporting.export import write_csv, write_xlsx
from capplan.reporting.html import comparison_frame, write_report
from capplan.results import StudyResult

#: Name of the saved result inside the output folder.
RESULTS_DIR = "results"


@dataclass(frozen=True)
class StudyOutputs:
    """Where a study run's files were written."""

    report: Path
    comparison_csv: Path
    placements_csv: Path
    xlsx: Path
    results: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready paths (``csv``: comparison, then placements)."""
        return {
            "report": str(self.report),
            "csv": [str(self.comparison_csv), str(self.placements_csv)],
            "xlsx": str(self.xlsx),
            "results": str(self.results),
        }


def placements_frame(result: StudyResult) -> pl.DataFrame:
    """Every scenario's placement in one table, ``scenario`` first."""
    frames = [
        r.placement.to_frame().with_columns(pl.lit(r.name).alias("scenario"))
        for r in result.results
    ]
    if not frames:
        return pl.DataFrame({"scenario": []}, schema={"scenario": pl.String})
    return pl.concat(frames, how="vertical_relaxed").select("scenario", pl.exclude("scenario"))


def write_study_outputs(
    result: StudyResult, report_path: Path, folder: Path | None = None
) -> StudyOutputs:
    """Write the report, the tables and the saved result (see the module docstring)."""
    folder = folder or report_path.with_name(report_path.stem + "_files")
    folder.mkdir(parents=True, exist_ok=True)
    report = write_report(result, report_path)
    comparison = comparison_frame(result)
    placements = placements_frame(result)
    outputs = StudyOutputs(
        report=report,
        comparison_csv=write_csv(comparison, folder / "comparison.csv"),
        placements_csv=write_csv(placements, folder / "placements.csv"),
        xlsx=write_xlsx(
            {"comparison": comparison, "placements": placements}, folder / "tables.xlsx"
        ),
        results=result.save(folder / RESULTS_DIR),
    )
    return outputs
