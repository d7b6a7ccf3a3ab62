"""Time-to-exhaustion by hand on a linear series, and cluster sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from capplan.forecast import (
    ForecastError,
    fit_forecast,
    forecast_clusters,
    time_to_exhaustion,
)


def test_linear_series_runs_out_when_the_hand_calculation_says() -> None:
    step_s = 3600
    t = np.arange(5 * 24)  # five days of hourly steps, T = 120
    values = 10.0 + 0.5 * t  # grows 0.5 per hour
    fc = fit_forecast(values, step_s, 30 * 24)
    # the future is 10 + 0.5·(120 + h); it first exceeds 100.2 at h = 61 (value 100.5),
    # i.e. 62 hours after the last history step
    assert np.allclose(fc.point[0, :5], 10 + 0.5 * (120 + np.arange(5)), atol=1e-3)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ex = time_to_exhaustion(fc, 100.2, start=start)
    assert ex.expected_s.tolist() == [62 * 3600.0]
    assert ex.earliest_s.tolist() == [62 * 3600.0]  # no noise: zero-width interval
    assert ex.latest_s.tolist() == [62 * 3600.0]
    assert ex.dates()[0]["expected"] == start + timedelta(hours=62)
    never = time_to_exhaustion(fc, 1e6)
    assert np.isnan(never.expected_s[0]) and never.to_dict()[0]["expected_days"] is None


def test_interval_orders_the_run_out_dates() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(14 * 24)
    values = 50 + 2.0 * t / 24 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 2, t.size)
    fc = fit_forecast(values, 3600, 60 * 24)
    ex = time_to_exhaustion(fc, 120.0)
    # point crosses ≈ when 50 + 2·d + 5 > 120 → d ≈ 32.5 days from the start, ≈ 18.5 ahead
    assert 15 * 86_400 < ex.expected_s[0] < 21 * 86_400
    assert ex.earliest_s[0] <= ex.expected_s[0] <= ex.latest_s[0]


def test_bad_capacity_is_refused() -> None:
    fc = fit_forecast(np.ones(3 * 24) + np.arange(72), 3600, 24)
    with pytest.raises(ForecastError, match="capacity"):
        time_to_exhaustion(fc, 0.0)


def test_cluster_forecast_is_the_forecast_of_the_sum() -> None:
    rng = np.random.default_rng(6)
    values = rng.gamma(2.0, 10.0, (6, 7 * 24))
    groups = np.array([0, 1, 0, 1, 1, 0])
    fc = forecast_clusters(values, groups, 3600, 24, level=0.8)
    sums = np.stack([values[groups == g].sum(axis=0) for g in (0, 1)])
    direct = fit_forecast(sums, 3600, 24, level=0.8)
    assert np.allclose(fc.point, direct.point, rtol=1e-4)
    assert np.allclose(fc.upper, direct.upper, rtol=1e-4)
    with pytest.raises(ForecastError, match="group_of_vm"):
        forecast_clusters(values, groups[:3], 3600, 24)
