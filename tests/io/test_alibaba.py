"""Alibaba cluster-trace-v2018 reader: hand-written files and the real excerpt."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip

from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace
from capplan.io.alibaba import ALIBABA_DEFAULT_CORE_MHZ, ALIBABA_DEFAULT_MEM_GIB_AT_100

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alibaba"


def test_fixture_units_meta_and_abnormal_values() -> None:
    assert detect_format(FIXTURES) == "alibaba"
    trace = read_trace(FIXTURES, "alibaba")
    inventory = {r["vm_id"]: r for r in trace.inventory.iter_rows(named=True)}
    assert set(inventory) == {"m_1", "m_2"}
    # m_2's latest meta row (time 100) says 64 CPUs, mem_size 50.
    assert inventory["m_2"]["n_vcpus"] == 64
    assert inventory["m_2"]["cpu_capacity_mhz"] == 64 * ALIBABA_DEFAULT_CORE_MHZ
    assert inventory["m_2"]["mem_provisioned_mib"] == 0.5 * ALIBABA_DEFAULT_MEM_GIB_AT_100 * 1024
    assert inventory["m_1"]["powered_on"] is True
    usage = trace.usage.collect().sort("vm_id", "timestamp")
    m1 = usage.filter(pl.col("vm_id") == "m_1")
    assert m1.get_column("cpu_demand_mhz").to_list() == pytest.approx([24000, 48000, 72000])
    assert m1.get_column("mem_active_mib")[0] == pytest.approx(0.5 * 384 * 1024)
    assert m1.get_column("timestamp")[1] == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    m2 = usage.filter(pl.col("vm_id") == "m_2")
    assert m2.get_column("cpu_demand_mhz")[1] is None  # empty field stays null
    abnormal = next(p for p in trace.problems if "abnormal" in p.message)
    assert abnormal.count == 2 and abnormal.line == 2 and "-1: 1, 101: 1" in abnormal.message


def test_usage_alone_and_settings(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "machine_usage.csv", tmp_path / "machine_usage.csv")
    options = replace(
        ReadOptions(),
        extra={
            "alibaba_core_mhz": 2000,
            "alibaba_mem_gib_at_100": 256,
            "alibaba_start": "2018-01-01T00:00:00",
        },
    )
    trace = read_trace(tmp_path / "machine_usage.csv", "alibaba", options)
    inventory = trace.inventory.sort("vm_id").row(0, named=True)
    assert inventory["cpu_capacity_mhz"] == 96 * 2000
    assert inventory["mem_provisioned_mib"] == 256 * 1024
    assert any("no machine_meta" in p.message for p in trace.problems)
    first = trace.usage.collect().get_column("timestamp").min()
    assert first == datetime(2018, 1, 1, tzinfo=UTC)


def test_bad_setting_and_bad_value(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="alibaba_core_mhz"):
        read_trace(FIXTURES, "alibaba", replace(ReadOptions(), extra={"alibaba_core_mhz": "x"}))
    (tmp_path / "machine_usage.csv").write_text("m_1,0,10,50,,,1,1,5\nm_1,10,-10,50,,,1,1,5\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(tmp_path, "alibaba")
    assert info.value.line == 2 and info.value.column == "cpu_util_percent"


@pytest.mark.shared_data
def test_real_excerpt() -> None:
    root = shared_or_skip("data", "alibaba-cluster-trace-v2018")
    assert detect_format(root) == "alibaba"
    trace = read_trace(root)
    assert trace.inventory.height == 16
    usage = trace.usage.collect()
    assert usage.height == 100_002
    abnormal = next(p for p in trace.problems if "abnormal" in p.message)
    assert abnormal.count == 16 and "-1: 6, 101: 10" in abnormal.message
    cpu = usage.get_column("cpu_demand_mhz")
    assert cpu.min() == pytest.approx(0.03 * 96 * 2500) and cpu.max() == pytest.approx(
        0.94 * 96 * 2500
    )
    assert usage.filter(pl.col("vm_id") == "m_1947").height == 1148
    assert set(trace.inventory.get_column("n_vcpus").to_list()) == {96}
