"""Time-to-full forecasts of used capacity: a linear trend with a prediction band, and the
probability of running out within a horizon under Brownian motion with drift.

All functions are vectorized over rows (volumes or pools): series have shape
``(n_rows, n_times)`` with time on the last axis, NaN where a row has no observation. Times are
in days; capacities and used space in GiB.

Approach and sources (keys of :data:`capplan.storage.sources.SOURCES`):

- Linear trend: ordinary least squares per row and the prediction interval of a new
  observation (``ols-prediction-interval``); the days to full are where the fitted line and the
  band edges reach the capacity.
- Risk: used capacity as Brownian motion with drift ``mu`` and volatility ``sigma``, the
  model Nutanix uses for its storage runway risk (``nutanix-ser``). The probability that it
  reaches a level ``b`` above today's value within ``T`` days is the inverse-Gaussian
  first-passage probability (``first-passage-bm-drift``)::

      P(tau <= T) = Phi((mu T - b) / (sigma sqrt T))
                    + exp(2 mu b / sigma^2) Phi((-b - mu T) / (sigma sqrt T))

  computed in log space so that neither term overflows.
- Trust window: a forecast is reliable for at most half the history it was fitted on, as HPE's
  3PAR management console limits its forecasts (``hpe-3par-forecast-window``).
- Without any history (an inventory gives one snapshot), growth is an explicit assumption:
  compound ``growth_frac_per_year`` (default IDC's 20.4 %, ``idc-storagesphere-2020``) and an
  optional noise level; the caller reports which basis was used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from capplan.units import S_PER_DAY, S_PER_YEAR

FloatArray = npt.NDArray[np.float64]

#: Days per year used to convert annual growth figures.
DAYS_PER_YEAR = S_PER_YEAR / S_PER_DAY


@dataclass(frozen=True)
class TrendForecast:
    """Per-row linear trend forecast.

    All arrays have shape ``(n_rows,)``. Times are days after the last observation time of
    the whole series (``t_days[-1]``).

    Attributes
    ----------
    slope_gib_per_day
        Fitted growth, GiB/day (NaN for rows with fewer than 2 points).
    forecast_gib
        Fitted value at the horizon, GiB.
    band_lo_gib, band_hi_gib
        Prediction interval at the horizon, GiB (equal to the forecast when the fit is exact
        or fewer than 3 points exist).
    days_to_full
        Days until the fitted line reaches the capacity (0: already there; inf: never).
    days_to_full_earliest
        Days until the upper band edge reaches the capacity.
    days_to_full_latest
        Days until the lower band edge reaches the capacity (inf: it may never).
    n_points
        Observations used per row.
    """

    slope_gib_per_day: FloatArray
    forecast_gib: FloatArray
    band_lo_gib: FloatArray
    band_hi_gib: FloatArray
    days_to_full: FloatArray
    days_to_full_earliest: FloatArray
    days_to_full_latest: FloatArray
    n_points: npt.NDArray[np.int64]


def linear_trend(
    t_days: npt.ArrayLike,
    used_gib: npt.ArrayLike,
    capacity_gib: npt.ArrayLike,
    horizon_days: float,
    *,
    confidence: float = 0.95,
) -> TrendForecast:
    """Fit ``used = a + b t`` per row and forecast the horizon and the days to full.

    Parameters
    ----------
    t_days
        Observation times, days, shape ``(n_times,)``, increasing.
    used_gib
        Used capacity, GiB, shape ``(n_rows, n_times)``; NaN where a row has no observation.
    capacity_gib
        Level that counts as full per row, GiB, shape ``(n_rows,)`` (or a scalar).
    horizon_days
        Days after ``t_days[-1]`` to forecast.
    confidence
        Two-sided coverage of the prediction band.

    Returns
    -------
    TrendForecast
    """
    t = np.asarray(t_days, dtype=np.float64)
    y = np.atleast_2d(np.asarray(used_gib, dtype=np.float64))
    cap = np.broadcast_to(np.asarray(capacity_gib, dtype=np.float64), (y.shape[0],))
    t0 = t[-1]
    x = np.broadcast_to(t - t0, y.shape)
    valid = np.isfinite(y)
    n = valid.sum(axis=1)
    nf = np.maximum(n, 1).astype(np.float64)
    xw = np.where(valid, x, 0.0)
    yw = np.where(valid, y, 0.0)
    x_bar = xw.sum(axis=1) / nf
    y_bar = yw.sum(axis=1) / nf
    dx = np.where(valid, x - x_bar[:, None], 0.0)
    dy = np.where(valid, y - y_bar[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxy = (dx * dy).sum(axis=1)
    fit = (n >= 2) & (sxx > 0)
    slope = np.where(fit, sxy / np.where(fit, sxx, 1.0), np.where(n >= 1, 0.0, np.nan))
    resid = np.where(valid, dy - slope[:, None] * dx, 0.0)
    dof = n - 2
    s = np.where(dof > 0, np.sqrt((resid * resid).sum(axis=1) / np.maximum(dof, 1)), 0.0)
    k = np.where(dof > 0, stats.t.ppf(0.5 + confidence / 2.0, np.maximum(dof, 1)), 0.0)
    ks = np.where(fit, k * s, 0.0)
    q = 1.0 + 1.0 / nf
    sxx_safe = np.where(sxx > 0, sxx, 1.0)

    def half_width(u: FloatArray) -> FloatArray:
        """Band half-width at x = x_bar + u."""
        return ks * np.sqrt(q + np.where(fit, u * u / sxx_safe, 0.0))

    u_h = horizon_days - x_bar
    mean_h = y_bar + slope * u_h
    hw = half_width(u_h)

    # Mean line: reaches cap at u* = (cap - y_bar) / slope.
    u_now = -x_bar  # u at x = 0 (the last observation time)
    gap_now = cap - (y_bar + slope * u_now)
    with np.errstate(divide="ignore", invalid="ignore"):
        days_mean = np.where(
            gap_now <= 0, 0.0, np.where(slope > 0, gap_now / np.where(slope > 0, slope, 1), np.inf)
        )
    earliest = _band_crossing(y_bar, slope, ks, q, sxx_safe, fit, cap, u_now, upper=True)
    latest = _band_crossing(y_bar, slope, ks, q, sxx_safe, fit, cap, u_now, upper=False)
    nan_rows = n == 0
    return TrendForecast(
        slope_gib_per_day=np.where(nan_rows, np.nan, slope),
        forecast_gib=np.where(nan_rows, np.nan, mean_h),
        band_lo_gib=np.where(nan_rows, np.nan, mean_h - hw),
        band_hi_gib=np.where(nan_rows, np.nan, mean_h + hw),
        days_to_full=np.where(nan_rows, np.nan, days_mean),
        days_to_full_earliest=np.where(nan_rows, np.nan, np.minimum(earliest, days_mean)),
        days_to_full_latest=np.where(nan_rows, np.nan, np.maximum(latest, days_mean)),
        n_points=n.astype(np.int64),
    )


def _band_crossing(
    y_bar: FloatArray,
    slope: FloatArray,
    ks: FloatArray,
    q: FloatArray,
    sxx: FloatArray,
    fit: npt.NDArray[np.bool_],
    cap: FloatArray,
    u_now: FloatArray,
    *,
    upper: bool,
) -> FloatArray:
    """First ``u >= u_now`` where ``y_bar + slope u ± ks sqrt(q + u²/sxx)`` reaches ``cap``.

    Returns days after the last observation (``u - u_now``); inf if it never does.
    With ``D = cap - y_bar`` the crossing solves ``(D - slope u)² = ks² (q + u²/sxx)`` with the
    sign condition ``D - slope u >= 0`` for the upper edge and ``<= 0`` for the lower edge.
    """
    sign = 1.0 if upper else -1.0
    d = cap - y_bar

    def edge(u: FloatArray) -> FloatArray:
        return y_bar + slope * u + sign * ks * np.sqrt(q + np.where(fit, u * u / sxx, 0.0))

    already = edge(u_now) >= cap
    c2 = np.where(fit, ks * ks / sxx, 0.0)
    a = slope * slope - c2
    b = -2.0 * d * slope
    c = d * d - ks * ks * q
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = b * b - 4.0 * a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        quad = np.abs(a) > 1e-300
        r1 = np.where(quad, (-b - root) / (2.0 * a), -c / np.where(b != 0, b, np.nan))
        r2 = np.where(quad, (-b + root) / (2.0 * a), np.nan)
    best = np.full(d.shape, np.inf)
    for r in (r1, r2):
        ok = np.isfinite(r) & (disc >= -1e-9 * np.maximum(np.abs(b * b), 1.0)) & (r >= u_now)
        cond = sign * (d - slope * np.where(ok, r, 0.0)) >= -1e-9 * np.maximum(np.abs(d), 1.0)
        ok &= cond
        best = np.where(ok, np.minimum(best, r - u_now), best)
    return np.where(already, 0.0, best)


def drift_and_volatility(
    t_days: npt.ArrayLike, used_gib: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Maximum-likelihood drift and volatility of Brownian motion with drift, per row.

    For increments ``d_i`` over intervals ``dt_i`` between consecutive observations of a row,
    ``mu = (y_last - y_first) / (t_last - t_first)`` and
    ``sigma² = sum((d_i - mu dt_i)² / dt_i) / (m - 1)`` with ``m`` increments (irregular spacing
    and gaps allowed).

    Parameters
    ----------
    t_days
        Observation times, days, shape ``(n_times,)``, increasing.
    used_gib
        Used capacity, GiB, shape ``(n_rows, n_times)``; NaN where a row has no observation.

    Returns
    -------
    mu_gib_per_day, sigma_gib_per_sqrt_day
        Shape ``(n_rows,)``; NaN for rows with fewer than 2 observations (sigma: fewer than 3).
    """
    t = np.asarray(t_days, dtype=np.float64)
    y = np.atleast_2d(np.asarray(used_gib, dtype=np.float64))
    n_rows, n_t = y.shape
    valid = np.isfinite(y)
    idx = np.broadcast_to(np.arange(n_t), y.shape)
    prev = np.where(valid, idx, -1)
    prev = np.maximum.accumulate(prev, axis=1)
    # previous valid index strictly before each column
    prev_before = np.concatenate([np.full((n_rows, 1), -1), prev[:, :-1]], axis=1)
    has_inc = valid & (prev_before >= 0)
    pb = np.maximum(prev_before, 0)
    y_prev = np.take_along_axis(np.where(valid, y, 0.0), pb, axis=1)
    dt = np.where(has_inc, t[None, :] - t[pb], 1.0)
    d = np.where(has_inc, np.where(valid, y, 0.0) - y_prev, 0.0)
    m = has_inc.sum(axis=1)
    first = np.argmax(valid, axis=1)
    last = n_t - 1 - np.argmax(valid[:, ::-1], axis=1)
    rows = np.arange(n_rows)
    span = t[last] - t[first]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(
            (m >= 1) & (span > 0),
            (y[rows, last] - y[rows, first]) / np.where(span > 0, span, 1),
            np.nan,
        )
        r = np.where(has_inc, (d - mu[:, None] * dt) ** 2 / dt, 0.0)
        sigma = np.where(m >= 2, np.sqrt(r.sum(axis=1) / np.maximum(m - 1, 1)), np.nan)
    return mu, sigma


def first_passage_probability(
    headroom_gib: npt.ArrayLike,
    mu_gib_per_day: npt.ArrayLike,
    sigma_gib_per_sqrt_day: npt.ArrayLike,
    horizon_days: float,
) -> FloatArray:
    """Probability that Brownian motion with drift rises by ``headroom`` within the horizon.

    Parameters
    ----------
    headroom_gib
        Capacity left before the level counts as reached, GiB (``<= 0``: already reached).
    mu_gib_per_day
        Drift, GiB/day.
    sigma_gib_per_sqrt_day
        Volatility, GiB per square-root day (0: deterministic growth).
    horizon_days
        Horizon ``T``, days.

    Returns
    -------
    ndarray
        float64 probabilities in [0, 1], the broadcast shape of the inputs.
    """
    b = np.asarray(headroom_gib, dtype=np.float64)
    mu = np.asarray(mu_gib_per_day, dtype=np.float64)
    sigma = np.asarray(sigma_gib_per_sqrt_day, dtype=np.float64)
    b, mu, sigma = np.broadcast_arrays(b, mu, sigma)
    horizon = float(horizon_days)
    if horizon <= 0:
        return np.where(b <= 0, 1.0, 0.0)
    deterministic = np.where(mu * horizon >= b, 1.0, 0.0)
    noisy = sigma > 0
    s = np.where(noisy, sigma, 1.0) * np.sqrt(horizon)
    z1 = (mu * horizon - b) / s
    z2 = (-b - mu * horizon) / s
    log_term2 = 2.0 * mu * b / np.where(noisy, sigma, 1.0) ** 2 + special.log_ndtr(z2)
    with np.errstate(over="ignore"):
        p = special.ndtr(z1) + np.exp(np.minimum(log_term2, 700.0))
    p = np.where(noisy, np.clip(p, 0.0, 1.0), deterministic)
    return np.where(b <= 0, 1.0, p)


def forecast_window_days(t_days: npt.ArrayLike) -> float:
    """Longest horizon a history supports: half its span (``hpe-3par-forecast-window``)."""
    t = np.asarray(t_days, dtype=np.float64)
    if t.size < 2:
        return 0.0
    return float((t[-1] - t[0]) / 2.0)


def assumed_growth(
    used_gib: npt.ArrayLike,
    horizon_days: float,
    growth_frac_per_year: float,
    growth_sd_frac_per_sqrt_year: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Forecast from an assumed compound growth rate when no history exists.

    Parameters
    ----------
    used_gib
        Used capacity now, GiB, any shape.
    horizon_days
        Days ahead.
    growth_frac_per_year
        Compound growth per year (0.204: +20.4 % a year).
    growth_sd_frac_per_sqrt_year
        Standard deviation of one year's change as a share of today's use.

    Returns
    -------
    forecast_gib, mu_gib_per_day, sigma_gib_per_sqrt_day
        Used capacity at the horizon; the equivalent constant drift over the horizon
        (``(forecast - used) / horizon``) and volatility, same shape as ``used_gib``.
    """
    used = np.asarray(used_gib, dtype=np.float64)
    factor = (1.0 + growth_frac_per_year) ** (horizon_days / DAYS_PER_YEAR)
    forecast = used * factor
    mu = (forecast - used) / horizon_days if horizon_days > 0 else np.zeros_like(used)
    sigma = used * growth_sd_frac_per_sqrt_year / np.sqrt(DAYS_PER_YEAR)
    return forecast, mu, sigma
