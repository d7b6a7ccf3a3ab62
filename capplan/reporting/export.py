"""Tables to CSV and XLSX, with every text cell made safe for spreadsheets.

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is
read by Excel and LibreOffice as a formula, so a VM named ``=HYPERLINK(...)`` could run one
(OWASP "CSV injection"). Such cells are prefixed with a single quote, which spreadsheets show
as text. Numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Return ``value`` with a leading quote when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralize(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with every string cell passed through :func:`safe_text`."""
    pattern = r"^[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String()
    )


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write a formula-safe CSV atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    neutralize(frame).write_csv(tmp)
    tmp.replace(path)
    return path


def write_xlsx(sheets: Mapping[str, pl.DataFrame], path: Path) -> Path:
    """Write one workbook with a sheet per table (names cut to Excel's 31 characters)."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(title=name[:31])
        sheet.append(frame.columns)
        for row in neutralize(frame).iter_rows():
            sheet.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path
