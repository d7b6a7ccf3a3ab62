"""Bitbrains reader: compact batches, batch boundaries, a second pass, progress."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip

import capplan.io.bitbrains as bitbrains
from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, read_trace
from capplan.io.trace import Trace
from capplan.schema import USAGE_METRICS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitbrains" / "vms"


def _rows(trace: Trace) -> pl.DataFrame:
    """The compact batches in canonical form, in their order."""
    assert trace.batches is not None
    return pl.concat([trace.batches.canonical(frame) for frame in trace.batches])


def _summary(trace: Trace) -> tuple[object, ...]:
    return (
        [p.render() for p in trace.problems],
        trace.inventory.rows(),
        trace.usage.collect().rows(),
    )


def test_batches_hold_the_usage_rows_at_float32() -> None:
    trace = read_trace(FIXTURES, "bitbrains")
    usage = trace.usage.collect()
    batched = _rows(trace)
    assert batched.select("vm_id", "timestamp").equals(usage.select("vm_id", "timestamp"))
    metrics = [m for m in USAGE_METRICS if usage.get_column(m).null_count() == 0]
    assert len(metrics) == 6
    rounded = usage.select(pl.col(m).cast(pl.Float32).cast(pl.Float64) for m in metrics)
    assert batched.select(metrics).equals(rounded)
    # Sorted by VM and time, as the builder expects.
    assert usage.equals(usage.sort("vm_id", "timestamp", maintain_order=True))


@pytest.mark.shared_data
def test_one_batch_per_vm_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    root = shared_or_skip("data", "bitbrains-gwa-t-12")
    whole = read_trace(root, "bitbrains")
    assert whole.batches is not None
    monkeypatch.setattr(bitbrains, "_BATCH_MIN_BYTES", 1)
    monkeypatch.setattr(bitbrains, "_N_BATCHES", 10**6)
    split = read_trace(root, "bitbrains")
    assert split.batches is not None
    frames = list(split.batches)
    assert len(frames) == 11  # one per VM; VM 1 and VM 420 each bring three month files
    assert _summary(split) == _summary(whole)
    assert pl.concat([split.batches.canonical(f) for f in frames]).equals(_rows(whole))


def test_second_pass_refuses_changed_files(tmp_path: Path) -> None:
    for path in sorted(FIXTURES.rglob("*.csv")):
        target = tmp_path / path.relative_to(FIXTURES)
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(path.read_bytes())
    trace = read_trace(tmp_path, "bitbrains")
    assert trace.batches is not None
    first = list(trace.batches)  # hands over what the read parsed
    second = list(trace.batches)  # parses the files again
    assert [f.rows() for f in first] == [f.rows() for f in second]
    changed = tmp_path / "2013-7" / "7.csv"
    changed.write_text(changed.read_text() + changed.read_text().splitlines()[-1] + "\n")
    os.utime(changed, ns=(1, 1))
    with pytest.raises(TraceFormatError, match="changed") as info:
        trace.usage.collect()
    assert info.value.path is not None and info.value.path.endswith("7.csv")


def test_progress_counts_files() -> None:
    seen: list[tuple[int, int]] = []
    read_trace(FIXTURES, "bitbrains", ReadOptions(progress=lambda d, t: seen.append((d, t))))
    assert seen and seen[-1] == (3, 3)


def test_milliseconds_are_judged_per_file(tmp_path: Path) -> None:
    lines = (FIXTURES / "2013-7" / "7.csv").read_text().splitlines()
    in_ms = [lines[0]] + [
        line.split(";", 1)[0] + "000;" + line.split(";", 1)[1] for line in lines[1:]
    ]
    (tmp_path / "7.csv").write_text("\n".join(in_ms) + "\n")
    (tmp_path / "8.csv").write_text("\n".join(lines) + "\n")
    trace = read_trace(tmp_path, "bitbrains")
    found = [p for p in trace.problems if "milliseconds" in p.message]
    assert len(found) == 1 and "in 1 file(s)" in found[0].message
    assert found[0].path is not None and found[0].path.endswith("7.csv")
    usage = trace.usage.collect()
    by_vm = usage.group_by("vm_id").agg(pl.col("timestamp").min()).sort("vm_id")
    assert by_vm.get_column("timestamp").n_unique() == 1  # both files at the same times


def test_bad_disk_value_is_named_in_the_file_column(tmp_path: Path) -> None:
    good = (FIXTURES / "2013-7" / "7.csv").read_text().splitlines()
    row = "1372629600;\t2;\t5200.0;\t1.0;\t1.0;\t1.0;\t1.0;\t1.0;\t-2.0;\t1.0;\t1.0"
    (tmp_path / "9.csv").write_text("\n".join([*good, row]) + "\n")
    with pytest.raises(TraceFormatError, match="negative") as info:
        read_trace(tmp_path, "bitbrains")
    assert info.value.line == 4 and info.value.column == "Disk write throughput [KB/s]"
