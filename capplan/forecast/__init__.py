"""Demand forecasts: per-VM and per-cluster, with prediction intervals and time-to-exhaustion.

- :func:`fit_forecast`: trend + daily (+ weekly) profile + AR(1) errors, vectorized over series,
  with split-conformal intervals at a chosen level (see :mod:`capplan.forecast.model` for the
  method and the measurement behind it).
- :func:`baseline_forecast`: seasonal naive and last value, with intervals made the same way.
- :func:`forecast_clusters`: the same forecast of the summed demand of each cluster.
- :func:`time_to_exhaustion`: when the forecast demand crosses a capacity, with its interval.
"""

from __future__ import annotations

from capplan.forecast.baselines import baseline_forecast, last_value, seasonal_naive
from capplan.forecast.checks import ForecastError
from capplan.forecast.clusters import forecast_clusters, forecast_workload
from capplan.forecast.exhaustion import Exhaustion, time_to_exhaustion
from capplan.forecast.model import Forecast, fit_forecast

__all__ = [
    "Exhaustion",
    "Forecast",
    "ForecastError",
    "baseline_forecast",
    "fit_forecast",
    "forecast_clusters",
    "forecast_workload",
    "last_value",
    "seasonal_naive",
    "time_to_exhaustion",
]
