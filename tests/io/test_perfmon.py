"""perfmon reader: hand-made English and German logs, and the real samples in ../shared."""

from __future__ import annotations

import csv
import io
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
from capplan.io.files import list_members
from capplan.io.pdh import read_pdh

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perfmon"
ENGLISH = FIXTURES / "classic_en.csv"
GERMAN = FIXTURES / "classic_de_cp1252.csv"


def _messages(trace: object) -> str:
    return "\n".join(p.render() for p in trace.problems)  # type: ignore[attr-defined]


def test_english_counters_map_to_canonical_units() -> None:
    assert detect_format(ENGLISH) == "perfmon"
    options = ReadOptions(extra={"host_cpu_mhz": 8000, "host_mem_mib": 8192})
    trace = read_trace(ENGLISH, options=options)
    usage = trace.usage.collect()
    assert usage.get_column("vm_id").unique().to_list() == ["WEB01"]
    # W. Europe Standard Time, bias -60: 10:00:15 local is 09:00:15 UTC.
    assert usage.get_column("timestamp")[1] == datetime(2024, 6, 3, 9, 0, 15, 118000, tzinfo=UTC)
    row = usage.row(1, named=True)
    assert row["cpu_demand_mhz"] == pytest.approx(0.25 * 8000)
    assert row["mem_active_mib"] == pytest.approx(8192 - 6144)
    assert row["disk_read_iops"] == 100 and row["disk_write_iops"] == 50
    assert row["disk_read_mib_s"] == pytest.approx(1.0)  # 1,048,576 B/s
    assert row["disk_write_mib_s"] == pytest.approx(2.0)
    assert row["net_rx_mbps"] == pytest.approx(125_000 * 8 / 1e6)
    assert row["net_tx_mbps"] == pytest.approx(250_000 * 8 / 1e6)
    # Second NIC (isatap) is summed: 1,250,000 + 12,500 B/s received.
    assert usage.row(2, named=True)["net_rx_mbps"] == pytest.approx(1_262_500 * 8 / 1e6)
    # The first sample's rate counters are " ": CPU and disks stay null, memory is known.
    first = usage.row(0, named=True)
    assert first["cpu_demand_mhz"] is None and first["disk_read_iops"] is None
    assert first["mem_active_mib"] == pytest.approx(2048)
    inventory = trace.inventory.row(0, named=True)
    assert inventory["n_vcpus"] == 2 and inventory["cpu_capacity_mhz"] == 8000
    assert inventory["mem_provisioned_mib"] == 8192 and inventory["os_family"] == "windows"
    assert trace.native_step_s == pytest.approx(15.0, abs=0.01)
    messages = _messages(trace)
    assert "not mapped" in messages
    assert "\\System\\Processor Queue Length" in messages
    assert "\\Memory\\Committed Bytes" in messages  # unused once the host size is known
    assert "assumed" not in messages


def test_defaults_are_reported_and_committed_bytes_stand_in() -> None:
    trace = read_trace(ENGLISH, "perfmon")
    usage = trace.usage.collect()
    # Two Processor(N) instances: 2 cores × default 2,500 MHz.
    assert usage.row(1, named=True)["cpu_demand_mhz"] == pytest.approx(0.25 * 5000)
    # No host size: active memory = Committed Bytes / 2^20.
    assert usage.row(2, named=True)["mem_active_mib"] == pytest.approx(5120.0)
    messages = _messages(trace)
    assert "5,000 MHz assumed" in messages
    assert "Committed Bytes" in messages and "host_mem_mib" in messages


def test_available_exceeding_host_memory_clips_and_reports() -> None:
    trace = read_trace(ENGLISH, "perfmon", ReadOptions(extra={"host_mem_mib": 6000}))
    active = trace.usage.collect().get_column("mem_active_mib").to_list()
    assert min(active) == 0.0
    assert "exceeds the host memory" in _messages(trace)


def test_german_cp1252_log() -> None:
    assert detect_format(GERMAN) == "perfmon"
    trace = read_trace(GERMAN, options=ReadOptions(extra={"host_cpu_mhz": 2500}))
    usage = trace.usage.collect()
    assert usage.height == 3
    # Mitteleuropäische Sommerzeit, bias -120.
    assert usage.get_column("timestamp")[0] == datetime(2024, 7, 15, 12, 30, 0, 500000, tzinfo=UTC)
    row = usage.row(1, named=True)
    assert row["cpu_demand_mhz"] == pytest.approx(0.48 * 2500)
    assert row["mem_active_mib"] == pytest.approx(9663676416 / 2**20)
    assert (row["disk_read_iops"], row["disk_write_iops"]) == (30, 40)
    assert row["disk_read_mib_s"] == pytest.approx(2.0)
    assert row["net_rx_mbps"] == pytest.approx(16.0) and row["net_tx_mbps"] == pytest.approx(2.0)
    messages = _messages(trace)
    assert "cp1252" in messages
    assert "Seitenfehler/s" in messages  # the unmapped counter, named after correct decoding


def test_two_hosts_in_one_log(tmp_path: Path) -> None:
    text = (
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\A\\Processor(_Total)\\% Processor Time",'
        '"\\\\B\\Processor(_Total)\\% Processor Time","\\\\B\\PhysicalDisk(0 C:)\\Disk Reads/sec",'
        '"\\\\B\\PhysicalDisk(1 D:)\\Disk Reads/sec"\n'
        '"01/01/2024 00:00:00.000","10","20","1","2"\n"01/01/2024 00:00:10.000","30","40"," ","4"\n'
    )
    path = tmp_path / "two.csv"
    path.write_text(text)
    options = ReadOptions(extra={"host_cpu_mhz": {"A": 1000.0, "B": 2000.0}})
    usage = read_trace(path, "perfmon", options).usage.collect().sort("vm_id", "timestamp")
    assert usage.get_column("vm_id").to_list() == ["A", "A", "B", "B"]
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx([100, 300, 400, 800])
    # No _Total disk instance: instances are summed; a blank one counts as absent.
    assert usage.get_column("disk_read_iops").to_list()[2:] == [3.0, 4.0]


def test_no_capacity_counter_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\LogicalDisk(C:)\\Current Disk Queue Length"\n'
        '"01/01/2024 00:00:00.000","0"\n'
    )
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "perfmon")
    assert "no capacity counters" in str(info.value)
    assert "\\LogicalDisk\\Current Disk Queue Length" in str(info.value)


def test_esxtop_files_are_not_claimed() -> None:
    esxtop = Path(__file__).resolve().parents[1] / "fixtures" / "esxtop" / "three_vms.csv"
    assert detect_format(esxtop) == "esxtop"


# --- real samples (../shared/data/windows-perfmon-pdh-csv), read in place ----------------------


def _raw_rows(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


@pytest.mark.shared_data
def test_real_samples_parse_with_documented_shapes_and_zones() -> None:
    root = shared_or_skip("data", "windows-perfmon-pdh-csv")
    expected = {
        # file: (data rows, columns, bias minutes, first local time)
        "Narmadha6790-sample/DataCollector01.csv": (21, 13, -330, "09/19/2017 09:51:39.073"),
        "jg185342-memeData/DataCollector01.csv": (208, 9, 240, "09/16/2021 07:51:58.569"),
        "jg185342-memeData/DataCollector02.csv": (30, 9, 240, None),
        "jg185342-memeData/DataCollector03.csv": (26, 9, 240, None),
        "waflia-PDH_Converter/DataCollector01.csv": (26, 1105, None, "09/20/2021 16:48:17.954"),
    }
    for name, (n_rows, n_columns, bias, first_local) in expected.items():
        member = list_members(root / name)[0]
        table = read_pdh(member, ReadOptions(), lambda c: True)
        assert table.frame.height == n_rows, name
        assert len(table.counters) == n_columns - 1, name
        assert table.bias_min == bias, name
        if first_local is not None:
            local = datetime.strptime(first_local, "%m/%d/%Y %H:%M:%S.%f").replace(tzinfo=UTC)
            shift = timedelta(minutes=bias or 0)
            assert table.frame.get_column("timestamp")[0] == local + shift, name


@pytest.mark.shared_data
def test_real_russian_sample_decodes_cp1251_and_keeps_blanks() -> None:
    path = shared_or_skip("data", "windows-perfmon-pdh-csv", "waflia-PDH_Converter")
    path = path / "DataCollector01.csv"
    table = read_pdh(list_members(path)[0], ReadOptions(), lambda c: True)
    messages = " ".join(p.message for p in table.problems)
    assert "cp1251" in messages and "no UTC bias" in messages
    objects = {c.object for c in table.counters}
    assert objects == {"Процесс"}
    assert len({c.instance for c in table.counters}) == 276
    values = table.frame.drop("timestamp")
    assert sum(values.null_count().row(0)) == 833  # SOURCE.md: 833 blank cells
    cpu = [table.column(c) for c in table.counters if c.name == "% загруженности процессора"]
    assert values.select(pl.max_horizontal(cpu).max()).item() == pytest.approx(1213.66, abs=0.01)
    raw = _raw_rows(path, "cp1251")
    assert raw[0][1] == table.counters[0].path


@pytest.mark.shared_data
def test_real_samples_have_no_capacity_counters_and_inspect_says_so() -> None:
    root = shared_or_skip("data", "windows-perfmon-pdh-csv")
    assert detect_format(root) == "perfmon"
    with pytest.raises(TraceFormatError) as info:
        read_trace(root)
    message = str(info.value)
    assert "no capacity counters found in 5 PDH-CSV file(s)" in message
    assert "\\Process\\Virtual Bytes" in message and "\\LogicalDisk" in message
    result = CliRunner().invoke(app, ["inspect", str(root), "--json"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "no capacity counters" in result.output


def test_cli_inspect_on_fixture() -> None:
    result = CliRunner().invoke(app, ["inspect", str(ENGLISH), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "perfmon" and payload["n_vms"] == 1
    assert "cpu_demand_mhz" in payload["metrics"]


def test_privileged_and_user_time_give_the_kernel_share(tmp_path: Path) -> None:
    text = (
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\A\\Processor(_Total)\\% Processor Time",'
        '"\\\\A\\Processor(_Total)\\% Privileged Time","\\\\A\\Processor(_Total)\\% User Time"\n'
        '"01/01/2024 00:00:00.000","40","10","30"\n'
        '"01/01/2024 00:00:10.000","20","6","14"\n'
        '"01/01/2024 00:00:20.000","50"," ","30"\n'
    )
    path = tmp_path / "kernel.csv"
    path.write_text(text)
    trace = read_trace(path, "perfmon")
    # Rows with both counters only: (10 + 6) / (40 + 20); the privileged/user counters are
    # mapped, so no "unmapped counter" problem names them.
    assert trace.inventory.get_column("cpu_kernel_frac").to_list() == pytest.approx([16 / 60])
    assert "Privileged" not in _messages(trace)
