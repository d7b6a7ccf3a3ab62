"""PlanetLab reader: hand-written day folder and the real CloudSim days in ../shared."""

from __future__ import annotations

import os
import shutil
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
from capplan.io.planetlab import (
    CLOUDSIM_VM_TYPES,
    cloudsim_types,
    order_options,
    read_order,
    read_planetlab,
)

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


GOOD = b"5\n" * 288
BAD_FILES: list[tuple[str, bytes, int | None, str]] = [
    ("decimal", b"5\n" * 16 + b"4.5\n" + b"5\n" * 271, 17, "got '4.5'"),
    ("negative", b"10\n-3\n" + b"5\n" * 286, 2, "got '-3'"),
    ("word", b"10\nabc\n" + b"5\n" * 286, 2, "got 'abc'"),
    ("spaces", b"10\n 7 \n" + b"5\n" * 286, 2, "got ' 7 '"),
    ("plus", b"+7\n" + b"5\n" * 287, 1, "got '+7'"),
    ("over 100", b"5\n" * 3 + b"101\n" + b"5\n" * 284, 4, "value 101 is above 100"),
    ("huge", b"5\n" + b"9" * 30 + b"\n" + b"5\n" * 286, 2, "is above 100"),
    ("blank inside", b"10\n\n7\n" + b"5\n" * 285, 2, "line is blank"),
    ("blank first", b"\n" + b"5\n" * 288, 1, "line is blank"),
    ("two final newlines", GOOD + b"\n", 289, "line is blank"),
    ("lone CR", b"5\r" * 288, 1, "got '5\\r5"),
    ("short", b"5\n" * 120, None, "288 lines expected (5-min samples over 24 h), file has 120"),
    ("long", b"5\n" * 300, 289, "288 lines expected (5-min samples over 24 h), file has 300"),
    ("empty", b"", 1, "file is empty"),
    ("blank only", b"   \n\n", 1, "line is blank"),
]


def _day(tmp_path: Path, content: bytes, name: str = "bad one") -> Path:
    day = tmp_path / "20110303"
    day.mkdir()
    (day / "good").write_bytes(GOOD)
    (day / name).write_bytes(content)
    return day


@pytest.mark.parametrize(
    ("content", "line", "text"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_files_name_file_line_and_expectation(
    tmp_path: Path, content: bytes, line: int | None, text: str
) -> None:
    day = _day(tmp_path, content)
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path == str(day / "bad one")
    assert info.value.line == line
    assert text in info.value.message
    # the same error from a zip of the folder, the file named inside the archive
    archive = tmp_path / "day.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(day.iterdir()):
            handle.write(path, f"20110303/{path.name}")
    with pytest.raises(TraceFormatError) as zipped:
        read_trace(archive, "planetlab")
    assert zipped.value.path == f"{archive}!20110303/bad one"
    assert (zipped.value.line, zipped.value.message) == (line, info.value.message)


def test_first_bad_file_in_order_is_named(tmp_path: Path) -> None:
    day = tmp_path / "20110303"
    day.mkdir()
    (day / "a").write_bytes(b"5\n" * 100)  # wrong length, first in order
    (day / "b").write_bytes(b"x\n" + b"5\n" * 287)
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path == str(day / "a") and "file has 100" in info.value.message
    (day / "a").write_bytes(b"5\n" * 99 + b"-1\n")  # a bad value comes before the length
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert (info.value.path, info.value.line) == (str(day / "a"), 100)


@pytest.mark.parametrize(
    "variant",
    [
        b"\xef\xbb\xbf" + (DAY / "node_a_slice").read_bytes(),  # UTF-8 BOM
        (DAY / "node_a_slice").read_bytes().replace(b"\n", b"\r\n"),  # CRLF
        (DAY / "node_a_slice").read_bytes().rstrip(b"\n"),  # no final newline
        b"\xef\xbb\xbf" + (DAY / "node_a_slice").read_bytes().replace(b"\n", b"\r\n"),
    ],
    ids=["bom", "crlf", "no-final-newline", "bom-crlf"],
)
def test_accepted_variants_read_identically(tmp_path: Path, variant: bytes) -> None:
    day = tmp_path / "20110303"
    shutil.copytree(DAY, day)
    (day / "node_a_slice").write_bytes(variant)
    expected = read_trace(DAY, "planetlab")
    for source in (day, _zip_of(day, tmp_path / "day.zip")):
        got = read_trace(source, "planetlab")
        assert got.usage.collect().equals(expected.usage.collect())
        assert got.inventory.equals(expected.inventory)
        assert not got.problems


def _zip_of(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(folder.parent).as_posix())
    return archive


def test_folder_shapes_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TraceFormatError, match="folder is empty; expected one file per VM"):
        read_trace(empty, "planetlab")
    hidden_only = tmp_path / "hidden"
    hidden_only.mkdir()
    (hidden_only / ".DS_Store").write_bytes(b"x")
    with pytest.raises(TraceFormatError, match="folder is empty"):
        read_trace(hidden_only, "planetlab")
    day = _day(tmp_path, GOOD, "vm2")
    (day / "notes").mkdir()
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path == str(day) and "both files" in info.value.message
    (day / "notes").rmdir()
    os.mkfifo(day / "pipe")
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path == str(day / "pipe") and "not a regular file" in info.value.message
    (day / "pipe").unlink()
    (day / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(TraceFormatError) as info:
        read_trace(day, "planetlab")
    assert info.value.path == str(day / "dangling")
    (day / "dangling").unlink()
    # a folder of day folders, one of them empty
    days = tmp_path / "days"
    shutil.copytree(DAY, days / "20110303")
    (days / "20110304").mkdir()
    with pytest.raises(TraceFormatError) as info:
        read_trace(days, "planetlab")
    assert info.value.path == str(days / "20110304") and "folder is empty" in info.value.message
    (days / "20110304").rmdir()
    assert read_trace(days, "planetlab").inventory.height == 5
    # a zip with files beside a day folder
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("20110303/a", GOOD)
        handle.writestr("b", GOOD)
    with pytest.raises(TraceFormatError, match="archive its top level holds both files"):
        read_trace(archive, "planetlab")


def test_order_file_sets_vm_order_and_types(tmp_path: Path) -> None:
    names = ["node_e_slice", "node_a_slice", "node b slice", "node_d_slice", "node_c_slice"]
    tsv = tmp_path / "order.tsv"
    rows = [f"{i}\t{i // 2}\t{name}" for i, name in enumerate(names)]
    tsv.write_bytes(("index\tvm_type\tfile\r\n" + "\r\n".join(rows) + "\r\n").encode())
    plain = tmp_path / "order.txt"
    plain.write_text("\n".join(names))
    assert read_order(tsv) == names and read_order(plain) == names
    sorted_trace = read_trace(DAY, "planetlab")
    for order in (tsv, plain):
        for source in (DAY, _zip_of(DAY, tmp_path / "day.zip")):
            trace = read_trace(source, "planetlab", order_options(order))
            inventory = trace.inventory
            assert inventory.get_column("vm_id").to_list() == names
            assert inventory.get_column("cpu_capacity_mhz").to_list() == [
                2500,
                2500,
                2000,
                2000,
                1000,
            ]
            # the same percentages, scaled by each VM's new capacity
            share = (
                trace.usage.collect()
                .join(inventory.select("vm_id", "cpu_capacity_mhz"), on="vm_id")
                .select(
                    "vm_id", "timestamp", pct=pl.col("cpu_demand_mhz") / pl.col("cpu_capacity_mhz")
                )
                .sort("vm_id", "timestamp")
            )
            expected = (
                sorted_trace.usage.collect()
                .join(sorted_trace.inventory.select("vm_id", "cpu_capacity_mhz"), on="vm_id")
                .select(
                    "vm_id", "timestamp", pct=pl.col("cpu_demand_mhz") / pl.col("cpu_capacity_mhz")
                )
                .sort("vm_id", "timestamp")
            )
            assert share.equals(expected)
    workload = load_workload(f"planetlab:{DAY}", options=order_options(tsv))
    assert workload.vm_ids.tolist() == names
    direct = read_planetlab(DAY, ReadOptions(), order_file=plain)
    assert direct.inventory.get_column("vm_id").to_list() == names


@pytest.mark.parametrize(
    ("content", "line", "text"),
    [
        ("node_a_slice\nnode_x\n", 2, "'node_x' is not a trace file of"),
        (
            "index\tvm_type\tfile\n0\t0\tnode_a_slice\n1\t0\tnode_a_slice\n",
            3,
            "'node_a_slice' repeats line 2; expected each trace file once",
        ),
        ("node_a_slice\n\nnode_c_slice\n", 2, "line is blank"),
        ("index\tvm_type\tfile\n0\tnode_a_slice\n", 2, "2 tab-separated field(s); expected 3"),
        ("node_a_slice\nnode_c_slice\n", None, "misses 3 of the 5 trace files"),
        ("", None, "names no trace file"),
    ],
    ids=["unknown", "repeated", "blank", "narrow-row", "missing", "empty"],
)
def test_bad_order_files(tmp_path: Path, content: str, line: int | None, text: str) -> None:
    order = tmp_path / "order.tsv"
    order.write_text(content)
    with pytest.raises(TraceFormatError) as info:
        read_trace(DAY, "planetlab", order_options(order))
    assert info.value.path == str(order)
    assert info.value.line == line
    assert text in info.value.message
    if text.startswith("misses"):
        assert "'node b slice'" in info.value.message  # names the first missing files


def test_missing_order_file(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="no such order file"):
        read_order(tmp_path / "absent.tsv")


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


SUMMARY = Path(__file__).resolve().parents[1] / "fixtures" / "cloudsim" / "summary_sorted.csv"


@pytest.mark.shared_data
def test_all_real_days_load_with_their_vm_counts() -> None:
    root = shared_or_skip("data", "planetlab")
    n_vms = dict(pl.read_csv(SUMMARY).select("day", "vms").unique().iter_rows())
    days = sorted(p for p in root.glob("2011*") if p.is_dir())
    assert len(days) == 10
    for day in days:
        trace = read_trace(f"planetlab:{day}")
        assert trace.inventory.height == n_vms[int(day.name)], day.name
        assert not trace.problems


@pytest.mark.shared_data
def test_real_shipped_orders_read() -> None:
    root = shared_or_skip("data", "planetlab")
    for order in sorted((root / "cloudsim-order").glob("*.tsv")):
        names = read_order(order)
        day = root / order.stem
        assert sorted(names) == sorted(p.name for p in day.iterdir())
        trace = read_trace(f"planetlab:{day}", options=order_options(order))
        assert trace.inventory.get_column("vm_id").to_list() == names
        types = pl.read_csv(order, separator="\t", quote_char=None).get_column("vm_type")
        expected = [CLOUDSIM_VM_TYPES[t][0] for t in types.to_list()]
        assert trace.inventory.get_column("cpu_capacity_mhz").to_list() == expected
