"""Bin elimination by simulated annealing on overflow: close bins, then anneal until all fit.

To save bins, the lightest are closed and their items put where they overflow least (as
:mod:`capplan.optimize.overflow` does); the packing, now short of bins, is infeasible. A
simulated annealing over *moves* (one item to another bin) and *swaps* (two items of different
bins trade places) then drives the overflow to zero: the demand above capacity, each column
normalised by its largest capacity, summed over the bins and the distinct columns. A move is
drawn at random (half of the time from a bin that overflows; half of the swaps with an item of
similar size), evaluated in O(columns) and kept when it does not raise the overflow, or with
probability ``exp(-increase / T)``; the temperature falls geometrically from :data:`T_HOT` to
:data:`T_COLD` over the attempt's moves. An attempt ends as soon as no bin overflows (bins
saved) or when its moves run out; then the tabu repair of :mod:`overflow` gets a share of its
work to close the few small overflows an annealing usually leaves. Several bins are closed at
once while the packing is far above the lower bound, one at a time near it; an attempt that
fails (or barely succeeds) makes the next one twice as long.

Why annealing: when two resources are nearly full at once and one of them varies over time
(PlanetLab days: memory in a few VM sizes, CPU over 24 buckets, uncorrelated between VMs),
every bin of a good packing sits at its CPU peak in some bucket, and a bin is saved only by
reshaping many bins' load profiles together. The tabu repair alone (the best move of one
overflowing bin per step) stalls there with the overflow spread thinly over many bins; tens of
millions of cheap random moves at a falling temperature do not (PlanetLab 20110420 at 30 s:
81 hosts instead of 83; a hot start and a cold end both matter, a constant temperature never
closes the last overflows). This is the annealing of machine-reassignment and vector-packing
local search (e.g. the ROADEF/EURO 2012 challenge) in the fixed-count, penalised infeasible
space of Masson et al., "An efficient local search for the vector bin packing problem",
EJOR 2013.

The moves run in one compiled loop (numba, compiled by :func:`warm_up` before a solve's clock
starts) with its own random generator (xorshift64*), so the search is deterministic: the same
instance, start and seed give the same packing. The loop runs in chunks between which the work
clock is charged (:data:`UNIT_PER_MOVE` and :data:`UNIT_PER_MOVE_CELL` a move) and checked.
It runs on time-varying instances (several buckets) that
:func:`capplan.optimize.overflow.applicable` accepts (no per-bin rules other than bin type and
zone); elsewhere it returns the start unchanged (see :func:`applicable`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from capplan.optimize import overflow
from capplan.optimize.clock import Clock, wall_clock
from capplan.optimize.instance import BoolArray, FloatArray, Instance, IntArray, Solution

#: Temperature at the start and at the end of an attempt, in normalised overflow (a fraction
#: of a bin's capacity in one column). Measured on PlanetLab 20110420 (81 bins from 83, four
#: to eight seeds each): starts at 0.03, 0.05 or 0.2 and ends at 0.0001 or 0.0005 left more
#: overflow after the same moves.
T_HOT = 0.1
T_COLD = 0.0002
#: Share of the moves that are swaps (the others move one item). On PlanetLab 20110420 (81
#: bins from 82, 6 million moves, eight seeds) 0.5 closed the bin 3 times, 0.7 8 times, 0.9 5.
P_SWAP = 0.7
#: Share of the moves whose first item comes from an overflowing bin.
P_FOCUS = 0.5
#: Share of the swaps whose second item is drawn among items of similar size (within
#: ``n_items / NEAR_SHARE`` places in :func:`_similar_order`). On PlanetLab 20110420 it cut
#: the overflow left after 5 million moves tenfold (normalised, 0.38 to 0.036).
P_NEAR = 0.5
NEAR_SHARE = 16
#: Work of the tabu repair that finishes a failed attempt, as a share of the attempt's work.
POLISH_SHARE = 0.5
#: An attempt that succeeds after this share of its moves (or only after the repair) makes
#: the next attempt twice as long.
LATE_SHARE = 0.75
#: Bins closed at once: the estimated bins above the bound divided by this (at least one).
JUMP_SHARE = 4
#: Moves of a first attempt, per item; each failed attempt doubles its length.
FIRST_MOVES_PER_ITEM = 1000
#: Most moves run between two looks at the clock.
CHUNK_MOVES = 1 << 20
#: Work units per move tried: a fixed part (random draws, picking the items) and a part per
#: distinct column. Calibrated on this machine (2 cores): about 65 ns + 3.4 ns per column a
#: move, charged so that one unit is about 0.4 s, as the rest of a PlanetLab solve runs.
UNIT_PER_MOVE = 1.9e-7
UNIT_PER_MOVE_CELL = 9.5e-9


@dataclass
class AnnealStats:
    """Counters of a search: attempts, bins saved (several may close at once), moves run."""

    tried: int = 0
    saved: int = 0
    moves: int = 0
    polished: int = 0


@functools.cache
def warm_up() -> None:
    """Compile the annealing loop (or load it from numba's cache), once per process.

    :func:`capplan.optimize.strategies.solve` calls it before its clock starts: compiling is
    not search work, and a first compile (several seconds) would otherwise eat a short time
    limit and make the result depend on it.
    """
    inst_d = np.array([[3, 1], [2, 2], [2, 1]], dtype=np.int64)
    cap = np.array([[4, 4], [4, 4]], dtype=np.int64)
    assign = np.array([0, 0, 1], dtype=np.int64)
    load = np.zeros((2, 2), dtype=np.int64)
    np.add.at(load, assign, inst_d)
    members = np.array([[0, 1, -1], [2, -1, -1]], dtype=np.int64)
    order = np.arange(3, dtype=np.int64)
    _anneal(
        inst_d, cap, np.ones(2), np.ones((3, 1), dtype=np.bool_), np.zeros(2, dtype=np.int64),
        assign, load, members, np.array([2, 1], dtype=np.int64), np.array([0, 1, 0]),
        np.array([1], dtype=np.uint64), order, order.copy(), 0, 100, 100, T_HOT, T_COLD,
        P_SWAP, P_FOCUS, P_NEAR, 1,
    )  # fmt: skip


def applicable(inst: Instance) -> bool:
    """True for time-varying demand (several buckets) without rules the search does not check.

    The rules are those of :func:`capplan.optimize.overflow.applicable`. One-bucket instances
    are left to the ejection chains: on the vbp bench (classic vector packing, 10 s an
    instance) running the annealing first lost to them (mean gap to the best known -0.59 %
    before, -0.28 % with it; 21 instances worse, 7 better).
    """
    return inst.n_buckets > 1 and overflow.applicable(inst)


def search(
    inst: Instance,
    start: Solution,
    *,
    deadline: float,
    lower_bound: int = 0,
    seed: int = 0,
    on_improve: Callable[[Solution, int], None] | None = None,
    clock: Clock | None = None,
) -> tuple[Solution, AnnealStats]:
    """Close bins of ``start`` one after another until the deadline or the bound.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    start
        A valid packing.
    deadline
        Reading of ``clock`` to stop at (default clock: the wall clock).
    lower_bound
        Stop when the objective reaches it.
    seed
        Seed of the annealing's random generator.
    on_improve
        Called with each cheaper packing and its objective.
    """
    clock = clock or wall_clock()
    stats = AnnealStats()
    sol = start.compact()
    cost = sol.objective(inst)
    if not applicable(inst) or sol.n_bins < 2 or not inst.n_items:
        return sol, stats
    run = _Run(inst, clock, deadline, np.random.default_rng(seed))
    length = FIRST_MOVES_PER_ITEM * inst.n_items
    jump = 0
    while cost > lower_bound and not clock.past(deadline):
        budget = min(length, int(clock.left(deadline) / run.per_move))
        if budget < length // 4:
            break  # too short a cooling to close a bin: leave the rest to other searches
        if jump <= 0:
            above = int(sol.n_bins * (cost - lower_bound) / max(cost, 1))
            jump = max(1, above // JUMP_SHARE)
        closed = _close(inst, run.cols, sol, min(jump, sol.n_bins - 1), run.rules)
        if closed is None:
            break
        stats.tried += 1
        found, done, polished = run.attempt(closed, budget)
        stats.moves += done
        stats.polished += int(polished)
        if found is None:
            # Closing several bins was too much, or the schedule too short for one.
            jump, length = (1, length) if jump > 1 else (jump, 2 * length)
            continue
        new_cost = found.objective(inst)
        if new_cost >= cost:
            break
        stats.saved += sol.n_bins - found.n_bins
        sol, cost = found, new_cost
        if polished or done > LATE_SHARE * budget:
            # Barely made it: the next bin will need a slower cooling.
            length *= 2
        jump = 0
        if on_improve is not None:
            on_improve(sol, cost)
    return sol, stats


class _Run:
    """What the attempts of one search share: the instance's columns, the clock, the rng."""

    def __init__(
        self, inst: Instance, clock: Clock, deadline: float, rng: np.random.Generator
    ) -> None:
        self.inst = inst
        self.clock = clock
        self.deadline = deadline
        self.rng = rng
        self.cols = overflow._columns(inst)
        self.rules = not bool(inst.allowed.all()) or inst.n_zones > 1
        self.weight = 1.0 / self.cols.norm
        n_cols = self.cols.d.shape[1]
        self.per_move = UNIT_PER_MOVE + UNIT_PER_MOVE_CELL * n_cols

    def attempt(self, closed: Solution, budget: int) -> tuple[Solution | None, int, bool]:
        """Anneal ``closed`` for up to ``budget`` moves, then repair it if it still overflows.

        Returns the packing (None if some bin still overflows), the moves run and whether
        the repair was needed.
        """
        seed = int(self.rng.integers(1, 2**62))
        state = _State.build(self.inst, self.cols, closed, self.rules, seed)
        before = self.clock.now()
        done, feasible = state.run(
            self.cols, self.weight, 0, budget, self.clock, self.deadline, self.per_move
        )
        polished = False
        if not feasible:
            feasible = polished = self._polish(state, closed, self.clock.now() - before)
        if not feasible:
            return None, done, False
        found = Solution(state.assign.copy(), closed.bin_type, closed.bin_existing).compact()
        return found, done, polished

    def _polish(self, state: _State, closed: Solution, spent: float) -> bool:
        """Finish a failed attempt with the tabu repair of :mod:`overflow`; True if it fits.

        An annealing that runs out of moves leaves a few columns of a few bins slightly
        over; the repair's best moves on the overflowing bins usually close them (PlanetLab
        20110420, 81 bins: seven of eight attempts of 5 million moves that ended over were
        repaired, in about a unit each). It gets :data:`POLISH_SHARE` of the work the attempt
        spent.
        """
        clock = self.clock
        stop = min(self.deadline, clock.now() + POLISH_SHARE * spent)
        found, _ = overflow._repair(
            self.inst, self.cols, state.assign.copy(), closed.bin_type, self.rules, self.rng,
            stop, clock,
        )  # fmt: skip
        if found is None:
            return False
        state.assign[:] = found
        return True


def _close(
    inst: Instance, cols: overflow._Columns, sol: Solution, k: int, rules: bool
) -> Solution | None:
    """``sol`` with its ``k`` lightest bins closed, their items where they overflow least."""
    cur = sol
    for _ in range(k):
        keep = overflow._drop_target(inst, cur, cols.dn)
        if keep is None:
            return None
        assign, btype = overflow._drop(inst, cols, cur, keep, rules)
        zone = overflow._bin_zone(inst, cur.assign, cur.n_bins)[keep]
        cur = Solution(assign, btype, cur.bin_existing[keep].copy(), zone)
    return cur


# ------------------------------------------------------------------------------ state
@dataclass
class _State:
    """Arrays the compiled loop works on (bins are rows; ``members`` lists each bin's items)."""

    assign: IntArray
    cap: IntArray
    load: IntArray
    members: IntArray
    count: IntArray
    pos: IntArray
    ok: BoolArray
    kind: IntArray
    rng: np.ndarray
    order: IntArray
    rank: IntArray
    kept: int = 0

    @classmethod
    def build(
        cls,
        inst: Instance,
        cols: overflow._Columns,
        sol: Solution,
        rules: bool,
        seed: int,
    ) -> _State:
        """State of the (possibly overflowing) packing ``sol``, whose ``bin_zone`` is set."""
        btype = sol.bin_type
        bzone = sol.bin_zone if sol.bin_zone is not None else np.full(sol.n_bins, -1)
        nb = len(btype)
        n = len(sol.assign)
        assign = sol.assign.astype(np.int64).copy()
        cap = np.ascontiguousarray(cols.cap[btype], dtype=np.int64)
        load = np.zeros((nb, cols.d.shape[1]), dtype=np.int64)
        np.add.at(load, assign, cols.d)
        width = min(n, 2 * _most_items(cols) + 8)
        width = max(width, int(np.bincount(assign, minlength=nb).max()))
        members = np.full((nb, width), -1, dtype=np.int64)
        count = np.zeros(nb, dtype=np.int64)
        pos = np.zeros(n, dtype=np.int64)
        for i in range(n):
            b = int(assign[i])
            members[b, count[b]] = i
            pos[i] = count[b]
            count[b] += 1
        if rules:
            pairs = np.stack([btype, bzone], axis=1)
            kinds, kind = np.unique(pairs, axis=0, return_inverse=True)
            ok = inst.allowed[:, kinds[:, 0]] & (
                (inst.zone[:, None] == kinds[None, :, 1]) | (kinds[None, :, 1] < 0)
            )
        else:
            kind = np.zeros(nb, dtype=np.int64)
            ok = np.ones((n, 1), dtype=np.bool_)
        rng = np.array([seed & (2**63 - 1) or 1], dtype=np.uint64)
        order = _similar_order(cols)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        return cls(
            assign, cap, load, members, count, pos, np.ascontiguousarray(ok),
            kind.astype(np.int64).ravel(), rng, order, rank,
        )  # fmt: skip

    def run(
        self,
        cols: overflow._Columns,
        weight: FloatArray,
        first: int,
        total: int,
        clock: Clock,
        deadline: float,
        per_move: float,
    ) -> tuple[int, bool]:
        """Anneal from move ``first`` of a ``total``-move schedule until no bin overflows.

        Returns the index of the move reached and whether no bin overflows. The clock is
        charged ``per_move`` units a move and checked every :data:`CHUNK_MOVES` moves;
        ``kept`` counts the moves kept.
        """
        done = first
        n_over = -1
        d = np.ascontiguousarray(cols.d, dtype=np.int64)
        while done < total:
            stop = min(done + CHUNK_MOVES, total)
            ran, kept, n_over = _anneal(
                d, self.cap, weight, self.ok, self.kind, self.assign, self.load, self.members,
                self.count, self.pos, self.rng, self.order, self.rank, done, stop, total,
                T_HOT, T_COLD, P_SWAP, P_FOCUS, P_NEAR, max(len(self.order) // NEAR_SHARE, 1),
            )  # fmt: skip
            clock.charge(ran * per_move)
            self.kept += kept
            done += ran
            if n_over == 0 or (done < total and clock.past(deadline)):
                break
        return done, n_over == 0


def _similar_order(cols: overflow._Columns) -> IntArray:
    """Items ordered by the hard column (if any), then by normalised size."""
    size = cols.dn.sum(axis=1)
    if cols.hard >= 0:
        return np.lexsort((size, cols.d[:, cols.hard])).astype(np.int64)
    return np.argsort(size, kind="stable").astype(np.int64)


def _most_items(cols: overflow._Columns) -> int:
    """Most items any bin can hold within capacity (the tightest column's count of smallest)."""
    most = len(cols.d)
    for c in range(cols.d.shape[1]):
        sizes = np.sort(cols.d[:, c])
        fits = int(np.searchsorted(np.cumsum(sizes), int(cols.cap[:, c].max()), side="right"))
        most = min(most, fits)
    return max(most, 1)


# ------------------------------------------------------------------------ compiled loop
@numba.njit(cache=True, nogil=True)
def _random(state: np.ndarray) -> float:  # pragma: no cover - compiled
    """Uniform in [0, 1) from the xorshift64* generator whose state is ``state[0]``."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, nogil=True)
def _below(state: np.ndarray, n: int) -> int:  # pragma: no cover - compiled
    """Uniform integer in [0, n)."""
    k = int(_random(state) * n)
    return k if k < n else n - 1


@numba.njit(cache=True, nogil=True)
def _bin_over(
    load: np.ndarray, cap: np.ndarray, w: np.ndarray, b: int
) -> float:  # pragma: no cover - compiled
    """Weighted overflow of bin ``b``."""
    s = 0.0
    for c in range(load.shape[1]):
        if load[b, c] > cap[b, c]:
            s += w[c] * (load[b, c] - cap[b, c])
    return s


@numba.njit(cache=True, nogil=True)
def _delta(
    load: np.ndarray, cap: np.ndarray, w: np.ndarray, d: np.ndarray, i: int, j: int, a: int, b: int
) -> float:  # pragma: no cover - compiled
    """Change of overflow when item ``i`` goes from ``a`` to ``b`` (and ``j`` from b to a)."""
    s = 0.0
    la, lb, ca, cb, di = load[a], load[b], cap[a], cap[b], d[i]
    if j >= 0:
        dj = d[j]
        for c in range(la.shape[0]):
            diff = di[c] - dj[c]
            s += w[c] * (
                max(la[c] - diff - ca[c], 0)
                - max(la[c] - ca[c], 0)
                + max(lb[c] + diff - cb[c], 0)
                - max(lb[c] - cb[c], 0)
            )
    else:
        for c in range(la.shape[0]):
            s += w[c] * (
                max(la[c] - di[c] - ca[c], 0)
                - max(la[c] - ca[c], 0)
                + max(lb[c] + di[c] - cb[c], 0)
                - max(lb[c] - cb[c], 0)
            )
    return s


@numba.njit(cache=True, nogil=True)
def _apply(
    i: int,
    j: int,
    a: int,
    b: int,
    d: np.ndarray,
    load: np.ndarray,
    assign: np.ndarray,
    members: np.ndarray,
    count: np.ndarray,
    pos: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Move item ``i`` from bin ``a`` to ``b`` (and ``j``, if ≥ 0, from ``b`` to ``a``)."""
    for c in range(d.shape[1]):
        diff = d[i, c] - (d[j, c] if j >= 0 else 0)
        load[a, c] -= diff
        load[b, c] += diff
    if j >= 0:
        pi = pos[i]
        members[a, pi] = j
        members[b, pos[j]] = i
        pos[i] = pos[j]
        pos[j] = pi
        assign[i] = b
        assign[j] = a
    else:
        _relocate(i, b, assign, members, count, pos)


@numba.njit(cache=True, nogil=True)
def _relocate(
    i: int, b: int, assign: np.ndarray, members: np.ndarray, count: np.ndarray, pos: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Move item ``i`` to bin ``b`` in the membership lists."""
    a = assign[i]
    last = members[a, count[a] - 1]
    members[a, pos[i]] = last
    pos[last] = pos[i]
    members[a, count[a] - 1] = -1
    count[a] -= 1
    members[b, count[b]] = i
    pos[i] = count[b]
    count[b] += 1
    assign[i] = b


@numba.njit(cache=True, nogil=True)
def _pick_first(
    state: np.ndarray,
    bad: np.ndarray,
    n_bad: int,
    members: np.ndarray,
    count: np.ndarray,
    n: int,
    p_focus: float,
) -> int:  # pragma: no cover - compiled
    """An item: from a random overflowing bin with probability ``p_focus``, else any."""
    if n_bad > 0 and _random(state) < p_focus:
        a = bad[_below(state, n_bad)]
        if count[a] > 0:
            return int(members[a, _below(state, count[a])])
    return _below(state, n)


@numba.njit(cache=True, nogil=True)
def _partner(
    state: np.ndarray,
    i: int,
    n: int,
    order: np.ndarray,
    rank: np.ndarray,
    p_near: float,
    window: int,
) -> int:  # pragma: no cover - compiled
    """A swap partner for ``i``: one of similar size with probability ``p_near``, else any."""
    if _random(state) < p_near:
        k = rank[i] - window + _below(state, 2 * window + 1)
        if 0 <= k < n:
            return int(order[k])
    return _below(state, n)


@numba.njit(cache=True, nogil=True)
def _set_over(
    b: int, value: float, over: np.ndarray, bad: np.ndarray, bad_pos: np.ndarray, n_bad: int
) -> int:  # pragma: no cover - compiled
    """Record bin ``b``'s overflow, keeping the list of overflowing bins; the new list length."""
    was = over[b] > 0.0
    over[b] = value
    now = value > 0.0
    if now and not was:
        bad[n_bad] = b
        bad_pos[b] = n_bad
        n_bad += 1
    elif was and not now:
        k = bad_pos[b]
        last = bad[n_bad - 1]
        bad[k] = last
        bad_pos[last] = k
        bad_pos[b] = -1
        n_bad -= 1
    return n_bad


@numba.njit(cache=True, nogil=True)
def _anneal(
    d: np.ndarray,
    cap: np.ndarray,
    w: np.ndarray,
    ok: np.ndarray,
    kind: np.ndarray,
    assign: np.ndarray,
    load: np.ndarray,
    members: np.ndarray,
    count: np.ndarray,
    pos: np.ndarray,
    state: np.ndarray,
    order: np.ndarray,
    rank: np.ndarray,
    first: int,
    stop: int,
    total: int,
    t_hot: float,
    t_cold: float,
    p_swap: float,
    p_focus: float,
    p_near: float,
    window: int,
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """Run moves ``first`` to ``stop`` of a ``total``-move schedule.

    Returns the moves run, the moves kept and the number of bins that overflow.
    """
    n = d.shape[0]
    nb = load.shape[0]
    over = np.zeros(nb)
    bad = np.zeros(nb, dtype=np.int64)
    bad_pos = np.full(nb, -1, dtype=np.int64)
    n_bad = 0
    for b in range(nb):
        n_bad = _set_over(b, _bin_over(load, cap, w, b), over, bad, bad_pos, n_bad)
    log_ratio = np.log(t_cold / t_hot)
    temp = -1.0
    k = first
    kept = 0
    while k < stop and n_bad > 0:
        k += 1
        i = _pick_first(state, bad, n_bad, members, count, n, p_focus)
        a = assign[i]
        j = -1
        if _random(state) < p_swap:
            j = _partner(state, i, n, order, rank, p_near, window)
            b = assign[j]
        else:
            b = _below(state, nb)
        if b == a or not ok[i, kind[b]] or (j >= 0 and not ok[j, kind[a]]):
            continue
        if j < 0 and count[b] >= members.shape[1]:
            continue
        delta = _delta(load, cap, w, d, i, j, a, b)
        if delta > 0.0:
            if (k & 1023) == 1 or temp < 0.0:
                temp = t_hot * np.exp(log_ratio * k / total)
            # exp(-30) is below the generator's resolution: no draw needed.
            if delta > 30.0 * temp or _random(state) >= np.exp(-delta / temp):
                continue
        _apply(i, j, a, b, d, load, assign, members, count, pos)
        kept += 1
        n_bad = _set_over(a, _bin_over(load, cap, w, a), over, bad, bad_pos, n_bad)
        n_bad = _set_over(b, _bin_over(load, cap, w, b), over, bad, bad_pos, n_bad)
    return k - first, kept, n_bad
