"""sadf reader: hand-written sadf -d exports and the real headerless sample in ../shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import SpecError, TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace
from capplan.units import BYTES_PER_MIB, BYTES_PER_SECTOR, MBPS_PER_KIB_S

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sadf"


def _messages(trace: object) -> str:
    return "\n".join(p.render() for p in trace.problems)  # type: ignore[attr-defined]


def test_cpu_with_header_per_cpu_rows_and_restart() -> None:
    path = FIXTURES / "cpu_all.csv"
    assert detect_format(path) == "sadf"
    trace = read_trace(path)
    usage = trace.usage.collect()
    assert usage.height == 3  # the -1 (all CPUs) rows only
    assert usage.get_column("timestamp").to_list() == [
        datetime(2024, 5, 2, 8, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 2, 8, 10, 1, tzinfo=UTC),
        datetime(2024, 5, 2, 8, 15, 2, tzinfo=UTC),
    ]
    # 2 CPUs (from the per-CPU rows and the LINUX-RESTART record) × default 2,500 MHz.
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx(
        [0.25 * 5000, 0.50 * 5000, 0.01 * 5000]
    )
    # Kernel share of busy time over the whole-host rows: (5 + 10 + 0.5) / (25 + 50 + 1).
    kernel = trace.inventory.get_column("cpu_kernel_frac").to_list()
    assert kernel == pytest.approx([15.5 / 76])
    inventory = trace.inventory.row(0, named=True)
    assert inventory["n_vcpus"] == 2 and inventory["cpu_capacity_mhz"] == 5000
    assert inventory["os_family"] == "linux"
    assert trace.native_step_s == 300
    messages = _messages(trace)
    assert "LINUX-RESTART" in messages and "5,000 MHz assumed" in messages


def test_all_activities_map_with_units() -> None:
    trace = read_trace(
        FIXTURES / "activities.csv", options=ReadOptions(extra={"host_cpu_mhz": 4000})
    )
    usage = trace.usage.collect()
    assert usage.height == 2
    first = usage.row(0, named=True)
    assert first["cpu_demand_mhz"] == pytest.approx(0.25 * 4000)
    assert first["mem_active_mib"] == pytest.approx(3145728 / 1024)  # kbactive
    assert first["net_rx_mbps"] == pytest.approx((1000 + 250) * MBPS_PER_KIB_S)  # lo left out
    assert first["net_tx_mbps"] == pytest.approx((500 + 125) * MBPS_PER_KIB_S)
    assert (first["disk_read_iops"], first["disk_write_iops"]) == (100, 50)
    assert first["disk_read_mib_s"] == pytest.approx(2048 * BYTES_PER_SECTOR / BYTES_PER_MIB)
    assert first["disk_write_mib_s"] == pytest.approx(4096 * 512 / 2**20)
    # Host memory = kbmemused × 100 / %memused = 8 GiB.
    assert trace.inventory.row(0, named=True)["mem_provisioned_mib"] == pytest.approx(8192)
    messages = _messages(trace)
    assert "DEV;tps" in messages and "-- -b" in messages  # -d section skipped, with reason
    assert "runq-sz" in messages  # -q section skipped
    assert "assumed" not in messages


def test_headerless_local_time_across_dst() -> None:
    path = FIXTURES / "cpu_noheader_local.csv"
    assert detect_format(path) == "sadf"
    options = ReadOptions(local_timezone="Europe/Berlin", extra={"host_cpu_mhz": 4000})
    usage = read_trace(path, options=options).usage.collect()
    # 2024-03-31 is the spring-forward night in Berlin: CET before 02:00, CEST after.
    assert usage.get_column("timestamp").to_list() == [
        datetime(2024, 3, 30, 23, 50, 1, tzinfo=UTC),
        datetime(2024, 3, 31, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 10, 1, tzinfo=UTC),
    ]
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx([80.0, 200.0, 400.0])
    default = read_trace(path).usage.collect()
    assert default.get_column("timestamp")[0] == datetime(2024, 3, 31, 0, 50, 1, tzinfo=UTC)


def test_utc_suffix_wins_over_local_timezone(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle\n"
        "h;60;2024-01-01 12:00:00 UTC;-1;1;0;1;0;0;98\n"
    )
    usage = read_trace(path, "sadf", ReadOptions(local_timezone="Asia/Tokyo")).usage.collect()
    assert usage.get_column("timestamp")[0] == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_epoch_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("h;60;1704110400;1;0;1;0;0;98\nh;60;1704110460;1;0;1;0;0;97\n")
    usage = read_trace(path, "sadf").usage.collect()
    assert usage.get_column("timestamp")[0] == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_per_cpu_rows_only_are_averaged(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle\n"
        "h;60;2024-01-01 00:01:00 UTC;0;10;0;0;0;0;90\n"
        "h;60;2024-01-01 00:01:00 UTC;1;30;0;0;0;0;70\n"
    )
    trace = read_trace(path, "sadf", ReadOptions(extra={"core_mhz": 1000}))
    assert trace.usage.collect().get_column("cpu_demand_mhz").to_list() == pytest.approx([400.0])
    assert trace.inventory.row(0, named=True)["n_vcpus"] == 2


def test_memory_without_kbactive_falls_back_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "# hostname;interval;timestamp;kbmemfree;kbmemused;%memused;kbbuffers;kbcached\n"
        "h;60;2024-01-01 00:01:00 UTC;1048576;3145728;75.00;0;0\n"
    )
    trace = read_trace(path, "sadf")
    assert trace.usage.collect().get_column("mem_active_mib").to_list() == [3072.0]
    assert trace.usage.collect().get_column("cpu_demand_mhz").to_list() == [None]
    assert "no kbactive" in _messages(trace)
    assert trace.inventory.row(0, named=True)["mem_provisioned_mib"] == pytest.approx(4096)


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        ("h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;abc\n", 1, "%idle", "not a number"),
        (
            "h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;99\nh;600;2021-09-07 00:20:11;-1;0;0;0;0;99\n",
            2,
            "%user",
            "non-negative",
        ),
        ("h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;nan\n", 1, "%idle", "finite"),
        ("h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;101\n", 1, "%idle", "above 100"),
        (
            "h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;99\nh;600;tomorrow;0;0;0;0;0;99\n",
            2,
            "timestamp",
            "timestamp",
        ),
        (";600;2021-09-07 00:10:11;0.1;0;0.1;0;0;99\n", 1, "hostname", "empty"),
    ],
)
def test_bad_cells_are_located(
    tmp_path: Path, text: str, line: int, column: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "sadf")
    assert info.value.line == line
    assert info.value.column == column
    assert expected in str(info.value)


def test_ragged_and_unknown_layouts(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;99\nh;600;2021-09-07 00:20:11;1;2\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "sadf")
    assert info.value.line == 2 and "expected 9" in str(info.value)
    path.write_text("h;600;2021-09-07 00:10:11;1;2\n")
    with pytest.raises(TraceFormatError, match="9 fields"):
        read_trace(path, "sadf")
    path.write_text("# host;when;what\nh;1;2\n")
    with pytest.raises(TraceFormatError, match="hostname;interval;timestamp"):
        read_trace(path, "sadf")
    path.write_text("")
    with pytest.raises(TraceFormatError, match="empty"):
        read_trace(path, "sadf")


def test_duplicate_rows_keep_first_and_bad_zone_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    row = "h;600;2021-09-07 00:10:11;0.1;0;0.1;0;0;{}\n"
    path.write_text(row.format(90) + row.format(50))
    trace = read_trace(path, "sadf", ReadOptions(extra={"host_cpu_mhz": 1000}))
    assert trace.usage.collect().get_column("cpu_demand_mhz").to_list() == pytest.approx([100.0])
    assert "first of each kept" in _messages(trace)
    with pytest.raises(SpecError):
        read_trace(path, "sadf", ReadOptions(local_timezone="Nowhere/Town"))


def test_csv_files_of_other_formats_are_not_claimed() -> None:
    perfmon = Path(__file__).resolve().parents[1] / "fixtures" / "perfmon" / "classic_en.csv"
    assert detect_format(perfmon) == "perfmon"


# --- the real sample (../shared/data/linux-sysstat-sadf/sadf.csv), read in place -------------


@pytest.mark.shared_data
def test_real_sample_counts_span_and_units() -> None:
    path = shared_or_skip("data", "linux-sysstat-sadf", "sadf.csv")
    assert detect_format(path) == "sadf"
    trace = read_trace(path, options=ReadOptions(extra={"host_cpu_mhz": 10_000}))
    usage = trace.usage.collect()
    assert usage.height == 3432
    assert usage.get_column("vm_id").unique().to_list() == ["trn02.wisedb.local"]
    assert usage.get_column("timestamp").min() == datetime(2021, 9, 7, 0, 10, 11, tzinfo=UTC)
    assert usage.get_column("timestamp").max() == datetime(2021, 9, 30, 23, 50, 1, tzinfo=UTC)
    assert trace.native_step_s == 600
    raw = pl.read_csv(path, separator=";", has_header=False)
    idle = raw.get_column(raw.columns[-1])
    expected = ((100 - idle) / 100 * 10_000).to_list()
    assert usage.get_column("cpu_demand_mhz").to_list() == pytest.approx(expected)
    demand = usage.get_column("cpu_demand_mhz")
    assert float(demand.min()) >= 0 and float(demand.max()) <= 10_000  # type: ignore[arg-type]
    assert "assumed" not in _messages(trace)


@pytest.mark.shared_data
def test_real_sample_inspects() -> None:
    path = shared_or_skip("data", "linux-sysstat-sadf", "sadf.csv")
    result = CliRunner().invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "sadf" and payload["n_vms"] == 1 and payload["step_s"] == 600
    assert any("MHz assumed" in p["message"] for p in payload["problems"])


def test_garbage_cpu_ids_epochs_and_restart_counts(tmp_path: Path) -> None:
    header = "# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle\n"
    path = tmp_path / "g.csv"
    path.write_text(header + "h;60;2024-01-01 00:01:00 UTC;abc;1;0;1;0;0;98\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "sadf")
    assert info.value.line == 2 and info.value.column == "CPU"
    path.write_text("h;600;99999999999999999999;1;0;1;0;0;98\n")
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "sadf")
    assert info.value.column == "timestamp"
    path.write_text(
        header + "h;-1;2024-01-01 00:00:00 UTC;LINUX-RESTART\t(99999999999 CPU)\n"
        "h;60;2024-01-01 00:01:00 UTC;-1;1;0;1;0;0;98\n"
    )
    trace = read_trace(path, "sadf")
    assert trace.inventory.row(0, named=True)["n_vcpus"] is None  # implausible count ignored


def test_kernel_share_from_the_all_layout_counts_irq_and_softirq(tmp_path: Path) -> None:
    path = tmp_path / "all.csv"
    path.write_text(
        "# hostname;interval;timestamp;CPU;%usr;%nice;%sys;%iowait;%steal;%irq;%soft;"
        "%guest;%gnice;%idle\n"
        "db1;600;2024-05-02 08:10:01 UTC;all;30.00;2.00;6.00;5.00;0.00;1.00;1.00;0.00;0.00;55.00\n"
        "db1;600;2024-05-02 08:20:01 UTC;all;10.00;0.00;2.00;0.00;0.00;0.00;0.00;0.00;0.00;88.00\n"
    )
    trace = read_trace(path)
    # Kernel: %sys + %irq + %soft = 8 + 2; busy adds %usr + %nice = 32 + 10.
    kernel = trace.inventory.get_column("cpu_kernel_frac").to_list()
    assert kernel == pytest.approx([10 / 52])
