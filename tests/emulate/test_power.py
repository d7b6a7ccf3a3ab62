"""Power from utilization: hand-worked interpolation and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from capplan.emulate.power import hinge_coefficients, power_rows_w, power_w
from capplan.errors import CapplanError

G4 = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]  # HP ProLiant ML110 G4
X5670 = [66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247]  # IBM x3550 M3 X5670
LINEAR = [float(10 * i) for i in range(11)]


def test_hand_worked_interpolation() -> None:
    assert power_w(0.25, LINEAR)[()] == pytest.approx(25.0)
    # 35 % lies halfway between 30 % (96 W) and 40 % (99.5 W).
    assert power_w(0.35, G4)[()] == pytest.approx(97.75)
    # Exactly on the table points, and clipped outside [0, 1].
    np.testing.assert_allclose(power_w([0.0, 0.1, 1.0, 1.7, -0.2], G4), [86, 89.4, 117, 117, 86])


def test_one_curve_per_host_row() -> None:
    util = np.array([[0.05, 1.0], [0.5, 0.0]])
    got = power_w(util, np.array([G4, X5670]))
    np.testing.assert_allclose(got, [[(86 + 89.4) / 2, 117], [156, 66]])


def test_curve_shape_is_checked() -> None:
    with pytest.raises(CapplanError, match="11 points"):
        power_w(0.5, [1, 2, 3])
    with pytest.raises(CapplanError, match="do not match"):
        power_w(np.zeros((3, 4)), np.array([G4, G4]))


def test_hinge_coefficients_hand_worked() -> None:
    # A straight line: idle 0 W, 10 W per 10 %, no change of slope anywhere.
    np.testing.assert_allclose(hinge_coefficients(LINEAR), [0, 10] + [0] * 9)
    # G4: idle 86 W, first slope 3.4 W, then 3.2 − 3.4 = −0.2 W at 10 %, 3.4 − 3.2 = +0.2 ...
    c = hinge_coefficients(G4)
    assert c[0] == pytest.approx(86) and c[1] == pytest.approx(3.4)
    assert c[2] == pytest.approx(-0.2) and c[3] == pytest.approx(0.2)
    for k in range(11):  # the hinge sum passes through every table point
        hinges = sum(c[j + 1] * max(k - j, 0) for j in range(1, 10))
        assert c[0] + c[1] * k + hinges == pytest.approx(G4[k])


def test_fast_path_over_many_blocks_and_threads() -> None:
    rng = np.random.default_rng(3)
    util = rng.uniform(-0.2, 1.2, size=(37, 5_000)).astype(np.float32)  # > one block
    rows = rng.integers(0, 2, 37)
    curves = np.array([G4, X5670])
    ref = power_w(util.astype(np.float64), curves[rows])
    for workers in (1, 2, 3):
        got = power_rows_w(util, rows, curves, workers=workers)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-3)


def test_fast_path_checks_the_curve_index() -> None:
    with pytest.raises(CapplanError, match="outside the power-curve table"):
        power_rows_w(np.zeros((2, 3), np.float32), np.array([0, 2]), np.array([G4, X5670]))


@settings(max_examples=40, deadline=None)
@given(
    util=arrays(np.float32, (3, 7), elements=st.floats(-0.5, 1.5, width=32)),
    which=st.lists(st.integers(0, 1), min_size=3, max_size=3),
)
def test_fast_path_equals_reference(util: np.ndarray, which: list[int]) -> None:
    curves = np.array([G4, X5670])
    rows = np.array(which)
    fast = power_rows_w(util, rows, curves)
    ref = power_w(util.astype(np.float64), curves[rows])
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(u=st.lists(st.floats(0, 1), min_size=2, max_size=20))
def test_power_is_monotone_and_bounded(u: list[float]) -> None:
    ordered = np.sort(np.array(u))
    watts = power_w(ordered, X5670)
    assert np.all(np.diff(watts) >= -1e-9)
    assert watts.min() >= X5670[0] - 1e-9 and watts.max() <= X5670[-1] + 1e-9
