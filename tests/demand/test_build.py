"""Workload builder: resampling, duplicates, gaps, quality, hand-worked cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.demand import build_workload
from capplan.errors import WorkloadError
from capplan.io import Trace

T0 = 1_700_000_000


def _trace(rows: list[tuple[str, int, float]], inventory: pl.DataFrame | None = None) -> Trace:
    frame = pl.DataFrame(
        rows,
        schema={"vm_id": pl.String, "t": pl.Int64, "cpu_demand_mhz": pl.Float64},
        orient="row",
    ).with_columns((pl.col("t") * 1_000_000).cast(pl.Datetime("us", "UTC")).alias("timestamp"))
    return Trace.build(frame.drop("t"), inventory, format="test", sources=["mem"])


def test_jittered_samples_land_on_their_own_step() -> None:
    rows = [("a", T0 + t, float(i)) for i, t in enumerate([0, 299, 601, 900, 1201])]
    w = build_workload(_trace(rows))
    assert w.step_s == 300
    assert w.n_steps == 5
    np.testing.assert_array_equal(w.mean["cpu_demand_mhz"][0], [0, 1, 2, 3, 4])
    assert w.observed.all()
    assert w.peak == {}
    assert w.start == datetime.fromtimestamp(T0, tz=UTC)


def test_finer_source_keeps_mean_and_peak() -> None:
    rows = [("b", T0 + 60 * k, float(10 * k)) for k in range(10)]
    w = build_workload(_trace(rows), step_s=300)
    # nearest grid point: t=0,60,120 -> step 0; 180..420 -> step 1; 480,540 -> step 2
    np.testing.assert_allclose(w.mean["cpu_demand_mhz"][0], [10.0, 50.0, 85.0])
    np.testing.assert_allclose(w.peak["cpu_demand_mhz"][0], [20.0, 70.0, 90.0])


def test_duplicates_dropped_and_unordered_rows_sorted() -> None:
    rows = [("a", T0 + 600, 2.0), ("a", T0, 0.0), ("a", T0 + 300, 1.0), ("a", T0 + 300, 9.0)]
    w = build_workload(_trace(rows))
    np.testing.assert_array_equal(w.mean["cpu_demand_mhz"][0], [0, 1, 2])
    messages = " | ".join(p.message for p in w.quality.problems)
    assert "repeat a VM's timestamp" in messages
    assert "not in time order" in messages


def test_short_gap_interpolated_long_gap_marked() -> None:
    short = [("a", T0 + 300 * k, float(k)) for k in (0, 1, 4, 5)]  # gap of 2 steps
    long = [("b", T0 + 300 * k, 1.0) for k in (0, 5)]  # gap of 4 steps
    w = build_workload(_trace(short + long), step_s=300, max_gap_steps=3)
    np.testing.assert_allclose(w.mean["cpu_demand_mhz"][0], [0, 1, 2, 3, 4, 5])
    assert w.observed[0].all()
    np.testing.assert_array_equal(w.mean["cpu_demand_mhz"][1], [1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(w.observed[1], [1, 0, 0, 0, 0, 1])
    # quality: a has 4 real of 6 expected, b 2 of 6
    np.testing.assert_allclose(w.quality.vm_frac, [4 / 6, 2 / 6])
    assert w.quality.overall_frac == pytest.approx(6 / 12)


def test_suspicious_values_lower_quality() -> None:
    inventory = pl.DataFrame({"vm_id": ["a"], "cpu_capacity_mhz": [100.0]})
    rows = [("a", T0 + 300 * k, v) for k, v in enumerate([50.0, 500.0, 60.0, 70.0])]
    w = build_workload(_trace(rows, inventory))
    assert w.quality.vm_frac[0] == pytest.approx(3 / 4)
    assert any("suspicious" in p.message for p in w.quality.problems)


def test_inventory_aligned_and_empty_trace_rejected() -> None:
    inventory = pl.DataFrame({"vm_id": ["z", "b", "a"], "n_vcpus": [8, 2, 1]})
    rows = [("a", T0, 1.0), ("a", T0 + 300, 1.0), ("b", T0, 2.0)]
    w = build_workload(_trace(rows, inventory))
    assert w.vm_ids.tolist() == ["b", "a"]
    assert w.inventory.get_column("n_vcpus").to_list() == [2, 1]
    with pytest.raises(WorkloadError, match="no usage rows"):
        build_workload(_trace([]))
    with pytest.raises(WorkloadError, match="step_s"):
        build_workload(_trace(rows), step_s=0)


def test_save_load_round_trip(tmp_path: Path) -> None:
    rows = [("a", T0 + 60 * k, float(k)) for k in range(20)]
    w = build_workload(_trace(rows), step_s=300)
    loaded = type(w).load(w.save(tmp_path / "w"))
    assert loaded.summary() == w.summary()
    np.testing.assert_array_equal(loaded.mean["cpu_demand_mhz"], w.mean["cpu_demand_mhz"])
    np.testing.assert_array_equal(loaded.peak["cpu_demand_mhz"], w.peak["cpu_demand_mhz"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 40), st.floats(0, 1e4)),
        min_size=2,
        max_size=60,
    )
)
def test_properties_of_any_trace(samples: list[tuple[str, int, float]]) -> None:
    rows = [(vm, T0 + 300 * k, v) for vm, k, v in samples]
    if len({(vm, k) for vm, k, _ in samples}) < 2 or len({k for _, k, _ in samples}) < 2:
        return
    w = build_workload(_trace(rows), step_s=300, max_gap_steps=0)
    cpu = w.mean["cpu_demand_mhz"]
    assert cpu.shape == (w.n_vms, w.n_steps)
    assert np.isfinite(cpu).all() and (cpu >= 0).all()
    assert 0.0 <= w.quality.overall_frac <= 1.0
    # every first sample per (vm, step) is present unchanged (no gap filling, one per step)
    first: dict[tuple[str, int], float] = {}
    for vm, k, v in samples:
        first.setdefault((vm, k), v)
    kmin = min(k for _, k, _ in samples)
    row = {vm: i for i, vm in enumerate(w.vm_ids.tolist())}
    for (vm, k), v in first.items():
        assert cpu[row[vm], k - kmin] == pytest.approx(v, rel=1e-6, abs=1e-3)
    assert int(w.observed.sum()) == len(first)
