"""Large-neighbourhood search: free the items of a few bins and re-pack them with CP-SAT.

Each step picks a *target* bin (usually one of the emptiest) and a few neighbour bins of the
same zone (some with the most free room where the target's items are large, some at random),
frees all their items and re-solves that small problem with CP-SAT under a short time limit,
on the same bins plus one fresh bin of each type. The sub-problem minimises cost first and the
load left on the target second, so even a step that cannot save a bin moves items off the
target and makes the next attempt easier; when the target empties, a bin is saved. A step is
kept when the cost drops, or stays equal with the target lighter. The neighbourhood size adapts:
it grows while sub-problems solve to optimality quickly and shrinks when they time out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capplan.optimize import cpsat
from capplan.optimize.clock import UNIT_PER_STEP, UNIT_PER_STEP_CELL, Clock, wall_clock
from capplan.optimize.failover import bin_zones, reserve_shortfall
from capplan.optimize.heuristics import normaliser
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.optimize.rules import ha, migration
from capplan.optimize.subproblem import SubProblem


@dataclass
class LnsStats:
    """Counters of one search.

    Attributes
    ----------
    steps
        Sub-problems solved.
    improved
        Steps that lowered the cost.
    accepted
        Steps kept (cost lower, or equal with the target lighter).
    timeouts
        Sub-problems that hit their time limit without a proof.
    """

    steps: int = 0
    improved: int = 0
    accepted: int = 0
    timeouts: int = 0


def search(
    inst: Instance,
    start: Solution,
    *,
    deadline: float,
    lower_bound: int = 0,
    workers: int = 1,
    seed: int = 0,
    on_improve: Callable[[Solution, int], None] | None = None,
    sub_time_s: float = 0.6,
    n_bins: int = 5,
    clock: Clock | None = None,
) -> tuple[Solution, LnsStats]:
    """Improve ``start`` until ``deadline`` (a reading of ``clock``) or the bound.

    The clock defaults to the wall clock (``deadline`` a ``time.perf_counter()`` value); with a
    work clock every sub-problem's CP-SAT time and step is charged to it, and the search is
    deterministic.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    start
        A valid packing.
    lower_bound
        Stop when the objective reaches it.
    workers
        CP-SAT workers per sub-problem.
    on_improve
        Called with the new packing and its objective after every cost decrease.
    sub_time_s, n_bins
        Initial time limit and number of bins of a sub-problem (both adapt).
    """
    clock = clock or wall_clock()
    rng = np.random.default_rng(seed)
    stats = LnsStats()
    sol = start.compact() if inst.ha_spares == 0 else start
    cost = sol.objective(inst)
    norm = 1.0 / normaliser(inst)
    fresh_types = [t for t in range(inst.n_types) if inst.allowed[:, t].any()]
    k = max(2, n_bins)
    k_max = 40
    tabu: dict[int, int] = {}
    while clock.left(deadline) > 0.05 and cost > lower_bound and sol.n_bins > 1:
        stats.steps += 1
        clock.charge(UNIT_PER_STEP + UNIT_PER_STEP_CELL * sol.n_bins * inst.flat_demand.shape[1])
        loads = sol.loads(inst)
        caps = inst.flat_capacity[sol.bin_type]
        fill = (loads * norm).sum(axis=1) / np.maximum((caps * norm).sum(axis=1), 1e-9)
        target = _pick_target(sol, fill, rng, tabu, stats.steps)
        slack_mode = stats.steps % 3 == 0
        bins = _pick_neighbours(inst, sol, target, loads, caps, norm, k, rng, fill, slack_mode)
        sub, hint, hint_open = _subproblem(inst, sol, bins, target, fresh_types, loads, caps)
        left = clock.left(deadline)
        if left <= 0.02:
            break
        before_cost = int(inst.cost[sol.bin_type[bins]].sum()) + _item_cost(inst, sol, sub.items)
        before_target = _target_load(inst, sol, sub, target)
        res = cpsat.solve(
            inst,
            sub,
            hint=hint,
            hint_open=hint_open,
            time_limit_s=min(sub_time_s, left),
            workers=workers,
            seed=int(rng.integers(1 << 30)),
            stop_at=before_cost - 1,
            clock=clock,
        )
        if res.status == cpsat.UNKNOWN or (
            res.status == cpsat.FEASIBLE
            and res.objective is not None
            and res.objective >= before_cost
        ):
            stats.timeouts += 1
            k = max(2, k - 1)
        elif res.status == cpsat.OPTIMAL and res.wall_s < sub_time_s * 0.3:
            k = min(k_max, k + 1)
        if res.assign is None or res.objective is None:
            tabu[target] = stats.steps + 3
            continue
        better = res.objective < before_cost
        lighter = (
            res.objective == before_cost
            and res.secondary is not None
            and res.secondary < before_target
        )
        if not (better or lighter):
            tabu[target] = stats.steps + 3
            continue
        new = _merge(inst, sol, bins, sub, res)
        if inst.ha_spares > 0 and reserve_shortfall(inst, new):
            continue
        stats.accepted += 1
        sol = new
        if better:
            stats.improved += 1
            cost = sol.objective(inst)
            tabu.clear()
            if on_improve is not None:
                on_improve(sol, cost)
    return sol, stats


def _pick_target(
    sol: Solution, fill: np.ndarray, rng: np.random.Generator, tabu: dict[int, int], step: int
) -> int:
    """One of the emptiest bins not recently tried (sometimes a random one)."""
    order = np.argsort(fill, kind="stable")
    free = [int(b) for b in order.tolist() if tabu.get(int(b), 0) <= step]
    if not free:
        tabu.clear()
        free = order.tolist()
    if rng.random() < 0.15:
        return int(rng.choice(free))
    top = free[: max(1, min(3, len(free)))]
    weights = np.array([0.6, 0.25, 0.15][: len(top)])
    return int(rng.choice(top, p=weights / weights.sum()))


def _pick_neighbours(
    inst: Instance,
    sol: Solution,
    target: int,
    loads: IntArray,
    caps: IntArray,
    norm: np.ndarray,
    k: int,
    rng: np.random.Generator,
    fill: np.ndarray,
    slack_mode: bool = False,
) -> IntArray:
    """The target plus up to ``k - 1`` bins of its zone.

    Usually half complementary (most free room where the target's items are large) and half
    random; in ``slack_mode`` the emptiest bins, which is where nearly perfect packings (one
    bin short) hide their misfits.
    """
    same_zone = np.ones(sol.n_bins, dtype=np.bool_)
    if inst.n_zones > 1:
        bin_zone = bin_zones(inst, sol)
        zone_t = bin_zone[target]
        if zone_t >= 0:
            same_zone = (bin_zone == zone_t) | (bin_zone == -1)
    same_zone[target] = False
    others = np.flatnonzero(same_zone)
    if len(others) <= k - 1:
        chosen = others
    elif slack_mode:
        order = others[np.argsort(fill[others], kind="stable")]
        pool = order[: 2 * (k - 1)]
        chosen = rng.choice(pool, size=k - 1, replace=False)
    else:
        free = (caps[others] - loads[others]) * norm
        want = loads[target] * norm
        score = free @ (want if want.any() else np.ones_like(want))
        n_comp = (k - 1) // 2
        comp = others[np.argsort(-score, kind="stable")[: 2 * n_comp + 1]]
        comp = rng.choice(comp, size=min(n_comp, len(comp)), replace=False)
        rest = np.setdiff1d(others, comp)
        rand = rng.choice(rest, size=k - 1 - len(comp), replace=False)
        chosen = np.concatenate([comp, rand])
    return np.concatenate([[target], np.sort(chosen)]).astype(np.int64)


def _subproblem(
    inst: Instance,
    sol: Solution,
    bins: IntArray,
    target: int,
    fresh_types: list[int],
    loads: IntArray,
    caps: IntArray,
) -> tuple[SubProblem, IntArray, IntArray]:
    """The sub-problem freeing ``bins``, its hint and the hint's open candidate bins."""
    in_sub = np.isin(sol.assign, bins)
    items = np.flatnonzero(in_sub)
    size = (np.maximum(inst.flat_demand[items], 0) / normaliser(inst)).sum(axis=1)
    items = items[np.argsort(-size, kind="stable")]
    btype = list(sol.bin_type[bins].tolist())
    bexist = list(sol.bin_existing[bins].tolist())
    open_count = np.bincount(sol.bin_type, minlength=inst.n_types)
    if inst.n_types > 1:
        for t in fresh_types:
            if open_count[t] < inst.n_available[t]:
                btype.append(t)
                bexist.append(-1)
    bin_type = np.asarray(btype, dtype=np.int64)
    bin_existing = np.asarray(bexist, dtype=np.int64)
    position = {int(b): p for p, b in enumerate(bins.tolist())}
    hint = np.array([position[int(sol.assign[i])] for i in items.tolist()], dtype=np.int64)
    hint_open = np.arange(len(bins), dtype=np.int64)
    need = ha.sub_reserve(inst, sol, bins, loads, caps)
    migration_left = migration.left_for(inst, sol, in_sub)
    sub = SubProblem(items, bin_type, bin_existing, need, migration_left, 0, 0)
    return sub, hint, hint_open


def _item_cost(inst: Instance, sol: Solution, items: IntArray) -> int:
    if inst.item_cost is None or not len(items):
        return 0
    return int(inst.item_cost[items, sol.bin_type[sol.assign[items]]].sum())


def _target_load(inst: Instance, sol: Solution, sub: SubProblem, target: int) -> int:
    """Secondary objective of the current packing (same measure as the model's)."""
    on_t = sub.items[sol.assign[sub.items] == target]
    d = np.maximum(inst.flat_demand[on_t], 0) / normaliser(inst)
    return int((np.rint(100.0 * d.sum(axis=1)).astype(np.int64) + 1).sum())


def _merge(
    inst: Instance, sol: Solution, bins: IntArray, sub: SubProblem, res: cpsat.SubResult
) -> Solution:
    """Replace ``bins`` of ``sol`` by the open candidate bins of the sub-solution."""
    assert res.assign is not None and res.open_bins is not None
    keep = np.ones(sol.n_bins, dtype=np.bool_)
    keep[bins] = False
    kept = np.flatnonzero(keep)
    opened = np.zeros(sub.n_cand, dtype=np.bool_)
    opened[res.open_bins] = True
    opened[res.assign] = True
    new_pos = np.flatnonzero(opened)
    new_index = np.full(sol.n_bins, -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    cand_index = np.full(sub.n_cand, -1, dtype=np.int64)
    cand_index[new_pos] = len(kept) + np.arange(len(new_pos))
    assign = new_index[sol.assign]
    assign[sub.items] = cand_index[res.assign]
    bin_type = np.concatenate([sol.bin_type[kept], sub.bin_type[new_pos]])
    bin_existing = np.concatenate([sol.bin_existing[kept], sub.bin_existing[new_pos]])
    old_zone = sol.bin_zone if sol.bin_zone is not None else np.full(sol.n_bins, -1)
    new_zone = res.bin_zone if res.bin_zone is not None else np.full(sub.n_cand, -1)
    bin_zone = np.concatenate([old_zone[kept], new_zone[new_pos]]).astype(np.int64)
    out = Solution(assign.astype(np.int64), bin_type, bin_existing, bin_zone)
    return out if inst.ha_spares > 0 else out.compact()
