"""The PABFD host search as one compiled pass over the hosts (THR and LR/LRR tests).

:meth:`capplan.dynamic.placement.RoundState.find_host` places every VM at the start of a run
and serves the reference round (:func:`capplan.dynamic.consolidate.cloudsim_round` with
``compiled=False``); the compiled round of :mod:`capplan.dynamic.fastround` searches the same
way. As a dozen numpy calls a search cost
about 33 µs; this kernel does it in one loop (a few µs), bit for bit as the numpy search:

- suitable hosts: allowed, free MIPS ≥ request, a PE big enough for each of the VM's PEs
  (checked only when a PE of the VM exceeds the smallest host PE), RAM and bandwidth when
  ``check_ram``; idle hosts only when ``idle_allowed``;
- the power rise ``round(P(min(u_before + req/total, 1)) − P_before, 9)`` where ``P`` is
  ``numpy.interp`` on the concatenated curve grid (the same algorithm and operation order
  as numpy's C implementation, so the same bits);
- busy hosts that would be overloaded with the VM are skipped (THR: utilisation above the
  threshold; LR/LRR: the predicted utilisation, with the THR fallback while the history is
  shorter than :data:`~capplan.dynamic.detection.LR_SAMPLES`);
- the least rise wins, ties to the lowest host index (numpy's ``argmin`` rule).

IQR and MAD need each candidate's full history with the VM added; the reference round keeps
the numpy search for them (the compiled round has its own).
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import FALLBACK_THRESHOLD, LR_LEAD, LR_SAMPLES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Overload tests the kernel evaluates itself.
TEST_THR: Final = 0
TEST_LINEAR: Final = 1
#: Power rises are rounded to this many decimals of a watt before comparing (ties).
TIE_DECIMALS: Final = 9
_TIE_SCALE: Final = 10.0**TIE_DECIMALS


@numba.njit(cache=True)
def interp_one(x: float, xp: FloatArray, fp: FloatArray) -> float:  # pragma: no cover
    """``numpy.interp(x, xp, fp)`` for one value, same algorithm and rounding as numpy's.

    ``xp`` must be increasing with at least two points.
    """
    n = len(xp)
    if np.isnan(x):
        return x
    if x < xp[0]:
        return fp[0]
    if x > xp[n - 1]:
        return fp[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:  # largest j with xp[j] <= x
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    j = hi if xp[hi] <= x else lo
    if j == n - 1 or xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    value = slope * (x - xp[j]) + fp[j]
    if np.isnan(value):
        value = slope * (x - xp[j + 1]) + fp[j + 1]
        if np.isnan(value) and fp[j] == fp[j + 1]:
            value = fp[j]
    return value


@numba.njit(cache=True)
def search(
    req: float,
    vm_pes: int,
    vm_ram: float,
    vm_bw: float,
    vm_mips: float,
    vm_mean: float,
    vm_slope: float,
    vm_len: float,
    allowed: BoolArray,
    avail: FloatArray,
    pe_mips: FloatArray,
    min_pe_mips: float,
    check_ram: bool,
    ram_used: FloatArray,
    ram_cap: FloatArray,
    bw_used: FloatArray,
    bw_cap: FloatArray,
    idle_allowed: bool,
    busy: BoolArray,
    static: FloatArray,
    grid: FloatArray,
    grid_w: FloatArray,
    dyn: FloatArray,
    rate: FloatArray,
    interval_s: float,
    test: int,
    param: float,
) -> int:  # pragma: no cover - compiled; tested against the numpy search
    """Index of the PABFD host for one VM, or -1 (arguments: see ``RoundState.find_host``).

    ``static`` columns: utilisation before (incl. the migrating-in extra), 1 / total MIPS,
    curve shift on the grid, power before. ``dyn`` columns: requested MIPS sum, LR mean,
    LR slope, migration steps, history length.
    """
    per_pe = req / vm_pes
    check_pe = per_pe > min_pe_mips
    best = -1
    best_diff = np.inf
    for h in range(len(avail)):
        if not allowed[h] or not avail[h] >= req:
            continue
        if check_pe and not pe_mips[h] >= per_pe:
            continue
        if check_ram and not (
            ram_used[h] + vm_ram <= ram_cap[h] and bw_used[h] + vm_bw <= bw_cap[h]
        ):
            continue
        if not busy[h] and not idle_allowed:
            continue
        inv_total = static[h, 1]
        if busy[h]:
            if test == TEST_THR:
                if (dyn[h, 0] + req) * inv_total > param:
                    continue
            else:
                length = max(dyn[h, 4], vm_len)
                if length < LR_SAMPLES:
                    if (dyn[h, 0] + req) * inv_total > FALLBACK_THRESHOLD:
                        continue
                else:
                    share = vm_mips * inv_total
                    mean = dyn[h, 1] + share * vm_mean
                    slope = dyn[h, 2] + share * vm_slope
                    steps = max(dyn[h, 3], np.ceil(vm_ram / rate[h] / interval_s))
                    if param * (mean + slope * (LR_LEAD + steps)) >= 1.0:
                        continue
        x = min(static[h, 0] + req * inv_total, 1.0) + static[h, 2]
        diff = np.rint((interp_one(x, grid, grid_w) - static[h, 3]) * _TIE_SCALE) / _TIE_SCALE
        if diff < best_diff:
            best_diff = diff
            best = h
    return best
