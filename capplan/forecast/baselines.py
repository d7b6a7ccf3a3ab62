"""The two reference forecasts every method is compared with: seasonal naive and last value.

Both work on the history with unobserved steps filled by the last observed value (so a gap in
the last day does not forecast zeros), and give intervals the same way the model does: the
empirical quantiles of their own one-day-ahead errors over the last validation days.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan.forecast.checks import (
    as_mask,
    as_series,
    check_horizon,
    check_level,
    forward_fill,
    steps_per_day,
)
from capplan.forecast.model import DEFAULT_VALIDATION_DAYS, Forecast, masked_quantiles

F64 = npt.NDArray[np.float64]


def seasonal_naive(values: F64, season_steps: int, horizon_steps: int) -> F64:
    """Repeat the last season: ``ŷ[T + h] = y[T - s + (h mod s)]``, ``(n, horizon)``."""
    s = int(season_steps)
    if values.shape[1] < s:
        raise ValueError(f"seasonal naive needs {s} steps; got {values.shape[1]}")
    h = np.arange(horizon_steps)
    return values[:, values.shape[1] - s + (h % s)]


def last_value(values: F64, horizon_steps: int) -> F64:
    """Carry the last value forward: ``ŷ[T + h] = y[T]``, ``(n, horizon)``."""
    return np.repeat(values[:, -1:], horizon_steps, axis=1)


def baseline_forecast(
    method: str,
    values: npt.ArrayLike,
    step_s: int,
    horizon_steps: int,
    *,
    level: float = 0.9,
    observed: npt.ArrayLike | None = None,
    n_validation_days: int = DEFAULT_VALIDATION_DAYS,
) -> Forecast:
    """Seasonal-naive (season = one day) or last-value forecast with conformal intervals.

    Parameters
    ----------
    method
        ``"seasonal_naive"`` or ``"last_value"``.
    values, step_s, horizon_steps, level, observed, n_validation_days
        As for :func:`capplan.forecast.fit_forecast`.
    """
    y = as_series(values)
    mask = as_mask(observed, y.shape)
    horizon = check_horizon(horizon_steps)
    level = check_level(level)
    m = steps_per_day(step_s)
    k = y.shape[1] // m
    if k < 2:
        raise ValueError("baselines need at least two days of history")
    n_val = max(1, min(int(n_validation_days), k - 1))
    filled = forward_fill(y, mask)
    # one-day-ahead errors over the validation days: the day before is the "history end"
    tail = filled[:, -(n_val + 1) * m :].reshape(y.shape[0], n_val + 1, m)
    actual = tail[:, 1:, :]
    if method == "seasonal_naive":
        point = seasonal_naive(filled, m, horizon)
        predicted = tail[:, :-1, :]
    elif method == "last_value":
        point = last_value(filled, horizon)
        predicted = np.repeat(tail[:, :-1, -1:], m, axis=2)
    else:
        raise ValueError(f"unknown baseline {method!r}; expected 'seasonal_naive' or 'last_value'")
    errors = (actual - predicted).reshape(y.shape[0], n_val * m)
    valid = mask[:, -n_val * m :]
    alpha = 1.0 - level
    q_lo, q_hi = masked_quantiles(errors, valid, (alpha / 2, 1 - alpha / 2))
    n = y.shape[0]
    zeros = np.zeros(n)
    return Forecast(
        point=point,
        lower=np.maximum(point + q_lo[:, None], 0.0),
        upper=np.maximum(point + q_hi[:, None], 0.0),
        level=level,
        step_s=int(step_s),
        slope_per_day=zeros,
        slope_se_per_day=zeros,
        half_life_days=zeros,
        weekly=np.zeros(n, dtype=bool),
        ar_coef=zeros,
        history_days=k,
    )
