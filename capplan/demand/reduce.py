"""Reductions of a Workload to a few time buckets, the form the optimizer sizes with.

Time-aware sizing folds the workload onto a typical day (or week) cut into ``K`` equal
buckets, and keeps per VM and bucket a statistic over every step that falls into the bucket,
across all days: the peak, or a percentile such as p95. Capacity is then checked in every
bucket, so VMs whose busy hours differ can share a host (Speitkamp & Bichler, "A Mathematical
Programming Approach for Server Consolidation Problems in Virtualized Data Centers", IEEE
Transactions on Services Computing 3(4), 2010, report about 31 % fewer servers from daily
cycles). Peak-based sizing, the baseline, keeps one bucket: each VM at its own peak.

Buckets are in UTC. Steps where a VM has no data (``Workload.observed`` False) are ignored; a
bucket in which a VM has no data at all takes the VM's statistic over the whole horizon
(conservative). Everything is vectorised over VMs, in row blocks to bound memory; the only
Python loop is over buckets, for percentiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.errors import WorkloadError
from capplan.units import S_PER_DAY

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PERIODS: dict[str, float] = {"day": S_PER_DAY, "week": 7 * S_PER_DAY}
#: 1970-01-01 (the epoch) was a Thursday: seconds from a Monday 00:00 to the epoch.
_EPOCH_AFTER_MONDAY_S = 3 * S_PER_DAY
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: VMs per block when reducing (bounds the temporaries).
_BLOCK_ROWS = 1024


@dataclass(frozen=True)
class Reduction:
    """Per-VM demand in K buckets.

    Attributes
    ----------
    values
        Metric name → float64 ``(n_vms, n_buckets)``, in the metric's unit.
    has_data
        Metric name → bool ``(n_vms,)``: the VM has at least one observed step of the metric.
    bucket_names
        Label of each bucket (``"14:00"``, ``"Mon 09:00"``, ``"peak"``).
    period
        ``"day"``, ``"week"`` or ``"horizon"`` (peak-based, one bucket).
    statistic
        ``"peak"`` or ``"pNN"``.
    n_filled
        VM-bucket cells that had no data and took the VM's whole-horizon statistic.
    """

    values: dict[str, FloatArray]
    has_data: dict[str, BoolArray]
    bucket_names: tuple[str, ...]
    period: str
    statistic: str
    n_filled: int = 0

    @property
    def n_buckets(self) -> int:
        """Number of buckets."""
        return len(self.bucket_names)


def parse_statistic(statistic: str) -> float | None:
    """``"peak"`` → None; ``"p95"`` → 95.0. Raises WorkloadError for anything else."""
    text = statistic.strip().lower()
    if text in ("peak", "max"):
        return None
    if text.startswith("p"):
        try:
            q = float(text[1:])
        except ValueError:
            q = -1.0
        if 0.0 < q <= 100.0:
            return q
    raise WorkloadError(
        f"unknown statistic {statistic!r}; expected 'peak' or a percentile like 'p95'"
    )


def bucket_index(workload: Workload, n_buckets: int, period: str) -> npt.NDArray[np.int64]:
    """Bucket of every step, int64 ``(n_steps,)`` in ``[0, n_buckets)``."""
    if period not in PERIODS:
        raise WorkloadError(f"unknown period {period!r}; expected one of {sorted(PERIODS)}")
    if n_buckets < 1:
        raise WorkloadError(f"number of buckets must be >= 1, got {n_buckets}")
    period_s = PERIODS[period]
    t = workload.times().astype(np.int64).astype(np.float64)
    if period == "week":
        t = t + _EPOCH_AFTER_MONDAY_S
    offset = np.mod(t, period_s)
    return np.minimum((offset * n_buckets // period_s).astype(np.int64), n_buckets - 1)


def bucket_names(n_buckets: int, period: str) -> tuple[str, ...]:
    """Labels of the buckets: start time of each (``HH:MM``, with the weekday for a week)."""
    period_s = PERIODS[period]
    names = []
    for k in range(n_buckets):
        start = round(k * period_s / n_buckets)
        day, rest = divmod(start, int(S_PER_DAY))
        hh, mm = divmod(rest // 60, 60)
        label = f"{hh:02d}:{mm:02d}"
        names.append(f"{_WEEKDAYS[day]} {label}" if period == "week" else label)
    return tuple(names)


def _source(workload: Workload, metric: str, q: float | None) -> npt.NDArray[np.float32]:
    return workload.demand(metric, statistic="peak" if q is None else "mean")


def reduce_buckets(
    workload: Workload,
    n_buckets: int,
    *,
    period: str = "day",
    statistic: str = "peak",
    metrics: Sequence[str] | None = None,
) -> Reduction:
    """Fold ``workload`` onto ``n_buckets`` buckets of a typical ``period``.

    Parameters
    ----------
    workload
        The workload.
    n_buckets
        K, the number of equal buckets the period is cut into (24 = hourly for a day).
    period
        ``"day"`` or ``"week"``.
    statistic
        ``"peak"`` (largest value, using the workload's per-step peaks where it has them) or
        a percentile ``"pNN"`` of the step means.
    metrics
        Metrics to reduce (default: all the workload has).

    Returns
    -------
    Reduction
        float64 ``(n_vms, n_buckets)`` per metric.
    """
    q = parse_statistic(statistic)
    names = list(metrics) if metrics is not None else list(workload.metrics)
    idx = bucket_index(workload, n_buckets, period)
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    present = np.unique(sorted_idx)
    starts = np.searchsorted(sorted_idx, present, side="left")
    observed = workload.observed
    values: dict[str, FloatArray] = {}
    has_data: dict[str, BoolArray] = {}
    n_filled = 0
    for metric in names:
        src = _source(workload, metric, q)
        out = np.empty((workload.n_vms, n_buckets), dtype=np.float64)
        for lo in range(0, workload.n_vms, _BLOCK_ROWS):
            block = src[lo : lo + _BLOCK_ROWS][:, order].astype(np.float64)
            obs = observed[lo : lo + _BLOCK_ROWS][:, order]
            out[lo : lo + _BLOCK_ROWS], filled = _reduce_block(
                block, obs, present, starts, n_buckets, q
            )
            n_filled += filled
        values[metric] = out
        has_data[metric] = np.asarray(observed.any(axis=1), dtype=np.bool_)
    return Reduction(
        values,
        has_data,
        bucket_names(n_buckets, period),
        period,
        "peak" if q is None else f"p{q:g}",
        n_filled,
    )


def _reduce_block(
    block: FloatArray,
    obs: BoolArray,
    present: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    n_buckets: int,
    q: float | None,
) -> tuple[FloatArray, int]:
    """Reduce one row block whose columns are sorted by bucket."""
    n_rows = block.shape[0]
    out = np.full((n_rows, n_buckets), np.nan)
    if q is None:
        masked = np.where(obs, block, -np.inf)
        if masked.shape[1]:
            red = np.maximum.reduceat(masked, starts, axis=1)
            out[:, present] = np.where(np.isfinite(red), red, np.nan)
        overall = np.where(obs.any(axis=1), masked.max(axis=1, initial=-np.inf), 0.0)
    else:
        masked = np.where(obs, block, np.nan)
        ends = np.append(starts[1:], block.shape[1])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for k, lo, hi in zip(present.tolist(), starts.tolist(), ends.tolist(), strict=True):
                out[:, k] = np.nanpercentile(masked[:, lo:hi], q, axis=1)
            overall = np.nanpercentile(masked, q, axis=1) if masked.shape[1] else np.zeros(n_rows)
        overall = np.where(np.isnan(overall), 0.0, overall)
    missing = np.isnan(out)
    seen = np.asarray(obs.any(axis=1), dtype=np.bool_)
    filled = int((missing & seen[:, None]).sum())
    out = np.where(missing, overall[:, None], out)
    return out, filled


def reduce_peak(
    workload: Workload, *, statistic: str = "peak", metrics: Sequence[str] | None = None
) -> Reduction:
    """Peak-based sizing (the baseline): each VM at its statistic over the whole horizon.

    Returns a :class:`Reduction` with one bucket named ``"peak"`` (or the percentile's name).
    """
    q = parse_statistic(statistic)
    names = list(metrics) if metrics is not None else list(workload.metrics)
    values: dict[str, FloatArray] = {}
    has_data: dict[str, BoolArray] = {}
    observed = workload.observed
    for metric in names:
        src = _source(workload, metric, q)
        out = np.empty((workload.n_vms, 1), dtype=np.float64)
        for lo in range(0, workload.n_vms, _BLOCK_ROWS):
            block = src[lo : lo + _BLOCK_ROWS].astype(np.float64)
            obs = observed[lo : lo + _BLOCK_ROWS]
            if q is None:
                red = np.where(obs, block, -np.inf).max(axis=1, initial=-np.inf)
                red = np.where(np.isfinite(red), red, 0.0)
            else:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    red = np.nanpercentile(np.where(obs, block, np.nan), q, axis=1)
                red = np.where(np.isnan(red), 0.0, red)
            out[lo : lo + _BLOCK_ROWS, 0] = red
        values[metric] = out
        has_data[metric] = np.asarray(observed.any(axis=1), dtype=np.bool_)
    label = "peak" if q is None else f"p{q:g}"
    return Reduction(values, has_data, (label,), "horizon", label, 0)
