"""Canonical CSV / inventory / Parquet readers, merging and the shared file guards."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import polars as pl
import pytest

from capplan.errors import TraceFormatError, UnknownFormatError
from capplan.io import Problem, Trace, detect_format, parse_source, read_trace, read_traces
from capplan.io.canonical import write_canonical_parquet

USAGE = (
    "vm_id,timestamp,cpu_demand_mhz,mem_active_mib\n"
    "a,2024-01-01T00:00:00Z,100,200\n"
    "a,2024-01-01T00:05:00Z,120,210\n"
    "b,2024-01-01T00:00:00Z,50,30\n"
)
INVENTORY = "vm_id,n_vcpus,mem_provisioned_mib,os_family\na,2,4096,linux\nb,1,1024,windows\n"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_usage_csv_detected_and_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "u.csv", USAGE)
    assert detect_format(path) == "canonical-csv"
    trace = read_trace(path)
    usage = trace.usage.collect()
    assert usage.height == 3
    assert usage.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert usage.get_column("cpu_demand_mhz").to_list() == [100.0, 120.0, 50.0]
    assert usage.get_column("disk_read_iops").null_count() == 3


def test_inventory_merges_by_vm_id(tmp_path: Path) -> None:
    usage = _write(tmp_path, "u.csv", USAGE)
    inventory = _write(tmp_path, "inv.csv", INVENTORY)
    assert detect_format(inventory) == "canonical-inventory"
    trace = read_traces([usage, inventory])
    inv = trace.inventory.sort("vm_id")
    assert inv.get_column("n_vcpus").to_list() == [2, 1]
    assert inv.get_column("os_family").to_list() == ["linux", "windows"]


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        (USAGE.replace("120", "1x0"), 3, "cpu_demand_mhz", "not a number"),
        (USAGE.replace("120", "-5"), 3, "cpu_demand_mhz", "non-negative"),
        (USAGE.replace("120", "inf"), 3, "cpu_demand_mhz", "finite"),
        (USAGE.replace("2024-01-01T00:05:00Z", "yesterday"), 3, "timestamp", "ISO 8601"),
        (USAGE.replace("b,2024", ",2024"), 4, "vm_id", "empty"),
    ],
)
def test_bad_cells_are_located(
    tmp_path: Path, text: str, line: int, column: str, expected: str
) -> None:
    path = _write(tmp_path, "u.csv", text)
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "canonical-csv")
    assert info.value.line == line
    assert info.value.column == column
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_ragged_line_and_unknown_column(tmp_path: Path) -> None:
    ragged = _write(tmp_path, "r.csv", USAGE + "c,2024-01-01T00:00:00Z,1,2,3\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(ragged, "canonical-csv")
    assert info.value.line == 5
    unknown = _write(tmp_path, "x.csv", "vm_id,timestamp,cpu_pct\na,2024-01-01,5\n")
    with pytest.raises(TraceFormatError, match="unknown column"):
        read_trace(unknown, "canonical-csv")


def test_non_utf8_and_empty_and_junk(tmp_path: Path) -> None:
    bad = _write(tmp_path, "b.csv", USAGE.encode().replace(b"120", b"\xff\xfe0"))
    with pytest.raises(TraceFormatError, match="UTF-8"):
        read_trace(bad, "canonical-csv")
    empty = _write(tmp_path, "e.csv", "")
    with pytest.raises(UnknownFormatError):
        read_trace(empty)
    junk = _write(tmp_path, "j.bin", bytes(range(256)) * 10)
    with pytest.raises(UnknownFormatError, match="format not recognised"):
        read_trace(junk)


def test_unknown_format_name_lists_valid_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "u.csv", USAGE)
    with pytest.raises(UnknownFormatError, match="canonical-csv"):
        read_trace(path, "nope")
    assert parse_source("canonical-csv:/x/y.csv") == ("canonical-csv", Path("/x/y.csv"))
    assert parse_source("/x/y.csv") == (None, Path("/x/y.csv"))


def test_parquet_round_trip_keeps_inventory(tmp_path: Path) -> None:
    trace = read_traces([_write(tmp_path, "u.csv", USAGE), _write(tmp_path, "i.csv", INVENTORY)])
    out = write_canonical_parquet(trace, tmp_path / "out.parquet")
    assert detect_format(out) == "parquet"
    back = read_trace(out)
    assert back.problems == trace.problems
    assert back.usage.collect().equals(trace.usage.collect())
    assert back.inventory.sort("vm_id").equals(trace.inventory.sort("vm_id"))


def test_zip_bomb_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.csv", b"0" * (64 * 1024 * 1024))
    with pytest.raises(TraceFormatError, match="zip bomb"):
        read_trace(bomb)
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as archive:
        archive.writestr("../escape.csv", USAGE)
    with pytest.raises(TraceFormatError, match="unsafe path"):
        read_trace(unsafe)


def test_gzip_bomb_refused_by_its_ratio_long_before_the_absolute_cap(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        handle.write(USAGE.encode())  # a valid start, then 256 MiB of one repeated row
        row = USAGE.splitlines()[1].encode() + b"\n"
        block = row * (1024 * 1024 // len(row))
        for _ in range(256):
            handle.write(block)
    assert bomb.stat().st_size < 2 * 1024**2
    with pytest.raises(TraceFormatError, match="gzip bomb") as caught:
        read_trace(bomb)
    assert "bomb.csv.gz" in str(caught.value)
    small = tmp_path / "small.csv.gz"  # an ordinary gzip file still reads
    with gzip.open(small, "wb") as handle:
        handle.write(USAGE.encode())
    assert (
        read_trace(small).usage.collect().height
        == read_trace(_write(tmp_path, "plain.csv", USAGE)).usage.collect().height
    )


def test_parquet_keeps_reader_problems(tmp_path: Path) -> None:
    trace = read_trace(_write(tmp_path, "u.csv", USAGE))
    noted = Trace(
        usage=trace.usage,
        inventory=trace.inventory,
        format=trace.format,
        sources=trace.sources,
        problems=(Problem("3 rows had a clock skew", path="u.csv", line=4, count=3),),
    )
    back = read_trace(write_canonical_parquet(noted, tmp_path / "n.parquet"))
    assert back.problems == noted.problems


def test_kernel_share_is_read_and_checked(tmp_path: Path) -> None:
    good = _write(tmp_path, "k.csv", "vm_id,n_vcpus,cpu_kernel_frac\na,2,0.25\nb,1,\n")
    share = read_trace(good).inventory.sort("vm_id").get_column("cpu_kernel_frac").to_list()
    assert share == [0.25, None]
    bad = _write(tmp_path, "bad.csv", "vm_id,n_vcpus,cpu_kernel_frac\na,2,0.25\nb,1,1.5\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(bad)
    err = info.value
    assert (err.line, err.column) == (3, "cpu_kernel_frac") and "[0, 1]" in str(err)
