"""Bin elimination by overflow repair: close a bin, then move and swap items until all fit.

To save a bin, it is closed and its items are put where they overflow least; the packing is
then infeasible, and a tabu search over *moves* (one item to another bin) and *swaps* (two
items of different bins trade places) drives the weighted overflow (demand above capacity,
summed over bins and columns) to zero. Columns that stay overflowed at a local minimum get a
larger weight (guided local search), so the search turns to them. Swaps matter when two
resources are nearly full at once (e.g. memory in a few standard VM sizes and CPU per time
bucket): trading two items of one memory size keeps memory as it is and rebalances CPU,
which no eviction chain that needs free room can do. This is the fixed-count, penalised
infeasible-space search of vector bin packing local search (e.g. Buljubašić & Vasquez,
Computers & Operations Research 76, 2016; Masson et al., "An efficient local search for the
vector bin packing problem", EJOR 2013), reduced to moves and swaps.

Repeated columns (a resource constant over the buckets) are checked once. When one column
is constant over the buckets and takes a few distinct sizes (memory in standard VM sizes), it
is kept feasible throughout: the closed bin's items are re-packed by a small program over the
counts of each size per bin, and the repair only trades items in ways that keep it within
capacity (measured on PlanetLab 20110420: 83 hosts after 6-8 work units of this search
instead of 12; the 30 s results of the PlanetLab days did not change).

It runs on instances without per-bin rules other than bin type and zone (no anti-affinity,
labels, pinned items, migration budget, HA spares or item costs); elsewhere it returns the
start unchanged. Every iteration is charged to the work clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from capplan.optimize import rules
from capplan.optimize.clock import (
    UNIT_PER_STEP,
    UNIT_PER_STEP_CELL,
    Clock,
    charge_cpsat,
    set_cpsat_limits,
    wall_clock,
)
from capplan.optimize.heuristics import normaliser
from capplan.optimize.instance import FloatArray, Instance, IntArray, Solution

#: Most (item × partner × column) cells evaluated for swaps in one iteration.
MAX_SWAP_CELLS = 600_000
#: Weight added to an overflowed column at a local minimum.
WEIGHT_STEP = 0.1
#: Most distinct item sizes of a column the repair keeps feasible throughout.
MAX_HARD_SIZES = 10
#: Work units given to the program that re-packs the hard column by counts per bin.
COUNTS_WORK = 1.0


@dataclass
class OverflowStats:
    """Counters of a search: bins tried, bins saved, iterations run."""

    tried: int = 0
    saved: int = 0
    steps: int = 0


#: The rules the overflow search checks itself (bin types and zones); it runs only on
#: instances no other rule constrains.
CHECKED_RULES = frozenset({"capacity", "bin_types", "zones"})


def applicable(inst: Instance) -> bool:
    """True when the instance has no rule the search does not check."""
    return (
        set(rules.active(inst)) <= CHECKED_RULES
        and inst.item_cost is None
        and bool((inst.cost > 0).all())
    )


def search(
    inst: Instance,
    start: Solution,
    *,
    deadline: float,
    lower_bound: int = 0,
    seed: int = 0,
    on_improve: Callable[[Solution, int], None] | None = None,
    clock: Clock | None = None,
) -> tuple[Solution, OverflowStats]:
    """Close bins of ``start`` one after another until the deadline or the bound.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    start
        A valid packing.
    deadline
        Reading of ``clock`` to stop at.
    lower_bound
        Stop when the objective reaches it.
    on_improve
        Called with each cheaper packing and its objective.
    """
    clock = clock or wall_clock()
    stats = OverflowStats()
    sol = start.compact()
    cost = sol.objective(inst)
    if not applicable(inst) or sol.n_bins < 2 or not inst.n_items:
        return sol, stats
    rng = np.random.default_rng(seed)
    cols = _columns(inst)
    typed = not bool(inst.allowed.all()) or inst.n_zones > 1  # bin types or zones bind
    while cost > lower_bound and not clock.past(deadline):
        keep = _drop_target(inst, sol, cols.dn)
        if keep is None:
            break
        stats.tried += 1
        hard = -1
        shaped = None if typed or cols.hard < 0 else _drop_by_counts(cols, sol, keep, clock)
        if shaped is not None:
            assign, btype = shaped
            hard = cols.hard
        else:
            assign, btype = _drop(inst, cols, sol, keep, typed)
        found, steps = _repair(inst, cols, assign, btype, typed, rng, deadline, clock, hard)
        stats.steps += steps
        if found is None:
            break
        new = Solution(found, btype, sol.bin_existing[keep].copy())
        new_cost = new.objective(inst)
        if new_cost >= cost:
            break
        sol, cost = new, new_cost
        stats.saved += 1
        if on_improve is not None:
            on_improve(sol, cost)
    return sol, stats


@dataclass(frozen=True)
class _Columns:
    """The distinct columns of an instance (demand and capacity), raw and normalised.

    A column repeated (memory that does not vary over the buckets) is checked once: the
    search costs less and a constant resource does not weigh ``n_buckets`` times.
    """

    d: IntArray
    cap: IntArray
    dn: FloatArray
    norm: FloatArray
    hard: int = -1


def _columns(inst: Instance) -> _Columns:
    stacked = np.vstack([inst.flat_demand, inst.flat_capacity])
    _, first = np.unique(stacked.T, axis=0, return_index=True)
    keep = np.sort(first)
    d = np.ascontiguousarray(inst.flat_demand[:, keep])
    cap = np.ascontiguousarray(inst.flat_capacity[:, keep])
    norm = normaliser(inst)[keep]
    return _Columns(d, cap, d / norm, norm, _hard_column(inst, d, cap))


def _hard_column(inst: Instance, d: IntArray, cap: IntArray) -> int:
    """The column kept feasible throughout a repair, or -1 for none.

    It is the fullest column (summed demand over the largest capacity) among those that do
    not vary over the buckets and take at most :data:`MAX_HARD_SIZES` distinct sizes, all
    positive (memory in a few standard VM sizes). Such a column can be re-packed exactly by
    the counts of each size per bin (:func:`_drop_by_counts`); the repair then trades items
    so that the other columns fit, without ever breaking this one.
    """
    if inst.n_buckets < 2 or not len(d):
        return -1
    constant = (inst.demand == inst.demand[:, :, :1]).all(axis=(0, 2))
    best, best_fill = -1, 0.0
    for c in range(d.shape[1]):
        col = d[:, c]
        if (col <= 0).any() or len(np.unique(col)) > MAX_HARD_SIZES:
            continue
        dims = [
            k
            for k in range(inst.n_dims)
            if constant[k] and np.array_equal(inst.demand[:, k, 0], col)
        ]
        if not dims:
            continue
        fill = float(col.sum()) / max(float(cap[:, c].max()), 1.0)
        if fill > best_fill:
            best, best_fill = c, fill
    return best


def _drop_target(inst: Instance, sol: Solution, dn: FloatArray) -> IntArray | None:
    """Indices of the bins kept: all but the lightest per unit of cost (None: none may go)."""
    nb = sol.n_bins
    load = np.zeros(nb)
    np.add.at(load, sol.assign, dn.sum(axis=1))
    zone_of = np.full(nb, -1, dtype=np.int64)
    zone_of[sol.assign] = inst.zone
    # A bin may go only when its zone keeps another bin.
    per_zone = np.bincount(zone_of[zone_of >= 0], minlength=inst.n_zones)
    ok = (zone_of >= 0) & (per_zone[np.maximum(zone_of, 0)] > 1)
    if not ok.any():
        return None
    score = np.where(ok, load / inst.cost[sol.bin_type], np.inf)
    target = int(np.argmin(score))
    return np.flatnonzero(np.arange(nb) != target)


def _allowed_bins(inst: Instance, items: IntArray, btype: IntArray, bzone: IntArray) -> np.ndarray:
    """bool ``(len(items), n_bins)``: the bins each item may use (type and zone)."""
    ok: np.ndarray = inst.allowed[items][:, btype]
    ok &= inst.zone[items][:, None] == bzone[None, :]
    return ok


def _bin_zone(inst: Instance, assign: IntArray, nb: int) -> IntArray:
    zone = np.full(nb, -1, dtype=np.int64)
    zone[assign] = inst.zone
    return zone


def _drop(
    inst: Instance, cols: _Columns, sol: Solution, keep: IntArray, typed: bool
) -> tuple[IntArray, IntArray]:
    """Assignment onto the kept bins, the dropped bin's items where they overflow least."""
    nb = sol.n_bins
    new_index = np.full(nb, -1, dtype=np.int64)
    new_index[keep] = np.arange(len(keep))
    assign = new_index[sol.assign]
    btype = sol.bin_type[keep].copy()
    dn = cols.dn
    capn = cols.cap[btype] / cols.norm
    loose = np.flatnonzero(assign < 0)
    placed = assign >= 0
    load = np.zeros((len(keep), dn.shape[1]))
    np.add.at(load, assign[placed], dn[placed])
    bzone = _bin_zone(inst, sol.assign, nb)[keep]
    loose = loose[np.argsort(-dn[loose].sum(axis=1), kind="stable")]
    for i in loose.tolist():
        before = np.maximum(load - capn, 0).sum(axis=1)
        after = np.maximum(load + dn[i] - capn, 0).sum(axis=1)
        score = after - before + 1e-6 * (load.sum(axis=1) / np.maximum(capn.sum(axis=1), 1e-9))
        if typed:
            score = np.where(_allowed_bins(inst, np.array([i]), btype, bzone)[0], score, np.inf)
        b = int(np.argmin(score))
        assign[i] = b
        load[b] += dn[i]
    return assign, btype


def _drop_by_counts(
    cols: _Columns, sol: Solution, keep: IntArray, clock: Clock
) -> tuple[IntArray, IntArray] | None:
    """Assignment onto the kept bins in which the hard column fits everywhere, or None.

    A small CP-SAT program chooses how many items of each size of the hard column every kept
    bin holds, changing as few as possible; the items a bin must give up (largest first by
    the other columns) then go, size by size, to the bins with a free slot of their size
    where they overflow the other columns least.
    """
    h = cols.hard
    sizes, cls = np.unique(cols.d[:, h], return_inverse=True)
    n_cls, nk = len(sizes), len(keep)
    new_index = np.full(sol.n_bins, -1, dtype=np.int64)
    new_index[keep] = np.arange(nk)
    assign = new_index[sol.assign]
    btype = sol.bin_type[keep].copy()
    room = cols.cap[btype, h]
    placed = assign >= 0
    current = np.zeros((nk, n_cls), dtype=np.int64)
    np.add.at(current, (assign[placed], cls[placed]), 1)
    total = np.bincount(cls, minlength=n_cls)
    model = cp_model.CpModel()
    want = [
        [model.new_int_var(0, int(min(total[k], room[r] // sizes[k])), "") for k in range(n_cls)]
        for r in range(nk)
    ]
    change = []
    for r in range(nk):
        model.add(sum(int(sizes[k]) * want[r][k] for k in range(n_cls)) <= int(room[r]))
        for k in range(n_cls):
            lost = model.new_int_var(0, int(current[r, k]), "")
            model.add(lost >= int(current[r, k]) - want[r][k])
            change.append(lost)
    for k in range(n_cls):
        model.add(sum(want[r][k] for r in range(nk)) == int(total[k]))
    model.minimize(sum(change))
    solver = cp_model.CpSolver()
    set_cpsat_limits(solver.parameters, clock, COUNTS_WORK, 1)
    status = solver.solve(model)
    charge_cpsat(clock, solver.deterministic_time)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    slots = np.array([[solver.value(v) for v in row] for row in want], dtype=np.int64)
    soft = np.ones(cols.d.shape[1], dtype=np.bool_)
    soft[h] = False
    dn = cols.dn[:, soft]
    capn = cols.cap[btype][:, soft] / cols.norm[soft]
    weight = dn.max(axis=1)
    for r in range(nk):
        for k in range(n_cls):
            mine = np.flatnonzero((assign == r) & (cls == k))
            extra = len(mine) - int(slots[r, k])
            if extra > 0:
                order = np.argsort(-weight[mine], kind="stable")
                assign[mine[order[:extra]]] = -1
    placed = assign >= 0
    load = np.zeros((nk, dn.shape[1]))
    np.add.at(load, assign[placed], dn[placed])
    count = np.zeros((nk, n_cls), dtype=np.int64)
    np.add.at(count, (assign[placed], cls[placed]), 1)
    loose = np.flatnonzero(~placed)
    for i in loose[np.argsort(-weight[loose], kind="stable")].tolist():
        k = int(cls[i])
        before = np.maximum(load - capn, 0).sum(axis=1)
        after = np.maximum(load + dn[i] - capn, 0).sum(axis=1)
        score = after - before + 1e-6 * load.max(axis=1, initial=0.0)
        score = np.where(count[:, k] < slots[:, k], score, np.inf)
        b = int(np.argmin(score))
        assign[i] = b
        load[b] += dn[i]
        count[b, k] += 1
    return assign, btype


def _repair(
    inst: Instance,
    cols: _Columns,
    assign: IntArray,
    btype: IntArray,
    typed: bool,
    rng: np.random.Generator,
    deadline: float,
    clock: Clock,
    hard: int = -1,
) -> tuple[IntArray | None, int]:
    """Tabu search on moves and swaps until no bin overflows; the assignment or None.

    With ``hard`` ≥ 0 (a column that fits in every bin at the start) no move or swap may
    overflow that column.
    """
    d, dn = cols.d, cols.dn
    n, n_cols = d.shape
    nb = len(btype)
    cap = cols.cap[btype]
    capn = cap / cols.norm
    load = np.zeros((nb, n_cols))
    np.add.at(load, assign, dn)
    iload = np.zeros((nb, n_cols), dtype=np.int64)
    np.add.at(iload, assign, d)
    bzone = np.full(nb, -1, dtype=np.int64)
    bzone[assign] = inst.zone
    ok_bins = _allowed_bins(inst, np.arange(n), btype, bzone) if typed else None
    weight = np.ones(n_cols)
    tabu_bin = np.full(n, -1, dtype=np.int64)
    tabu_until = np.zeros(n, dtype=np.int64)
    steps = 0

    def over(x: FloatArray, c: FloatArray) -> FloatArray:
        out: FloatArray = (np.maximum(x - c, 0.0) * weight).sum(axis=-1)
        return out

    while True:
        bad = np.flatnonzero((iload > cap).any(axis=1))
        if not len(bad):
            return assign, steps
        if clock.past(deadline):
            return None, steps
        steps += 1
        a = int(bad[rng.integers(len(bad))])
        items = np.flatnonzero(assign == a)
        ov = over(load, capn)
        la = load[a]
        # Moves: item of a to every other bin.
        new_a = over(la[None, :] - dn[items], capn[a])
        new_b = over(load[None, :, :] + dn[items][:, None, :], capn[None, :, :])
        dm = (new_a - ov[a])[:, None] + new_b - ov[None, :]
        dm[:, a] = np.inf
        back = (tabu_until[items] > steps)[:, None] & (
            tabu_bin[items][:, None] == np.arange(nb)[None, :]
        )
        dm[back] = np.inf
        if ok_bins is not None:
            dm[~ok_bins[items]] = np.inf
        if hard >= 0:
            dm[iload[None, :, hard] + d[items, hard][:, None] > cap[None, :, hard]] = np.inf
        # Swaps: item of a with an item of another bin (a sample when there are many).
        others = np.flatnonzero(assign != a)
        most = max(MAX_SWAP_CELLS // max(len(items) * n_cols, 1), 1)
        if len(others) > most:
            others = np.sort(rng.choice(others, size=most, replace=False))
        bo = assign[others]
        diff = dn[others][None, :, :] - dn[items][:, None, :]
        ds = (
            over(la[None, None, :] + diff, capn[a])
            - ov[a]
            + over(load[bo][None, :, :] - diff, capn[bo][None, :, :])
            - ov[bo][None, :]
        )
        tabu_i = (tabu_until[items] > steps)[:, None] & (tabu_bin[items][:, None] == bo[None, :])
        tabu_j = ((tabu_until[others] > steps) & (tabu_bin[others] == a))[None, :]
        ds[tabu_i | tabu_j] = np.inf
        if ok_bins is not None:
            ds[~(ok_bins[items][:, bo] & ok_bins[others, a][None, :])] = np.inf
        if hard >= 0:
            dh = d[others, hard][None, :] - d[items, hard][:, None]
            ds[
                (iload[a, hard] + dh > cap[a, hard])
                | (iload[bo, hard][None, :] - dh > cap[bo, hard][None, :])
            ] = np.inf
        ds += rng.uniform(0, 1e-9, ds.shape)
        clock.charge(
            UNIT_PER_STEP + UNIT_PER_STEP_CELL * (len(items) * (nb + len(others)) * n_cols)
        )
        km = int(np.argmin(dm)) if dm.size else -1
        ks = int(np.argmin(ds)) if ds.size else -1
        best_m = float(dm.flat[km]) if km >= 0 else np.inf
        best_s = float(ds.flat[ks]) if ks >= 0 else np.inf
        if not np.isfinite(min(best_m, best_s)):
            weight += (np.maximum(load - capn, 0) > 0).sum(axis=0) * WEIGHT_STEP
            continue
        tenure = 7 + int(rng.integers(5))
        if best_m <= best_s:
            r, b = divmod(km, nb)
            i = int(items[r])
            _move(i, a, b, assign, load, iload, dn, d)
            tabu_bin[i], tabu_until[i] = a, steps + tenure
            delta = best_m
        else:
            r, c = divmod(ks, len(others))
            i, j, b = int(items[r]), int(others[c]), int(bo[c])
            _move(i, a, b, assign, load, iload, dn, d)
            _move(j, b, a, assign, load, iload, dn, d)
            tabu_bin[i], tabu_until[i] = a, steps + tenure
            tabu_bin[j], tabu_until[j] = b, steps + tenure
            delta = best_s
        if delta >= -1e-12:
            weight += (np.maximum(load - capn, 0) > 0).sum(axis=0) * WEIGHT_STEP


def _move(
    i: int,
    a: int,
    b: int,
    assign: IntArray,
    load: FloatArray,
    iload: IntArray,
    dn: FloatArray,
    d: IntArray,
) -> None:
    assign[i] = b
    load[a] -= dn[i]
    load[b] += dn[i]
    iload[a] -= d[i]
    iload[b] += d[i]
