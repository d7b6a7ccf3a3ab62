"""SPECpower interpolation as CloudSim computes it (the compiled host-update pass)."""

from __future__ import annotations

import numpy as np
import pytest
from dynamic.scenarios import G4_W, G5_W
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dynamic.kernels.hostupdate import host_util_frac, spec_power_w

GRID = np.linspace(0.0, 1.0, 11)
TABLE = np.array([G4_W, G5_W])


def cloudsim_power_w(util: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """``PowerModelSpecPower.getPower`` step by step, vectorized (the reference)."""
    u = np.clip(util, 0.0, 1.0)
    lo = np.floor(u * 10.0).astype(np.int64)
    hi = np.ceil(u * 10.0).astype(np.int64)
    p_lo = TABLE[kinds, lo]
    return p_lo + (TABLE[kinds, hi] - p_lo) / 10.0 * (u - lo / 10.0) * 100.0


def test_known_points_of_the_g4_curve() -> None:
    watts = spec_power_w(np.array([0.0, 0.25, 0.5, 1.0]), np.zeros(4, dtype=np.int64), TABLE)
    # 0.25 is halfway between 92.6 W (20 %) and 96 W (30 %)
    assert watts.tolist() == pytest.approx([86.0, 94.3, 102.0, 117.0])


def test_out_of_range_utilisation_is_clipped() -> None:
    watts = spec_power_w(np.array([-0.5, 1.7]), np.ones(2, dtype=np.int64), TABLE)
    assert watts.tolist() == pytest.approx([93.7, 135.0])


def test_utilisation_just_above_one_reads_as_one() -> None:
    frac = host_util_frac(np.array([1005.0, 1010.0, 1020.0, 500.0]), np.full(4, 1000.0))
    assert frac.tolist() == [1.0, 1.01, 1.02, 0.5]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-0.2, 1.2), min_size=1, max_size=20), st.integers(0, 1000))
def test_cloudsim_arithmetic_bit_for_bit_and_linear_interpolation(
    util: list[float], seed: int
) -> None:
    u = np.asarray(util)
    kinds = np.random.default_rng(seed).integers(0, 2, len(u))
    watts = spec_power_w(u, kinds, TABLE)
    assert np.array_equal(watts, cloudsim_power_w(u, kinds))
    clipped = np.clip(u, 0.0, 1.0)
    expected = [np.interp(x, GRID, TABLE[k]) for x, k in zip(clipped, kinds, strict=True)]
    np.testing.assert_allclose(watts, expected, rtol=1e-12)
