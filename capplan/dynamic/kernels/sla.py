"""Compiled folds of the SLA records (:class:`capplan.dynamic.metrics.SlaAccumulator`).

One host update writes ~800 host and ~1,000 VM records; these loops fold the pending records
into the running sums in a few µs. Hosts and VMs keep the same six arrays per entity
(:class:`Records`): the pending record's time, allocated and requested MIPS and flag (host
active, VM migrating out), the flag before it, and since when the flag has been set.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Slots of the running sums array (one array so the compiled folds can add to it).
ACTIVE_S = 0
VIOLATION_S = 1
ALLOCATED = 2
REQUESTED = 3
SHORTFALL = 4
SHARE_SUM = 5
N_SHORT = 6
N_SUMS = 7


class Records(NamedTuple):
    """Pending records of hosts or VMs, one entry per entity (arrays changed in place)."""

    time_s: FloatArray
    alloc_mips: FloatArray
    req_mips: FloatArray
    flag: BoolArray
    prev_flag: BoolArray
    flag_since_s: FloatArray


def new_records(n: int, *, prev_flag: bool) -> Records:
    """Records of ``n`` entities with none pending (time NaN)."""
    return Records(
        np.full(n, np.nan),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, dtype=np.bool_),
        np.full(n, prev_flag, dtype=np.bool_),
        np.zeros(n),
    )


@numba.njit(cache=True, nogil=True)
def transitions(rows: IntArray, rec: Records) -> FloatArray:  # pragma: no cover
    """Apply the flag changes of the pending records of ``rows``; return the closed spans.

    A flag that goes from set to clear closes a span (a host's time on before a shutdown, a
    VM's time migrating); one that goes from clear to set opens one.
    """
    spans = np.empty(len(rows))
    n_spans = 0
    for e in rows:
        prev = rec.prev_flag[e]
        now = rec.flag[e]
        if prev and not now:
            spans[n_spans] = rec.time_s[e] - rec.flag_since_s[e]
            n_spans += 1
        elif now and not prev:
            rec.flag_since_s[e] = rec.time_s[e]
        rec.prev_flag[e] = now
    return spans[:n_spans].copy()


@numba.njit(cache=True, nogil=True)
def record_hosts(
    time_s: float,
    alloc: FloatArray,
    req: FloatArray,
    active: BoolArray,
    rec: Records,
    sums: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Close the host records older than ``time_s``, write new ones; return shutdown gaps."""
    n_hosts = len(rec.time_s)
    closing = np.empty(n_hosts, dtype=np.int64)
    n_closing = 0
    active_s = 0.0
    violation_s = 0.0
    for h in range(n_hosts):
        if rec.time_s[h] < time_s:  # False for NaN (no record yet)
            closing[n_closing] = h
            n_closing += 1
            if rec.flag[h]:
                dt = time_s - rec.time_s[h]
                active_s += dt
                if rec.alloc_mips[h] < rec.req_mips[h]:
                    violation_s += dt
    gaps = np.empty(0)
    if n_closing:
        sums[ACTIVE_S] += active_s
        sums[VIOLATION_S] += violation_s
        gaps = transitions(closing[:n_closing], rec)
    for h in range(n_hosts):
        rec.time_s[h] = time_s
        rec.alloc_mips[h] = alloc[h]
        rec.req_mips[h] = req[h]
        rec.flag[h] = active[h]
    return gaps


@numba.njit(cache=True, nogil=True)
def record_vms(
    time_s: float,
    rows: IntArray,
    alloc: FloatArray,
    req: FloatArray,
    migrating: BoolArray,
    rec: Records,
    sums: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Close the records of ``rows`` older than ``time_s``, write new ones; return gaps."""
    closing = np.empty(len(rows), dtype=np.int64)
    n_closing = 0
    allocated = 0.0
    requested = 0.0
    share_sum = 0.0
    n_short = 0
    shortfall = 0.0
    for v in rows:
        if rec.time_s[v] < time_s:  # False for NaN (no record yet)
            closing[n_closing] = v
            n_closing += 1
            dt = time_s - rec.time_s[v]
            a = rec.alloc_mips[v]
            r = rec.req_mips[v]
            allocated += a * dt
            requested += r * dt
            if a < r:
                share_sum += (r - a) / r
                n_short += 1
                if rec.flag[v]:
                    shortfall += (r - a) * dt
    gaps = np.empty(0)
    if n_closing:
        sums[ALLOCATED] += allocated
        sums[REQUESTED] += requested
        if n_short:
            sums[SHARE_SUM] += share_sum
            sums[N_SHORT] += n_short
            sums[SHORTFALL] += shortfall
        gaps = transitions(closing[:n_closing], rec)
    for j in range(len(rows)):
        v = rows[j]
        rec.time_s[v] = time_s
        rec.alloc_mips[v] = alloc[j]
        rec.req_mips[v] = req[v]
        rec.flag[v] = migrating[v]
    return gaps
