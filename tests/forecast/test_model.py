"""Forecast model checked against independently known figures (synthetic series, by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.forecast import ForecastError, fit_forecast

STEP_S = 900  # 15 min: 96 steps a day keeps the tests small
M = 86_400 // STEP_S


def synthetic(n: int, days: int, seed: int, sigma: float = 2.0, extra_days: int = 0):
    """Known trend + daily seasonality + Gaussian noise; return (noisy, truth) with the future."""
    rng = np.random.default_rng(seed)
    t = np.arange((days + extra_days) * M)
    level = rng.uniform(50, 100, (n, 1))
    slope_per_day = rng.uniform(-1.0, 3.0, (n, 1))
    amp = rng.uniform(5, 20, (n, 1))
    truth = level + slope_per_day * t / M + amp * np.sin(2 * np.pi * t / M)
    return truth + rng.normal(0, sigma, truth.shape), truth, slope_per_day[:, 0]


def test_recovers_trend_and_season_and_covers_at_nominal_rate() -> None:
    days, ahead, sigma = 21, 2, 2.0
    noisy, truth, slope = synthetic(300, days, seed=1, sigma=sigma, extra_days=ahead)
    hist = noisy[:, : days * M]
    fc = fit_forecast(hist, STEP_S, ahead * M, level=0.9, trend_t_min=0.0)
    # the fitted slope is the true one within a few standard errors of a 21-day fit
    assert np.median(np.abs(fc.slope_per_day - slope)) < 0.1
    # the point forecast is close to the noiseless truth (well within the noise sigma)
    future_truth = truth[:, days * M :]
    assert np.mean(np.abs(fc.point - future_truth)) < 0.6 * sigma
    # a fresh noisy future falls inside the 90 % interval about 90 % of the time
    future = noisy[:, days * M :]
    inside = np.mean((future >= fc.lower) & (future <= fc.upper))
    assert 0.86 <= inside <= 0.95


@pytest.mark.parametrize("level", [0.5, 0.8, 0.95])
def test_coverage_follows_the_level(level: float) -> None:
    noisy, _, _ = synthetic(200, 14, seed=2, extra_days=1)
    fc = fit_forecast(noisy[:, : 14 * M], STEP_S, M, level=level)
    future = noisy[:, 14 * M :]
    inside = np.mean((future >= fc.lower) & (future <= fc.upper))
    assert abs(inside - level) < 0.05


def test_weekly_offsets_found_when_history_allows() -> None:
    rng = np.random.default_rng(3)
    days = 28
    t = np.arange((days + 7) * M)
    weekend = ((t // M) % 7 >= 5).astype(float)
    truth = 100 + 20 * np.sin(2 * np.pi * t / M) - 40 * weekend
    noisy = truth + rng.normal(0, 1.0, (20, t.size))
    fc = fit_forecast(noisy[:, : days * M], STEP_S, 7 * M, level=0.9)
    assert fc.weekly.all()
    err = np.abs(fc.point - truth[days * M :]).mean()
    assert err < 3.0  # without the weekly term the weekend days would be off by ≈ 40


def test_nonnegative_and_masked_steps_ignored() -> None:
    noisy, truth, _ = synthetic(5, 10, seed=4, extra_days=1)
    hist = noisy[:, : 10 * M].copy()
    observed = np.ones_like(hist, dtype=bool)
    observed[:, 3 * M : 5 * M] = False
    hist[~observed] = 1e6  # garbage where unobserved must not matter
    fc = fit_forecast(hist, STEP_S, M, observed=observed)
    assert np.abs(fc.point - truth[:, 10 * M :]).mean() < 3.0
    assert (fc.lower >= 0).all() and (fc.lower <= fc.upper).all()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"values": np.ones((2, 2 * M))}, ["values", "at least 3 days", str(3 * M)]),
        ({"horizon_steps": 0}, ["horizon_steps", "0"]),
        ({"horizon_steps": -5}, ["horizon_steps"]),
        ({"level": 1.5}, ["level", "1.5"]),
        ({"step_s": 7}, ["step_s", "86400"]),
        ({"weekly": True}, ["weekly=True", "14 days"]),
    ],
)
def test_bad_input_names_the_parameter(kwargs: dict, words: list[str]) -> None:
    args = {"values": np.ones((2, 5 * M)), "step_s": STEP_S, "horizon_steps": M} | kwargs
    with pytest.raises(ForecastError) as info:
        fit_forecast(**args)
    for word in words:
        assert word in str(info.value)


def test_nan_is_refused_with_its_position() -> None:
    values = np.ones((3, 5 * M))
    values[1, 17] = np.nan
    with pytest.raises(ForecastError, match=r"values .*series 1, step 17"):
        fit_forecast(values, STEP_S, M)
