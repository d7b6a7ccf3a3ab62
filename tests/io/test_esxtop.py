"""esxtop reader: a hand-made three-VM batch file and the real host-level sample in ../shared."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace
from capplan.io.esxtop import is_vm_group

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "esxtop" / "three_vms.csv"


def _messages(trace: object) -> str:
    return "\n".join(p.render() for p in trace.problems)  # type: ignore[attr-defined]


def test_three_vms_map_per_vm() -> None:
    assert detect_format(FIXTURE) == "esxtop"
    trace = read_trace(FIXTURE, options=ReadOptions(extra={"core_mhz": 2000}))
    usage = trace.usage.collect().sort("vm_id", "timestamp")
    assert usage.get_column("vm_id").unique(maintain_order=True).to_list() == [
        "app01",
        "db01",
        "web01",
    ]
    assert usage.get_column("timestamp").unique().sort().to_list() == [
        datetime(2024, 3, 12, 8, 15, s, tzinfo=UTC) for s in (2, 7, 12)
    ]
    web = usage.filter(pl.col("vm_id") == "web01")
    # % Used is per core: 50 % of a 2,000 MHz core, then 100 %, 25 %.
    assert web.get_column("cpu_demand_mhz").to_list() == pytest.approx([1000, 2000, 500])
    assert web.get_column("mem_active_mib").to_list() == [1024, 2048, 512]  # Touched MBytes
    # The VM roll-up Virtual Disk(web01) is used, not its scsi0:0 instance as well.
    assert web.get_column("disk_read_iops").to_list() == [10, 0, 1]
    assert web.get_column("disk_read_mib_s").to_list() == [0.5, 0, 0.25]
    assert web.get_column("net_rx_mbps").to_list() == [8, 16, 0]
    db = usage.filter(pl.col("vm_id") == "db01")
    assert db.get_column("cpu_demand_mhz").to_list() == pytest.approx([3000, 4000, 8000])
    # Virtual Disk(db01 (<uuid>)) joins to the VM; two ports are summed.
    assert db.get_column("disk_read_iops").to_list() == [100, 200, 0]
    assert db.get_column("net_rx_mbps").to_list() == [120, 40, 10]
    app01 = usage.filter(pl.col("vm_id") == "app01")
    # No roll-up: per-disk instances scsi0:0 + scsi0:1 are summed.
    assert app01.get_column("disk_read_iops").to_list() == [7, 0, 2]
    assert app01.get_column("net_rx_mbps").null_count() == 3
    inventory = trace.inventory.sort("vm_id")
    assert inventory.get_column("mem_provisioned_mib").to_list() == [2048, 16384, 4096]
    assert set(inventory.get_column("current_host").to_list()) == {"esx01.lab.local"}
    messages = _messages(trace)
    assert "not mapped" in messages and "\\Group Cpu\\% Ready" in messages
    assert "core" not in messages.split("not mapped")[0]  # core MHz was given: no default


def test_default_core_speed_is_reported() -> None:
    trace = read_trace(FIXTURE, "esxtop")
    web = trace.usage.collect().filter(pl.col("vm_id") == "web01").sort("timestamp")
    assert web.get_column("cpu_demand_mhz")[0] == pytest.approx(0.5 * 2500)
    assert "one core taken as 2,500 MHz" in _messages(trace)
    trace = read_trace(FIXTURE, "esxtop", ReadOptions(extra={"host_cpu_mhz": 6000}))
    web = trace.usage.collect().filter(pl.col("vm_id") == "web01").sort("timestamp")
    assert web.get_column("cpu_demand_mhz")[0] == pytest.approx(0.5 * 3000)  # 6,000 / 2 PCPUs
    assert "one core taken" not in _messages(trace)


@pytest.mark.parametrize(
    ("name", "is_vm"),
    [
        ("web01", True),
        ("system", False),
        ("idle", False),
        ("hostd.2098", False),
        ("vpxa.12345", False),
        ("db-01.prod", True),
        ("", False),
    ],
)
def test_vm_groups(name: str, is_vm: bool) -> None:
    assert is_vm_group(name) is is_vm


def test_host_level_file_becomes_a_host_row(tmp_path: Path) -> None:
    path = tmp_path / "host.csv"
    path.write_text(
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\esx\\Physical Cpu(0)\\% Util Time",'
        '"\\\\esx\\Physical Cpu(1)\\% Util Time","\\\\esx\\Physical Cpu(_Total)\\% Util Time",'
        '"\\\\esx\\Memory\\Machine MBytes","\\\\esx\\Memory\\Kernel MBytes",'
        '"\\\\esx\\Memory\\NonKernel MBytes"\n'
        '"01/02/2024 10:00:00","10","30","20","32768","1000","3000"\n'
        '"01/02/2024 10:00:05","50","70","60","32768","1000","5000"\n'
    )
    trace = read_trace(path, options=ReadOptions(extra={"core_mhz": 3000}))
    usage = trace.usage.collect()
    assert usage.get_column("vm_id").unique().to_list() == ["esx"]
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx([0.2 * 6000, 0.6 * 6000])
    assert usage.get_column("mem_active_mib").to_list() == [4000, 6000]
    row = trace.inventory.row(0, named=True)
    assert (row["n_vcpus"], row["cpu_capacity_mhz"], row["mem_provisioned_mib"]) == (
        2,
        6000,
        32768,
    )
    assert "no per-VM columns" in _messages(trace)


def test_no_usable_counter_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\esx\\Physical Cpu Load\\Cpu Load (1 Minute Avg)"\n'
        '"01/02/2024 10:00:00","0.2"\n'
    )
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "esxtop")
    assert "no usable esxtop counters" in str(info.value)
    assert "Physical Cpu Load" in str(info.value)


def test_bad_cell_names_line_and_counter(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    cells = lines[2].split('","')
    cells[16] = "fast"  # Group Cpu(2012201:web01)\% Used
    lines[2] = '","'.join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "esxtop")
    assert info.value.line == 3
    assert info.value.column == "\\\\esx01.lab.local\\Group Cpu(2012201:web01)\\% Used"


# --- the real sample (../shared/data/esxtop-batch-csv), read in place --------------------------


@pytest.mark.shared_data
def test_real_host_sample_rows_spread_and_ranges() -> None:
    path = shared_or_skip("data", "esxtop-batch-csv", "origincsvfile.csv")
    assert detect_format(path) == "esxtop"
    trace = read_trace(path, options=ReadOptions(extra={"core_mhz": 2000}))
    usage = trace.usage.collect()
    assert usage.height == 514
    assert usage.get_column("vm_id").unique().to_list() == ["proma-2n-dhcp60.eng.vmware.com"]
    stamps = usage.get_column("timestamp")
    assert stamps.n_unique() == 514 and stamps.is_sorted()
    assert stamps.min() == datetime(2015, 3, 26, 22, 42, tzinfo=UTC)
    assert stamps.max() < datetime(2015, 3, 26, 23, 30, tzinfo=UTC)  # stays inside the minute
    # The spread recovers the ~5.5 s interval that the re-saved file lost (SOURCE.md).
    assert trace.native_step_s == pytest.approx(5.5, abs=0.3)
    with path.open(newline="") as handle:
        raw = list(csv.reader(handle))[1:]
    util = [(float(r[3]) + float(r[4])) / 2 for r in raw]  # % Util Time of PCPU 0 and 1
    expected = [u / 100 * 2 * 2000 for u in util]
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx(expected)
    mem = usage.get_column("mem_active_mib")
    assert mem.to_list() == [float(r[5]) + float(r[6]) for r in raw]  # Kernel + NonKernel
    assert float(mem.min()) >= 2800 and float(mem.max()) <= 2900  # type: ignore[arg-type]
    inventory = trace.inventory.row(0, named=True)
    assert inventory["n_vcpus"] == 2 and inventory["cpu_capacity_mhz"] == 4000
    messages = _messages(trace)
    assert "48 timestamps" in messages and "no per-VM columns" in messages
    assert "\\Physical Cpu\\% Processor Time" in messages  # left out, and said so
    first_minute = stamps.filter(stamps < datetime(2015, 3, 26, 22, 43, tzinfo=UTC))
    assert first_minute.diff().drop_nulls().max() <= timedelta(seconds=60)  # type: ignore[operator]


@pytest.mark.shared_data
def test_real_host_sample_inspects() -> None:
    path = shared_or_skip("data", "esxtop-batch-csv", "origincsvfile.csv")
    result = CliRunner().invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "esxtop" and payload["n_vms"] == 1


def test_resaved_minute_file_is_spread_within_each_minute() -> None:
    path = FIXTURE.with_name("host_minutes_resaved.csv")
    assert detect_format(path) == "esxtop"
    trace = read_trace(path, options=ReadOptions(extra={"core_mhz": 1000}))
    usage = trace.usage.collect()
    start = datetime(2015, 3, 26, 22, 42, tzinfo=UTC)
    offsets = [(t - start).total_seconds() for t in usage.get_column("timestamp").to_list()]
    assert offsets == [0.0, 20.0, 40.0, 60.0, 90.0]  # 3 rows in 22:42, 2 rows in 22:43
    # Mean % Util Time of both PCPUs × 2 PCPUs × 1,000 MHz.
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx([600, 800, 200, 1400, 200])
    assert usage.get_column("mem_active_mib").to_list() == [3000, 3001, 3002, 3004, 3005]
