"""Host overload tests of Beloglazov & Buyya (CCPE 24(13), 2012), vectorized over hosts.

Every test has the signature ``test(load, ctx) -> bool array`` where :class:`HostLoad` holds,
for ``n`` hosts, the requested share of capacity now and the utilisation history (newest
sample first, as CloudSim's ``PowerHostUtilizationHistory``: per past sample, the sum over
the VMs now on the host of utilisation × VM MIPS / host MIPS; trailing zeros are dropped).

========  ===============================================================================
``thr``   requested / capacity > threshold (default 0.8)
``iqr``   requested / capacity > 1 − s × IQR(history), s = 1.5; needs 12 samples
``mad``   requested / capacity > 1 − s × MAD(history), s = 2.5; needs 12 samples
``lr``    s × (a + b × (10 + ⌈longest migration time / interval⌉)) ≥ 1, (a, b) the least
          squares line through the newest 10 samples at x = 1..10 (oldest first), s = 1.2
``lrr``   as ``lr``: CloudSim's robust (bisquare) weights are all positive, and its weighted
          regression only applies weights when ≥ 40 % of them are ≤ 0, so the fit is the
          same ordinary least squares line
========  ===============================================================================

With too short a history IQR, MAD, LR and LRR fall back to ``thr`` at 0.7 (CloudSim's
``RunnerAbstract``). IQR takes CloudSim's quartile positions ``round(0.25 (n + 1)) − 1`` and
``round(0.75 (n + 1)) − 1`` of the sorted history; MAD uses medians (mean of the two middle
values for an even count).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from capplan.errors import CapplanError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Fallback static threshold when the history is too short (CloudSim ``RunnerAbstract``).
FALLBACK_THRESHOLD: Final = 0.7
#: Samples IQR and MAD need ("12 has been suggested as a safe value", CloudSim).
MIN_SAMPLES_QUARTILE: Final = 12
#: Samples the local regression fits.
LR_SAMPLES: Final = 10


@dataclass(frozen=True)
class HostLoad:
    """What an overload test sees of ``n`` hosts.

    Attributes
    ----------
    requested_frac
        Σ requested MIPS of the host's VMs / host MIPS, ``(n,)``.
    history
        Utilisation history, newest first, ``(n, history_length)``; zeros past the end.
    max_migration_s
        Longest live-migration time among the host's VMs, s, ``(n,)``.
    interval_s
        Seconds between rounds.
    """

    requested_frac: FloatArray
    history: FloatArray
    max_migration_s: FloatArray
    interval_s: float


OverloadTest = Callable[[HostLoad, float], BoolArray]


def trimmed_length(history: FloatArray) -> IntArray:
    """Samples left after dropping trailing zeros (CloudSim ``MathUtil.trimZeroTail``)."""
    ages = np.arange(1, history.shape[1] + 1)
    return np.asarray(((history != 0) * ages).max(axis=1, initial=0), dtype=np.int64)


def _sorted_trimmed(history: FloatArray, length: IntArray) -> FloatArray:
    """Each row sorted, with the trimmed tail (positions ≥ length) as +inf at the end."""
    if (length == history.shape[1]).all():
        return np.sort(history, axis=1)
    cols = np.arange(history.shape[1])
    padded = np.where(cols[None, :] < length[:, None], history, np.inf)
    return np.sort(padded, axis=1)


def _java_round(x: npt.NDArray[np.floating[Any]]) -> IntArray:
    return np.floor(x + 0.5).astype(np.int64)


def _median_sorted(sorted_rows: FloatArray, length: IntArray) -> FloatArray:
    """Median of the first ``length`` values of each sorted row (Apache percentile(50))."""
    width = sorted_rows.shape[1]
    if (length == width).all():
        low = (width + 1) // 2
        if width % 2:
            return sorted_rows[:, low - 1]
        lower = sorted_rows[:, low - 1]
        return lower + 0.5 * (sorted_rows[:, low] - lower)
    rows = np.arange(len(length))
    pos = 0.5 * (length + 1)
    low = np.floor(pos).astype(np.int64)
    frac = pos - low
    lower = sorted_rows[rows, np.maximum(low - 1, 0)]
    upper = sorted_rows[rows, np.minimum(low, length - 1)]
    return lower + frac * (upper - lower)


def thr(load: HostLoad, threshold: float = 0.8) -> BoolArray:
    """Static threshold: overloaded when requested / capacity exceeds ``threshold``."""
    return np.asarray(load.requested_frac > threshold)


def iqr(load: HostLoad, safety: float = 1.5) -> BoolArray:
    """Inter-quartile range: overloaded when requested > 1 − safety × IQR(history)."""
    length = trimmed_length(load.history)
    result = load.requested_frac > FALLBACK_THRESHOLD
    ok = length >= MIN_SAMPLES_QUARTILE
    if ok.any():
        n = length[ok]
        data = _sorted_trimmed(load.history[ok], n)
        rows = np.arange(len(n))
        q1 = _java_round(0.25 * (n + 1)) - 1
        q3 = _java_round(0.75 * (n + 1)) - 1
        spread = data[rows, q3] - data[rows, q1]
        result[ok] = load.requested_frac[ok] > 1.0 - safety * spread
    return np.asarray(result)


def mad(load: HostLoad, safety: float = 2.5) -> BoolArray:
    """Median absolute deviation: overloaded when requested > 1 − safety × MAD(history)."""
    length = trimmed_length(load.history)
    result = load.requested_frac > FALLBACK_THRESHOLD
    ok = length >= MIN_SAMPLES_QUARTILE
    if ok.any():
        n = length[ok]
        hist = load.history[ok]
        median = _median_sorted(_sorted_trimmed(hist, n), n)
        deviation = np.abs(median[:, None] - hist)
        spread = _median_sorted(_sorted_trimmed(deviation, n), n)
        result[ok] = load.requested_frac[ok] > 1.0 - safety * spread
    return np.asarray(result)


#: Least-squares line through y at x = 1..10 (newest sample at x = 10), as weights on the
#: newest-first history: mean = Σ W_MEAN·h, slope = Σ W_SLOPE·h, and the value at
#: x = 10 + k is mean + slope × (4.5 + k).
_AGE: Final = np.arange(LR_SAMPLES, dtype=np.float64)
W_MEAN: Final = np.full(LR_SAMPLES, 1.0 / LR_SAMPLES)
W_SLOPE: Final = ((LR_SAMPLES - _AGE) - (LR_SAMPLES + 1) / 2.0) / float(
    (((np.arange(1, LR_SAMPLES + 1)) - (LR_SAMPLES + 1) / 2.0) ** 2).sum()
)
#: x of the newest sample minus the mean x: 10 − 5.5.
LR_LEAD: Final = LR_SAMPLES - (LR_SAMPLES + 1) / 2.0


def migration_steps(max_migration_s: FloatArray, interval_s: float) -> FloatArray:
    """Rounds a migration spans: ⌈longest migration time / interval⌉."""
    return np.ceil(max_migration_s / interval_s)


def lr_prediction(
    history: FloatArray, max_migration_s: FloatArray, interval_s: float
) -> FloatArray:
    """Least-squares extrapolation of the newest 10 samples to the end of a migration.

    Returns ``a + b × (10 + ⌈max_migration_s / interval_s⌉)`` per host, ``(n,)``, where
    ``(a, b)`` is the line through the newest 10 samples at x = 1..10, oldest first.
    """
    recent = history[:, :LR_SAMPLES]
    mean = recent @ W_MEAN
    slope = recent @ W_SLOPE
    return np.asarray(mean + slope * (LR_LEAD + migration_steps(max_migration_s, interval_s)))


def lr(load: HostLoad, safety: float = 1.2) -> BoolArray:
    """Local regression: overloaded when safety × predicted utilisation ≥ 1."""
    length = trimmed_length(load.history)
    result = load.requested_frac > FALLBACK_THRESHOLD
    ok = length >= LR_SAMPLES
    if ok.any():
        predicted = lr_prediction(load.history[ok], load.max_migration_s[ok], load.interval_s)
        result[ok] = safety * predicted >= 1.0
    return np.asarray(result)


def lrr(load: HostLoad, safety: float = 1.2) -> BoolArray:
    """Robust local regression; in CloudSim's arithmetic it equals :func:`lr`."""
    return lr(load, safety)


#: Overload tests by name, with their default parameter (the paper's best values).
OVERLOAD_TESTS: Final[dict[str, tuple[OverloadTest, float]]] = {
    "thr": (thr, 0.8),
    "iqr": (iqr, 1.5),
    "mad": (mad, 2.5),
    "lr": (lr, 1.2),
    "lrr": (lrr, 1.2),
}


def get_overload_test(name: str) -> tuple[OverloadTest, float]:
    """Look up an overload test; an unknown name lists the valid ones."""
    try:
        return OVERLOAD_TESTS[name]
    except KeyError:
        valid = ", ".join(sorted(OVERLOAD_TESTS))
        raise CapplanError(
            f"unknown overload test {name!r}; valid: {valid}", spec_path="--policy"
        ) from None
