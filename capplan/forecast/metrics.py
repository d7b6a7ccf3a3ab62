"""Forecast accuracy measures, per series, on observed steps only.

- MASE (Hyndman & Koehler 2006; the M4 competition's seasonal form): mean absolute error
  divided by the mean absolute seasonal difference (lag = one season) of the training data.
  Below 1 beats the in-sample seasonal-naive one-step error.
- sMAPE (M4 form): ``200 · |y - ŷ| / (|y| + |ŷ|)`` in percent, a step where both are 0 counting 0.
- Pinball (quantile) loss of the two interval bounds, averaged, divided by the MASE scale
  (the "scaled pinball loss" of the M5 competition).
- Coverage: share of observed test steps inside ``[lower, upper]``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def mase_scale(train: F64, observed: Mask, season_steps: int) -> F64:
    """Mean |y[t] - y[t - s]| over pairs of observed steps of each row, ``(n,)`` (NaN: none)."""
    s = int(season_steps)
    diff = np.abs(train[:, s:] - train[:, :-s])
    both = observed[:, s:] & observed[:, :-s]
    count = both.sum(axis=1)
    total = (diff * both).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _masked_mean(values: F64, observed: Mask) -> F64:
    count = observed.sum(axis=1)
    return np.where(count > 0, (values * observed).sum(axis=1) / np.maximum(count, 1), np.nan)


def mae(actual: F64, point: F64, observed: Mask) -> F64:
    """Mean absolute error per row over observed steps, ``(n,)``."""
    return _masked_mean(np.abs(actual - point), observed)


def mase(actual: F64, point: F64, observed: Mask, scale: F64) -> F64:
    """MASE per row: MAE / ``scale`` (NaN where the scale is 0 or unknown)."""
    ok = np.isfinite(scale) & (scale > 0)
    return np.where(ok, mae(actual, point, observed) / np.where(ok, scale, 1.0), np.nan)


def smape(actual: F64, point: F64, observed: Mask) -> F64:
    """sMAPE per row in percent (0–200)."""
    den = np.abs(actual) + np.abs(point)
    ratio = np.where(den > 0, 2.0 * np.abs(actual - point) / np.where(den > 0, den, 1.0), 0.0)
    return 100.0 * _masked_mean(ratio, observed)


def pinball(actual: F64, quantile: F64, prob: float, observed: Mask) -> F64:
    """Mean pinball loss of one quantile forecast per row, in the unit of the data."""
    diff = actual - quantile
    loss = np.maximum(prob * diff, (prob - 1.0) * diff)
    return _masked_mean(loss, observed)


def interval_pinball(
    actual: F64, lower: F64, upper: F64, level: float, observed: Mask, scale: F64
) -> F64:
    """Mean of the two bounds' pinball losses, divided by ``scale``, per row."""
    alpha = 1.0 - level
    loss = 0.5 * (
        pinball(actual, lower, alpha / 2, observed)
        + pinball(actual, upper, 1 - alpha / 2, observed)
    )
    ok = np.isfinite(scale) & (scale > 0)
    return np.where(ok, loss / np.where(ok, scale, 1.0), np.nan)


def coverage(actual: F64, lower: F64, upper: F64, observed: Mask) -> tuple[int, int]:
    """(observed steps inside ``[lower, upper]``, observed steps) over all rows."""
    inside = (actual >= lower) & (actual <= upper) & observed
    return int(inside.sum()), int(observed.sum())
