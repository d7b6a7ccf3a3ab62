"""PDH-CSV plumbing shared by perfmon and esxtop: paths, encodings, bias, repeated times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from capplan.errors import SpecError, TraceFormatError
from capplan.io import ReadOptions
from capplan.io.files import list_members
from capplan.io.hostinfo import cpu_capacity, host_mem_mib
from capplan.io.pdh import decode_pdh, looks_like_pdh, parse_counter, read_pdh

HEADER = '"(PDH-CSV 4.0) (UTC)(0)","\\\\h1\\Memory\\Available MBytes"\n'


def _member(tmp_path: Path, text: str | bytes, name: str = "log.csv"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return list_members(path)[0]


def _read(tmp_path: Path, text: str | bytes, **options: object):  # type: ignore[no-untyped-def]
    return read_pdh(_member(tmp_path, text), ReadOptions(**options), lambda c: True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "host", "obj", "instance", "name"),
    [
        (
            "\\\\WEB01\\Processor(_Total)\\% Processor Time",
            "WEB01",
            "Processor",
            "_Total",
            "% Processor Time",
        ),
        ("\\\\h\\Memory\\Available MBytes", "h", "Memory", None, "Available MBytes"),
        (
            "\\\\h\\Virtual Disk(SQL02 (df09-1e74):scsi0:1)\\Reads/sec",
            "h",
            "Virtual Disk",
            "SQL02 (df09-1e74):scsi0:1",
            "Reads/sec",
        ),
        (
            "\\\\esx.lab\\Network Port(vSwitch0:1:2:web)\\MBits Received/sec",
            "esx.lab",
            "Network Port",
            "vSwitch0:1:2:web",
            "MBits Received/sec",
        ),
    ],
)
def test_counter_paths_split(text: str, host: str, obj: str, instance: str, name: str) -> None:
    counter = parse_counter(3, text)
    assert counter is not None
    assert (counter.host, counter.object, counter.instance, counter.name) == (
        host,
        obj,
        instance,
        name,
    )
    assert counter.index == 3


@pytest.mark.parametrize(
    "text", ["", "Memory\\Available", "\\\\\\x\\y", "\\\\host\\", "\\\\h\\obj"]
)
def test_non_paths_are_refused(text: str) -> None:
    assert parse_counter(1, text) is None


def test_bias_converts_local_time_to_utc(tmp_path: Path) -> None:
    # India Standard Time is UTC+5:30, written as bias -330: UTC = local + bias.
    text = HEADER.replace("(UTC)(0)", "(India Standard Time)(-330)") + (
        '"09/19/2017 09:51:39.073","100"\n"09/19/2017 09:51:54.050","200"\n'
    )
    table = _read(tmp_path, text)
    assert table.bias_min == -330 and table.zone_name == "India Standard Time"
    assert table.frame.get_column("timestamp").to_list() == [
        datetime(2017, 9, 19, 4, 21, 39, 73000, tzinfo=UTC),
        datetime(2017, 9, 19, 4, 21, 54, 50000, tzinfo=UTC),
    ]


def test_missing_bias_uses_local_timezone_and_says_so(tmp_path: Path) -> None:
    text = (
        '"(PDH-CSV 4.0) (RTZ 2 (","\\\\h\\Memory\\Available MBytes"\n'
        '"01/15/2021 12:00:00.000","5"\n'
    )
    table = _read(tmp_path, text, local_timezone="Europe/Moscow")
    assert table.bias_min is None
    assert table.frame.get_column("timestamp")[0] == datetime(2021, 1, 15, 9, 0, tzinfo=UTC)
    assert any("no UTC bias" in p.message and "Europe/Moscow" in p.message for p in table.problems)


def test_unknown_timezone_is_a_spec_error(tmp_path: Path) -> None:
    text = '"(PDH-CSV 4.0) (x","\\\\h\\Memory\\Available MBytes"\n"01/15/2021 12:00:00.000","5"\n'
    with pytest.raises(SpecError) as info:
        _read(tmp_path, text, local_timezone="Mars/Olympus")
    assert "local_timezone" in str(info.value)


def test_blank_cells_are_missing_values(tmp_path: Path) -> None:
    text = HEADER + '"01/01/2024 00:00:00.000"," "\n"01/01/2024 00:00:01.000",""\n'
    text += '"01/01/2024 00:00:02.000","7.5"\n'
    table = _read(tmp_path, text)
    assert table.frame.get_column("c1").to_list() == [None, None, 7.5]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("abc", "not a number"), ("-1", "non-negative"), ("nan", "finite"), ("inf", "finite")],
)
def test_bad_values_name_line_and_counter(tmp_path: Path, cell: str, expected: str) -> None:
    text = HEADER + '"01/01/2024 00:00:00.000","1"\n' + f'"01/01/2024 00:00:01.000","{cell}"\n'
    with pytest.raises(TraceFormatError) as info:
        _read(tmp_path, text)
    assert info.value.line == 3
    assert info.value.column == "\\\\h1\\Memory\\Available MBytes"
    assert expected in str(info.value)


def test_ragged_and_bad_time_lines_are_located(tmp_path: Path) -> None:
    ragged = HEADER + '"01/01/2024 00:00:00.000","1"\n"01/01/2024 00:00:01.000","1","2"\n'
    with pytest.raises(TraceFormatError) as info:
        _read(tmp_path, ragged)
    assert info.value.line == 3 and "expected 2" in str(info.value)
    bad_time = HEADER + '"yesterday","1"\n'
    with pytest.raises(TraceFormatError) as info:
        _read(tmp_path, bad_time)
    assert info.value.line == 2 and "MM/DD/YYYY" in str(info.value)


def test_not_pdh_and_empty_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match=r"PDH-CSV 4\.0"):
        _read(tmp_path, "vm_id,timestamp\na,1\n")
    with pytest.raises(TraceFormatError, match="empty"):
        _read(tmp_path, "")
    with pytest.raises(TraceFormatError, match="no data rows"):
        _read(tmp_path, HEADER)


def test_minute_precision_rows_are_spread_in_file_order(tmp_path: Path) -> None:
    rows = "".join(f"3/26/2015 22:42,{v}\n" for v in (1, 2, 3)) + "3/26/2015 22:43,4\n"
    text = "(PDH-CSV 4.0) (UTC)(0),\\\\h\\Memory\\Kernel MBytes\n" + rows
    table = _read(tmp_path, text)
    assert table.precision_s == 60.0
    stamps = table.frame.get_column("timestamp").to_list()
    base = datetime(2015, 3, 26, 22, 42, tzinfo=UTC)
    assert [(s - base).total_seconds() for s in stamps] == [0.0, 20.0, 40.0, 60.0]
    assert table.frame.get_column("c1").to_list() == [1.0, 2.0, 3.0, 4.0]
    assert any("spread evenly" in p.message and p.count == 3 for p in table.problems)


def test_unordered_rows_are_sorted_and_reported(tmp_path: Path) -> None:
    text = HEADER + '"01/01/2024 00:00:02.000","3"\n"01/01/2024 00:00:01.000","1"\n'
    table = _read(tmp_path, text)
    assert table.frame.get_column("c1").to_list() == [1.0, 3.0]
    assert any("back in time" in p.message for p in table.problems)


def test_encodings(tmp_path: Path) -> None:
    russian = "\\\\pc\\Процесс(Idle)\\% загруженности процессора"
    german = "\\\\pc\\Arbeitsspeicher\\Verfügbare MB"
    options = ReadOptions()
    assert decode_pdh(russian.encode("cp1251"), "x", options) == (russian, "cp1251")
    assert decode_pdh(german.encode("cp1252"), "x", options) == (german, "cp1252")
    assert decode_pdh(german.encode("utf-8"), "x", options) == (german, "utf-8")
    assert decode_pdh(german.encode("utf-16"), "x", options) == (german, "utf-16")
    forced = ReadOptions(extra={"encoding": "cp1251"})
    assert decode_pdh("Verfügbare".encode("cp1252"), "x", forced)[1] == "cp1251"
    assert looks_like_pdh(('"' + "(PDH-CSV 4.0) (UTC)(0)").encode("utf-16"))
    assert not looks_like_pdh(b"hostname;interval")


def test_capacity_resolution_and_validation() -> None:
    default = cpu_capacity("h", ReadOptions(), n_cores=4)
    assert default.total_mhz == 4 * 2500.0 and default.defaulted
    unknown = cpu_capacity("h", ReadOptions())
    assert unknown.total_mhz == 2500.0 and unknown.core_assumed
    per_host = ReadOptions(extra={"host_cpu_mhz": {"h": 9600.0}, "core_mhz": 2000})
    explicit = cpu_capacity("h", per_host, n_cores=4)
    assert (explicit.total_mhz, explicit.core_mhz, explicit.defaulted) == (9600.0, 2000.0, False)
    other = cpu_capacity("g", per_host, n_cores=4)
    assert other.total_mhz == 8000.0 and not other.defaulted
    assert host_mem_mib("h", ReadOptions(extra={"host_mem_mib": 16384})) == 16384.0
    assert host_mem_mib("h", ReadOptions()) is None
    for bad in ("fast", -1.0, float("nan"), True):
        with pytest.raises(SpecError, match=r"extra\.core_mhz"):
            cpu_capacity("h", ReadOptions(extra={"core_mhz": bad}))


def test_frame_dtypes(tmp_path: Path) -> None:
    table = _read(tmp_path, HEADER + '"01/01/2024 00:00:00.000","1"\n')
    assert table.frame.schema == pl.Schema(
        {"timestamp": pl.Datetime("us", "UTC"), "c1": pl.Float64()}
    )


def test_decimal_commas_and_padded_cells_parse(tmp_path: Path) -> None:
    text = HEADER + '"01/01/2024 00:00:00.000","0,5"\n"01/01/2024 00:00:01.000"," 7 "\n'
    assert _read(tmp_path, text).frame.get_column("c1").to_list() == [0.5, 7.0]


def test_out_of_range_bias_is_refused(tmp_path: Path) -> None:
    text = HEADER.replace("(UTC)(0)", "(X)(99999999999999999999)") + '"01/01/2024 00:00:00","1"\n'
    with pytest.raises(TraceFormatError, match="out of range"):
        _read(tmp_path, text)
