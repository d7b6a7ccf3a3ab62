"""Bitbrains GWA-T-12 reader: hand-written fixtures and the real sample in ../shared."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip

from capplan.errors import TraceFormatError
from capplan.io import detect_format, read_trace
from capplan.units import MBPS_PER_KIB_S

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitbrains" / "vms"


def _messages(trace: object) -> str:
    return "\n".join(p.render() for p in trace.problems)  # type: ignore[attr-defined]


def test_fixture_units_inventory_and_problems() -> None:
    trace = read_trace(FIXTURES, "bitbrains")
    usage = trace.usage.collect().sort("vm_id", "timestamp")
    # 1.csv: 6 rows in July (one exact duplicate dropped) + 2 in August; 7.csv: 2 rows.
    assert usage.height == 5 + 2 + 2
    first = usage.filter(pl.col("vm_id") == "1").row(0, named=True)
    assert first["timestamp"] == datetime(2013, 6, 30, 22, 0, tzinfo=UTC)
    assert first["cpu_demand_mhz"] == 520.0
    assert first["mem_active_mib"] == 1024.0  # 1,048,576 KiB
    assert first["disk_read_mib_s"] == 1.0 and first["disk_write_mib_s"] == 2.0
    assert first["net_rx_mbps"] == pytest.approx(125.0 * MBPS_PER_KIB_S)
    assert first["net_rx_mbps"] == pytest.approx(1.024)
    assert first["disk_read_iops"] is None
    off = usage.filter(pl.col("timestamp") == datetime(2013, 6, 30, 22, 10, tzinfo=UTC))
    assert off.get_column("mem_active_mib").to_list() == [0.0]  # VM off: demand 0
    inventory = trace.inventory.sort("vm_id")
    one = inventory.row(0, named=True)
    assert (one["vm_id"], one["n_vcpus"], one["cpu_capacity_mhz"]) == ("1", 2, 5200.0)
    assert one["mem_provisioned_mib"] == 4096.0  # most common, not the August 8 GiB row
    assert inventory.row(1, named=True)["mem_provisioned_mib"] == 2048.0
    text = _messages(trace)
    assert "1 exact duplicate rows dropped" in text
    assert "1 rows with 0 cores" in text
    assert "1 rows with CPU usage above" in text and "2013-7/1.csv:3" in text
    assert "rows with memory usage above" in text
    assert "provisioned memory changes" in text
    assert "CPU capacity changes" not in text  # 5200.000001 is jitter, not a change
    assert "appear in several files" in text
    assert trace.native_step_s == 300.0


def test_detects_by_content(tmp_path: Path) -> None:
    target = tmp_path / "renamed.dat"
    shutil.copy(FIXTURES / "2013-7" / "7.csv", target)
    assert detect_format(target) == "bitbrains"
    trace = read_trace(target, "bitbrains")
    assert trace.inventory.get_column("vm_id").to_list() == ["renamed"]


def test_zip_gives_same_rows(tmp_path: Path) -> None:
    archive = tmp_path / "vms.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(FIXTURES.rglob("*.csv")):
            handle.write(path, path.relative_to(FIXTURES).as_posix())
    from_zip = read_trace(archive, "bitbrains").usage.collect().sort("vm_id", "timestamp")
    from_dir = read_trace(FIXTURES, "bitbrains").usage.collect().sort("vm_id", "timestamp")
    assert from_zip.equals(from_dir)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("1372629600;\t2;\tabc;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0", "CPU capacity"),
        ("1372629600;\t2;\t5200.0;\t-5.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0", "CPU usage"),
        ("1372629600;\t2;\t5200.0;\tnan;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0", "CPU usage"),
        ("1372629600;\t2;\t5200.0;\t1.0;\t1.0;\t1.0", None),
        ("12;\t2;\t5200.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0", "Timestamp"),
    ],
)
def test_bad_values_name_file_line_column(tmp_path: Path, row: str, column: str | None) -> None:
    good = (FIXTURES / "2013-7" / "7.csv").read_text().splitlines()
    target = tmp_path / "9.csv"
    target.write_text("\n".join([*good, row]) + "\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(tmp_path, "bitbrains")
    assert info.value.path is not None and info.value.path.endswith("9.csv")
    assert info.value.line == 4
    if column:
        assert column in str(info.value.column)


def test_wrong_header_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "1.csv").write_text("Timestamp,CPU cores\n1,2\n")
    with pytest.raises(TraceFormatError, match="GWA-T-12 header"):
        read_trace(tmp_path, "bitbrains")


def test_millisecond_timestamps_are_detected(tmp_path: Path) -> None:
    lines = (FIXTURES / "2013-7" / "7.csv").read_text().splitlines()
    fixed = [lines[0]] + [
        line.replace("13726", "13726000", 1)[:0]
        + line.split(";", 1)[0]
        + "000;"
        + line.split(";", 1)[1]
        for line in lines[1:]
    ]
    (tmp_path / "7.csv").write_text("\n".join(fixed) + "\n")
    trace = read_trace(tmp_path, "bitbrains")
    assert "milliseconds" in _messages(trace)
    first = trace.usage.collect().get_column("timestamp")[0]
    assert first == datetime(2013, 6, 30, 22, 0, tzinfo=UTC)


@pytest.mark.shared_data
def test_real_sample_counts_and_units() -> None:
    root = shared_or_skip("data", "bitbrains-gwa-t-12")
    trace = read_trace(root / "rnd" / "2013-7" / "122.csv", "bitbrains")
    problems = {p.message.split(" ", 1)[1][:20]: p for p in trace.problems}
    exact = next(p for p in trace.problems if "exact duplicate" in p.message)
    assert exact.count == 4218
    repeated = next(p for p in trace.problems if "repeat a timestamp" in p.message)
    assert exact.count + repeated.count == 4220  # SOURCE.md: 4,220 duplicated timestamps
    off = next(p for p in trace.problems if "0 cores" in p.message)
    assert off.count >= 12_197 - 4218 and off.count <= 12_197
    usage = trace.usage.collect()
    assert usage.height == 16_640 - 4218
    inventory = trace.inventory.row(0, named=True)
    assert inventory["n_vcpus"] == 4 and inventory["cpu_capacity_mhz"] == 10400.0
    assert inventory["mem_provisioned_mib"] / 1024 == pytest.approx(15.9, abs=0.1)
    assert problems  # the dict is built without error


@pytest.mark.shared_data
def test_real_sample_whole_folder() -> None:
    root = shared_or_skip("data", "bitbrains-gwa-t-12")
    assert detect_format(root) == "bitbrains"
    trace = read_trace(root)
    inventory = trace.inventory.sort("vm_id")
    assert inventory.height == 11  # SOURCE.md: 11 distinct VMs in 15 files
    by_id = {row["vm_id"]: row for row in inventory.iter_rows(named=True)}
    assert by_id["24"]["n_vcpus"] == 32 and by_id["24"]["cpu_capacity_mhz"] == 86400.0
    assert by_id["bitbrains"]["mem_provisioned_mib"] == 2048.0
    usage = trace.usage.collect()
    assert usage.height == 103_815 - 4218
    assert usage.get_column("timestamp").min() == datetime(2013, 6, 30, 22, 3, 24, tzinfo=UTC)
    single = read_trace(root / "rnd" / "2013-7" / "53.csv")
    over = next(p for p in single.problems if "CPU usage above" in p.message)
    assert over.count == 1711


@pytest.mark.shared_data
def test_opendc_pair() -> None:
    root = shared_or_skip("data", "opendc-bitbrains-small")
    assert detect_format(root) == "opendc"
    trace = read_trace(root)
    assert trace.inventory.height == 50
    usage = trace.usage.collect()
    assert usage.get_column("vm_id").n_unique() == 50
    assert usage.get_column("timestamp").min() == datetime(2013, 8, 12, 13, 35, 46, tzinfo=UTC)
    first = trace.inventory.filter(pl.col("vm_id") == "1019").row(0, named=True)
    assert first["mem_provisioned_mib"] == pytest.approx(181352 / 1024)
    assert first["cpu_capacity_mhz"] == pytest.approx(2926.000135)
    assert any("mem_capacity read as KiB" in p.message for p in trace.problems)
