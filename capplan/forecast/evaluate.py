"""Rolling-origin evaluation of the forecast against the two baselines on one set of series.

For each origin, every method sees the history before it and forecasts the next
``horizon_steps``; errors are measured on the observed test steps. A series counts at an origin
when its history holds at least :data:`MIN_TRAIN_OBSERVED_DAYS` days of observed steps, half
of its test steps are observed, and its MASE scale is positive (a constant history has none).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.forecast.baselines import baseline_forecast
from capplan.forecast.checks import ForecastError, steps_per_day
from capplan.forecast.metrics import coverage, interval_pinball, mase, mase_scale, smape
from capplan.forecast.model import Forecast, fit_forecast

METHODS: tuple[str, ...] = ("model", "seasonal_naive", "last_value")
#: Least observed history (days) for a series to be scored at an origin.
MIN_TRAIN_OBSERVED_DAYS = 3.0
#: Least observed share of the test window for a series to be scored.
MIN_TEST_OBSERVED_FRAC = 0.5


def _forecast(
    method: str,
    train: npt.NDArray[np.float64],
    mask: npt.NDArray[np.bool_],
    step_s: int,
    horizon: int,
    level: float,
) -> Forecast:
    if method == "model":
        return fit_forecast(train, step_s, horizon, level=level, observed=mask)
    return baseline_forecast(method, train, step_s, horizon, level=level, observed=mask)


def rolling_evaluation(
    values: npt.ArrayLike,
    observed: npt.ArrayLike,
    step_s: int,
    origins: list[int],
    *,
    horizon_steps: int | None = None,
    level: float = 0.9,
) -> dict[str, Any]:
    """Score the model and both baselines at each origin; return per-method figures.

    Parameters
    ----------
    values, observed
        ``(n_series, n_steps)`` history and its observed mask.
    step_s
        Seconds per step.
    origins
        Step indices where a forecast starts (history = steps before it).
    horizon_steps
        Steps forecast from each origin (default: one day).
    level
        Nominal interval coverage.

    Returns
    -------
    dict
        Per method: mean and median MASE, mean sMAPE (%), mean scaled pinball loss,
        coverage (%), and seconds per 1,000 series (fit + forecast, mean over origins);
        plus the counts of series-origin pairs scored.
    """
    y = np.asarray(values, dtype=np.float64)
    obs = np.asarray(observed, dtype=bool)
    m = steps_per_day(step_s)
    horizon = m if horizon_steps is None else int(horizon_steps)
    per: dict[str, dict[str, list[Any]]] = {
        k: {"mase": [], "smape": [], "pinball": [], "inside": [], "n": [], "time_s": []}
        for k in METHODS
    }
    n_pairs = 0
    n_series_seen = 0
    for origin in origins:
        if origin + horizon > y.shape[1]:
            raise ForecastError(
                f"origin {origin} + horizon {horizon} is past the data's {y.shape[1]} steps"
            )
        train, tmask = y[:, :origin], obs[:, :origin]
        actual, amask = y[:, origin : origin + horizon], obs[:, origin : origin + horizon]
        scale = mase_scale(train, tmask, m)
        keep = (
            (tmask.sum(axis=1) >= MIN_TRAIN_OBSERVED_DAYS * m)
            & (amask.mean(axis=1) >= MIN_TEST_OBSERVED_FRAC)
            & np.isfinite(scale)
            & (scale > 0)
        )
        if not keep.any():
            continue
        n_pairs += int(keep.sum())
        n_series_seen += y.shape[0]
        tr, tm, ac, am, sc = train[keep], tmask[keep], actual[keep], amask[keep], scale[keep]
        for method in METHODS:
            start = time.perf_counter()
            fc = _forecast(method, tr, tm, step_s, horizon, level)
            per[method]["time_s"].append((time.perf_counter() - start) / len(tr))
            per[method]["mase"].append(mase(ac, fc.point, am, sc))
            per[method]["smape"].append(smape(ac, fc.point, am))
            per[method]["pinball"].append(interval_pinball(ac, fc.lower, fc.upper, level, am, sc))
            inside, total = coverage(ac, fc.lower, fc.upper, am)
            per[method]["inside"].append(inside)
            per[method]["n"].append(total)
    out: dict[str, Any] = {"n_series_origin_pairs": n_pairs, "origins": len(origins)}
    for method, figs in per.items():
        if not figs["mase"]:
            out[method] = None
            continue
        mase_all = np.concatenate(figs["mase"])
        out[method] = {
            "mase_mean": float(np.nanmean(mase_all)),
            "mase_median": float(np.nanmedian(mase_all)),
            "smape_pct": float(np.nanmean(np.concatenate(figs["smape"]))),
            "scaled_pinball": float(np.nanmean(np.concatenate(figs["pinball"]))),
            "coverage_pct": 100.0 * sum(figs["inside"]) / max(sum(figs["n"]), 1),
            "s_per_1000_series": 1000.0 * float(np.mean(figs["time_s"])),
        }
    return out
