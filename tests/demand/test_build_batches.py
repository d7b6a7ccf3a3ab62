"""The batched Workload path (Trace.batches) gives the same Workload as the plain usage path."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import shared_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.demand import build_workload
from capplan.demand.workload import Workload
from capplan.errors import WorkloadError
from capplan.io import read_trace
from capplan.io.trace import BATCH_TIME_COLUMN, BATCH_VM_COLUMN, Trace, UsageBatches

T0 = 1_700_000_000


def _plain(trace: Trace) -> Trace:
    """The same trace without its batches: the builder reads the canonical usage table."""
    return Trace.build(
        trace.usage.collect(),
        trace.inventory,
        format=trace.format,
        sources=trace.sources,
        problems=trace.problems,
        native_step_s=trace.native_step_s,
    )


def _assert_same(batched: Workload, plain: Workload) -> None:
    assert batched.vm_ids.tolist() == plain.vm_ids.tolist()
    assert (batched.start, batched.step_s) == (plain.start, plain.step_s)
    assert batched.mean.keys() == plain.mean.keys()
    assert batched.peak.keys() == plain.peak.keys()
    for name in plain.mean:
        np.testing.assert_array_equal(batched.mean[name], plain.mean[name], err_msg=name)
    for name in plain.peak:
        np.testing.assert_array_equal(batched.peak[name], plain.peak[name], err_msg=name)
    np.testing.assert_array_equal(batched.observed, plain.observed)
    np.testing.assert_array_equal(batched.quality.vm_frac, plain.quality.vm_frac)
    assert batched.quality.overall_frac == plain.quality.overall_frac
    assert [p.render() for p in batched.quality.problems] == [
        p.render() for p in plain.quality.problems
    ]
    assert batched.inventory.equals(plain.inventory)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("parts", "step_s", "max_gap_steps"),
    [
        ((), None, 3),  # 11 VMs in 15 files over three months: gaps, off rows, duplicates
        (("rnd", "2013-7", "122.csv"), None, 3),  # 4,218 exact duplicates, 4,220 repeats
        ((), 3600, 3),  # coarser step: several samples per step, mean and peak
        (("rnd", "2013-7"), 300, 0),  # no gap filling
    ],
)
def test_real_bitbrains_batched_equals_plain(
    parts: tuple[str, ...], step_s: int | None, max_gap_steps: int
) -> None:
    root = shared_or_skip("data", "bitbrains-gwa-t-12")
    trace = read_trace(root.joinpath(*parts), "bitbrains")
    assert trace.batches is not None
    plain = build_workload(_plain(trace), step_s=step_s, max_gap_steps=max_gap_steps)
    batched = build_workload(trace, step_s=step_s, max_gap_steps=max_gap_steps)
    _assert_same(batched, plain)
    assert batched.n_vms == (11 if not parts else 10 if len(parts) == 2 else 1)
    if step_s == 3600:
        assert batched.peak  # the finer source kept its per-step peak
    # A second Workload from the same trace parses the files again: same result.
    _assert_same(build_workload(trace, step_s=step_s, max_gap_steps=max_gap_steps), plain)


def _batches(
    rows: list[tuple[int, int, float]], cuts: list[int], vm_ids: list[str]
) -> UsageBatches:
    """Compact batches of ``rows`` (vm code, epoch seconds, cpu MHz) cut at ``cuts``."""
    frame = pl.DataFrame(
        rows,
        schema={
            BATCH_VM_COLUMN: pl.UInt32,
            BATCH_TIME_COLUMN: pl.UInt32,
            "cpu_demand_mhz": pl.Float64,
        },
        orient="row",
    ).with_columns(pl.col("cpu_demand_mhz").cast(pl.Float32))
    bounds = [0, *sorted(set(cuts)), frame.height]

    def frames() -> Iterator[pl.DataFrame]:
        for lo, hi in itertools.pairwise(bounds):
            yield frame.slice(lo, hi - lo)

    return UsageBatches(vm_ids, ["cpu_demand_mhz"], list(frames()), reparse=frames)


@settings(max_examples=50, deadline=None)
@given(
    samples=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(-3, 3), st.floats(0, 1e4)),
        min_size=2,
        max_size=60,
    ),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=5),
    step_s=st.sampled_from([None, 300, 900]),
    inventory_order=st.permutations(["a", "b", "c", "d"]),
    in_order=st.booleans(),
)
def test_any_batches_equal_plain(
    samples: list[tuple[int, int, int, float]],
    cuts: list[float],
    step_s: int | None,
    inventory_order: list[str],
    in_order: bool,
) -> None:
    """Unsorted rows, a VM split over batches, repeats and shared steps across a cut, codes
    not in the inventory's order: the batched path still matches the plain one."""
    vm_ids = ["a", "b", "c", "d"]
    rows = [(vm, T0 + 300 * k + jitter, value) for vm, k, jitter, value in samples]
    if in_order:  # as readers emit them: sorted by VM code (the inventory's order) and time
        rows.sort(key=lambda row: row[:2])
        inventory_order = vm_ids
    if step_s is None and len({(vm, t) for vm, t, _ in rows}) < 2:
        return
    inventory = pl.DataFrame({"vm_id": inventory_order[:3], "n_vcpus": [1, 2, 3]})
    batches = _batches(rows, [int(c * len(rows)) for c in cuts], vm_ids)
    usage = pl.concat([batches.canonical(frame) for frame in batches._reparse()])
    plain_trace = Trace.build(usage, inventory, format="test", sources=["mem"])
    trace = Trace.from_batches(batches, inventory, format="test", sources=["mem"])
    try:
        plain = build_workload(plain_trace, step_s=step_s)
    except WorkloadError as exc:
        with pytest.raises(WorkloadError, match=str(exc.message)[:30]):
            build_workload(trace, step_s=step_s)
        return
    _assert_same(build_workload(trace, step_s=step_s), plain)


def test_batches_are_handed_over_once_then_made_again() -> None:
    rows = [(0, T0 + 300 * k, float(k)) for k in range(10)] + [(1, T0, 5.0)]
    made: list[int] = []
    frame = _batches(rows, [4], ["x", "y"])
    parsed = list(frame._reparse())

    def again() -> Iterator[pl.DataFrame]:
        made.append(1)
        yield from parsed

    batches = UsageBatches(["x", "y"], ["cpu_demand_mhz"], parsed, reparse=again)
    first = list(batches)
    assert len(first) == 2 and made == []
    assert batches._parsed is None  # the first pass took them: nothing left behind
    second = list(batches)
    assert made == [1]
    assert all(a.equals(b) for a, b in zip(first, second, strict=True))


def test_usage_of_batches_is_canonical_and_honours_projection_filter_and_head() -> None:
    rows = [(code, T0 + 300 * k, float(10 * code + k)) for code in (0, 1) for k in range(5)]
    batches = _batches(rows, [3, 7], ["x", "y"])
    usage = batches.usage()
    full = usage.collect()
    assert dict(full.schema) == dict(
        Trace.build(full, None, format="t", sources=[]).usage.collect_schema()
    )
    assert full.height == 10 and full.get_column("vm_id").to_list()[:6] == ["x"] * 5 + ["y"]
    assert full.get_column("disk_read_iops").null_count() == 10
    picked = usage.filter(pl.col("vm_id") == "y").select("cpu_demand_mhz").collect()
    assert picked.get_column("cpu_demand_mhz").to_list() == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert usage.head(4).collect().height == 4


def test_bad_batches_are_refused() -> None:
    frame = pl.DataFrame({BATCH_VM_COLUMN: [0], "cpu_demand_mhz": [1.0]})
    batches = UsageBatches(["x"], ["cpu_demand_mhz"], [frame], reparse=lambda: iter([frame]))
    trace = Trace.from_batches(batches, None, format="test", sources=["mem"])
    with pytest.raises(WorkloadError, match="lacks the columns"):
        build_workload(trace)
    empty = UsageBatches(["x"], ["cpu_demand_mhz"], [], reparse=lambda: iter([]))
    with pytest.raises(WorkloadError, match="no usage rows"):
        build_workload(Trace.from_batches(empty, None, format="test", sources=["mem"]))
    with pytest.raises(ValueError, match="not canonical"):
        UsageBatches(["x"], ["cpu_mhz"], [], reparse=lambda: iter([]))


def test_same_workload_after_saving(tmp_path: Path) -> None:
    rows = [(0, T0 + 60 * k, float(k)) for k in range(20)]
    trace = Trace.from_batches(_batches(rows, [7], ["x"]), None, format="test", sources=["m"])
    w = build_workload(trace, step_s=300)
    loaded = type(w).load(w.save(tmp_path / "w"))
    np.testing.assert_array_equal(loaded.peak["cpu_demand_mhz"], w.peak["cpu_demand_mhz"])


def test_long_clean_stretches_match_plain() -> None:
    """Hundreds of samples per VM, a gap and a repeat: stretches of cells, not an index."""
    rows = [
        (code, T0 + 300 * k + (k % 3) - 1, float(code * 1000 + k))
        for code in (0, 1, 2)
        for k in range(400)
        if not (code == 1 and 150 <= k < 160)
    ]
    rows.insert(500, rows[499])  # a repeated timestamp (kept: the first)
    batches = _batches(rows, [333, 700], ["a", "b", "c"])
    usage = pl.concat([batches.canonical(frame) for frame in batches._reparse()])
    plain_trace = Trace.build(usage, None, format="t", sources=["m"])
    plain = build_workload(plain_trace, step_s=300, max_gap_steps=3)
    trace = Trace.from_batches(batches, None, format="t", sources=["m"])
    batched = build_workload(trace, step_s=300, max_gap_steps=3)
    _assert_same(batched, plain)
    assert not batched.observed[1, 150:160].any()  # 10 missing steps: longer than 3
    assert batched.mean["cpu_demand_mhz"][2, 399] == 2399.0


def test_cells_of_stretches_and_of_an_index_agree() -> None:
    from capplan.demand.build import _cell_index, _Chunk

    vm = np.repeat(np.arange(3, dtype=np.uint32), 100)
    t = np.tile(np.arange(100, dtype=np.uint32) * 300, 3)
    t[150:] += 300  # VM 1 skips a step from its 51st sample on, VM 2 starts a step later
    chunks = [_Chunk(vm.copy(), t.copy(), {}), _Chunk(vm[::7].copy(), t[::7].copy(), {})]
    assert not _cell_index(chunks, 0, 300, 101)
    # VM 0, VM 1 before and after its skip, VM 2: four stretches of cells
    assert chunks[0].runs == [(0, 0, 100), (101, 100, 50), (152, 150, 50), (203, 200, 100)]
    assert chunks[1].runs is None and chunks[1].flat is not None  # scattered rows: an index
    expected = vm.astype(np.int64) * 101 + t // 300
    np.testing.assert_array_equal(chunks[0].cells(), expected)
    np.testing.assert_array_equal(chunks[1].cells(), expected[::7])
    dense = np.zeros(303, dtype=np.float32)
    chunks[0].put(dense, np.arange(300, dtype=np.float32))
    np.testing.assert_array_equal(dense[expected], np.arange(300))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 200_000), max_size=30).map(lambda v: np.asarray(v, np.int64)),
        min_size=1,
        max_size=4,
    )
)
def test_interval_median_is_numpys_median(parts: list[np.ndarray]) -> None:
    """The histogram-based median of the step equals numpy's, small and large intervals."""
    from capplan.demand.build import _Median

    median = _Median()
    for part in parts:
        median.add(part)
    values = np.concatenate(parts)
    assert median.value() == (float(np.median(values)) if values.size else None)
