"""Baselines and error measures checked by hand."""

from __future__ import annotations

import numpy as np

from capplan.forecast import baseline_forecast, last_value, seasonal_naive
from capplan.forecast.metrics import coverage, interval_pinball, mase, mase_scale, smape


def test_seasonal_naive_repeats_the_last_day_by_hand() -> None:
    # 6-hour steps: 4 steps a day, three days
    values = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]], dtype=float)
    assert seasonal_naive(values, 4, 6).tolist() == [[9, 10, 11, 12, 9, 10]]
    assert last_value(values, 3).tolist() == [[12, 12, 12]]
    fc = baseline_forecast("seasonal_naive", values, 21_600, 4, level=0.5)
    assert fc.point.tolist() == [[9, 10, 11, 12]]
    # its one-day-ahead errors are all +4 (each day is 4 above the one before): interval = point+4
    assert np.allclose(fc.lower, fc.point + 4) and np.allclose(fc.upper, fc.point + 4)


def test_baseline_fills_gaps_with_last_observed() -> None:
    values = np.array([[1, 2, 3, 4, 5, 6, 0, 0, 9, 10, 0, 0]], dtype=float)
    observed = values > 0
    fc = baseline_forecast("last_value", values, 21_600, 2, observed=observed)
    assert fc.point.tolist() == [[10, 10]]


def test_mase_smape_pinball_coverage_by_hand() -> None:
    train = np.array([[1.0, 3.0, 2.0, 6.0]])  # lag-2 differences: |2-1|, |6-3| → scale 2
    obs = np.ones_like(train, dtype=bool)
    scale = mase_scale(train, obs, 2)
    assert scale.tolist() == [2.0]
    actual = np.array([[4.0, 0.0]])
    point = np.array([[3.0, 0.0]])
    aobs = np.ones_like(actual, dtype=bool)
    assert mase(actual, point, aobs, scale).tolist() == [0.25]  # MAE 0.5 / scale 2
    # sMAPE: 200·1/7 for the first step, 0 for 0/0 → mean 100/7
    assert np.isclose(smape(actual, point, aobs)[0], 100.0 / 7.0)
    lower, upper = np.array([[3.5, 1.0]]), np.array([[5.0, 2.0]])
    # level 0.8: q=0.1 loss at lower: 0.1·0.5=0.05 and 0.9·1=0.9; upper q=0.9: 0.1·1, 0.1·2
    expected = 0.5 * ((0.05 + 0.9) / 2 + (0.1 + 0.2) / 2) / 2.0
    assert np.isclose(interval_pinball(actual, lower, upper, 0.8, aobs, scale)[0], expected)
    assert coverage(actual, lower, upper, aobs) == (1, 2)
