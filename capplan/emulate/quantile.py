"""Exact percentiles of the replay's ``(n_hosts, n_steps)`` float32 arrays, without a copy.

``numpy.percentile`` copies the array and partitions the copy; on a replay's host-step
arrays (millions of cells) that is most of the KPIs' time. :func:`percentile_rows` gives the
same figure (numpy's default "linear" method: the order statistics at ``q (n − 1)`` and the
next, interpolated) in three passes that read the chosen rows in place: their range, a
histogram of 65,536 equal bins (and the count of values equal to the largest, where a capped
series such as utilization piles up), and the values of the one or two bins that hold the two
order statistics, which are then selected exactly.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: Histogram bins of the second pass.
N_BINS = 1 << 16


@numba.njit(nogil=True, cache=True)
def _range(values: F32, rows: I64) -> tuple[float, float, bool]:  # pragma: no cover - compiled
    """Smallest and largest value of the rows, and whether a NaN was seen."""
    lo = math.inf
    hi = -math.inf
    for r in rows:
        row = values[r]
        for t in range(row.shape[0]):
            v = row[t]
            if v != v:
                return lo, hi, True
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi, False


@numba.njit(nogil=True, cache=True)
def _bin(v: float, lo: float, scale: float) -> int:  # pragma: no cover - compiled
    b = int((v - lo) * scale)
    return b if b < N_BINS else N_BINS - 1


@numba.njit(nogil=True, cache=True)
def _counts(
    values: F32, rows: I64, lo: float, hi: float, scale: float
) -> tuple[I64, int]:  # pragma: no cover - compiled; tested through percentile_rows()
    """Values per bin, and how many equal the largest (a capped series piles up there)."""
    counts = np.zeros(N_BINS + 1, dtype=np.int64)
    at_top = 0
    top = np.float32(hi)
    for r in rows:
        row = values[r]
        for t in range(row.shape[0]):
            v = row[t]
            counts[_bin(v, lo, scale)] += 1
            if v == top:
                at_top += 1
    return counts[:N_BINS], at_top


@numba.njit(nogil=True, cache=True)
def _gather(
    values: F32, rows: I64, lo: float, scale: float, first: int, last: int, size: int
) -> F32:  # pragma: no cover - compiled; tested through percentile_rows()
    """The values whose bin is in ``[first, last]`` (``size`` of them)."""
    out = np.empty(size, dtype=np.float32)
    n = 0
    for r in rows:
        row = values[r]
        for t in range(row.shape[0]):
            b = _bin(row[t], lo, scale)
            if first <= b <= last:
                out[n] = row[t]
                n += 1
    return out


def percentile_rows(values: F32, q: float, rows: I64 | None = None) -> float:
    """``numpy.percentile(values[rows], q)`` (linear method), read in place.

    Parameters
    ----------
    values
        float32 ``(n, m)``.
    q
        Percentile in [0, 100].
    rows
        Row indices to include (None: all rows).

    Returns
    -------
    float
        The percentile (NaN when a value is NaN, as numpy gives).

    Raises
    ------
    ValueError
        For no rows, no columns or ``q`` outside [0, 100].
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    src = np.ascontiguousarray(values, dtype=np.float32)
    index = np.arange(src.shape[0], dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    n = len(index) * src.shape[1]
    if n == 0:
        raise ValueError("no values to take a percentile of")
    lo, hi, has_nan = _range(src, index)
    if has_nan:
        return math.nan
    if lo == hi:
        return float(lo)
    position = q / 100.0 * (n - 1)
    k = math.floor(position)
    k_next = min(k + 1, n - 1)
    scale = N_BINS / (hi - lo)
    counts, at_top = _counts(src, index, lo, hi, scale)
    if k >= n - at_top:  # both order statistics are the largest value
        return float(hi)
    below = np.concatenate(([0], np.cumsum(counts)))
    first = int(np.searchsorted(below, k, side="right")) - 1
    last = int(np.searchsorted(below, k_next, side="right")) - 1
    size = int(below[last + 1] - below[first])
    picked = _gather(src, index, lo, scale, first, last, size)
    i, j = int(k - below[first]), int(k_next - below[first])
    picked.partition((i, j) if j != i else i)
    return _lerp(picked[i], picked[j], position - k)


def _lerp(a: np.float32, b: np.float32, t: float) -> float:
    """numpy's interpolation between two order statistics (``numpy.lib._function_base_impl.
    _lerp`` with a Python-float weight): in float32, from the nearer end."""
    diff = b - a
    return float(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)
