"""The PABFD host search as one compiled pass over the hosts (THR and LR/LRR tests).

:meth:`capplan.dynamic.placement.RoundState.find_host` calls it to place every VM at the start
of a run; the compiled round of :mod:`capplan.dynamic.kernels.round` searches the same way.
As a dozen numpy calls (:func:`capplan.dynamic.reference.search.find_host`, the reference
the tests hold it to) a search costs about 33 µs; this kernel does it in one loop (a few
µs), bit for bit. It is CloudSim's ``findHostForVm``:

- suitable hosts: allowed, free MIPS ≥ request, a PE big enough for each of the VM's PEs
  (checked only when a PE of the VM exceeds the smallest host PE), RAM and bandwidth when
  ``check_ram``; hosts idle at the last update only when ``idle_allowed``;
- the power rise ``P((planned + req) / total) − P_before``: ``planned`` is the host's MIPS
  with the VMs planned onto it (or away from it) earlier in this pass, as CloudSim's
  ``getUtilizationOfCpuMips`` sums the host's VM list, a VM migrating in counting ten times;
  ``P`` is CloudSim's SPECpower arithmetic (:func:`~capplan.dynamic.kernels.hostupdate.
  spec_power_at`); ``P_before`` is the power at the last update in CloudSim's mode
  (``host.getPower()``) or at the planned MIPS in the default mode;
- hosts with planned MIPS that would be overloaded with the VM are skipped (THR:
  utilisation above the threshold; LR/LRR: the predicted utilisation, with the THR fallback
  while the history is shorter than :data:`~capplan.dynamic.detection.LR_SAMPLES`);
- the first strict minimum in host order wins (CloudSim's ``powerDiff < minPower``), with
  no rounding: CloudSim's choice between two rises that differ in the last bits is plain
  IEEE arithmetic and is reproduced.

IQR and MAD need each candidate's full history with the VM added; the compiled round has its
own search for them.

The arguments come grouped: the VM (:class:`SearchVm`), the hosts' tentative state
(:class:`SearchHosts`, arrays the caller changes in place between searches) and the round's
rules (:class:`SearchRules`).
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import FALLBACK_THRESHOLD, LR_LEAD, LR_SAMPLES
from capplan.dynamic.kernels.hostupdate import spec_power_at
from capplan.dynamic.kernels.lrexact import BOUNDARY_TOL

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

#: Codes of :func:`_over_with`.
NOT_OVER: Final = 0
OVER: Final = 1
OVER_UNDECIDED: Final = 2


class SearchVm(NamedTuple):
    """The VM being placed: request (MIPS), PEs, RAM (MiB), bandwidth (Mbit/s), MIPS, and its
    LR line terms and history length (0 unless the test is LR or LRR)."""

    req: float
    pes: float
    ram_mib: float
    bw_mbps: float
    mips: float
    mean: float
    slope: float
    hist_len: float


class SearchHosts(NamedTuple):
    """Per-host arrays the search reads: free MIPS, PE MIPS, RAM and bandwidth used and
    capacity, busy at the last update, planned MIPS and power before, capacity and its
    inverse, power-curve index and curves, the ``dyn`` columns (requested MIPS sum, LR mean,
    LR slope, migration steps, history length) and the migration rate (MiB/s)."""

    avail: FloatArray
    pe_mips: FloatArray
    ram_used: FloatArray
    ram_cap: FloatArray
    bw_used: FloatArray
    bw_cap: FloatArray
    busy: BoolArray
    planned: FloatArray
    p_before: FloatArray
    total: FloatArray
    inv_total: FloatArray
    type_of: IntArray
    curves_w: FloatArray
    dyn: FloatArray
    rate: FloatArray


class SearchRules(NamedTuple):
    """The round's rules: smallest host PE, whether RAM and bandwidth are checked, the round
    interval (s), the overload test (:data:`TEST_THR` or :data:`TEST_LINEAR`) and its
    parameter."""

    min_pe_mips: float
    check_ram: bool
    interval_s: float
    test: int
    param: float


@numba.njit(cache=True)
def search(
    vm: SearchVm,
    hosts: SearchHosts,
    rules: SearchRules,
    allowed: BoolArray,
    idle_allowed: bool,
    boundary: npt.NDArray[np.int8],
) -> int:  # pragma: no cover - compiled; tested against the numpy search
    """Index of the PABFD host for one VM, or -1 (see ``RoundState.find_host``).

    ``boundary`` holds, per host, the LR decision worked out CloudSim's way
    (:mod:`capplan.dynamic.kernels.lrexact`) for this VM: :data:`BOUNDARY_UNKNOWN`,
    :data:`BOUNDARY_OVER`, :data:`BOUNDARY_NOT_OVER` or :data:`BOUNDARY_FAST` (use the linear
    value). A predicted value within :data:`~capplan.dynamic.kernels.lrexact.BOUNDARY_TOL` of
    1 on a host still unknown ends the search with ``-2 − host``: the caller decides that
    host and searches again.
    """
    req = vm.req
    per_pe = req / vm.pes
    check_pe = per_pe > rules.min_pe_mips
    best = -1
    best_diff = np.inf
    for h in range(len(hosts.avail)):
        if not allowed[h] or not hosts.avail[h] >= req:
            continue
        if check_pe and not hosts.pe_mips[h] >= per_pe:
            continue
        if rules.check_ram and not (
            hosts.ram_used[h] + vm.ram_mib <= hosts.ram_cap[h]
            and hosts.bw_used[h] + vm.bw_mbps <= hosts.bw_cap[h]
        ):
            continue
        if not hosts.busy[h] and not idle_allowed:
            continue
        if hosts.planned[h] != 0:
            over = _over_with(vm, hosts, rules, boundary, h)
            if over == OVER_UNDECIDED:
                return -2 - h
            if over == OVER:
                continue
        after = (hosts.planned[h] + req) / hosts.total[h]
        diff = spec_power_at(after, hosts.curves_w[hosts.type_of[h]]) - hosts.p_before[h]
        if diff < best_diff:
            best_diff = diff
            best = h
    return best


@numba.njit(cache=True)
def _over_with(
    vm: SearchVm, hosts: SearchHosts, rules: SearchRules, boundary: npt.NDArray[np.int8], h: int
) -> int:  # pragma: no cover - compiled; tested with the search
    """Whether host ``h`` (with planned MIPS) would be overloaded with the VM: :data:`OVER`,
    :data:`NOT_OVER`, or :data:`OVER_UNDECIDED` for an LR value on the 1.0 boundary that
    ``boundary`` does not decide yet."""
    dyn = hosts.dyn
    inv = hosts.inv_total[h]
    if rules.test == TEST_THR:
        return OVER if (dyn[h, 0] + vm.req) * inv > rules.param else NOT_OVER
    if max(dyn[h, 4], vm.hist_len) < LR_SAMPLES:
        return OVER if (dyn[h, 0] + vm.req) * inv > FALLBACK_THRESHOLD else NOT_OVER
    share = vm.mips * inv
    mean = dyn[h, 1] + share * vm.mean
    slope = dyn[h, 2] + share * vm.slope
    steps = max(dyn[h, 3], np.ceil(vm.ram_mib / hosts.rate[h] / rules.interval_s))
    value = rules.param * (mean + slope * (LR_LEAD + steps))
    known = boundary[h]
    if known == BOUNDARY_UNKNOWN and abs(value - 1.0) < BOUNDARY_TOL:
        return OVER_UNDECIDED
    if known == BOUNDARY_OVER or (known != BOUNDARY_NOT_OVER and value >= 1.0):
        return OVER
    return NOT_OVER
