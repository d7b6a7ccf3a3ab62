"""Bin elimination by ejection chains: close a bin and re-home its items, evicting others.

To save a bin, its items go to a *pool* and the bin is closed. Then, repeatedly, the largest
pooled item is placed: on an open bin where it fits if there is one; otherwise on the bin where
evicting one item (or two items of the same bin) makes room at the least *penalty*, and the
evicted items join the pool. Each eviction raises the evicted item's penalty, so items that
keep bouncing become expensive to evict and the search moves elsewhere; the item just placed
may not be evicted straight back. When the pool empties the bin is saved; when the step budget
runs out the packing is restored. This is the partial-solution search with item weights of
Buljubašić & Vasquez ("Consistent neighborhood search for one-dimensional bin packing and
two-dimensional vector packing", Computers & Operations Research 76, 2016), reduced to
evictions of one or two items, with every rule of the instance checked on each move.

All tests of a step are vectorised over the open bins or the placed items; the Python loop runs
over steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capplan.optimize.clock import UNIT_PER_STEP, UNIT_PER_STEP_CELL, Clock, wall_clock
from capplan.optimize.failover import reserve_shortfall
from capplan.optimize.heuristics import Packer, normaliser
from capplan.optimize.instance import BoolArray, Instance, Solution
from capplan.optimize.rules import migration
from capplan.optimize.subproblem import SubProblem

#: Free capacity given to a closed bin: nothing fits on it.
_CLOSED = -(2**40)
#: Largest pool handed to the CP-SAT repair, and its time limit.
_REPAIR_POOL = 4
#: Eviction cost = penalty × (normalised size) ** this exponent.
_SIZE_EXP = 0.0
_REPAIR_TIME_S = 0.25


@dataclass
class EjectStats:
    """Counters of a search: bins tried, bins saved, steps run."""

    tried: int = 0
    saved: int = 0
    steps: int = 0


def search(
    inst: Instance,
    start: Solution,
    *,
    deadline: float,
    lower_bound: int = 0,
    seed: int = 0,
    max_steps: int | None = None,
    on_improve: Callable[[Solution, int], None] | None = None,
    clock: Clock | None = None,
) -> tuple[Solution, EjectStats]:
    """Close bins of ``start`` one after another until the deadline or the bound.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    start
        A valid packing.
    deadline
        Reading of ``clock`` to stop at (default clock: the wall clock, so a
        ``time.perf_counter()`` value). Every step is charged to the clock.
    lower_bound
        Stop when the objective reaches it.
    max_steps
        Step budget of one elimination attempt (default: scales with the instance).
    on_improve
        Called with each cheaper packing and its objective.
    """
    clock = clock or wall_clock()
    rng = np.random.default_rng(seed)
    stats = EjectStats()
    cost = start.objective(inst)
    pk = Packer.from_solution(inst, start)
    dead = np.zeros(pk.nb, dtype=np.bool_)
    sol = start
    avg_items = inst.n_items / max(start.n_bins, 1)
    budget = max_steps or int(min(3000, 200 + 60 * avg_items))
    failed: dict[int, int] = {}
    penalty = np.ones(inst.n_items)
    n_cols = inst.flat_demand.shape[1]
    while not clock.past(deadline) and cost > lower_bound and (~dead).sum() > 1:
        target = _pick_target(inst, pk, rng, failed, dead)
        if target < 0:
            break
        stats.tried += 1
        ok, steps = _eliminate(inst, pk, target, penalty, rng, deadline, budget, dead, clock)
        stats.steps += steps
        # An attempt costs its steps plus picking, checking and undoing (about 20 steps).
        clock.charge((UNIT_PER_STEP + UNIT_PER_STEP_CELL * pk.nb * n_cols) * (steps + 20))
        if not ok:
            failed[target] = failed.get(target, 0) + 1
            continue
        dead[target] = True
        new = _without(pk, dead)
        reject = inst.ha_spares > 0 and bool(reserve_shortfall(inst, new))
        if not reject and inst.migration_budget is not None:
            reject = migration.moves(inst, new) > inst.migration_budget
        new_cost = new.objective(inst)
        if reject or new_cost >= cost:
            # Undo: rebuild from the last accepted packing.
            dead[target] = False
            pk = Packer.from_solution(inst, sol)
            clock.charge(UNIT_PER_STEP_CELL * inst.n_items * n_cols)
            dead = np.zeros(pk.nb, dtype=np.bool_)
            failed[target] = failed.get(target, 0) + 1
            continue
        sol, cost = new, new_cost
        stats.saved += 1
        failed = {}
        if on_improve is not None:
            on_improve(sol, cost)
    return sol, stats


def _pick_target(
    inst: Instance, pk: Packer, rng: np.random.Generator, failed: dict[int, int], dead: BoolArray
) -> int:
    """A light bin not tried too often (cost saved per unit of load, most first)."""
    nb = pk.nb
    norm = 1.0 / normaliser(inst)
    caps = inst.flat_capacity[pk.btype[:nb]] * norm
    load = caps - pk.resid[:nb] * norm
    fill = load.sum(axis=1) / np.maximum(caps.sum(axis=1), 1e-9)
    counts = np.bincount(pk.assign, minlength=nb)
    saving = inst.cost[pk.btype[:nb]].astype(np.float64) + 1e-9
    score = fill / saving * saving.max()
    pinned_bins = np.zeros(nb, dtype=np.bool_)
    pinned_bins[pk.assign[inst.pinned >= 0]] = True
    blocked = pinned_bins | ((counts == 0) & (inst.ha_spares > 0)) | dead
    tries = np.array([failed.get(b, 0) for b in range(nb)], dtype=np.float64)
    score = score + 0.15 * tries + rng.uniform(0, 0.02, nb)
    score[blocked] = np.inf
    if not np.isfinite(score).any():
        return -1
    return int(np.argmin(score))


def _eliminate(
    inst: Instance,
    pk: Packer,
    target: int,
    penalty: np.ndarray,
    rng: np.random.Generator,
    deadline: float,
    budget: int,
    dead: BoolArray,
    clock: Clock,
) -> tuple[bool, int]:
    """Try to empty ``target``; on failure the packer is restored. Returns (saved, steps).

    On success the target stays closed (its free capacity negative, so nothing fits).
    """
    saved_assign = pk.assign.copy()
    pool = np.flatnonzero(pk.assign == target).tolist()
    for i in pool:
        pk.remove(i)
    closed_resid = pk.resid[target].copy()
    pk.resid[target] = _CLOSED
    d = pk.d
    norm = 1.0 / normaliser(inst)
    size = (np.maximum(d, 0) * norm).sum(axis=1)
    movable = inst.pinned < 0
    last_placed = -1
    steps = 0
    # Steps are charged by the caller; until then count them here (work clock only).
    step_work = (
        UNIT_PER_STEP + UNIT_PER_STEP_CELL * pk.nb * d.shape[1] if clock.deterministic else 0.0
    )
    while pool and steps < budget:
        steps += 1
        if steps % 64 == 0 and (clock.now() + step_work * steps >= deadline or clock.wall_out()):
            break
        k = int(np.argmax(size[pool] * (1.0 + 0.1 * penalty[pool])))
        i = pool.pop(k)
        ok = pk.candidates(i)
        hit = np.flatnonzero(ok)
        if len(hit):
            slack = (pk.resid[hit] - d[i]) @ norm
            pk.place(i, int(hit[np.argmin(slack)]))
            last_placed = i
            continue
        evicted = _best_eviction(
            inst, pk, i, dead, target, penalty, movable, last_placed, rng, size
        )
        if evicted is None:
            pool.append(i)
            break
        b, out = evicted
        for j in out:
            pk.remove(j)
            penalty[j] += 1.0
            pool.append(j)
        pk.place(i, b)
        last_placed = i
    if (
        pool
        and len(pool) <= _REPAIR_POOL
        and not clock.past(deadline)
        and _repair(inst, pk, pool, target, dead, rng, deadline, clock)
    ):
        pool = []
    if not pool:
        return True, steps
    # Restore the items that moved (the pool is off every bin already).
    changed = np.flatnonzero(pk.assign != saved_assign)
    for i in changed.tolist():
        if pk.assign[i] >= 0:
            pk.remove(i)
    pk.resid[target] = closed_resid
    for i in changed.tolist():
        pk.place(i, int(saved_assign[i]))
    return False, steps


def _repair(
    inst: Instance,
    pk: Packer,
    pool: list[int],
    target: int,
    dead: BoolArray,
    rng: np.random.Generator,
    deadline: float,
    clock: Clock,
) -> bool:
    """Place the few pooled items with CP-SAT, re-packing them with the items of a few bins.

    The bins are those with the most free room where the pooled items are large, plus some at
    random. On success the packer holds the new packing.
    """
    from capplan.optimize import cpsat

    nb = pk.nb
    norm = 1.0 / normaliser(inst)
    want = (pk.d[pool] * norm).sum(axis=0)
    free = np.maximum(pk.resid[:nb], 0) * norm
    score = free @ want + rng.uniform(0, 1e-6, nb)
    usable = ~dead[:nb]
    usable[target] = False
    if inst.n_zones > 1:
        z = inst.zone[pool[0]]
        usable &= (pk.bzone[:nb] == z) | (pk.bzone[:nb] == -1)
    counts = np.bincount(pk.assign[pk.assign >= 0], minlength=nb)
    pinned_bins = np.zeros(nb, dtype=np.bool_)
    pinned_bins[pk.assign[(inst.pinned >= 0) & (pk.assign >= 0)]] = True
    usable &= ~pinned_bins
    idx = np.flatnonzero(usable)
    if not len(idx):
        return False
    per_bin = max(counts[idx].mean(), 1.0)
    k = int(np.clip(round(24 / per_bin), 3, 8))
    order = idx[np.argsort(-score[idx], kind="stable")]
    top = order[: max(k - 2, 1)]
    rest = np.setdiff1d(idx, top)
    extra = (
        rng.choice(rest, size=min(len(rest), k - len(top)), replace=False)
        if len(rest)
        else np.zeros(0, dtype=np.int64)
    )
    bins = np.concatenate([top, extra]).astype(np.int64)
    on_bins = np.flatnonzero(np.isin(pk.assign, bins))
    items = np.concatenate([np.asarray(pool, dtype=np.int64), on_bins])
    size = (np.maximum(pk.d[items], 0) * norm).sum(axis=1)
    items = items[np.argsort(-size, kind="stable")]
    sub = SubProblem(items, pk.btype[bins].copy(), pk.bexist[bins].copy())
    left = clock.left(deadline)
    res = cpsat.solve(
        inst,
        sub,
        time_limit_s=min(_REPAIR_TIME_S, max(left, 0.01)),
        workers=1,
        seed=int(rng.integers(1 << 30)),
        clock=clock,
    )
    if res.assign is None:
        return False
    for i in on_bins.tolist():
        pk.remove(i)
    for p, i in enumerate(items.tolist()):
        pk.place(i, int(bins[res.assign[p]]))
    return True


def _best_eviction(
    inst: Instance,
    pk: Packer,
    i: int,
    dead: BoolArray,
    target: int,
    penalty: np.ndarray,
    movable: BoolArray,
    last_placed: int,
    rng: np.random.Generator,
    size: np.ndarray,
) -> tuple[int, list[int]] | None:
    """Cheapest eviction (one item, else two of one bin) that lets ``i`` in; None if none."""
    d = pk.d
    rule_ok = pk.rule_mask(i)
    rule_ok[target] = False
    rule_ok[dead[: pk.nb]] = False
    placed = np.flatnonzero((pk.assign >= 0) & movable)
    if last_placed >= 0:
        placed = placed[placed != last_placed]
    if not len(placed):
        return None
    bins = pk.assign[placed]
    mates = _mate_mask(inst, pk, i)
    # One item: bin(j) must hold no other anti-affinity mate of i.
    fit1 = rule_ok[bins] & np.all(pk.resid[bins] + d[placed] >= d[i], axis=1)
    mate_count = np.bincount(pk.assign[mates], minlength=pk.nb) if mates is not None else None
    if mate_count is not None:
        own = mates[placed] if mates is not None else np.zeros(len(placed), dtype=np.bool_)
        fit1 &= (mate_count[bins] - own.astype(np.int64)) == 0
    cand = np.flatnonzero(fit1)
    if len(cand):
        js = placed[cand]
        cost = penalty[js] * size[js] ** _SIZE_EXP + rng.uniform(0, 1e-3, len(cand))
        j = int(placed[cand[np.argmin(cost)]])
        return int(pk.assign[j]), [j]
    # Two items of one bin.
    best: tuple[float, int, list[int]] | None = None
    order = np.argsort(bins, kind="stable")
    sb = bins[order]
    starts = np.flatnonzero(np.r_[True, sb[1:] != sb[:-1]])
    ends = np.r_[starts[1:], len(sb)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if e - s < 2:
            continue
        b = int(sb[s])
        if not rule_ok[b]:
            continue
        members = placed[order[s:e]]
        need = d[i] - pk.resid[b]
        pair_sum = d[members][:, None, :] + d[members][None, :, :]
        fits = np.all(pair_sum >= need, axis=2)
        fits = np.triu(fits, 1)
        if mate_count is not None and mates is not None and mate_count[b]:
            m = mates[members].astype(np.int64)
            fits &= (m[:, None] + m[None, :]) >= mate_count[b]
        if not fits.any():
            continue
        w = penalty[members] * size[members] ** _SIZE_EXP
        pc = w[:, None] + w[None, :]
        pc = np.where(fits, pc, np.inf)
        flat = int(np.argmin(pc))
        value = float(pc.flat[flat]) + float(rng.uniform(0, 1e-3))
        if best is None or value < best[0]:
            r, c = divmod(flat, len(members))
            best = (value, b, [int(members[r]), int(members[c])])
    if best is None:
        return None
    return best[1], best[2]


def _mate_mask(inst: Instance, pk: Packer, i: int) -> BoolArray | None:
    """bool ``(n_items,)``: placed anti-affinity mates of ``i`` (None when it has none)."""
    groups = inst.anti_groups_of[i]
    if not groups:
        return None
    mask = np.zeros(inst.n_items, dtype=np.bool_)
    for g in groups:
        mask[inst.anti_affinity[g]] = True
    mask[i] = False
    mask &= pk.assign >= 0
    return mask


def _without(pk: Packer, dead: BoolArray) -> Solution:
    """The packer's packing without the closed (empty) bins."""
    sol = pk.solution()
    return sol.without_bins(dead[: sol.n_bins])
