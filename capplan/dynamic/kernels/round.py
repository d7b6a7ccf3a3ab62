"""One CloudSim consolidation round as a single compiled pass (all 20 CloudSim policies).

:func:`capplan.dynamic.reference.round.cloudsim_round` with
:class:`~capplan.dynamic.placement.RoundState` is the readable reference: a policy-day of
LR-MMT makes ~15,000 tentative adds, ~6,700 removes, ~7,400 snapshots and ~20,000 PABFD
searches through it, seconds of Python bookkeeping. :func:`run_round` does the same round
in one compiled function (~0.2 ms a round) and returns the same migrations in the same
order; the tests run both on every round of real PlanetLab days and of random fleets and
compare.

Everything is reproduced operation for operation, so the floating-point results are the
same bits:

- per-host sums built in the reference's order (placed VMs by index, then migrations in
  flight), except the IQR/MAD host histories, which ``add.reduceat`` builds per host in
  list order as the first value plus numpy's pairwise sum (:func:`pairwise_sum`) of the
  rest; sums a removal rebuilds in list order (``sum`` of a list, and ``sum(axis=0)`` for
  the histories) or numpy's pairwise order (the LR line terms);
- each host's VM list in arrival order, VMs migrating in flagged, and removal, append and
  truncation (undo) as the reference does them;
- the overload tests of :mod:`capplan.dynamic.detection` (THR, LR/LRR, IQR, MAD) on the
  tentative state, with and without the VM being placed;
- selection ties to the first VM of the list; RS draws from the run's generator exactly as
  the reference does; MC calls the reference's own :func:`~capplan.dynamic.selection.
  mc_choice` from an object-mode block (its R² comes from a LAPACK inverse, which only numpy
  itself reproduces); placement order by current MIPS descending (stable), under-loaded
  hosts by utilisation ascending (stable);
- the PABFD search of :func:`capplan.dynamic.kernels.search.search`: hosts in index order, each
  host's planned MIPS and power before followed through the pass; a host with nothing
  planned and idle at the last update is skipped when another of its idle class (same power
  curve, MIPS and PE size) was already suitable, as it shows the same rise and the first
  strict minimum wins.

The kernels take their arrays grouped: the VMs (:class:`RoundVms`), the hosts
(:class:`RoundHosts`), the migrations in flight
(:class:`~capplan.dynamic.kernels.hostupdate.Flights`), the round's rules
(:class:`RoundRules`) and, inside the round, the tentative host state (:class:`Tentative`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import (
    FALLBACK_THRESHOLD,
    LR_LEAD,
    LR_SAMPLES,
    MIN_SAMPLES_QUARTILE,
    W_MEAN,
    W_SLOPE,
    OverloadTest,
    iqr,
    lr,
    lrr,
    mad,
    thr,
)
from capplan.dynamic.kernels.hostupdate import Flights, spec_power_at
from capplan.dynamic.kernels.javarandom import next_int
from capplan.dynamic.kernels.lrexact import BOUNDARY_TOL, EXACT_OVER, EXACT_SHORT, over_exact
from capplan.dynamic.kernels.search import TEST_LINEAR, TEST_THR
from capplan.dynamic.selection import Selection, mc, mc_choice, mmt, mu, rs

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Selections the compiled round implements.
SELECT_MMT: Final = 0
SELECT_MU: Final = 1
SELECT_RS: Final = 2
SELECT_MC: Final = 3
_SELECTIONS: Final[dict[Selection, int]] = {
    mmt: SELECT_MMT,
    mu: SELECT_MU,
    rs: SELECT_RS,
    mc: SELECT_MC,
}
#: Overload tests on the full history (the initial-placement search of
#: :mod:`capplan.dynamic.kernels.search` has no IQR or MAD).
TEST_IQR: Final = 2
TEST_MAD: Final = 3
_TESTS: Final[dict[OverloadTest, int]] = {
    thr: TEST_THR,
    lr: TEST_LINEAR,
    lrr: TEST_LINEAR,
    iqr: TEST_IQR,
    mad: TEST_MAD,
}

# Columns of the per-VM table (all float64; PE counts and history lengths are small ints).
_V_REQ, _V_PES, _V_MIPS, _V_RAM, _V_BW, _V_MEAN, _V_SLOPE, _V_LEN, _V_UTIL = range(9)
_N_V: Final = 9
# Columns of the per-host constants of a round (``_H_TYPE``: index of the power curve).
_H_TOTAL, _H_INV, _H_PE, _H_RAM_CAP, _H_BW_CAP, _H_RATE, _H_TYPE = range(7)
_N_H: Final = 7
# Columns of the tentative per-host state (``_S_REQ`` .. ``_S_HLEN`` are what the overload
# tests read, ``_S_CAPPED`` .. ``_S_BW`` the fit checks, ``_S_PLANNED`` .. ``_S_BUSY`` PABFD's
# power rise: planned MIPS, power before, and 1 once the host is not interchangeable with
# the idle hosts of its class); a snapshot is one row.
_S_REQ, _S_MEAN, _S_SLOPE, _S_STEPS, _S_HLEN = range(5)
_S_CAPPED, _S_AVAIL, _S_MAXRAM, _S_RAM, _S_BW = range(5, 10)
_S_PLANNED, _S_PBEFORE, _S_BUSY = range(10, 13)
_N_S: Final = 13
#: Starting room of each host's VM list in the compiled round (it grows by rerunning).
_LIST_ROOM: Final = 16


class RoundVms(NamedTuple):
    """Per-VM inputs: the ``_V_*`` table, the utilisation history (newest first), whether
    each VM is migrating, its host (-1: none) and its arrival sequence number."""

    table: FloatArray
    hist: FloatArray
    in_migration: BoolArray
    host_of: IntArray
    seq: IntArray


class RoundHosts(NamedTuple):
    """Per-host inputs: the ``_H_*`` table, the utilisation of the last update, PABFD's start
    (planned MIPS, power before, busy), the idle class, RAM and bandwidth used, and the power
    curve of each host type (rows indexed by ``_H_TYPE``)."""

    table: FloatArray
    frac: FloatArray
    start: FloatArray
    idle_class: IntArray
    ram_used: FloatArray
    bw_used: FloatArray
    curves_w: FloatArray


class RoundRules(NamedTuple):
    """The round's rules: ``settings`` (see :func:`_round`), the overload test (``TEST_*``)
    and selection (``SELECT_*``), whether RAM is checked on every move, and whether the
    targets of step 3 are kept from being sources in step 4."""

    settings: FloatArray
    kind: int
    select: int
    check_ram: bool
    exclude_overload_targets: bool


class Tentative(NamedTuple):
    """The tentative host state of a round: the ``_S_*`` columns, each host's history, its
    VM list (arrival order) with the VMs migrating in flagged, and the list lengths."""

    state: FloatArray
    hist: FloatArray
    mem: IntArray
    mem_in: BoolArray
    n_mem: IntArray


def supports(test: OverloadTest, select: Selection) -> bool:
    """Whether :func:`run_round` implements this overload test and selection."""
    return test in _TESTS and select in _SELECTIONS


def run_round(
    sim: Simulation,
    test: OverloadTest,
    param: float,
    select: Selection,
    *,
    list_room: int = _LIST_ROOM,
) -> list[tuple[int, int]]:
    """The round's migrations ``[(vm, target), ...]``, as the reference round decides them.

    Parameters
    ----------
    sim
        The simulation right after the round's host update.
    test, param, select
        Overload test and its parameter, VM selection; :func:`supports` must accept them.
    list_room
        Starting room of each host's VM list (it grows as needed; tests set it small).

    Raises
    ------
    ValueError
        For a test or selection the compiled round does not implement.
    """
    if not supports(test, select):
        raise ValueError(f"no compiled round for {test.__name__} with {select.__name__}")
    cfg = sim.config
    kind = _TESTS[test]
    settings = np.array(
        [
            param,
            cfg.target_reserve_frac,
            cfg.interval_s,
            float(sim.pe_mips.min()) if sim.n_hosts else 0.0,
            float(sim.hist_count),
            cfg.migrating_in_weight - 1.0,
            1.0 if cfg.pabfd_stale_power else 0.0,
        ]
    )
    vms = RoundVms(_vm_table(sim, kind), sim.hist, sim.in_migration, sim.host_of, sim.seq)
    table, frac, start = _host_table(sim)
    hosts = RoundHosts(
        table, frac, start, sim.idle_class, sim.ram_used_mib, sim.bw_used_mbps, sim.type_curves_w
    )
    rules = RoundRules(
        settings,
        kind,
        _SELECTIONS[select],
        cfg.ram_checked_after_start,
        cfg.exclude_overload_targets,
    )
    flights = sim.flight_arrays()
    rs_saved = sim.rs_state.copy()
    while True:
        vm_out, tg_out, complete = _round(vms, hosts, flights, rules, sim.rs_state, list_room)
        if complete:
            break
        list_room *= 4
        sim.rs_state[:] = rs_saved  # the rerun draws the same numbers
    return list(zip(vm_out.tolist(), tg_out.tolist(), strict=True))


def _vm_table(sim: Simulation, kind: int) -> FloatArray:
    """Per-VM columns ``_V_*`` for this round."""
    vms = sim.vms
    if kind == TEST_LINEAR:  # the least-squares line terms of each VM's newest samples
        recent = sim.hist[:, :LR_SAMPLES]
        mean = recent @ W_MEAN
        slope = recent @ W_SLOPE
    else:
        mean = slope = np.zeros(sim.n_vms)
    return _fill_vm_table(
        sim.req, vms.n_pes, vms.mips, vms.ram_mib, vms.bw_mbps, mean, slope, sim.hist, sim.util_now
    )


@numba.njit(cache=True, nogil=True)
def _fill_vm_table(
    req: FloatArray,
    n_pes: IntArray,
    mips: FloatArray,
    ram_mib: FloatArray,
    bw_mbps: FloatArray,
    mean: FloatArray,
    slope: FloatArray,
    hist: FloatArray,
    util: FloatArray,
) -> FloatArray:  # pragma: no cover
    """The ``_V_*`` table; the history length drops trailing zeros (``trimmed_length``)."""
    table = np.empty((len(req), _N_V))
    for v in range(len(req)):
        table[v, _V_REQ] = req[v]
        table[v, _V_PES] = n_pes[v]
        table[v, _V_MIPS] = mips[v]
        table[v, _V_RAM] = ram_mib[v]
        table[v, _V_BW] = bw_mbps[v]
        table[v, _V_MEAN] = mean[v]
        table[v, _V_SLOPE] = slope[v]
        length = 0
        for k in range(hist.shape[1] - 1, -1, -1):
            if hist[v, k] != 0:
                length = k + 1
                break
        table[v, _V_LEN] = length
        table[v, _V_UTIL] = util[v]
    return table


def _host_table(sim: Simulation) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-host columns ``_H_*``, the utilisation of the last update, and PABFD's start.

    The start has three columns per host: the planned MIPS (the last update's, a VM
    migrating in weighted), the power before (the last update's in CloudSim's mode, the
    planned MIPS' otherwise, 0 W with none planned) and 1 for a host busy at the last
    update (utilisation or a VM migrating in); the others are interchangeable within their
    idle class.
    """
    total = sim.total_mips
    rate = sim.mig_rate_mib_s
    table = np.empty((sim.n_hosts, _N_H))
    table[:, _H_TOTAL] = total
    table[:, _H_INV] = 1.0 / total
    table[:, _H_PE] = sim.pe_mips
    table[:, _H_RAM_CAP] = sim.ram_cap_mib
    table[:, _H_BW_CAP] = sim.fleet.bw_mbps
    table[:, _H_RATE] = np.where(rate > 0, rate, np.inf)
    table[:, _H_TYPE] = sim.type_of
    extra = (sim.config.migrating_in_weight - 1.0) * sim.alloc_in_mips
    frac = sim.host_util_frac()
    start = np.empty((sim.n_hosts, 3))
    start[:, 0] = sim.util_mips + extra
    if sim.config.pabfd_stale_power:
        start[:, 1] = sim.power_w(frac)
    else:  # a host with nothing planned is off and draws nothing
        start[:, 1] = np.where(start[:, 0] == 0, 0.0, sim.power_w(start[:, 0] / total))
    start[:, 2] = ~((sim.util_mips == 0) & (extra == 0))
    return table, frac, start


@numba.njit(cache=True, nogil=True)
def _block_sum(values: FloatArray, start: int, n: int) -> float:  # pragma: no cover
    """numpy's pairwise sum of at most 128 values: 8 running sums, or a plain loop below 8."""
    if n < 8:
        total = -0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    r = values[start : start + 8].copy()
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += values[start + i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += values[start + i]
        i += 1
    return total


@numba.njit(cache=True, nogil=True)
def pairwise_sum(values: FloatArray, start: int, n: int) -> float:  # pragma: no cover
    """``numpy.sum`` of ``values[start:start + n]``, same bits (numpy's pairwise summation).

    numpy splits more than 128 values into halves (the first a multiple of 8) and adds the
    halves' sums; this walks that tree with an explicit stack (numba cannot cache recursive
    functions reliably).
    """
    if n <= 128:
        return _block_sum(values, start, n)
    node_start = np.empty(128, dtype=np.int64)
    node_n = np.empty(128, dtype=np.int64)
    node_open = np.empty(128, dtype=np.bool_)
    sums = np.empty(128)
    n_sums = 0
    node_start[0] = start
    node_n[0] = n
    node_open[0] = True
    top = 1
    while top:
        top -= 1
        first = node_start[top]
        count = node_n[top]
        if count <= 128:
            sums[n_sums] = _block_sum(values, first, count)
            n_sums += 1
        elif node_open[top]:
            half = count // 2
            half -= half % 8
            node_open[top] = False  # revisit to add the halves
            top += 1
            node_start[top], node_n[top], node_open[top] = first + half, count - half, True
            top += 1
            node_start[top], node_n[top], node_open[top] = first, half, True
            top += 1
        else:
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
    return sums[0]


@numba.njit(cache=True, nogil=True)
def stable_argsort(keys: FloatArray) -> IntArray:  # pragma: no cover
    """Indices that sort ``keys`` ascending, equal keys in index order (a bottom-up merge).

    What ``numpy.argsort(kind="stable")`` returns for keys without NaN; numba's own stable
    argsort takes seconds to compile, this a fraction of one.
    """
    n = len(keys)
    order = np.arange(n)
    merged = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            for k in range(lo, hi):
                if j < hi and (i >= mid or keys[order[j]] < keys[order[i]]):
                    merged[k] = order[j]
                    j += 1
                else:
                    merged[k] = order[i]
                    i += 1
        order, merged = merged, order
        width *= 2
    return order


@numba.njit(cache=True, nogil=True)
def _by_mips_descending(vm: FloatArray, vms: IntArray, n: int) -> IntArray:  # pragma: no cover
    """``vms[:n]`` by current MIPS (utilisation × MIPS), largest first, ties in list order."""
    keys = np.empty(n)
    for j in range(n):
        keys[j] = -(vm[vms[j], _V_UTIL] * vm[vms[j], _V_MIPS])
    order = stable_argsort(keys)
    out = np.empty(n, dtype=np.int64)
    for j in range(n):
        out[j] = vms[order[j]]
    return out


@numba.njit(cache=True, nogil=True)
def _over(
    tent: Tentative, h: int, total: float, vms: RoundVms, rules: RoundRules
) -> bool:  # pragma: no cover
    """The overload test on host ``h`` as it is now (LR on the boundary: CloudSim's way)."""
    state = tent.state
    kind = rules.kind
    param = rules.settings[0]
    if kind == TEST_THR:
        return state[h, _S_REQ] / total > param
    if kind != TEST_LINEAR:
        return _quartile_over(tent.hist[h], state[h, _S_REQ] / total, kind, param)
    if state[h, _S_HLEN] < LR_SAMPLES:
        return state[h, _S_REQ] / total > FALLBACK_THRESHOLD
    steps = state[h, _S_STEPS]
    value = param * (state[h, _S_MEAN] + state[h, _S_SLOPE] * (LR_LEAD + steps))
    return _lr_decide(value, vms, tent, h, -1, total, steps, param)


@numba.njit(cache=True, nogil=True)
def _lr_decide(
    value: float,
    vms: RoundVms,
    tent: Tentative,
    h: int,
    extra_vm: int,
    total: float,
    steps: float,
    param: float,
) -> bool:  # pragma: no cover
    """``value ≥ 1``, or CloudSim's own decision when ``value`` is on the 1.0 boundary."""
    if abs(value - 1.0) < BOUNDARY_TOL:
        mips = vms.table[:, _V_MIPS]
        decided = over_exact(
            vms.hist, mips, tent.mem[h], tent.n_mem[h], extra_vm, total, steps, param
        )
        if decided != EXACT_SHORT:
            return decided == EXACT_OVER
    return value >= 1.0


@numba.njit(cache=True, nogil=True)
def _sorted_head(values: FloatArray, n: int) -> FloatArray:  # pragma: no cover
    """The first ``n`` values, sorted (insertion sort: n ≤ the history length)."""
    out = values[:n].copy()
    for i in range(1, n):
        x = out[i]
        j = i
        while j > 0 and out[j - 1] > x:
            out[j] = out[j - 1]
            j -= 1
        out[j] = x
    return out


@numba.njit(cache=True, nogil=True)
def _median(sorted_values: FloatArray, n: int) -> float:  # pragma: no cover
    """Median of ``n`` sorted values as :func:`capplan.dynamic.detection.mad` takes it."""
    position = 0.5 * (n + 1)
    low = math.floor(position)
    lower = sorted_values[max(low - 1, 0)]
    upper = sorted_values[min(low, n - 1)]
    return lower + (position - low) * (upper - lower)


@numba.njit(cache=True, nogil=True)
def _quartile_over(
    history: FloatArray, requested_frac: float, kind: int, param: float
) -> bool:  # pragma: no cover
    """IQR or MAD test on one host history (newest first; trailing zeros dropped).

    The arithmetic of :func:`capplan.dynamic.detection.iqr` and
    :func:`~capplan.dynamic.detection.mad`, including the 0.7 fallback on short histories.
    """
    n = 0
    for k in range(len(history) - 1, -1, -1):
        if history[k] != 0:
            n = k + 1
            break
    if n < MIN_SAMPLES_QUARTILE:
        return requested_frac > FALLBACK_THRESHOLD
    data = _sorted_head(history, n)
    if kind == TEST_IQR:
        q1 = math.floor(0.25 * (n + 1) + 0.5) - 1
        q3 = math.floor(0.75 * (n + 1) + 0.5) - 1
        spread = data[q3] - data[q1]
    else:
        center = _median(data, n)
        deviation = np.empty(n)
        for k in range(n):
            deviation[k] = abs(center - history[k])
        spread = _median(_sorted_head(deviation, n), n)
    return requested_frac > 1.0 - param * spread


@numba.njit(cache=True, nogil=True)
def _round(
    vms: RoundVms,
    hosts: RoundHosts,
    flights: Flights,
    rules: RoundRules,
    rs_state: IntArray,
    list_room: int,
) -> tuple[IntArray, IntArray, bool]:  # pragma: no cover - compiled; tested against the reference
    """The round; arguments as :func:`run_round` gathers them.

    ``settings`` holds the test parameter, the target's reserve share, the round interval,
    the smallest host PE, the number of history samples, the extra weight of a VM migrating
    in (weight − 1) and 1 when PABFD's power before is the last update's (CloudSim). Each
    host's VM list has room for ``list_room`` VMs, or twice its initial length if more.
    Returns the moves (VM, target) and True, or False if a list ran out of room (the caller
    then runs the round again with more: no input is modified but the RS generator's
    state, which the caller restores).
    """
    vm = vms.table
    host = hosts.table
    frac = hosts.frac
    in_migration = vms.in_migration
    n_hosts = len(host)
    n_vms = len(vm)
    tent = _host_lists(vms, hosts, flights, rules, list_room)
    state, host_hist, mem, mem_in, n_mem = tent
    cap = mem.shape[1]
    over = np.zeros(n_hosts, dtype=np.bool_)
    for h in range(n_hosts):
        over[h] = _over(tent, h, host[h, _H_TOTAL], vms, rules)
    n_classes = hosts.idle_class.max() + 1 if n_hosts else 0
    move_vm = np.empty(2 * n_vms + 1, dtype=np.int64)
    move_tg = np.empty(2 * n_vms + 1, dtype=np.int64)
    n_moves = 0

    # 1-2. VMs off the overloaded hosts; 3. placed by current MIPS, descending
    chosen = _select_overloaded(vms, hosts, tent, over, rules, rs_state)
    allowed = ~over
    for v in _by_mips_descending(vm, chosen, len(chosen)):
        target = _search(v, vms, hosts, tent, rules, allowed, True, n_classes)
        if target >= 0:
            if n_mem[target] == cap:
                return move_vm[:0], move_tg[:0], False
            _add(v, target, vms, hosts, tent, rules)
            move_vm[n_moves] = v
            move_tg[n_moves] = target
            n_moves += 1

    # 4. under-loaded hosts, least utilised first
    excluded = over | (frac == 0)
    allowed = ~excluded
    if rules.exclude_overload_targets:
        for m in range(n_moves):
            excluded[move_tg[m]] = True
    take = np.empty(cap, dtype=np.int64)
    snap = np.empty((cap, _N_S))
    snap_hist = np.empty((cap, host_hist.shape[1]))
    snap_host = np.empty(cap, dtype=np.int64)
    snap_len = np.empty(cap, dtype=np.int64)
    for h in stable_argsort(frac):
        if not (0 < frac[h] < 1) or excluded[h]:
            continue
        skip = True  # CloudSim's areAllVmsMigratingOutOrAnyVmMigratingIn, in list order
        for k in range(n_mem[h]):
            if not in_migration[mem[h, k]]:
                skip = False
                break
            if mem_in[h, k]:
                break
        if skip:
            continue
        excluded[h] = True
        allowed[h] = False
        n_take = 0
        for k in range(n_mem[h]):
            if not in_migration[mem[h, k]]:
                take[n_take] = mem[h, k]
                n_take += 1
        first_move = n_moves
        for n_snaps, v in enumerate(_by_mips_descending(vm, take, n_take)):
            target = _search(v, vms, hosts, tent, rules, allowed, False, n_classes)
            if target < 0:  # not all fit: undo this host's tentative moves
                for s in range(n_snaps - 1, -1, -1):
                    n_mem[snap_host[s]] = snap_len[s]
                    for column in range(_N_S):
                        state[snap_host[s], column] = snap[s, column]
                    for column in range(host_hist.shape[1]):
                        host_hist[snap_host[s], column] = snap_hist[s, column]
                n_moves = first_move
                break
            if n_mem[target] == cap:
                return move_vm[:0], move_tg[:0], False
            snap_host[n_snaps] = target
            snap_len[n_snaps] = n_mem[target]
            for column in range(_N_S):
                snap[n_snaps, column] = state[target, column]
            for column in range(host_hist.shape[1]):
                snap_hist[n_snaps, column] = host_hist[target, column]
            _add(v, target, vms, hosts, tent, rules)
            move_vm[n_moves] = v
            move_tg[n_moves] = target
            n_moves += 1
        for m in range(first_move, n_moves):
            excluded[move_tg[m]] = True
    return move_vm[:n_moves].copy(), move_tg[:n_moves].copy(), True


@numba.njit(cache=True, nogil=True)
def _host_lists(
    vms: RoundVms, hosts: RoundHosts, flights: Flights, rules: RoundRules, list_room: int
) -> Tentative:  # pragma: no cover
    """Each host's tentative state (``_S_*`` columns), history, and VM list in arrival order.

    Lists hold the placed VMs and the VMs migrating in (flagged in ``mem_in``); the sums
    are added placed VMs by index first, then migrations in start order, as the
    reference's ``bincount`` adds them. The host history (IQR, MAD; zeros otherwise) is, per
    sample, the first VM's share plus numpy's pairwise sum of the others' in list order (the
    reference's ``add.reduceat``).
    """
    vm, vm_hist, _, host_of, seq = vms
    host = hosts.table
    fl_vm, fl_tg, fl_seq = flights
    settings = rules.settings
    kind = rules.kind
    reserve_frac = settings[1]
    interval_s = settings[2]
    n_hosts = len(host)
    n_vms = len(vm)
    n_flights = len(fl_vm)
    count = np.zeros(n_hosts, dtype=np.int64)
    for v in range(n_vms):
        if host_of[v] >= 0:
            count[host_of[v]] += 1
    for f in range(n_flights):
        count[fl_tg[f]] += 1
    cap = list_room
    for h in range(n_hosts):
        cap = max(cap, 2 * count[h])
    state = np.zeros((n_hosts, _N_S))
    mem = np.empty((n_hosts, cap), dtype=np.int64)
    mem_in = np.empty((n_hosts, cap), dtype=np.bool_)
    mem_seq = np.empty((n_hosts, cap), dtype=np.int64)
    n_mem = np.zeros(n_hosts, dtype=np.int64)
    for entry in range(n_vms + n_flights):
        if entry < n_vms:
            v = entry
            h = host_of[v]
            if h < 0:
                continue
            incoming = False
            order_key = seq[v]
            reserve = 1.0
        else:
            v = fl_vm[entry - n_vms]
            h = fl_tg[entry - n_vms]
            incoming = True
            order_key = fl_seq[entry - n_vms]
            reserve = reserve_frac
        k = n_mem[h]
        mem[h, k] = v
        mem_in[h, k] = incoming
        mem_seq[h, k] = order_key
        n_mem[h] = k + 1
        pes = vm[v, _V_PES]
        state[h, _S_CAPPED] += pes * min(vm[v, _V_REQ] / pes, host[h, _H_PE]) * reserve
        state[h, _S_REQ] += vm[v, _V_REQ]
        share = vm[v, _V_MIPS] / host[h, _H_TOTAL]
        state[h, _S_MEAN] += share * vm[v, _V_MEAN]
        state[h, _S_SLOPE] += share * vm[v, _V_SLOPE]
        state[h, _S_MAXRAM] = max(state[h, _S_MAXRAM], vm[v, _V_RAM])
        state[h, _S_HLEN] = max(state[h, _S_HLEN], vm[v, _V_LEN])
    for h in range(n_hosts):
        for i in range(1, n_mem[h]):  # arrival order (insertion sort: lists are short)
            j = i
            while j > 0 and mem_seq[h, j - 1] > mem_seq[h, j]:
                mem[h, j - 1], mem[h, j] = mem[h, j], mem[h, j - 1]
                mem_in[h, j - 1], mem_in[h, j] = mem_in[h, j], mem_in[h, j - 1]
                mem_seq[h, j - 1], mem_seq[h, j] = mem_seq[h, j], mem_seq[h, j - 1]
                j -= 1
        state[h, _S_STEPS] = np.ceil(state[h, _S_MAXRAM] / host[h, _H_RATE] / interval_s)
        state[h, _S_RAM] = hosts.ram_used[h]
        state[h, _S_BW] = hosts.bw_used[h]
        state[h, _S_PLANNED] = hosts.start[h, 0]
        state[h, _S_PBEFORE] = hosts.start[h, 1]
        state[h, _S_BUSY] = hosts.start[h, 2]
        _set_avail(state, host, h)
    width = vm_hist.shape[1]
    host_hist = np.zeros((n_hosts, width))
    if kind in (TEST_IQR, TEST_MAD):
        terms = np.empty(cap)
        for h in range(n_hosts):
            n = n_mem[h]
            if n == 0:
                continue
            for column in range(width):
                for k in range(n):
                    v = mem[h, k]
                    terms[k] = vm_hist[v, column] * (vm[v, _V_MIPS] / host[h, _H_TOTAL])
                rest = pairwise_sum(terms, 1, n - 1) if n > 1 else 0.0
                host_hist[h, column] = terms[0] + rest if n > 1 else terms[0]
    return Tentative(state, host_hist, mem, mem_in, n_mem)


@numba.njit(cache=True, nogil=True)
def _set_avail(state: FloatArray, host: FloatArray, h: int) -> None:  # pragma: no cover
    """Free MIPS of ``h``: capacity − capped reservations, 0 when over-subscribed."""
    capped = state[h, _S_CAPPED]
    total = host[h, _H_TOTAL]
    state[h, _S_AVAIL] = total - capped if capped <= total else 0.0


@numba.njit(cache=True, nogil=True)
def _set_p_before(
    state: FloatArray, host: FloatArray, curves_w: FloatArray, settings: FloatArray, h: int
) -> None:  # pragma: no cover
    """In the default mode, the power before follows the planned MIPS (``_set_p_before``)."""
    if settings[6] == 0.0:
        planned = state[h, _S_PLANNED]
        curve = curves_w[int(host[h, _H_TYPE])]
        state[h, _S_PBEFORE] = (
            spec_power_at(planned / host[h, _H_TOTAL], curve) if planned != 0 else 0.0
        )


@numba.njit(cache=True, nogil=True)
def _select_overloaded(
    vms: RoundVms,
    hosts: RoundHosts,
    tent: Tentative,
    over: BoolArray,
    rules: RoundRules,
    rs_state: IntArray,
) -> IntArray:  # pragma: no cover
    """Take VMs off each overloaded host (index order) until it passes the test.

    The selection looks at the VMs not migrating, in list order (first wins ties): MMT the
    smallest RAM, MU the lowest utilisation, RS one drawn by the run's generator (the
    reference's ``integers`` draw, so the same stream), MC the reference's own choice. Each
    removal rebuilds the host's sums from its list as the reference does (plain sums in list
    order, numpy's pairwise sum for the line terms).
    """
    vm, vm_hist, in_migration, _, _ = vms
    host = hosts.table
    curves_w = hosts.curves_w
    state, host_hist, mem, mem_in, n_mem = tent
    settings = rules.settings
    kind = rules.kind
    select = rules.select
    reserve_frac = settings[1]
    interval_s = settings[2]
    chosen = np.empty(len(vm), dtype=np.int64)
    n_chosen = 0
    terms = np.empty(mem.shape[1])
    movable = np.empty(mem.shape[1], dtype=np.int64)
    for h in range(len(host)):
        if not over[h]:
            continue
        total = host[h, _H_TOTAL]
        while True:
            n_movable = 0
            pick = -1
            pick_key = 0.0
            for k in range(n_mem[h]):
                v = mem[h, k]
                if in_migration[v]:
                    continue
                movable[n_movable] = v
                n_movable += 1
                if select == SELECT_MMT:
                    key = vm[v, _V_RAM]
                else:  # MU: u × MIPS / MIPS, as CloudSim divides
                    key = vm[v, _V_UTIL] * vm[v, _V_MIPS] / vm[v, _V_MIPS]
                if pick < 0 or key < pick_key:
                    pick = v
                    pick_key = key
            if pick < 0:
                break
            if select == SELECT_RS:
                pick = movable[next_int(rs_state, n_movable)]
            elif select == SELECT_MC:
                pick = _mc_pick(vm_hist, settings[4], vm, movable[:n_movable].copy())
            chosen[n_chosen] = pick
            n_chosen += 1
            found = False  # drop the first entry of ``pick``, keeping the order
            for k in range(n_mem[h] - 1):
                found = found or mem[h, k] == pick
                if found:
                    mem[h, k] = mem[h, k + 1]
                    mem_in[h, k] = mem_in[h, k + 1]
            n_mem[h] -= 1
            n = n_mem[h]
            state[h, _S_RAM] -= vm[pick, _V_RAM]
            state[h, _S_BW] -= vm[pick, _V_BW]
            capped = 0.0
            requested = 0.0
            length = 0.0
            max_ram = 0.0
            in_allocated = 0.0
            for k in range(n):
                v = mem[h, k]
                pes = vm[v, _V_PES]
                value = pes * min(vm[v, _V_REQ] / pes, host[h, _H_PE])
                if mem_in[h, k]:
                    capped += value * reserve_frac
                    in_allocated += value * reserve_frac
                else:
                    capped += value
                requested += vm[v, _V_REQ]
                length = max(length, vm[v, _V_LEN])
                max_ram = max(max_ram, vm[v, _V_RAM])
            planned = capped  # RoundState._planned_from
            if planned > total:
                in_allocated = in_allocated * (total / planned)
                planned = total
            state[h, _S_PLANNED] = planned + settings[5] * in_allocated if n else 0.0
            _set_p_before(state, host, curves_w, settings, h)
            state[h, _S_CAPPED] = capped
            state[h, _S_REQ] = requested
            state[h, _S_HLEN] = length
            state[h, _S_MAXRAM] = max_ram
            _set_avail(state, host, h)
            if kind == TEST_LINEAR:
                for column, source in ((_S_MEAN, _V_MEAN), (_S_SLOPE, _V_SLOPE)):
                    for k in range(n):
                        v = mem[h, k]
                        terms[k] = vm[v, _V_MIPS] / total * vm[v, source]
                    state[h, column] = 0.0 + pairwise_sum(terms, 0, n) if n else 0.0
                state[h, _S_STEPS] = np.ceil(max_ram / host[h, _H_RATE] / interval_s)
            elif kind != TEST_THR:  # the history, rows added in list order (``sum(0)``)
                for column in range(host_hist.shape[1]):
                    value = 0.0
                    for k in range(n):
                        v = mem[h, k]
                        value += vm_hist[v, column] * (vm[v, _V_MIPS] / total)
                    host_hist[h, column] = value
            if not _over(tent, h, total, vms, rules):
                break
    return chosen[:n_chosen].copy()


@numba.njit(cache=True)
def _mc_pick(
    vm_hist: FloatArray, hist_count: float, vm: FloatArray, candidates: IntArray
) -> int:  # pragma: no cover
    """The MC selection, run by the interpreter (object mode).

    It is the reference's own :func:`~capplan.dynamic.selection.mc_choice`, so its LAPACK
    inverse gives the reference's bits.
    """
    with numba.objmode(pick="int64"):
        pick = mc_choice(vm_hist, int(hist_count), vm[:, _V_RAM], candidates)
    return pick


@numba.njit(cache=True, nogil=True)
def _add(
    v: int, h: int, vms: RoundVms, hosts: RoundHosts, tent: Tentative, rules: RoundRules
) -> None:  # pragma: no cover
    """Tentatively put ``v`` at the end of ``h``'s list (which must have room)."""
    vm = vms.table
    host = hosts.table
    state, host_hist, mem, mem_in, n_mem = tent
    settings = rules.settings
    kind = rules.kind
    k = n_mem[h]
    mem[h, k] = v
    mem_in[h, k] = False
    n_mem[h] = k + 1
    pes = vm[v, _V_PES]
    alloc = pes * min(vm[v, _V_REQ] / pes, host[h, _H_PE])
    state[h, _S_CAPPED] += alloc
    _set_avail(state, host, h)
    state[h, _S_PLANNED] += alloc
    state[h, _S_BUSY] = 1.0
    _set_p_before(state, host, hosts.curves_w, settings, h)
    state[h, _S_REQ] += vm[v, _V_REQ]
    state[h, _S_HLEN] = max(state[h, _S_HLEN], vm[v, _V_LEN])
    state[h, _S_MAXRAM] = max(state[h, _S_MAXRAM], vm[v, _V_RAM])
    state[h, _S_RAM] += vm[v, _V_RAM]
    state[h, _S_BW] += vm[v, _V_BW]
    if kind == TEST_LINEAR:
        share = vm[v, _V_MIPS] / host[h, _H_TOTAL]
        state[h, _S_MEAN] += share * vm[v, _V_MEAN]
        state[h, _S_SLOPE] += share * vm[v, _V_SLOPE]
        state[h, _S_STEPS] = np.ceil(state[h, _S_MAXRAM] / host[h, _H_RATE] / settings[2])
    elif kind != TEST_THR:
        share = vm[v, _V_MIPS] / host[h, _H_TOTAL]
        for column in range(host_hist.shape[1]):
            host_hist[h, column] += vms.hist[v, column] * share


@numba.njit(cache=True, nogil=True)
def _search(
    v: int,
    vms: RoundVms,
    hosts: RoundHosts,
    tent: Tentative,
    rules: RoundRules,
    allowed: BoolArray,
    idle_allowed: bool,
    n_classes: int,
) -> int:  # pragma: no cover
    """PABFD host for ``v`` (-1 if none), hosts in index order.

    The checks and the power rise are :func:`capplan.dynamic.kernels.search.search`'s (for
    IQR and MAD, :func:`capplan.dynamic.reference.search.find_host`'s); the first
    strict minimum of the rise wins. Of the idle hosts of a class only the first suitable
    one is looked at (the others show the same rise). The overload test, the costly check,
    runs only on hosts whose rise would win.
    """
    vm = vms.table
    vm_hist = vms.hist
    host = hosts.table
    idle_class = hosts.idle_class
    curves_w = hosts.curves_w
    state = tent.state
    host_hist = tent.hist
    settings = rules.settings
    kind = rules.kind
    param = settings[0]
    interval_s = settings[2]
    req = vm[v, _V_REQ]
    per_pe = req / vm[v, _V_PES]
    check_pe = per_pe > settings[3]
    best = -1
    best_diff = np.inf
    seen = np.zeros(n_classes, dtype=np.bool_)
    n_seen = 0
    with_vm = np.empty(host_hist.shape[1])
    for h in range(len(host)):
        busy = state[h, _S_BUSY] != 0.0
        if not busy and (not idle_allowed or n_seen == n_classes or seen[idle_class[h]]):
            continue
        if not allowed[h] or not state[h, _S_AVAIL] >= req:
            continue
        if check_pe and not host[h, _H_PE] >= per_pe:
            continue
        if rules.check_ram and not (
            state[h, _S_RAM] + vm[v, _V_RAM] <= host[h, _H_RAM_CAP]
            and state[h, _S_BW] + vm[v, _V_BW] <= host[h, _H_BW_CAP]
        ):
            continue
        inv_total = host[h, _H_INV]
        if not busy:
            seen[idle_class[h]] = True
            n_seen += 1
        curve = curves_w[int(host[h, _H_TYPE])]
        after = (state[h, _S_PLANNED] + req) / host[h, _H_TOTAL]
        diff = spec_power_at(after, curve) - state[h, _S_PBEFORE]
        if not diff < best_diff:
            continue  # cannot win: skip the overload test
        if state[h, _S_PLANNED] != 0:
            if kind in (TEST_IQR, TEST_MAD):
                share = vm[v, _V_MIPS] / host[h, _H_TOTAL]
                for column in range(len(with_vm)):
                    with_vm[column] = host_hist[h, column] + vm_hist[v, column] * share
                requested = (state[h, _S_REQ] + req) / host[h, _H_TOTAL]
                if _quartile_over(with_vm, requested, kind, param):
                    continue
            elif kind == TEST_THR or max(state[h, _S_HLEN], vm[v, _V_LEN]) < LR_SAMPLES:
                limit = param if kind == TEST_THR else FALLBACK_THRESHOLD
                if (state[h, _S_REQ] + req) * inv_total > limit:
                    continue
            else:
                share = vm[v, _V_MIPS] * inv_total
                mean = state[h, _S_MEAN] + share * vm[v, _V_MEAN]
                slope = state[h, _S_SLOPE] + share * vm[v, _V_SLOPE]
                own_steps = np.ceil(vm[v, _V_RAM] / host[h, _H_RATE] / interval_s)
                steps = max(state[h, _S_STEPS], own_steps)
                value = param * (mean + slope * (LR_LEAD + steps))
                total = host[h, _H_TOTAL]
                if _lr_decide(value, vms, tent, h, v, total, steps, param):
                    continue
        best_diff = diff
        best = h
    return best
