"""Vectorized demand forecasts: trend + daily (+ weekly) profile + AR(1) errors, with intervals.

The model, for each series (VM × metric) on a regular grid of ``m`` steps per day:

``y(τ) = b·τ + P(phase) [+ W(weekday)] + e``,  τ in days,

1. **Trend** ``b``: weighted least squares line through the daily means of the window (weights =
   observed share of each day); kept only when ``|b| / se(b) ≥ trend_t_min`` (default 2, about
   the two-sided 5 % significance level of a t test), so a noisy month does not extrapolate a
   slope that is not there.
2. **Daily profile** ``P``: per phase of the day, an exponentially weighted mean of the
   detrended past days (only observed steps count). Candidate half-lives 1, 3, 7 and 28 days
   are run side by side; a half-life of 1 day is close to seasonal naive, 28 days to a
   long-run mean profile.
3. **Weekly offset** ``W`` (when the window holds ≥ 14 days, or when asked): per weekday, the
   mean of (day mean − centred 7-day mean) of the detrended daily means (classical
   decomposition); the weekly family runs the profile recursion on the data less ``W``.
4. **Selection.** Every candidate (half-life × weekly on/off, plus "last value" with the
   kept trend) makes honest one-day-ahead
   forecasts of each day from the days before it (a recursion over days, vectorized over
   series and phases). Each series takes the candidate with the least mean absolute error
   over the last ``n_validation_days`` days (default 7).
5. **Short-term correction**: the one-day-ahead errors of the chosen candidate follow an AR(1)
   with coefficient ``ρ`` (lag-1 autocorrelation, clipped to [0, 0.999]); the forecast adds
   ``e_last · ρ^(h + age)``, so a level shift seen in the last hours carries on and fades.
6. **Intervals** (split-conformal): the empirical ``(1 ± level)/2`` quantiles of the chosen
   candidate's one-day-ahead errors over the validation days (their median shifts the point
   forecast: the MAE-optimal point), their half-widths scaled by ``sqrt(1 + 1/n_val)`` for the
   few independent validation days, widened beyond the first day by
   ``z · se(b) · (days ahead)`` for the uncertainty of the trend. Bounds are clipped at 0
   (demand is not negative).

Nothing loops over time steps in Python; the only Python loop is over the days of the window
(≤ ``window_days``), each iteration a numpy operation on ``(candidates, n_series, m)``.

Why this method (measured on this project's shared 2-core machine, load ≈ 3–5 from other
jobs; ``capplan bench forecast`` prints the current figures, see docs/forecast.md):

- Speed: 1,000 series × 30 days at 5 min (8,640 steps), fit + one-day forecast: 0.43 s wall
  (best of 3), 0.41 s CPU (target ≤ 1 s per 1,000 series). statsmodels 0.15 on ONE such
  series: Holt-Winters ``ExponentialSmoothing`` (additive trend, 288-step season) 4.9 s, STL +
  ETS 2.2 s, i.e. ≈ 2,000–5,000 s per 1,000 series, and not vectorized over series; so
  statsmodels is not used and is not a dependency.
- Accuracy, one day ahead from rolling origins at the last 7 days (3 for Alibaba), mean MASE
  (seasonal lag one day) of this model / seasonal naive / last value, and coverage of the
  90 % interval: Bitbrains month files (90 series, 5 min) 0.79 / 0.96 / 1.00, coverage
  90.9 %; Azure-derived cluster series (55, the TBPP instances made from the Azure VM trace,
  5 min) 0.61 / 0.68 / 0.61, 86.3 %; Alibaba machines (32, 60 s) 0.98 / 1.03 / 1.58, 90.3 %.
  The Azure V1 sample in ../shared/data holds one reading per VM and is not a time series.
- The ``sqrt(1 + 1/n_val)`` widening of step 6 was added after a first bench run showed
  84.8 % (Azure-derived) and 81.4 % (PlanetLab) coverage at 90 % nominal with few validation
  days; it is a choice made on the bench data, not an independent confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from capplan.forecast.checks import (
    DAYS_PER_WEEK,
    ForecastError,
    as_mask,
    as_series,
    check_horizon,
    check_level,
    forward_fill,
    steps_per_day,
)

F64 = npt.NDArray[np.float64]

#: Candidate half-lives (days) of the exponentially weighted daily profile: from "yesterday"
#: (close to seasonal naive) to a four-week mean profile. Chosen per series by validation error.
DEFAULT_HALF_LIVES_DAYS: tuple[float, ...] = (1.0, 3.0, 7.0, 28.0)
#: Days of history used (the most recent ones): four weeks gives each weekday four samples.
DEFAULT_WINDOW_DAYS = 28
#: Days at the end of the window whose one-day-ahead errors select the candidate and set the
#: intervals: one week, so every weekday is in it.
DEFAULT_VALIDATION_DAYS = 7
#: Minimum |slope| / standard error for the trend to be kept (≈ two-sided 5 % t test).
DEFAULT_TREND_T_MIN = 2.0
#: Least history for a daily profile: two days to build it and one day to check it.
MIN_DAYS_DAILY = 3
#: Least history for the weekly offsets: every weekday seen twice.
MIN_DAYS_WEEKLY = 2 * DAYS_PER_WEEK


@dataclass(frozen=True)
class Forecast:
    """Point forecast and prediction interval of ``n_series`` series, ``horizon`` steps ahead.

    Attributes
    ----------
    point, lower, upper
        float64 ``(n_series, horizon_steps)``, in the unit of the input; step ``h`` (0-based)
        is ``(h + 1) · step_s`` seconds after the last history step.
    level
        Nominal coverage of ``[lower, upper]`` (e.g. 0.9).
    step_s
        Seconds between steps.
    slope_per_day
        Trend kept per series, unit of the input per day, ``(n_series,)`` (0 where rejected).
    slope_se_per_day
        Standard error of the fitted slope, ``(n_series,)``.
    half_life_days
        Profile half-life chosen per series, ``(n_series,)``.
    weekly
        Whether the weekly offsets were used, per series, ``(n_series,)``.
    ar_coef
        AR(1) coefficient of the one-day-ahead errors per series, ``(n_series,)``.
    history_days
        Days of history the model used.
    """

    point: F64
    lower: F64
    upper: F64
    level: float
    step_s: int
    slope_per_day: F64
    slope_se_per_day: F64
    half_life_days: F64
    weekly: npt.NDArray[np.bool_]
    ar_coef: F64
    history_days: int

    @property
    def n_series(self) -> int:
        """Number of series (rows)."""
        return int(self.point.shape[0])

    @property
    def horizon_steps(self) -> int:
        """Number of forecast steps (columns)."""
        return int(self.point.shape[1])


def masked_quantiles(
    errors: F64, valid: npt.NDArray[np.bool_], probs: tuple[float, ...]
) -> tuple[F64, ...]:
    """Per-row linear-interpolation quantiles of ``errors`` over the ``valid`` entries.

    Rows with no valid entry give 0. Vectorized (one sort), unlike ``np.nanquantile`` on rows.
    """
    filled = np.where(valid, errors, np.inf)
    ordered = np.sort(filled, axis=1)
    count = valid.sum(axis=1)
    out = []
    for p in probs:
        pos = p * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        frac = pos - lo
        a = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
        q = np.where(count > 0, a + (b - a) * frac, 0.0)
        out.append(np.where(np.isfinite(q), q, 0.0))
    return tuple(out)


def _trend(days: F64, weights: F64, t_min: float) -> tuple[F64, F64, F64]:
    """Weighted LS slope of daily means; return (slope kept, slope, its standard error)."""
    n_days = days.shape[1]
    x = np.arange(n_days, dtype=np.float64) + 0.5
    sw = weights.sum(axis=1)
    safe = np.maximum(sw, 1e-12)
    xbar = (weights * x).sum(axis=1) / safe
    ybar = (weights * days).sum(axis=1) / safe
    dx = x[None, :] - xbar[:, None]
    sxx = (weights * dx * dx).sum(axis=1)
    slope = np.where(
        sxx > 0, (weights * dx * (days - ybar[:, None])).sum(axis=1) / np.maximum(sxx, 1e-12), 0.0
    )
    resid = days - ybar[:, None] - slope[:, None] * dx
    n_eff = (weights > 0).sum(axis=1)
    dof = np.maximum(n_eff - 2, 1)
    # Residual variance of a day with weight 1 (weights are observed shares, ≤ 1).
    sigma2 = (weights * resid * resid).sum(axis=1) / dof
    se = np.where(sxx > 0, np.sqrt(sigma2 / np.maximum(sxx, 1e-12)), 0.0)
    tstat = np.abs(slope) / np.maximum(se, 1e-12)
    kept = np.where((n_eff >= MIN_DAYS_DAILY) & (tstat >= t_min), slope, 0.0)
    return kept, slope, se


def _weekday_offsets(day_mean: F64, day_w: F64) -> F64:
    """Per weekday (day index mod 7), the mean of day mean − centred 7-day mean; ``(n, 7)``."""
    n, k = day_mean.shape
    half = DAYS_PER_WEEK // 2
    wm = np.concatenate([np.zeros((n, 1)), np.cumsum(day_w * day_mean, axis=1)], axis=1)
    ws = np.concatenate([np.zeros((n, 1)), np.cumsum(day_w, axis=1)], axis=1)
    centre = np.arange(half, k - half)
    span_w = ws[:, centre + half + 1] - ws[:, centre - half]
    moving = (wm[:, centre + half + 1] - wm[:, centre - half]) / np.maximum(span_w, 1e-12)
    weight = day_w[:, centre] * (span_w > 0)
    diff = (day_mean[:, centre] - moving) * weight
    dow = centre % DAYS_PER_WEEK
    num = np.zeros((n, DAYS_PER_WEEK))
    den = np.zeros((n, DAYS_PER_WEEK))
    for d in range(DAYS_PER_WEEK):
        num[:, d] = diff[:, dow == d].sum(axis=1)
        den[:, d] = weight[:, dow == d].sum(axis=1)
    offsets = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return offsets - offsets.mean(axis=1, keepdims=True)


def fit_forecast(
    values: npt.ArrayLike,
    step_s: int,
    horizon_steps: int,
    *,
    level: float = 0.9,
    observed: npt.ArrayLike | None = None,
    weekly: bool | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    half_lives_days: tuple[float, ...] = DEFAULT_HALF_LIVES_DAYS,
    n_validation_days: int = DEFAULT_VALIDATION_DAYS,
    trend_t_min: float = DEFAULT_TREND_T_MIN,
    nonnegative: bool = True,
    persistence: bool = True,
    ar: bool = True,
    median_shift: bool = True,
) -> Forecast:
    """Forecast every row of ``values`` ``horizon_steps`` steps past its end.

    Parameters
    ----------
    values
        History, ``(n_series, n_steps)`` (or ``(n_steps,)``), any unit, regular steps of
        ``step_s`` seconds, the last column being the latest. Must be finite.
    step_s
        Seconds between steps; must divide one day.
    horizon_steps
        Steps to forecast (≥ 1).
    level
        Nominal coverage of the prediction interval, in (0, 1).
    observed
        Bool mask of the shape of ``values``: False where the step holds no real sample
        (ignored by the fit). ``None``: every step is real.
    weekly
        Use weekly offsets: ``None`` (auto: when the window holds ≥ 14 days), True (error if
        the history is shorter than 14 days), False.
    window_days
        Most recent whole days used.
    half_lives_days
        Candidate half-lives of the daily profile.
    n_validation_days
        Last days whose one-day-ahead errors choose the candidate and set the intervals
        (at most the history less two days).
    trend_t_min
        Least |slope|/se for the trend to be kept (0 keeps every slope).
    nonnegative
        Clip the point forecast and the bounds at 0.
    persistence
        Let a series pick the last observed value (plus the kept trend) when that has the
        least validation error.
    ar
        Allow the AR(1) correction of the recent error (kept per series when it helps).
    median_shift
        Shift the point forecast by the median validation error (MAE-optimal point).

    Returns
    -------
    Forecast

    Raises
    ------
    ForecastError
        Naming the parameter: NaN in ``values``, ``horizon_steps`` ≤ 0, ``level`` outside
        (0, 1), a step that does not divide a day, or a history shorter than the seasonality
        needs (3 days for daily, 14 for weekly), with the history needed.
    """
    y = as_series(values)
    mask = as_mask(observed, y.shape)
    horizon = check_horizon(horizon_steps)
    level = check_level(level)
    m = steps_per_day(step_s)
    if window_days < MIN_DAYS_DAILY:
        raise ForecastError(f"window_days must be ≥ {MIN_DAYS_DAILY}; got {window_days}")
    if not half_lives_days or min(half_lives_days) <= 0:
        raise ForecastError(f"half_lives_days must be positive numbers; got {half_lives_days}")
    n_series, n_steps = y.shape
    have_days = n_steps / m
    if have_days < MIN_DAYS_DAILY:
        raise ForecastError(
            f"values: a daily seasonal forecast needs at least {MIN_DAYS_DAILY} days of history "
            f"({MIN_DAYS_DAILY * m} steps of {step_s} s); "
            f"got {n_steps} steps ({have_days:.2f} days)"
        )
    k = min(n_steps // m, window_days)
    if weekly is True and k < MIN_DAYS_WEEKLY:
        raise ForecastError(
            f"weekly=True needs at least {MIN_DAYS_WEEKLY} days of history "
            f"({MIN_DAYS_WEEKLY * m} steps of {step_s} s) within window_days={window_days}; "
            f"got {k} whole days"
        )
    use_weekly = k >= MIN_DAYS_WEEKLY if weekly is None else bool(weekly)
    n_val = max(1, min(int(n_validation_days), k - 2))

    # float32 for the (n, k, m) arrays (memory bandwidth); sums accumulate in float64
    x = y[:, -k * m :].reshape(n_series, k, m).astype(np.float32)
    w = mask[:, -k * m :].reshape(n_series, k, m).astype(np.float32)

    # 1. trend on daily means
    day_w = w.mean(axis=2, dtype=np.float64)
    day_mean = (x * w).sum(axis=2, dtype=np.float64) / np.maximum(
        w.sum(axis=2, dtype=np.float64), 1e-12
    )
    slope, _raw_slope, slope_se = _trend(day_mean, day_w, trend_t_min)
    tau = np.arange(k)[:, None] + (np.arange(m)[None, :] + 0.5) / m  # (k, m) days
    z = x - (slope[:, None, None] * tau[None, :, :]).astype(np.float32)
    total_w = w.sum(axis=(1, 2), dtype=np.float64)
    fallback = (z * w).sum(axis=(1, 2), dtype=np.float64) / np.maximum(total_w, 1e-12)  # (n,)

    # 3. weekly offsets (classical decomposition of the daily means: day mean minus the
    #    centred 7-day mean, averaged per weekday, centred to sum 0)
    if use_weekly:
        weekday = _weekday_offsets(day_mean - slope[:, None] * (np.arange(k) + 0.5), day_w)
        z_week = z - weekday[:, np.arange(k) % DAYS_PER_WEEK][:, :, None].astype(np.float32)
        zs = np.stack([z, z_week])  # (f, n, k, m): family 0 daily only, 1 daily + weekly
    else:
        weekday = np.zeros((n_series, DAYS_PER_WEEK))
        zs = z[None]
    n_fam = zs.shape[0]

    # 2 and 4. recursion over days, every family × half-life at once; one-day-ahead errors of
    #    days first_val-1 .. k-1 are kept (the extra first one starts the AR correction)
    decay = (0.5 ** (1.0 / np.asarray(half_lives_days, dtype=np.float64))).astype(np.float32)
    g = len(decay)
    dec = decay[None, :, None, None]
    num = np.zeros((n_fam, g, n_series, m), dtype=np.float32)
    den = np.zeros((n_fam, g, n_series, m), dtype=np.float32)
    first_val = k - n_val
    n_keep = n_val + 1
    err = np.zeros((n_fam, g, n_series, n_keep, m), dtype=np.float32)
    err_persist = np.zeros((n_series, n_keep, m), dtype=np.float32)
    abs_sum = np.zeros((n_fam, g, n_series))
    abs_persist = np.zeros(n_series)
    # last observed (detrended) value of each day, carried over days with no sample
    seen = w > 0
    last_in_day = m - 1 - np.argmax(seen[:, :, ::-1], axis=2)  # (n, k)
    day_last = np.take_along_axis(z, last_in_day[:, :, None], axis=2)[..., 0].astype(np.float64)
    day_last = forward_fill(day_last, np.asarray(seen.any(axis=2), dtype=bool))  # (n, k)
    fallback32 = np.broadcast_to(fallback[None, None, :, None].astype(np.float32), num.shape)

    def profile() -> npt.NDArray[np.float32]:
        out = fallback32.copy()
        np.divide(num, den, out=out, where=den > 0)
        return out

    for j in range(k):
        zj, wj = zs[:, :, j, :], w[:, j, :]  # (f, n, m), (n, m)
        if j >= max(first_val - 1, 1):
            slot = j - first_val + 1
            e = zj[:, None] - profile()  # (f, g, n, m)
            err[:, :, :, slot] = e
            err_persist[:, slot] = z[:, j, :] - day_last[:, j - 1 : j]
            if slot >= 1:
                abs_sum += (np.abs(e) * wj).sum(axis=3)
                abs_persist += (np.abs(err_persist[:, slot]) * wj).sum(axis=1)
        num *= dec
        num += (zj * wj)[:, None]
        den *= dec
        den += wj
    prof = profile()

    # selection by mean absolute one-day-ahead error over the validation days
    wv = w[:, first_val:, :]  # (n, n_val, m)
    scores = abs_sum.reshape(n_fam * g, n_series)
    if persistence:
        scores = np.concatenate([scores, abs_persist[None]], axis=0)
    best = np.argmin(scores, axis=0)  # (n,)
    chose_persist = best == n_fam * g
    fam = np.where(chose_persist, 0, best // g)
    cand = np.where(chose_persist, 0, best % g)
    chose_week = fam == 1
    rows = np.arange(n_series)
    err_all = np.where(chose_persist[:, None, None], err_persist, err[fam, cand, rows]).astype(
        np.float64
    )  # (n, n_keep, m)
    errors = err_all[:, 1:, :].reshape(n_series, n_val * m)
    valid = wv.reshape(n_series, n_val * m) > 0

    # 5. AR(1) of the errors, kept for a series when it lowers its validation error
    h_day = np.arange(1, m + 1, dtype=np.float64)
    e0, e1 = errors[:, :-1], errors[:, 1:]
    both = valid[:, :-1] & valid[:, 1:]
    rho = (e0 * e1 * both).sum(axis=1) / np.maximum((e0 * e0 * both).sum(axis=1), 1e-12)
    rho = np.clip(rho, 0.0, 0.999) if ar else np.zeros(n_series)
    w_all = np.concatenate([w[:, first_val - 1 : first_val, :], wv], axis=1) > 0
    last_idx_d = m - 1 - np.argmax(w_all[:, :, ::-1], axis=2)  # (n, n_keep)
    has_d = w_all.any(axis=2)
    e_last_d = np.where(has_d, np.take_along_axis(err_all, last_idx_d[:, :, None], 2)[..., 0], 0.0)
    age_d = (m - 1 - last_idx_d).astype(np.float64)
    corr = e_last_d[:, :-1, None] * rho[:, None, None] ** (
        h_day[None, None, :] + age_d[:, :-1, None]
    )
    errors_ar = (err_all[:, 1:, :] - corr).reshape(n_series, n_val * m)
    use_ar = (np.abs(errors_ar) * valid).sum(axis=1) < (np.abs(errors) * valid).sum(axis=1)
    rho = np.where(use_ar, rho, 0.0)
    errors = np.where(use_ar[:, None], errors_ar, errors)
    e_last, age = e_last_d[:, -1], age_d[:, -1]

    # point forecast over the horizon
    h = np.arange(horizon)
    phase = h % m
    day_ahead = h // m  # 0 = the first day after the history
    base = np.where(
        chose_persist[:, None], day_last[:, -1:], prof[fam, cand, rows][:, phase]
    )  # (n, H)
    dows = (k + day_ahead) % DAYS_PER_WEEK
    week_term = np.where(chose_week[:, None], weekday[:, dows], 0.0)
    tau_h = k + (h + 0.5) / m
    trend_term = slope[:, None] * tau_h[None, :]
    ar_term = e_last[:, None] * rho[:, None] ** (h[None, :] + 1 + age[:, None])
    point = base + week_term + trend_term + ar_term

    # 6. intervals
    alpha = 1.0 - level
    q_lo, q_mid, q_hi = masked_quantiles(errors, valid, (alpha / 2, 0.5, 1 - alpha / 2))
    if median_shift:  # the point becomes the median forecast (MAE-optimal), bounds unchanged
        point = point + q_mid[:, None]
        q_lo, q_hi = q_lo - q_mid, q_hi - q_mid
    # Few validation days are few independent samples (errors within a day are correlated):
    # widen the half-widths around the median by sqrt(1 + 1/n_val), the factor of a prediction
    # interval whose centre is estimated from n_val samples.
    widen = np.sqrt(1.0 + 1.0 / n_val)
    q_lo = q_mid - widen * (q_mid - q_lo) if not median_shift else widen * q_lo
    q_hi = q_mid + widen * (q_hi - q_mid) if not median_shift else widen * q_hi
    zq = NormalDist().inv_cdf(1 - alpha / 2)
    extra = zq * slope_se[:, None] * ((h + 1) / m)[None, :]
    lower = point + q_lo[:, None] - extra
    upper = point + q_hi[:, None] + extra
    if nonnegative:
        point = np.maximum(point, 0.0)
        lower = np.maximum(lower, 0.0)
        upper = np.maximum(upper, 0.0)
    half_lives = np.asarray(half_lives_days, dtype=np.float64)[cand]
    return Forecast(
        point=point,
        lower=lower,
        upper=upper,
        level=level,
        step_s=int(step_s),
        slope_per_day=slope,
        slope_se_per_day=slope_se,
        half_life_days=half_lives,
        weekly=chose_week,
        ar_coef=rho,
        history_days=k,
    )
