"""Exact percentiles of the replay's ``(n_hosts, n_steps)`` float32 arrays, without a copy.

``numpy.percentile`` copies the array and partitions the copy; on a replay's host-step
arrays (millions of cells) that is most of the KPIs' time. :func:`percentile_rows` gives the
same figure (numpy's default "linear" method: the order statistics at ``q (n − 1)`` and the
next, interpolated) from one pass that reads the chosen rows in place:

1. A fixed, evenly strided sample of :data:`SAMPLE_SIZE` values brackets the two order
   statistics: ``[a, b]`` reaches :data:`MARGIN_SDS` binomial standard deviations (plus
   :data:`MARGIN_MIN` places) beyond their places in the sorted sample.
2. The pass counts the values below ``a`` and copies those in ``[a, b]`` (a few thousand);
   when ``a = b`` (a pile of equal values, such as a capped utilization) it only counts them.
3. If the counts show an order statistic outside the bracket (the sample misled), the
   bracket opens to that side's infinity and the pass runs again; the last resort copies all
   the values, as numpy does. Otherwise the two are selected exactly from the copied values.

Each pass runs on the replay's threads, each thread on its share of the rows. Small inputs go
to ``numpy.percentile`` itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import numba
import numpy as np
import numpy.typing as npt

from capplan.emulate.blocks import default_workers, thread_pool

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: Values in the bracketing sample (inputs of at most 4 × as many go to numpy directly).
SAMPLE_SIZE = 1 << 15
#: Half-width of the bracket around each order statistic's sample place: binomial standard
#: deviations of a sample rank, plus places (a miss only costs another pass).
MARGIN_SDS = 6.0
MARGIN_MIN = 32
#: Room per thread for the values in the bracket beyond twice the sample's estimate.
CAPACITY_SLACK = 1024

T = TypeVar("T")
R = TypeVar("R")


@numba.njit(nogil=True, cache=True)
def _bracket_pass(
    values: F32, rows: I64, low: float, high: float, capacity: int
) -> tuple[int, int, F32, bool, bool]:  # pragma: no cover - compiled; tested through callers
    """Count the values below ``low`` and in ``[low, high]``; copy the latter (at most
    ``capacity``, flagging an overflow; none when ``low == high``); flag a NaN."""
    out = np.empty(capacity if low < high else 0, dtype=np.float32)
    below = 0
    inside = 0
    a = np.float32(low)
    b = np.float32(high)
    keep = low < high
    for r in rows:
        row = values[r]
        for t in range(row.shape[0]):
            v = row[t]
            if v < a:
                below += 1
            elif v <= b:
                if keep and inside < capacity:
                    out[inside] = v
                inside += 1
            elif v != v:
                return below, inside, out[:0], False, True
    overflow = keep and inside > capacity
    return below, inside, out[: min(inside, capacity) if keep else 0], overflow, False


def percentile_rows(
    values: F32, q: float, rows: I64 | None = None, *, sample_size: int = SAMPLE_SIZE
) -> float:
    """``numpy.percentile(values[rows], q)`` (linear method), read in place.

    Parameters
    ----------
    values
        float32 ``(n, m)``.
    q
        Percentile in [0, 100].
    rows
        Row indices to include (None: all rows).
    sample_size
        Values in the bracketing sample; inputs of at most 4 × as many go to numpy.

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
    if n <= 4 * sample_size:
        return float(np.percentile(src[index], q))
    return _select(src, index, q, sample_size)


def _select(src: F32, index: I64, q: float, sample_size: int) -> float:
    """:func:`percentile_rows` of a large input: bracket by a sample, count, retry, select."""
    n_cols = src.shape[1]
    n = len(index) * n_cols
    position = q / 100.0 * (n - 1)
    k = math.floor(position)
    k_next = min(k + 1, n - 1)
    flat = np.arange(sample_size, dtype=np.int64) * n // sample_size
    sample = np.sort(src[index[flat // n_cols], flat % n_cols])
    if np.isnan(sample[-1]):
        return math.nan
    low, high = _bracket(sample, k / (n - 1), k_next / (n - 1))
    parts = _split(index, default_workers())
    while True:
        below, inside, picked, overflow = _count(src, parts, sample, low, high, n)
        if below < 0:  # a NaN
            return math.nan
        if k < below:
            low = -math.inf
        elif k_next >= below + inside:
            high = math.inf
        elif overflow:
            low, high = -math.inf, math.inf
        elif low == high:
            return _lerp(np.float32(low), np.float32(low), position - k)
        else:
            i, j = k - below, k_next - below
            picked.partition((i, j) if j != i else i)
            return _lerp(picked[i], picked[j], position - k)


def _count(
    src: F32, parts: list[I64], sample: F32, low: float, high: float, n: int
) -> tuple[int, int, F32, bool]:
    """One bracket pass over every part: the values below ``low``, how many are in
    ``[low, high]`` and those values, and whether they overflowed the room the sample
    predicted; ``below`` is -1 when a value is NaN."""
    full = math.isinf(low) and math.isinf(high)
    expected = np.searchsorted(sample, high, "right") - np.searchsorted(sample, low)
    capacity = n if full else int(2 * n * expected / len(sample)) + CAPACITY_SLACK
    found = _each(parts, functools.partial(_part_pass, src, low, high, capacity))
    if any(f[4] for f in found):
        return -1, 0, np.zeros(0, dtype=np.float32), False
    picked = np.concatenate([f[2] for f in found])
    return sum(f[0] for f in found), sum(f[1] for f in found), picked, any(f[3] for f in found)


def _part_pass(
    src: F32, low: float, high: float, capacity: int, part: I64
) -> tuple[int, int, F32, bool, bool]:
    """:func:`_bracket_pass` of one part, with room for at most the part's own values."""
    return _bracket_pass(src, part, low, high, min(capacity, len(part) * src.shape[1]))


def _bracket(sample: F32, p_first: float, p_second: float) -> tuple[float, float]:
    """Values of the sorted ``sample`` around the places of the quantiles ``p_first`` and
    ``p_second`` (see the module docstring); an infinity past either end."""
    size = len(sample)

    def place(p: float, side: int) -> int:
        spread = MARGIN_SDS * math.sqrt(size * p * (1.0 - p)) + MARGIN_MIN
        return math.floor(p * (size - 1) + side * spread)

    first, last = place(p_first, -1), place(p_second, +1)
    low = float(sample[first]) if first >= 0 else -math.inf
    high = float(sample[last]) if last < size else math.inf
    return low, high


def _split(index: I64, workers: int) -> list[I64]:
    """The rows in ``workers`` consecutive parts (one when there are few)."""
    if workers <= 1 or len(index) < 2 * workers:
        return [index]
    return [part for part in np.array_split(index, workers) if len(part)]


def _each(jobs: Sequence[T], func: Callable[[T], R]) -> list[R]:
    """``func`` of each job, on the replay's threads when there is more than one."""
    if len(jobs) == 1:
        return [func(jobs[0])]
    pool = thread_pool(len(jobs))
    return [future.result() for future in [pool.submit(func, job) for job in jobs]]


def _lerp(a: np.float32, b: np.float32, t: float) -> float:
    """numpy's interpolation between two order statistics (``numpy.lib._function_base_impl.
    _lerp`` with a Python-float weight): in float32, from the nearer end."""
    diff = b - a
    return float(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)
