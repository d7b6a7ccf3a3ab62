"""Forecast: linear trend with band, Brownian-motion drift/volatility, first-passage risk."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from capplan.storage.forecast import (
    assumed_growth,
    drift_and_volatility,
    first_passage_probability,
    forecast_window_days,
    linear_trend,
)


def test_exact_line_hand_worked() -> None:
    # y = 10 + 2 t on t = 0..3; capacity 20 is reached 2 days after t = 3.
    trend = linear_trend([0, 1, 2, 3], [[10, 12, 14, 16]], 20.0, horizon_days=2.0)
    assert trend.slope_gib_per_day[0] == pytest.approx(2.0)
    assert trend.forecast_gib[0] == pytest.approx(20.0)
    assert trend.band_lo_gib[0] == pytest.approx(20.0)
    assert trend.band_hi_gib[0] == pytest.approx(20.0)
    assert trend.days_to_full[0] == pytest.approx(2.0)
    assert trend.days_to_full_earliest[0] == pytest.approx(2.0)
    assert trend.days_to_full_latest[0] == pytest.approx(2.0)


def test_noisy_line_hand_worked() -> None:
    # t = 0..3, y = 1, 3, 2, 4: x_bar 1.5, y_bar 2.5, Sxx 5, Sxy 4 -> b = 0.8, a = 1.3.
    # Residuals -0.3, 0.9, -0.9, 0.3: SSE 1.8, s^2 = 0.9. At t = 4 (horizon 1 day):
    # y_hat = 4.5, half width = t(0.975, 2) * s * sqrt(1 + 1/4 + 2.5^2 / 5) = 6.4539.
    trend = linear_trend([0, 1, 2, 3], [[1, 3, 2, 4]], 100.0, horizon_days=1.0)
    half = stats.t.ppf(0.975, 2) * math.sqrt(0.9) * math.sqrt(1 + 0.25 + 6.25 / 5)
    assert half == pytest.approx(6.4539, abs=1e-3)
    assert trend.slope_gib_per_day[0] == pytest.approx(0.8)
    assert trend.forecast_gib[0] == pytest.approx(4.5)
    assert trend.band_lo_gib[0] == pytest.approx(4.5 - half)
    assert trend.band_hi_gib[0] == pytest.approx(4.5 + half)
    # mean line: 3.7 + 0.8 d = 100 -> d = 120.375 days after t = 3
    assert trend.days_to_full[0] == pytest.approx((100 - 3.7) / 0.8)
    assert trend.days_to_full_earliest[0] < trend.days_to_full[0]
    assert trend.days_to_full_latest[0] > trend.days_to_full[0]


def test_flat_or_falling_trend_never_fills_and_full_is_zero() -> None:
    trend = linear_trend([0, 1, 2], [[5, 5, 5], [9, 8, 7], [30, 31, 32]], 30.0, horizon_days=10)
    assert math.isinf(trend.days_to_full[0])
    assert math.isinf(trend.days_to_full[1])
    assert trend.days_to_full[2] == 0.0


def test_nan_gaps_are_skipped_per_row() -> None:
    trend = linear_trend(
        [0, 1, 2, 3], [[10, np.nan, 14, 16], [np.nan, np.nan, np.nan, np.nan]], 20.0, 1.0
    )
    assert trend.slope_gib_per_day[0] == pytest.approx(2.0)
    assert trend.n_points.tolist() == [3, 0]
    assert math.isnan(trend.forecast_gib[1])


@settings(max_examples=40, deadline=None)
@given(
    slope=st.floats(0.05, 5.0),
    noise=st.floats(0.01, 3.0),
    seed=st.integers(0, 10_000),
    cap_above=st.floats(5.0, 300.0),
)
def test_band_crossings_are_where_the_band_edges_reach_capacity(
    slope: float, noise: float, seed: int, cap_above: float
) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(30.0)
    y = 100 + slope * t + rng.normal(0, noise, t.size)
    cap = y[-1] + cap_above
    trend = linear_trend(t, y[None, :], cap, horizon_days=1.0)
    # brute force: the band edges on a fine grid of future days
    grid = np.linspace(0, 5000, 500_001)
    fit = np.polyfit(t, y, 1)
    resid = y - np.polyval(fit, t)
    s = math.sqrt(float((resid**2).sum()) / (t.size - 2))
    k = stats.t.ppf(0.975, t.size - 2)
    x = t[-1] + grid
    hw = k * s * np.sqrt(1 + 1 / t.size + (x - t.mean()) ** 2 / ((t - t.mean()) ** 2).sum())
    mean = np.polyval(fit, x)
    for edge, got in (
        (mean + hw, trend.days_to_full_earliest[0]),
        (mean - hw, trend.days_to_full_latest[0]),
    ):
        hits = np.flatnonzero(edge >= cap)
        expected = grid[hits[0]] if hits.size else math.inf
        if math.isinf(expected):
            assert got > 4999 or math.isinf(got)
        else:
            assert got == pytest.approx(expected, abs=0.02)


def test_first_passage_matches_inverse_gaussian_cdf() -> None:
    # The first-passage time of BM with drift mu > 0 to level b is inverse Gaussian with
    # mean b / mu and shape b^2 / sigma^2.
    for b, mu, sigma, horizon in ((10.0, 0.5, 2.0, 15.0), (3.0, 0.1, 0.5, 40.0), (50, 2, 9, 10)):
        lam = b * b / sigma**2
        expected = stats.invgauss.cdf(horizon, mu=(b / mu) / lam, scale=lam)
        got = first_passage_probability(b, mu, sigma, horizon)
        assert float(got) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_first_passage_without_drift_is_the_reflection_principle() -> None:
    # mu = 0: P = 2 Phi(-b / (sigma sqrt T)); b = 1, sigma = 1, T = 1 -> 0.3173
    assert float(first_passage_probability(1.0, 0.0, 1.0, 1.0)) == pytest.approx(
        2 * stats.norm.cdf(-1.0)
    )


def test_first_passage_edge_cases_are_finite() -> None:
    p = first_passage_probability(
        [0.0, -5.0, 1000.0, 1000.0, 10.0, 10.0],
        [1.0, 1.0, 5.0, 20.0, 1.0, 1.0],
        [1.0, 1.0, 0.01, 0.01, 0.0, 0.0],
        100.0,
    )
    assert np.all(np.isfinite(p))
    assert p[0] == 1.0 and p[1] == 1.0  # already there
    assert p[2] == pytest.approx(0.0, abs=1e-12)  # drift reaches 500 of 1000
    assert p[3] == pytest.approx(1.0)  # drift reaches 2000 of 1000
    assert p[4] == 1.0  # deterministic, 100 >= 10
    assert float(first_passage_probability(10.0, 0.05, 0.0, 100.0)) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    b=st.floats(0.1, 1000), mu=st.floats(-10, 10), sigma=st.floats(0.01, 50), t=st.floats(0.1, 3650)
)
def test_first_passage_is_a_probability_monotone_in_time(
    b: float, mu: float, sigma: float, t: float
) -> None:
    p1 = float(first_passage_probability(b, mu, sigma, t))
    p2 = float(first_passage_probability(b, mu, sigma, t * 2))
    assert 0.0 <= p1 <= 1.0
    assert p2 >= p1 - 1e-12


def test_drift_and_volatility_exact_and_irregular() -> None:
    t = np.array([0.0, 1.0, 3.0, 4.0, 7.0])
    y = 5.0 + 2.0 * t
    mu, sigma = drift_and_volatility(t, np.vstack([y, np.where([1, 0, 1, 1, 1], y, np.nan)]))
    assert mu.tolist() == pytest.approx([2.0, 2.0])
    assert sigma.tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    mu1, sigma1 = drift_and_volatility([0.0], [[3.0]])
    assert math.isnan(mu1[0]) and math.isnan(sigma1[0])


def test_drift_and_volatility_recover_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(20_001) * 0.5
    steps = 0.3 * 0.5 + 2.0 * math.sqrt(0.5) * rng.standard_normal(t.size - 1)
    y = np.concatenate([[100.0], 100.0 + np.cumsum(steps)])
    mu, sigma = drift_and_volatility(t, y[None, :])
    assert sigma[0] == pytest.approx(2.0, rel=0.03)
    assert mu[0] == pytest.approx(0.3, abs=3 * 2.0 / math.sqrt(t[-1]))


def test_forecast_window_is_half_the_history() -> None:
    assert forecast_window_days([0, 10, 30]) == 15.0
    assert forecast_window_days([4]) == 0.0


def test_assumed_growth_compounds_per_year() -> None:
    forecast, mu, sigma = assumed_growth(np.array([100.0]), 365.0, 0.204, 0.1)
    assert forecast[0] == pytest.approx(120.4)
    assert mu[0] == pytest.approx(20.4 / 365.0)
    assert sigma[0] == pytest.approx(100 * 0.1 / math.sqrt(365.0))
    half, _, _ = assumed_growth(np.array([100.0]), 365.0 / 2, 0.21)
    assert half[0] == pytest.approx(100 * 1.1)
