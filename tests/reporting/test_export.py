"""Formula-safe CSV and XLSX export."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
from openpyxl import load_workbook

from capplan.reporting.export import safe_text, write_csv, write_xlsx

FRAME = pl.DataFrame(
    {
        "vm_id": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "web-01", "\tTab"],
        "cpu_mhz": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


def test_safe_text() -> None:
    assert safe_text("=1+1") == "'=1+1"
    assert safe_text("web-01") == "web-01"
    assert safe_text("") == ""


def test_csv_cells_neutralized_numbers_kept(tmp_path: Path) -> None:
    back = pl.read_csv(write_csv(FRAME, tmp_path / "t.csv"))
    assert all(not v.startswith(("=", "+", "-", "@", "\t")) for v in back["vm_id"])
    assert back["vm_id"][4] == "web-01"
    assert back["cpu_mhz"].to_list() == FRAME["cpu_mhz"].to_list()


def test_xlsx_cells_are_text_not_formulas(tmp_path: Path) -> None:
    path = write_xlsx({"placement": FRAME}, tmp_path / "t.xlsx")
    sheet = load_workbook(path)["placement"]
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    # Stored as text cells: safe, and shown as typed (no visible quote).
    assert values[0] == '=HYPERLINK("http://x")'
    assert all(row[0].data_type == "s" for row in sheet.iter_rows(min_row=2))
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere
    assert sheet.cell(row=3, column=2).value == -2.0


def test_xlsx_has_header_filters_and_number_formats(tmp_path: Path) -> None:
    frame = pl.DataFrame({"vm_id": ["a"], "n_hosts": [3], "gap_frac": [0.0123], "tco_usd": [1.5e6]})
    sheet = load_workbook(write_xlsx({"t": frame}, tmp_path / "f.xlsx"))["t"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D2"
    assert sheet.cell(row=1, column=1).font.bold
    formats = [sheet.cell(row=2, column=c).number_format for c in (2, 3, 4)]
    assert formats == ["#,##0", "0.00%", "#,##0"]
