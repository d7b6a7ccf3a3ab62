"""Property tests: damaged RVTools workbooks give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from capplan.errors import CapplanError
from capplan.io import read_trace

HEADER = [
    "VM",
    "Powerstate",
    "Template",
    "CPUs",
    "Memory",
    "Provisioned MiB",
    "In Use MiB",
    "Cluster",
    "Host",
    "OS according to the configuration file",
]
ROWS: list[list[Any]] = [
    ["web01", "poweredOn", "False", 2, 4096, 51200, 20480, "A", "esx01", "Microsoft Windows"],
    ["db01", "poweredOff", "True", 4, 8192, 102400, 40960, "A", "esx02", "Red Hat"],
]
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["True", "False", "poweredOn", "suspended", "1e308", "4,096", "inf"]),
)


def _workbook(header: list[Any], rows: list[list[Any]], extra_sheets: bool = True) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "vInfo"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if extra_sheets:
        host = book.create_sheet("vHost")
        host.append(["Host", "Cluster", "Speed"])
        host.append(["esx01", "A", 2600])
        disk = book.create_sheet("vDisk")
        disk.append(["VM", "Capacity MiB"])
        disk.append(["web01", 1e308])
        disk.append(["web01", 1e308])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SEED = _workbook(HEADER, ROWS, extra_sheets=False)


def _read(data: bytes, fmt: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xlsx"
        path.write_bytes(data)
        check_outcome(lambda: read_trace(path, fmt))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fmt=st.sampled_from(["rvtools", None]))
def test_damaged_bytes(data: st.DataObject, fmt: str | None) -> None:
    _read(data.draw(mutated(SEED, separator=b"<")), fmt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(st.lists(CELLS, min_size=10, max_size=10), min_size=1, max_size=3),
    drop=st.sets(st.integers(0, len(HEADER) - 1), max_size=3),
    extra=st.booleans(),
)
def test_arbitrary_cells_and_missing_columns(
    cells: list[list[Any]], drop: set[int], extra: bool
) -> None:
    header = [name for i, name in enumerate(HEADER) if i not in drop]
    rows = [[c for i, c in enumerate(row) if i not in drop] for row in [*ROWS, *cells]]
    try:
        data = _workbook(header, rows, extra)
    except (ValueError, TypeError, IllegalCharacterError):  # openpyxl's writer refuses these
        return
    _read(data, "rvtools")


def test_xlsx_zip_bombs_are_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.xlsx", expanded_bytes=64 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "rvtools"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
    padded = tmp_path / "padded.xlsx"
    padded.write_bytes(SEED)
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet9.xml", b" " * (32 * 1024**2))
    outcome = check_outcome(lambda: read_trace(padded))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
