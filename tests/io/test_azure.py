"""Azure Public Dataset reader: hand-written vmtable + readings and the real sample."""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip

from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace
from capplan.io.azure import AZURE_DEFAULT_CORE_MHZ

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"


def test_fixture_units_and_problems() -> None:
    assert detect_format(FIXTURES) == "azure"
    trace = read_trace(FIXTURES, "azure")
    inventory = {r["vm_id"]: r for r in trace.inventory.iter_rows(named=True)}
    assert inventory["vmA"]["n_vcpus"] == 2
    assert inventory["vmA"]["mem_provisioned_mib"] == 3.5 * 1024
    assert inventory["vmA"]["cpu_capacity_mhz"] == 2 * AZURE_DEFAULT_CORE_MHZ
    assert inventory["vmB"]["n_vcpus"] == 24 and inventory["vmB"]["mem_provisioned_mib"] == 65536
    assert inventory["vmC"]["os_family"] is None
    assert inventory["vmZ"]["cpu_capacity_mhz"] == ReadOptions().default_vm_cpu_mhz
    usage = trace.usage.collect().sort("vm_id", "timestamp")
    a = usage.filter(pl.col("vm_id") == "vmA")
    assert a.get_column("cpu_demand_mhz").to_list() == [0.25 * 4800, 0.5 * 4800]
    assert a.get_column("timestamp").to_list() == [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 5, tzinfo=UTC),
    ]
    text = " ".join(p.message for p in trace.problems)
    assert "open-ended size bucket" in text
    assert "not an OS" in text and "Unkown 1" in text
    assert "1 VM(s) have CPU readings but no vmtable row" in text
    assert "1 vmtable VM(s) have no CPU readings" in text
    assert "not dated" in text


def test_start_date_and_core_clock_options() -> None:
    options = replace(ReadOptions(), extra={"azure_start": "2016-11-16", "azure_core_mhz": 2000})
    trace = read_trace(FIXTURES, "azure", options)
    usage = trace.usage.collect().filter(pl.col("vm_id") == "vmA").sort("timestamp")
    assert usage.get_column("timestamp")[0] == datetime(2016, 11, 16, tzinfo=UTC)
    assert usage.get_column("cpu_demand_mhz")[0] == 0.25 * 4000
    assert not any("not dated" in p.message for p in trace.problems)


def test_bad_reading_names_line(tmp_path: Path) -> None:
    (tmp_path / "vmtable.csv").write_bytes((FIXTURES / "vmtable.csv").read_bytes())
    with gzip.open(tmp_path / "r.csv.gz", "wb") as handle:
        handle.write(b"0,vmA,1,2,3\n300,vmA,1,2,-4\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(tmp_path, "azure")
    assert info.value.line == 2 and info.value.column == "avgcpu"


def test_empty_vmid_in_the_vmtable_names_its_line(tmp_path: Path) -> None:
    # found by test_fuzz_azure: a row without a vmid crashed the "no readings" report
    (tmp_path / "vmtable.csv").write_bytes(
        b"vmA,sub1,dep1,0,600,90.5,40.0,80.0,Interactive,2,3.5\n"
        b",sub1,dep2,300,900,50.0,10.0,45.0,Delay-insensitive,>24,>64\n"
    )
    (tmp_path / "r.csv").write_bytes(b"0,vmA,1,2,3\n")
    with pytest.raises(TraceFormatError, match="vmid is empty") as info:
        read_trace(tmp_path, "azure")
    assert info.value.line == 2 and info.value.column == "vmid"
    (tmp_path / "r.csv").unlink()
    with pytest.raises(TraceFormatError, match="vmid is empty"):
        read_trace(tmp_path, "azure")


def test_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "vmtable.csv").write_bytes((FIXTURES / "vmtable.csv").read_bytes())
    rows = b"".join(b"%d,vmA,1.%d,2.%d,3.%d\n" % (300 * i, i, i * 7, i * 13) for i in range(2000))
    packed = gzip.compress(rows)
    (tmp_path / "r.csv.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(TraceFormatError):
        read_trace(tmp_path, "azure")


@pytest.mark.shared_data
def test_real_sample() -> None:
    root = shared_or_skip("data", "azure-public-dataset-v1")
    assert detect_format(root) == "azure"
    trace = read_trace(root)
    usage = trace.usage.collect()
    assert usage.height == 100 and usage.get_column("vm_id").n_unique() == 100
    assert usage.get_column("timestamp").unique().to_list() == [datetime(1970, 1, 1, tzinfo=UTC)]
    listed = trace.inventory.filter(pl.col("n_vcpus").is_not_null())
    assert listed.height == 10
    assert sorted(listed.get_column("n_vcpus").unique().to_list()) == [1, 8]
    assert sorted(listed.get_column("mem_provisioned_mib").unique().to_list()) == [
        0.75 * 1024,
        1.75 * 1024,
        56 * 1024,
    ]
    text = " ".join(p.message for p in trace.problems)
    assert "100 VM(s) have CPU readings but no vmtable row" in text
    assert "10 vmtable VM(s) have no CPU readings" in text
