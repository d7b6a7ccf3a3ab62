"""The memory stage's compiled passes over host rows: the reclamation ladder and the stalls.

:mod:`capplan.emulate.memory` gives the formulas. :func:`reclaim_rows` evaluates the ladder
for each step of each host that reclaims and :func:`stall_rows` the time its VMs wait for
faults, in float32 and in the same order as the numpy expressions they replaced (no fused
multiply-add, so for finite inputs the figures are the same to the bit; the tests hold them
to a numpy reference), each writing its outputs in one pass. Inputs are finite: the replay
fills gaps before (a NaN demand would not spread through the ladder as numpy's maximum and
minimum spread it).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

#: Rows of the ``host`` argument of :func:`reclaim_rows`.
USABLE, OVERHEAD, CONSUMED_BASE, BALLOON_CAP, ZIP_CAP = range(5)
#: Planes of the ``out`` argument of :func:`reclaim_rows`.
BALLOON, COMPRESSED, SWAPPED, SWAPPED_ACTIVE, ZIP_ACTIVE, PAGING = range(6)
N_PLANES = 6


@numba.njit(nogil=True, cache=True)
def reclaim_rows(
    demand: F32,
    rows: npt.NDArray[np.intp],
    reclaims: npt.NDArray[np.bool_],
    host: F32,
    ratio: float,
    paging_per_mib: float,
    out: F32,
    pages: npt.NDArray[np.bool_],
) -> None:  # pragma: no cover - compiled; tested through memory_replay()
    """The ladder for the hosts ``rows`` that reclaim, zeros for the others.

    Parameters
    ----------
    demand
        Resident need ``D`` per host and step, float32 ``(n_hosts, n_steps)``.
    rows
        The hosts to write.
    reclaims
        Per host: whether it reclaims (its consumed base or peak need passes its usable RAM).
    host
        float32 ``(5, n_hosts)``: usable RAM, overhead, consumed base ``K·(1 − s) + O``,
        balloon cap and compression-cache cap (the row constants above), MiB.
    ratio
        Compression ratio ``r``.
    paging_per_mib
        Paging MiB/s per MiB of swapped active memory (``2 / τ``).
    out
        float32 ``(6, n_hosts, n_steps)``; every cell of the ``rows`` receives its plane's value.
    pages
        Per host: set when the host has active pages compressed or swapped in some step.
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    tiny = np.float32(1e-6)
    r = np.float32(ratio)
    frees = np.float32(1.0 - 1.0 / ratio)
    per_mib = np.float32(paging_per_mib)
    for i in range(rows.shape[0]):
        h = rows[i]
        if not reclaims[h]:
            out[:, h, :] = zero
            continue
        u = host[USABLE, h]
        o = host[OVERHEAD, h]
        base = host[CONSUMED_BASE, h]
        balloon_cap = host[BALLOON_CAP, h]
        zip_cap = host[ZIP_CAP, h]
        d_row = demand[h]
        any_paging = False
        for t in range(d_row.shape[0]):
            d = d_row[t]
            consumed = base if base > d else d
            to_reclaim = consumed - u
            to_reclaim = to_reclaim if to_reclaim > zero else zero
            balloon = to_reclaim if to_reclaim < balloon_cap else balloon_cap
            idle = consumed - d
            balloon = balloon if balloon < idle else idle
            rest = to_reclaim - balloon
            compressed = rest * r
            compressed = compressed if compressed < zip_cap else zip_cap
            swapped = rest - compressed * frees
            swapped = swapped if swapped > zero else zero
            pool = consumed - balloon - o
            pool = pool if pool > tiny else tiny
            share = (d - o) / pool
            share = zero if share < zero else (one if share > one else share)
            zip_active = compressed * share
            hard = d - u - compressed / r
            hard = hard if hard > zero else zero
            swap_active = swapped * share
            swap_active = swap_active if swap_active > hard else hard
            swap_active = swap_active if swap_active < swapped else swapped
            out[BALLOON, h, t] = balloon
            out[COMPRESSED, h, t] = compressed
            out[SWAPPED, h, t] = swapped
            out[SWAPPED_ACTIVE, h, t] = swap_active
            out[ZIP_ACTIVE, h, t] = zip_active
            out[PAGING, h, t] = swap_active * per_mib
            any_paging = any_paging or bool(swap_active > zero) or bool(zip_active > zero)
        pages[h] = any_paging


@numba.njit(nogil=True, cache=True)
def stall_rows(
    swapped_active: F32,
    compressed_active: F32,
    rows: npt.NDArray[np.intp],
    pages: npt.NDArray[np.bool_],
    busy_source: F32,
    busy_row: npt.NDArray[np.intp],
    busy_unit: npt.NDArray[np.float64],
    swap_s_per_mib: F32,
    zip_s_per_mib: float,
    out: F32,
) -> None:  # pragma: no cover - compiled; tested through stall_slowdown()
    """Slowdown ``S / (S + V)`` of the hosts ``rows`` that page (``pages``), 0 for the others,
    written to their rows of ``out``.

    ``S`` = swapped active MiB × ``swap_s_per_mib[t]`` + compressed active MiB ×
    ``zip_s_per_mib`` (seconds of faults per second). ``V`` = ``busy_source[busy_row[h], t]
    / busy_unit[h]`` cores (CPU demand over MHz per core, or cores as given with unit 1),
    at least one core (NaN stays NaN, as with numpy's maximum).
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    zip_factor = np.float32(zip_s_per_mib)
    for i in range(rows.shape[0]):
        h = rows[i]
        if not pages[h]:
            out[h, :] = zero
            continue
        source = busy_row[h]
        unit = busy_unit[h]
        for t in range(out.shape[1]):
            stall = swapped_active[h, t] * swap_s_per_mib[t]
            stall = stall + compressed_active[h, t] * zip_factor
            busy = np.float32(np.float64(busy_source[source, t]) / unit)
            work = busy if (busy > one or busy != busy) else one
            out[h, t] = stall / (work + stall)


@numba.njit(nogil=True, cache=True)
def reclaim_peaks(
    balloon: F32, compressed: F32, swapped: F32, paging: F32, rows: npt.NDArray[np.intp]
) -> tuple[float, float, float, float, int]:  # pragma: no cover - compiled; tested via kpis
    """Over the hosts ``rows``: the largest ballooned, compressed and swapped MiB and paging
    MiB/s, and the host-steps with any memory reclaimed (all four are at least 0; a NaN is
    skipped, where numpy's maximum would return it)."""
    zero = np.float32(0.0)
    top_b = top_c = top_s = top_p = zero
    n_reclaimed = 0
    for h in rows:
        for t in range(balloon.shape[1]):
            b, c, s, p = balloon[h, t], compressed[h, t], swapped[h, t], paging[h, t]
            top_b = b if b > top_b else top_b
            top_c = c if c > top_c else top_c
            top_s = s if s > top_s else top_s
            top_p = p if p > top_p else top_p
            if b > zero or c > zero or s > zero:
                n_reclaimed += 1
    return float(top_b), float(top_c), float(top_s), float(top_p), n_reclaimed


@numba.njit(nogil=True, cache=True)
def stalled_mhz_total(
    demand_mhz: F32, unmet_mhz: F32, slowdown: F32, rows: npt.NDArray[np.intp]
) -> float:  # pragma: no cover - compiled; tested through the KPIs
    """Σ over the hosts ``rows`` and steps of the served CPU the memory stalls take back,
    ``(demand − unmet) × slowdown`` (each product in float32, summed in float64)."""
    total = 0.0
    for h in rows:
        for t in range(demand_mhz.shape[1]):
            total += (demand_mhz[h, t] - unmet_mhz[h, t]) * slowdown[h, t]
    return total
