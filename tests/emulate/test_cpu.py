"""CPU replay: hand-worked contention and the CPU-ready estimate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.cpu import cpu_replay, ready_frac


def test_hand_worked_contention() -> None:
    demand = np.array([[1000, 2000, 3000], [0, 500, 2500]], dtype=np.float32)
    result = cpu_replay(demand.copy(), [2000.0, 2000.0])
    np.testing.assert_allclose(result.util_frac, [[0.5, 1.0, 1.0], [0.0, 0.25, 1.0]])
    np.testing.assert_allclose(result.unmet_mhz, [[0, 0, 1000], [0, 0, 500]])
    assert result.overloaded_steps.tolist() == [1, 1]
    np.testing.assert_allclose(result.served_frac(), [[1, 1, 2 / 3], [1, 1, 0.8]], rtol=1e-6)


def test_mode_overhead_scales_demand() -> None:
    # 2 % overhead: 980 MHz of native work needs 980 / 0.98 = 1000 MHz.
    result = cpu_replay(np.array([[980.0]], dtype=np.float32), [2000.0], demand_multiplier=1 / 0.98)
    assert result.demand_mhz[0, 0] == pytest.approx(1000.0, rel=1e-6)
    assert result.util_frac[0, 0] == pytest.approx(0.5, rel=1e-6)


def test_ready_is_zero_without_overcommit_and_grows_with_load() -> None:
    util = np.array([[0.2, 0.5, 0.9, 1.0]])
    assert np.all(ready_frac(util, [8], [1.0]) == 0.0)
    ready = ready_frac(util, [8], [3.0])[0]
    assert np.all(np.diff(ready) > 0) and ready[-1] < 1.0
    # Sakasegawa for c = 1 at ρ = 0.5: Wq/S = 0.5^(√4 − 1) / (1 · 0.5) = 1 → ready = 1/2.
    assert ready_frac(np.array([[0.5]]), [1], [2.0])[0, 0] == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(
    base=st.lists(st.floats(0, 5000, width=32), min_size=1, max_size=10),
    extra=st.floats(0, 3000, width=32),
)
def test_more_demand_never_lowers_util_or_unmet(base: list[float], extra: float) -> None:
    low = np.array([base], dtype=np.float32)
    high = low + np.float32(extra)
    a = cpu_replay(low.copy(), [3000.0])
    b = cpu_replay(high.copy(), [3000.0])
    assert np.all(b.util_frac >= a.util_frac) and np.all(b.unmet_mhz >= a.unmet_mhz)
    assert np.all((a.util_frac >= 0) & (a.util_frac <= 1))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("multiplier", [1.0, 1.07])
def test_compiled_pass_equals_numpy_formulas(workers: int, multiplier: float) -> None:
    rng = np.random.default_rng(7)
    demand = rng.uniform(0.0, 3000.0, (23, 7_000)).astype(np.float32)  # several row blocks
    demand[0, :5] = [0.0, 2000.0, 2000.5, np.nan, 1999.0]
    capacity = rng.uniform(1000.0, 2500.0, 23)
    capacity[0] = 2000.0
    scaled = demand * np.float32(multiplier)
    cap32 = capacity.astype(np.float32)[:, None]
    served = np.minimum(scaled, cap32)
    result = cpu_replay(demand.copy(), capacity, demand_multiplier=multiplier, workers=workers)
    np.testing.assert_array_equal(result.demand_mhz, scaled)
    np.testing.assert_array_equal(result.unmet_mhz, scaled - served)
    want_util = np.minimum(served * (1.0 / capacity).astype(np.float32)[:, None], np.float32(1))
    np.testing.assert_array_equal(result.util_frac, want_util)
    np.testing.assert_array_equal(result.overloaded_steps, np.count_nonzero(scaled - served, 1))


def test_host_totals_are_the_arrays_own_sums_and_maxima() -> None:
    from capplan.emulate.cpu import DEMAND_SUM, UNMET_SUM, UTIL_MAX, UTIL_SUM

    rng = np.random.default_rng(3)
    demand = rng.uniform(0.0, 3000.0, (17, 5_000)).astype(np.float32)
    result = cpu_replay(demand, rng.uniform(1000.0, 2500.0, 17), demand_multiplier=1.1)
    totals = result.host_totals
    for row, array in (
        (DEMAND_SUM, result.demand_mhz),
        (UNMET_SUM, result.unmet_mhz),
        (UTIL_SUM, result.util_frac),
    ):
        np.testing.assert_allclose(totals[row], array.sum(axis=1, dtype=np.float64), rtol=1e-12)
    np.testing.assert_array_equal(totals[UTIL_MAX], result.util_frac.max(axis=1))
