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

It runs on instances without per-bin rules other than bin type and zone (no anti-affinity,
labels, pinned items, migration budget, HA spares or item costs); elsewhere it returns the
start unchanged. Every iteration is charged to the work clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capplan.optimize.clock import UNIT_PER_STEP, UNIT_PER_STEP_CELL, Clock, wall_clock
from capplan.optimize.heuristics import normaliser
from capplan.optimize.instance import FloatArray, Instance, IntArray, Solution

#: Most (item × partner × column) cells evaluated for swaps in one iteration.
MAX_SWAP_CELLS = 600_000
#: Weight added to an overflowed column at a local minimum.
WEIGHT_STEP = 0.1


@dataclass
class OverflowStats:
    """Counters of a search: bins tried, bins saved, iterations run."""

    tried: int = 0
    saved: int = 0
    steps: int = 0


def applicable(inst: Instance) -> bool:
    """True when the instance has no rule the search does not check."""
    return (
        not inst.anti_affinity
        and not inst.affinity
        and not bool((inst.label_limit >= 0).any() and (inst.label >= 0).any())
        and not bool((inst.pinned >= 0).any())
        and inst.migration_budget is None
        and inst.ha_spares == 0
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
    dn = inst.flat_demand / normaliser(inst)
    rules = not bool(inst.allowed.all()) or inst.n_zones > 1
    while cost > lower_bound and not clock.past(deadline):
        keep = _drop_target(inst, sol, dn)
        if keep is None:
            break
        stats.tried += 1
        assign, btype = _drop(inst, sol, keep, dn, rules)
        found, steps = _repair(inst, assign, btype, dn, rules, rng, deadline, clock)
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
    inst: Instance, sol: Solution, keep: IntArray, dn: FloatArray, rules: bool
) -> tuple[IntArray, IntArray]:
    """Assignment onto the kept bins, the dropped bin's items where they overflow least."""
    nb = sol.n_bins
    new_index = np.full(nb, -1, dtype=np.int64)
    new_index[keep] = np.arange(len(keep))
    assign = new_index[sol.assign]
    btype = sol.bin_type[keep].copy()
    capn = inst.flat_capacity[btype] / normaliser(inst)
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
        if rules:
            score = np.where(_allowed_bins(inst, np.array([i]), btype, bzone)[0], score, np.inf)
        b = int(np.argmin(score))
        assign[i] = b
        load[b] += dn[i]
    return assign, btype


def _repair(
    inst: Instance,
    assign: IntArray,
    btype: IntArray,
    dn: FloatArray,
    rules: bool,
    rng: np.random.Generator,
    deadline: float,
    clock: Clock,
) -> tuple[IntArray | None, int]:
    """Tabu search on moves and swaps until no bin overflows; the assignment or None."""
    d = inst.flat_demand
    n, n_cols = d.shape
    nb = len(btype)
    cap = inst.flat_capacity[btype]
    capn = cap / normaliser(inst)
    load = np.zeros((nb, n_cols))
    np.add.at(load, assign, dn)
    iload = np.zeros((nb, n_cols), dtype=np.int64)
    np.add.at(iload, assign, d)
    bzone = np.full(nb, -1, dtype=np.int64)
    bzone[assign] = inst.zone
    ok_bins = _allowed_bins(inst, np.arange(n), btype, bzone) if rules else None
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
