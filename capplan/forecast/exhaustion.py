"""Time-to-exhaustion: when forecast demand first exceeds a capacity, with its interval.

The expected date is the first forecast step whose point forecast exceeds the capacity; the
interval runs from the first step whose *upper* bound exceeds it (the earliest plausible run-out)
to the first step whose *lower* bound exceeds it (the latest). A crossing that does not happen
within the horizon is reported as ``None`` ("not within the horizon"), never extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.forecast.checks import ForecastError
from capplan.forecast.model import Forecast


@dataclass(frozen=True)
class Exhaustion:
    """Run-out of each series' capacity within the forecast horizon.

    Attributes
    ----------
    capacity
        Capacity per series, float64 ``(n_series,)``, unit of the forecast.
    expected_s, earliest_s, latest_s
        Seconds after the last history step at which the point forecast, the upper bound and
        the lower bound first exceed the capacity; float64 ``(n_series,)``, NaN when they do
        not within the horizon.
    horizon_s
        Seconds covered by the forecast.
    start
        UTC time of the last history step, if given (then :meth:`dates` gives dates).
    """

    capacity: npt.NDArray[np.float64]
    expected_s: npt.NDArray[np.float64]
    earliest_s: npt.NDArray[np.float64]
    latest_s: npt.NDArray[np.float64]
    horizon_s: float
    start: datetime | None = None

    def dates(self) -> list[dict[str, datetime | None]]:
        """Per series: ``expected``, ``earliest``, ``latest`` as datetimes (None: not within)."""
        if self.start is None:
            raise ForecastError("start was not given; pass start= to time_to_exhaustion")
        origin = self.start

        def at(sec: float) -> datetime | None:
            return None if np.isnan(sec) else origin + timedelta(seconds=float(sec))

        return [
            {"expected": at(e), "earliest": at(a), "latest": at(b)}
            for e, a, b in zip(self.expected_s, self.earliest_s, self.latest_s, strict=True)
        ]

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready rows: capacity, days to the expected/earliest/latest run-out (None: none)."""
        day = 86_400.0

        def days(sec: float) -> float | None:
            return None if np.isnan(sec) else float(sec) / day

        return [
            {
                "capacity": float(c),
                "expected_days": days(e),
                "earliest_days": days(a),
                "latest_days": days(b),
            }
            for c, e, a, b in zip(
                self.capacity, self.expected_s, self.earliest_s, self.latest_s, strict=True
            )
        ]


def _first_above(
    values: npt.NDArray[np.float64], cap: npt.NDArray[np.float64], step_s: int
) -> npt.NDArray[np.float64]:
    above = values > cap[:, None]
    hit = above.any(axis=1)
    idx = np.argmax(above, axis=1)
    return np.where(hit, (idx + 1.0) * step_s, np.nan)


def time_to_exhaustion(
    forecast: Forecast, capacity: float | npt.ArrayLike, *, start: datetime | None = None
) -> Exhaustion:
    """When each series' forecast first exceeds ``capacity``, with the interval of the forecast.

    Parameters
    ----------
    forecast
        A :class:`Forecast` (e.g. of cluster demand from :func:`forecast_clusters`).
    capacity
        Capacity in the forecast's unit: one number, or one per series ``(n_series,)``.
        Must be finite and positive.
    start
        UTC time of the last history step (to turn seconds into dates).

    Returns
    -------
    Exhaustion
        Step ``h`` (0-based) of the forecast is ``(h + 1) · step_s`` seconds after ``start``.
    """
    cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (forecast.n_series,)).copy()
    if not np.all(np.isfinite(cap)) or np.any(cap <= 0):
        raise ForecastError(f"capacity must be finite and > 0 for every series; got {cap.tolist()}")
    step = forecast.step_s
    return Exhaustion(
        capacity=cap,
        expected_s=_first_above(forecast.point, cap, step),
        earliest_s=_first_above(forecast.upper, cap, step),
        latest_s=_first_above(forecast.lower, cap, step),
        horizon_s=float(forecast.horizon_steps * step),
        start=start,
    )
