"""Tables to CSV and XLSX, with every text cell made safe for spreadsheets.

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is
read by Excel and LibreOffice as a formula, so a VM named ``=HYPERLINK(...)`` could run one
(OWASP "CSV injection"). In CSV such cells are prefixed with a single quote, which spreadsheets
show as text; in XLSX they are stored as text cells, which is safe without the quote. Numbers
stay numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


def number_format(column: str, dtype: pl.DataType) -> str | None:
    """Excel number format of a column, from its unit suffix (the naming convention)."""
    if dtype.is_integer():
        return "#,##0"
    if not dtype.is_float():
        return None
    if column.endswith("_frac"):
        return "0.00%" if "availability" not in column else "0.000000"
    if column.endswith("_usd"):
        return "#,##0"
    return "#,##0.###"


def write_xlsx(sheets: Mapping[str, pl.DataFrame], path: Path) -> Path:
    """Write one workbook with a sheet per table (names cut to Excel's 31 characters).

    Each sheet has a bold, frozen header row with filters, number formats by unit suffix
    (``_frac`` as percent, ``_usd`` as whole dollars) and columns sized to their content.
    Text cells are stored as text (never as formulas), so nothing needs a visible quote.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(title=name[:31])
        formats = [number_format(c, t) for c, t in frame.schema.items()]
        widths = [len(c) for c in frame.columns]
        for col, title in enumerate(frame.columns, start=1):
            cell = sheet.cell(row=1, column=col, value=title)
            cell.font = bold
        for r, row in enumerate(frame.iter_rows(), start=2):
            for col, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=col, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even when it starts with "="
                    widths[col - 1] = max(widths[col - 1], min(len(value), 60))
                elif value is not None and formats[col - 1] is not None:
                    cell.number_format = formats[col - 1]
                    widths[col - 1] = max(widths[col - 1], 12)
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width + 2
        sheet.freeze_panes = "A2"
        if frame.width:
            sheet.auto_filter.ref = f"A1:{get_column_letter(frame.width)}{max(frame.height, 1) + 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path
