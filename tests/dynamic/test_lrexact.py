"""CloudSim's LR arithmetic (:mod:`capplan.dynamic.kernels.lrexact`) against independent figures."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.dynamic.detection import LR_LEAD, LR_SAMPLES, W_MEAN, W_SLOPE
from capplan.dynamic.kernels.lrexact import (
    EXACT_NOT_OVER,
    EXACT_OVER,
    EXACT_SHORT,
    over_exact,
    regression_line,
)


def test_regression_line_matches_least_squares() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        y = rng.uniform(0.0, 1.0, LR_SAMPLES)
        slope, intercept = np.polyfit(np.arange(1, LR_SAMPLES + 1), y, 1)
        got_intercept, got_slope = regression_line(y)
        assert got_slope == pytest.approx(slope, rel=1e-12, abs=1e-14)
        assert got_intercept == pytest.approx(intercept, rel=1e-12, abs=1e-14)


def test_regression_line_by_hand() -> None:
    # y = 2x + 1 exactly at x = 1..10
    y = 2.0 * np.arange(1, 11, dtype=np.float64) + 1.0
    intercept, slope = regression_line(y)
    assert (intercept, slope) == (1.0, 2.0)


def _host(hist_rows: list[list[float]], mips: list[float]) -> tuple[np.ndarray, np.ndarray]:
    hist = np.zeros((len(hist_rows), 30))
    for v, row in enumerate(hist_rows):
        hist[v, : len(row)] = row
    return hist, np.asarray(mips, dtype=np.float64)


def test_over_exact_agrees_with_the_linear_form_off_the_boundary() -> None:
    rng = np.random.default_rng(11)
    for _ in range(100):
        n_vms = int(rng.integers(1, 6))
        hist = rng.uniform(0.01, 1.0, (n_vms, 30))
        mips = rng.choice([500.0, 1000.0, 2000.0, 2500.0], n_vms)
        total = 5320.0
        members = np.arange(n_vms - 1, dtype=np.int64)
        steps = float(rng.integers(0, 4))
        safety = 1.2
        share = mips / total
        recent = hist[:, :LR_SAMPLES]
        mean = float((recent @ W_MEAN) @ share)
        slope = float((recent @ W_SLOPE) @ share)
        value = safety * (mean + slope * (LR_LEAD + steps))
        if abs(value - 1.0) < 1e-6:
            continue
        got = over_exact(hist, mips, members, len(members), n_vms - 1, total, steps, safety)
        assert got == (EXACT_OVER if value >= 1.0 else EXACT_NOT_OVER)


def test_over_exact_on_the_boundary_and_short_history() -> None:
    # one VM using the whole host at a flat 0.5: predicted 0.5, × 2 = exactly 1 -> over
    hist, mips = _host([[0.5] * 30], [1000.0])
    members = np.asarray([0], dtype=np.int64)
    assert over_exact(hist, mips, members, 1, -1, 1000.0, 2.0, 2.0) == EXACT_OVER
    assert over_exact(hist, mips, members, 1, -1, 1000.0, 2.0, 1.999) == EXACT_NOT_OVER
    # nine samples (zero tail trimmed) are too few: the caller keeps its own value
    hist, mips = _host([[0.5] * 9], [1000.0])
    assert over_exact(hist, mips, members, 1, -1, 1000.0, 0.0, 1.2) == EXACT_SHORT
    # the candidate (extra VM) counts in the sum: two half-size VMs at 0.5 make 0.5
    hist, mips = _host([[0.5] * 30, [0.5] * 30], [500.0, 500.0])
    assert over_exact(hist, mips, members, 1, -1, 1000.0, 0.0, 2.0) == EXACT_NOT_OVER
    assert over_exact(hist, mips, members, 1, 1, 1000.0, 0.0, 2.0) == EXACT_OVER
