"""Temporal bin packing instances (``tbpp-instances``, part D: jobs from Azure VM traces).

Format (upstream README of ``wotzlaff/tbpp-instances``): a first row ``n capacity 0 0``, then
one tab-separated row per job: ``index start end size``; times in minutes. A job occupies
``size`` of a bin during ``[start, end)``.

Only the start times where the set of running jobs is maximal matter (a job set running at a
later start is then a superset), so the time-aware instance has one bucket per such start:
exactly the maximal cliques of the interval graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from capplan.errors import TraceFormatError
from capplan.optimize.instance import Instance, make_instance

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TemporalJobs:
    """Jobs of a temporal bin packing instance.

    Attributes
    ----------
    start, end
        int64 ``(n_jobs,)``: active during ``[start, end)``, minutes.
    size
        int64 ``(n_jobs,)``.
    capacity
        Bin capacity.
    """

    start: IntArray
    end: IntArray
    size: IntArray
    capacity: int


def read_tbpp(path: Path) -> TemporalJobs:
    """Read one instance file; errors name the file and line."""
    if not path.is_file():
        raise TraceFormatError("no such instance file", path=path)
    rows: list[list[int]] = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split()
        if len(tokens) != 4:
            raise TraceFormatError(f"{len(tokens)} values; expected 4", path=path, line=n)
        try:
            rows.append([int(t) for t in tokens])
        except ValueError:
            raise TraceFormatError(
                "non-integer value; expected 4 integers", path=path, line=n
            ) from None
    if not rows:
        raise TraceFormatError("empty file; expected a header row 'n capacity 0 0'", path=path)
    n_jobs, capacity = rows[0][0], rows[0][1]
    body = np.array(rows[1:], dtype=np.int64).reshape(-1, 4)
    if len(body) != n_jobs:
        raise TraceFormatError(
            f"header announces {n_jobs} jobs but {len(body)} follow", path=path, line=1
        )
    if capacity <= 0:
        raise TraceFormatError("capacity must be > 0", path=path, line=1)
    bad = np.flatnonzero((body[:, 2] <= body[:, 1]) | (body[:, 3] < 0))
    if len(bad):
        raise TraceFormatError(
            "a job must end after it starts and have a size >= 0", path=path, line=int(bad[0]) + 2
        )
    return TemporalJobs(body[:, 1], body[:, 2], body[:, 3], capacity)


def maximal_points(jobs: TemporalJobs) -> tuple[IntArray, IntArray, IntArray]:
    """Start times where the running set is maximal, and each job's range over them.

    Returns
    -------
    points
        int64 ``(n_points,)``: the kept start times, ascending.
    lo, hi
        int64 ``(n_jobs,)``: job ``i`` runs at kept points ``lo[i] <= p < hi[i]``.
    """
    starts = np.unique(jobs.start)
    lo_all = np.searchsorted(starts, jobs.start, side="left")
    hi_all = np.searchsorted(starts, jobs.end, side="left")  # first start >= end
    keep = np.unique(hi_all - 1)
    points = starts[keep]
    lo = np.searchsorted(keep, lo_all, side="left")
    hi = np.searchsorted(keep, hi_all - 1, side="right")
    return points, lo.astype(np.int64), hi.astype(np.int64)


def temporal_instance(jobs: TemporalJobs, name: str = "tbpp") -> Instance:
    """The time-aware instance: one bucket per maximal start time."""
    points, lo, hi = maximal_points(jobs)
    p = np.arange(len(points))
    active = (lo[:, None] <= p[None, :]) & (p[None, :] < hi[:, None])
    demand = (active * jobs.size[:, None]).astype(np.int64)[:, None, :]
    return make_instance(
        demand,
        np.array([jobs.capacity], dtype=np.int64),
        item_names=[f"job{i}" for i in range(len(jobs.size))],
        type_names=["bin"],
        dim_names=["size"],
        bucket_names=[f"t{int(t)}" for t in points],
        objective_unit="bins",
        notes=[f"{name}: {len(points)} maximal start times of {len(np.unique(jobs.start))}"],
    )


def peak_instance(jobs: TemporalJobs) -> Instance:
    """The time-oblivious instance: every job present all the time (peak-based sizing)."""
    return make_instance(
        jobs.size[:, None],
        np.array([jobs.capacity], dtype=np.int64),
        item_names=[f"job{i}" for i in range(len(jobs.size))],
        type_names=["bin"],
        dim_names=["size"],
        bucket_names=["all"],
        objective_unit="bins",
    )
