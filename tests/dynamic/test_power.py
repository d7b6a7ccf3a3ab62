"""SPECpower interpolation as CloudSim computes it."""

from __future__ import annotations

import numpy as np
import pytest
from dynamic.scenarios import G4_W, G5_W
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dynamic.power import curve_power_w, type_power_w

GRID = np.linspace(0.0, 1.0, 11)


def test_known_points_of_the_g4_curve() -> None:
    curves = np.array([G4_W] * 4)
    watts = curve_power_w(np.array([0.0, 0.25, 0.5, 1.0]), curves)
    # 0.25 is halfway between 92.6 W (20 %) and 96 W (30 %)
    assert watts.tolist() == pytest.approx([86.0, 94.3, 102.0, 117.0])


def test_out_of_range_utilisation_is_clipped() -> None:
    watts = curve_power_w(np.array([-0.5, 1.7]), np.array([G5_W, G5_W]))
    assert watts.tolist() == pytest.approx([93.7, 135.0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20), st.integers(0, 1000))
def test_equals_linear_interpolation(util: list[float], seed: int) -> None:
    u = np.asarray(util)
    kinds = np.random.default_rng(seed).integers(0, 2, len(u))
    table = np.array([G4_W, G5_W])
    expected = np.array([np.interp(x, GRID, table[k]) for x, k in zip(u, kinds, strict=True)])
    np.testing.assert_allclose(type_power_w(u, kinds, table), expected, rtol=1e-12)
    np.testing.assert_allclose(curve_power_w(u, table[kinds]), expected, rtol=1e-12)
