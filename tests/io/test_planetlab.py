"""PlanetLab reader: hand-written day folder and the real CloudSim days in ../shared."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip

from capplan.demand import load_workload
from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace, read_traces
from capplan.io.planetlab import CLOUDSIM_VM_TYPES, cloudsim_types

DAY = Path(__file__).resolve().parents[1] / "fixtures" / "planetlab" / "20110303"


def test_cloudsim_types_follow_sorted_order() -> None:
    trace = read_trace(DAY, "planetlab")
    inventory = trace.inventory
    # Python sorted(): "node b slice" (space) sorts before "node_a_slice".
    assert inventory.get_column("vm_id").to_list() == [
        "node b slice",
        "node_a_slice",
        "node_c_slice",
        "node_d_slice",
        "node_e_slice",
    ]
    # n = 5 -> ceil(5/4) = 2 VMs per type: types 0, 0, 1, 1, 2.
    assert inventory.get_column("cpu_capacity_mhz").to_list() == [2500, 2500, 2000, 2000, 1000]
    assert inventory.get_column("mem_provisioned_mib").to_list() == [870, 870, 1740, 1740, 1740]
    assert cloudsim_types(1052).tolist()[262:264] == [0, 1]
    assert len(CLOUDSIM_VM_TYPES) == 4


def test_demand_and_timestamps() -> None:
    usage = read_trace(DAY, "planetlab").usage.collect()
    assert usage.height == 5 * 288
    a = usage.filter(pl.col("vm_id") == "node_a_slice").sort("timestamp")
    assert a.get_column("cpu_demand_mhz").to_list()[:4] == [250.0, 500.0, 750.0, 1000.0]
    assert a.get_column("timestamp")[0] == datetime(2011, 3, 3, tzinfo=UTC)
    assert a.get_column("timestamp")[287] == datetime(2011, 3, 3, 23, 55, tzinfo=UTC)
    b = usage.filter(pl.col("vm_id") == "node b slice")
    assert b.get_column("cpu_demand_mhz").max() == 2500.0  # 100 % of type 0


def test_default_vm_types_and_inventory_override(tmp_path: Path) -> None:
    options = replace(ReadOptions(), vm_types="default", default_vm_cpu_mhz=3000.0)
    trace = read_trace(DAY, "planetlab", options)
    assert set(trace.inventory.get_column("cpu_capacity_mhz").to_list()) == {3000.0}
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("vm_id,cpu_capacity_mhz\nnode_c_slice,999\n")
    merged = read_traces([DAY, f"canonical-inventory:{inventory}"], options=options)
    row = merged.inventory.filter(pl.col("vm_id") == "node_c_slice").row(0, named=True)
    assert row["cpu_capacity_mhz"] == 999.0
    # the file gives percentages: the same share of the inventory's capacity is the demand
    alone = trace.usage.collect().sort("vm_id", "timestamp", maintain_order=True)
    both = merged.usage.collect().sort("vm_id", "timestamp", maintain_order=True)
    scale = pl.when(pl.col("vm_id") == "node_c_slice").then(999.0 / 3000.0).otherwise(1.0)
    expected = alone.with_columns(pl.col("cpu_demand_mhz") * scale)
    assert both.equals(expected)
    notes = [p for p in merged.problems if "rescaled" in p.message]
    assert len(notes) == 1 and notes[0].count == 1
    assert "node_c_slice: 3,000 → 999 MHz" in notes[0].message
    # the workload built from both sees the rescaled demand
    workload = load_workload([str(DAY), f"canonical-inventory:{inventory}"], options=options)
    row_c = workload.vm_ids.tolist().index("node_c_slice")
    peak_pct = max(int(v) for v in (DAY / "node_c_slice").read_text().split())
    peak_mhz = float(workload.mean["cpu_demand_mhz"][row_c].max())
    assert peak_mhz == pytest.approx(999.0 * peak_pct / 100, rel=1e-6)


def test_undated_folder_and_zip(tmp_path: Path) -> None:
    archive = tmp_path / "day.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(DAY.iterdir()):
            handle.write(path, f"someday/{path.name}")
    trace = read_trace(archive, "planetlab")
    assert any("not a day" in p.message for p in trace.problems)
    assert trace.usage.collect().get_column("timestamp").min() == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"10\n12.5\n", 2), (b"10\n-3\n", 2), (b"10\n\n7\n", 2), (b"10\nabc\n", 2), (b"", 1)],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: bytes, line: int) -> None:
    day = tmp_path / "20110303"
    day.mkdir()
    (day / "good").write_bytes(b"1\n" * 288)
    (day / "bad one").write_bytes(content)
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path is not None and info.value.path.endswith("bad one")
    assert info.value.line == line


def test_short_file_and_over_100_are_problems(tmp_path: Path) -> None:
    day = tmp_path / "20110303"
    day.mkdir()
    (day / "a").write_bytes(b"5\n" * 100)
    (day / "b").write_bytes(b"150\n" * 288)
    trace = read_trace(day, "planetlab")
    text = " ".join(p.message for p in trace.problems)
    assert "do not hold 288 lines" in text and "above 100 %" in text


@pytest.mark.shared_data
def test_real_day_counts() -> None:
    day = shared_or_skip("data", "planetlab", "20110303")
    assert detect_format(day) == "planetlab"
    trace = read_trace(day)
    usage = trace.usage.collect()
    assert trace.inventory.height == 1052
    assert usage.height == 1052 * 288
    assert usage.group_by("vm_id").len().get_column("len").unique().to_list() == [288]
    assert not trace.problems
    # SOURCE.md: mean of all values 12.31 %; demand / capacity recovers it.
    joined = usage.join(trace.inventory.select("vm_id", "cpu_capacity_mhz"), on="vm_id")
    mean_pct = (joined["cpu_demand_mhz"] / joined["cpu_capacity_mhz"]).mean() * 100
    assert mean_pct == pytest.approx(12.31, abs=0.01)
    assert any(" " in name for name in trace.inventory.get_column("vm_id").to_list())
