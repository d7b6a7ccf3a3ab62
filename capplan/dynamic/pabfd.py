"""The PABFD host search as one compiled pass over the hosts (THR and LR/LRR tests).

:meth:`capplan.dynamic.placement.RoundState.find_host` places every VM at the start of a run
and serves the reference round (:func:`capplan.dynamic.consolidate.cloudsim_round` with
``compiled=False``); the compiled round of :mod:`capplan.dynamic.fastround` searches the same
way. As a dozen numpy calls a search cost about 33 µs; this kernel does it in one loop (a
few µs), bit for bit as the numpy search. It is CloudSim's ``findHostForVm``:

- suitable hosts: allowed, free MIPS ≥ request, a PE big enough for each of the VM's PEs
  (checked only when a PE of the VM exceeds the smallest host PE), RAM and bandwidth when
  ``check_ram``; hosts idle at the last update only when ``idle_allowed``;
- the power rise ``P((planned + req) / total) − P_before``: ``planned`` is the host's MIPS
  with the VMs planned onto it (or away from it) earlier in this pass, as CloudSim's
  ``getUtilizationOfCpuMips`` sums the host's VM list, a VM migrating in counting ten times;
  ``P`` is CloudSim's SPECpower arithmetic (:func:`~capplan.dynamic.hostupdate.
  spec_power_at`); ``P_before`` is the power at the last update in CloudSim's mode
  (``host.getPower()``) or at the planned MIPS in the default mode;
- hosts with planned MIPS that would be overloaded with the VM are skipped (THR:
  utilisation above the threshold; LR/LRR: the predicted utilisation, with the THR fallback
  while the history is shorter than :data:`~capplan.dynamic.detection.LR_SAMPLES`);
- the first strict minimum in host order wins (CloudSim's ``powerDiff < minPower``), with
  no rounding: CloudSim's choice between two rises that differ in the last bits is plain
  IEEE arithmetic and is reproduced.

IQR and MAD need each candidate's full history with the VM added; the reference round keeps
the numpy search for them (the compiled round has its own).
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import FALLBACK_THRESHOLD, LR_LEAD, LR_SAMPLES
from capplan.dynamic.hostupdate import spec_power_at
from capplan.dynamic.lrexact import BOUNDARY_TOL

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Overload tests the kernel evaluates itself.
TEST_THR: Final = 0
TEST_LINEAR: Final = 1

#: ``boundary`` codes of :func:`search`.
BOUNDARY_UNKNOWN: Final = 0
BOUNDARY_OVER: Final = 1
BOUNDARY_NOT_OVER: Final = 2
BOUNDARY_FAST: Final = 3


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
    planned: FloatArray,
    p_before: FloatArray,
    total: FloatArray,
    inv_total: FloatArray,
    type_of: IntArray,
    curves_w: FloatArray,
    dyn: FloatArray,
    rate: FloatArray,
    interval_s: float,
    test: int,
    param: float,
    boundary: npt.NDArray[np.int8],
) -> int:  # pragma: no cover - compiled; tested against the numpy search
    """Index of the PABFD host for one VM, or -1 (arguments: see ``RoundState.find_host``).

    ``planned``, ``p_before``: planned MIPS and power before, per host; ``curves_w``: the
    power curve of each host type (``type_of``). ``dyn`` columns: requested MIPS sum, LR
    mean, LR slope, migration steps, history length.

    ``boundary`` holds, per host, the LR decision worked out CloudSim's way
    (:mod:`capplan.dynamic.lrexact`) for this VM: :data:`BOUNDARY_UNKNOWN`,
    :data:`BOUNDARY_OVER`, :data:`BOUNDARY_NOT_OVER` or :data:`BOUNDARY_FAST` (use the linear
    value). A predicted value within :data:`~capplan.dynamic.lrexact.BOUNDARY_TOL` of 1 on a
    host still unknown ends the search with ``-2 − host``: the caller decides that host and
    searches again.
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
        inv = inv_total[h]
        if planned[h] != 0:
            if test == TEST_THR:
                if (dyn[h, 0] + req) * inv > param:
                    continue
            else:
                length = max(dyn[h, 4], vm_len)
                if length < LR_SAMPLES:
                    if (dyn[h, 0] + req) * inv > FALLBACK_THRESHOLD:
                        continue
                else:
                    share = vm_mips * inv
                    mean = dyn[h, 1] + share * vm_mean
                    slope = dyn[h, 2] + share * vm_slope
                    steps = max(dyn[h, 3], np.ceil(vm_ram / rate[h] / interval_s))
                    value = param * (mean + slope * (LR_LEAD + steps))
                    known = boundary[h]
                    if known == BOUNDARY_UNKNOWN and abs(value - 1.0) < BOUNDARY_TOL:
                        return -2 - h
                    if known == BOUNDARY_OVER or (known != BOUNDARY_NOT_OVER and value >= 1.0):
                        continue
        diff = spec_power_at((planned[h] + req) / total[h], curves_w[type_of[h]]) - p_before[h]
        if diff < best_diff:
            best_diff = diff
            best = h
    return best
