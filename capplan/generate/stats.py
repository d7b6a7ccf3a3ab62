"""Statistics of utilization series, shared by the fit on real traces and the generator's tests.

Every function works on one series or on a block of equal-length series and is written so the
same definition measures a real trace (in :mod:`capplan.generate.fit`) and a generated one (in
the tests), which is what makes "the generated data is near the fitted targets" checkable.

Conventions: ``series`` arrays are float64, shape ``(n_series, n_samples)`` or ``(n_samples,)``,
time on the last axis, one sample per step.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]

#: A sample starts or continues a CPU burst when it exceeds twice the series' median and the
#: median plus this absolute utilization (the rule of :func:`burst_runs`).
BURST_MIN_EXCESS_FRAC = 0.1
#: Harmonics (of a day) whose median power estimates the noise floor in :func:`daily_harmonic`.
NOISE_HARMONICS = (6, 144)


def log_sd(series: FloatArray, floor: float = 1e-4) -> float:
    """Standard deviation of ``ln(max(x, floor))`` over the positive samples of one series.

    NaN when fewer than 3 samples are positive.
    """
    x = np.asarray(series, dtype=np.float64)
    positive = x[x > 0]
    if positive.size < 3:
        return float("nan")
    return float(np.std(np.log(np.maximum(positive, floor))))


def upper_log_spread(series: FloatArray, min_median: float = 0.0) -> float:
    """``ln(p95 / p50) / 1.645`` of one series: the sd of a lognormal with that upper tail.

    Insensitive to how deep idle samples fall (which inflates a plain log sd). NaN when the
    median is not above ``min_median``.
    """
    x = np.asarray(series, dtype=np.float64)
    p50, p95 = np.percentile(x, [50, 95])
    if not p50 > min_median:
        return float("nan")
    return float(np.log(p95 / p50) / 1.6448536269514722)


def spearman(a: FloatArray, b: FloatArray) -> float:
    """Spearman rank correlation of two series of equal length (NaN when one is constant)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(sps.spearmanr(x, y).statistic)


def daily_harmonic(days: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """First 24-hour harmonic of whole days of utilization, raw and noise-corrected.

    Parameters
    ----------
    days
        Shape ``(n_days, n_per_day)``: each row one day starting at midnight UTC.

    Returns
    -------
    amplitude_frac, corrected_frac, peak_hour
        Shape ``(n_days,)`` each. ``amplitude_frac`` is the harmonic's amplitude relative to the
        day's mean (NaN for a day whose mean is 0). ``corrected_frac`` first subtracts the
        noise power expected at that harmonic, estimated from the median power of harmonics
        :data:`NOISE_HARMONICS` (divided by ln 2, the median of a unit exponential); 0 when the
        harmonic is within the noise. ``peak_hour`` is the UTC hour (0–24) of its maximum.
    """
    x = np.asarray(days, dtype=np.float64)
    n_per_day = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    coefficient = spectrum[..., 1]
    lo, hi = NOISE_HARMONICS
    noise_power = np.median(np.abs(spectrum[..., lo : min(hi, spectrum.shape[-1])]) ** 2, axis=-1)
    signal_power = np.maximum(np.abs(coefficient) ** 2 - noise_power / np.log(2.0), 0.0)
    mean = x.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        amplitude = np.where(mean > 0, 2.0 * np.abs(coefficient) / n_per_day / mean, np.nan)
        corrected = np.where(mean > 0, 2.0 * np.sqrt(signal_power) / n_per_day / mean, np.nan)
    peak_hour = np.mod(-np.angle(coefficient) / (2.0 * np.pi) * 24.0, 24.0)
    return amplitude, corrected, peak_hour


def autocorrelation(series: FloatArray, lag: int) -> float:
    """Autocorrelation of one series at ``lag`` samples (NaN when constant or too short)."""
    x = np.asarray(series, dtype=np.float64)
    if x.size <= lag + 2:
        return float("nan")
    centred = x - x.mean()
    denominator = float(np.dot(centred, centred))
    if denominator <= 0.0:
        return float("nan")
    return float(np.dot(centred[lag:], centred[:-lag]) / denominator)


def log_autocorrelation(series: FloatArray, lag: int, floor: float = 1e-4) -> float:
    """:func:`autocorrelation` of ``ln(max(x, floor))``."""
    return autocorrelation(np.log(np.maximum(np.asarray(series, dtype=np.float64), floor)), lag)


def circular_hour_stats(hours: FloatArray) -> tuple[float, float]:
    """Circular mean (UTC hour) and von Mises concentration ``kappa`` of hours of the day.

    ``kappa`` is the maximum-likelihood approximation of Best and Fisher (1981) from the mean
    resultant length.
    """
    angles = np.asarray(hours, dtype=np.float64) / 24.0 * 2.0 * np.pi
    c, s = float(np.mean(np.cos(angles))), float(np.mean(np.sin(angles)))
    mean_hour = float(np.mod(np.arctan2(s, c) / (2.0 * np.pi) * 24.0, 24.0))
    r = float(np.hypot(c, s))
    if r < 0.53:
        kappa = 2 * r + r**3 + 5 * r**5 / 6
    elif r < 0.85:
        kappa = -0.4 + 1.39 * r + 0.43 / (1 - r)
    else:
        kappa = 1 / (r**3 - 4 * r**2 + 3 * r)
    return mean_hour, float(kappa)


def burst_runs(series: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Runs of samples above the burst threshold in one utilization series.

    A sample is "in a burst" when it exceeds ``max(2 * median, median + 0.1)`` (utilization
    fraction) of its series. Consecutive such samples form one run.

    Returns
    -------
    lengths, heights
        Per run: its length in samples, and its largest sample minus the series median.
    """
    x = np.asarray(series, dtype=np.float64)
    median = float(np.median(x))
    threshold = max(2.0 * median, median + BURST_MIN_EXCESS_FRAC)
    mask = np.concatenate(([0], (x > threshold).astype(np.int8), [0]))
    edges = np.diff(mask)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    lengths = (ends - starts).astype(np.int64)
    if starts.size == 0:
        return lengths, np.zeros(0)
    # reduceat over interleaved (start, end) indices: even slots hold max(x[start:end]).
    padded = np.append(x, 0.0)
    bounds = np.column_stack((starts, ends)).ravel()
    heights = np.maximum.reduceat(padded, bounds)[::2] - median
    return lengths, heights


def lognormal_fit(values: FloatArray) -> tuple[float, float]:
    """``(mu, sigma)`` of ``ln(values)`` over the positive, finite values (NaN if none)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return float("nan"), float("nan")
    logs = np.log(x)
    return float(logs.mean()), float(logs.std())


def robust_normal_fit(values: FloatArray) -> tuple[float, float]:
    """``(median, IQR / 1.349)``: a normal fit that a few extreme values do not dominate."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    q25, q50, q75 = np.percentile(x, [25, 50, 75])
    return float(q50), float((q75 - q25) / 1.349)


def to_latent_correlation(spearman_rho: float) -> float:
    """Pearson correlation of a Gaussian pair whose Spearman correlation is ``spearman_rho``.

    Uses the bivariate-normal identity ``rho_s = (6 / pi) * arcsin(rho / 2)``.
    """
    return float(2.0 * np.sin(np.pi * np.clip(spearman_rho, -1.0, 1.0) / 6.0))
