"""CP-SAT assignment model of the packing, for a whole instance or for a sub-problem.

Variables: ``x[i, b]`` (item i on candidate bin b, for the pairs every rule allows) and
``u[b]`` (bin b open); the rules add their own (``z[b, zone]`` when there are several zones,
``l[b, label]`` when a label (VLAN) limit applies, the N+k reserve's ``top``, ``theta`` and
slack variables). Each rule's constraints live in its module
of :mod:`capplan.optimize.rules`; this builder makes the assignment, loops over the rules, and
adds symmetry breaking, redundant volume cuts and the objective.

Symmetry breaking: candidate bins of one type that nothing tells apart (no pinned or current
item refers to them) form a class; within a class bins open in order, and the k-th bin of a
class may only hold items at position ≥ k (items are listed largest first), so every packing
has exactly one representative. Hints (a heuristic's packing) are relabelled to the same
canonical form so they stay feasible.

The same builder serves the full model and the large-neighbourhood sub-problems
(:mod:`capplan.optimize.lns`), which free the items of a few bins and re-solve them on those
bins plus fresh ones; there the N+k reserve and the migration budget arrive as the part left
after the untouched bins.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from capplan.optimize import rules
from capplan.optimize.clock import Clock, charge_cpsat, set_cpsat_limits
from capplan.optimize.heuristics import normaliser
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.optimize.rules import ha
from capplan.optimize.rules.base import ModelContext
from capplan.optimize.subproblem import SubProblem
from capplan.status import SolveStatus

#: Statuses of a solve (:class:`capplan.status.SolveStatus`).
OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN = (
    SolveStatus.OPTIMAL,
    SolveStatus.FEASIBLE,
    SolveStatus.INFEASIBLE,
    SolveStatus.UNKNOWN,
)


@dataclass(frozen=True)
class SubResult:
    """Outcome of a CP-SAT solve.

    Attributes
    ----------
    status
        ``optimal``, ``feasible``, ``infeasible`` or ``unknown``.
    assign
        Candidate-bin position of each sub-problem item (None without a solution).
    open_bins
        bool ``(n_cand,)``: candidate bins open in the solution.
    objective
        Primary objective (bin and item costs) of the solution, or None.
    bound
        CP-SAT's lower bound on the primary objective.
    secondary
        Secondary objective value (target load), or None.
    wall_s
        Seconds spent.
    """

    status: str
    assign: IntArray | None
    open_bins: IntArray | None
    objective: int | None
    bound: int
    secondary: int | None = None
    wall_s: float = 0.0
    bin_zone: IntArray | None = None


def reduce_columns(demand: IntArray, caps: IntArray) -> IntArray:
    """Columns that can bind: not always slack, not duplicated, not dominated.

    Parameters
    ----------
    demand
        int64 ``(n_items, n_columns)`` of the items concerned.
    caps
        int64 ``(n_types, n_columns)`` of the bin types concerned.

    Returns
    -------
    int64 indices of the columns to keep.
    """
    positive = np.maximum(demand, 0).sum(axis=0)
    keep = np.flatnonzero(positive > caps.min(axis=0))
    if not len(keep):
        return keep
    stacked = np.vstack([demand[:, keep], caps[:, keep]])
    _, first = np.unique(stacked.T, axis=0, return_index=True)
    keep = keep[np.sort(first)]
    if 1 < len(keep) <= 400 and demand.shape[0] * len(keep) ** 2 <= 2e8:
        d, c = demand[:, keep], caps[:, keep]
        # r is dominated by s when d[:, r] <= d[:, s] and c[:, r] >= c[:, s].
        le = (d[:, :, None] <= d[:, None, :]).all(axis=0)
        ge = (c[:, :, None] >= c[:, None, :]).all(axis=0)
        dom = np.asarray(le & ge, dtype=np.bool_)
        np.fill_diagonal(dom, False)
        dominated = np.asarray(dom.any(axis=1), dtype=np.bool_)
        keep = keep[~dominated]
    return keep


def _classes(inst: Instance, sub: SubProblem) -> list[list[int]]:
    """Groups of interchangeable candidate bins (same type, referenced by no item, no target)."""
    referenced = set(inst.pinned[sub.items].tolist()) | set(inst.current[sub.items].tolist())
    referenced.discard(-1)
    by_type: dict[int, list[int]] = {}
    for b in range(sub.n_cand):
        special = b == sub.target or int(sub.bin_existing[b]) in referenced
        if not special:
            by_type.setdefault(int(sub.bin_type[b]), []).append(b)
    return [bins for bins in by_type.values() if len(bins) > 1]


def canonical_hint(inst: Instance, sub: SubProblem, hint: IntArray) -> IntArray:
    """Relabel a hint (candidate position per item) into the symmetry-broken canonical form."""
    out = hint.copy()
    pos_of = np.arange(len(sub.items))
    for cls in _classes(inst, sub):
        in_cls = np.isin(hint, cls)
        used = sorted(
            {int(b) for b in hint[in_cls].tolist()}, key=lambda b: int(pos_of[hint == b].min())
        )
        mapping = {b: cls[k] for k, b in enumerate(used)}
        for p in np.flatnonzero(in_cls).tolist():
            out[p] = mapping[int(hint[p])]
    return out


def build_model(
    inst: Instance,
    sub: SubProblem,
    hint: IntArray | None = None,
    hint_open: IntArray | None = None,
    symmetry: bool = True,
) -> tuple[cp_model.CpModel, ModelContext, cp_model.LinearExpr, cp_model.LinearExpr | None, int]:
    """Build the CP-SAT model of ``sub``: its variables, every rule's constraints, the objective.

    Returns
    -------
    model, context, primary, secondary, weight
        The model (objective set to ``weight * primary + secondary``), the context holding its
        variables, the primary objective expression (costs), the secondary one (target load)
        or None, and the weight of the primary.
    """
    model = cp_model.CpModel()
    d = inst.flat_demand[sub.items]
    types_used = np.unique(sub.bin_type)
    ctx = ModelContext(
        inst,
        sub,
        model,
        cp_model.LinearExpr.weighted_sum,
        reduce_columns(d, inst.flat_capacity[types_used]),
    )
    ctx.u = [model.new_bool_var(f"u{b}") for b in range(sub.n_cand)]
    classes = _classes(inst, sub) if symmetry else []
    _assignment(ctx, classes)
    rules.constrain(ctx)
    # Symmetry: bins of a class open in order.
    for cls in classes:
        for a, b in itertools.pairwise(cls):
            model.add_implication(ctx.u[b], ctx.u[a])
    # Redundant volume cuts: open capacity covers the demand of every kept column.
    total = d.sum(axis=0)
    caps = inst.flat_capacity[sub.bin_type][:, ctx.cols]
    for k, c in enumerate(ctx.cols.tolist()):
        model.add(cp_model.LinearExpr.weighted_sum(ctx.u, caps[:, k].tolist()) >= int(total[c]))
    primary, secondary, weight = _objective(ctx)
    if hint is not None:
        _hint(ctx, classes, hint, hint_open, symmetry)
    return model, ctx, primary, secondary, weight


def _assignment(ctx: ModelContext, classes: list[list[int]]) -> None:
    """``x[p, b]`` for the pairs every rule allows; each item on exactly one bin.

    Within a symmetry class, the k-th bin may hold only items at position ≥ k.
    """
    n_sub, n_cand = len(ctx.sub.items), ctx.sub.n_cand
    pos_limit = np.zeros(n_cand, dtype=np.int64)
    for cls in classes:
        for k, b in enumerate(cls):
            pos_limit[b] = k
    ok = rules.pairs(ctx) & (np.arange(n_sub)[:, None] >= pos_limit[None, :])
    for p, b in zip(*np.nonzero(ok), strict=True):
        ctx.x[int(p), int(b)] = ctx.model.new_bool_var(f"x{p}_{b}")
    ctx.on_bin = [[] for _ in range(n_cand)]
    for p, b in ctx.x:
        ctx.on_bin[b].append(p)
    for p in range(n_sub):
        ctx.model.add_exactly_one([ctx.x[p, b] for b in range(n_cand) if (p, b) in ctx.x])


def _objective(
    ctx: ModelContext,
) -> tuple[cp_model.LinearExpr, cp_model.LinearExpr | None, int]:
    """Set the objective: bin and item costs first, then (with a target) the target's load."""
    inst, sub, model = ctx.inst, ctx.sub, ctx.model
    cost_b = inst.cost[sub.bin_type]
    prim_vars: list[cp_model.IntVar] = list(ctx.u)
    prim_w: list[int] = cost_b.tolist()
    if inst.item_cost is not None:
        ic = inst.item_cost[sub.items]
        for (p, b), x in ctx.x.items():
            w = int(ic[p, sub.bin_type[b]])
            if w:
                prim_vars.append(x)
                prim_w.append(w)
    primary = cp_model.LinearExpr.weighted_sum(prim_vars, prim_w)
    if sub.min_objective > 0:
        model.add(primary >= sub.min_objective)
    secondary = None
    weight = 1
    if sub.target >= 0:
        d = inst.flat_demand[sub.items]
        size = (
            np.rint(100.0 * (np.maximum(d, 0) / normaliser(inst)).sum(axis=1)).astype(np.int64) + 1
        )
        on_t = [(ctx.x[p, sub.target], int(size[p])) for p in ctx.on_bin[sub.target]]
        if on_t:
            secondary = cp_model.LinearExpr.weighted_sum([x for x, _ in on_t], [w for _, w in on_t])
            weight = int(size.sum()) + 1
    if secondary is None:
        model.minimize(primary)
    else:
        model.minimize(primary * weight + secondary)
    return primary, secondary, weight


def _hint(
    ctx: ModelContext,
    classes: list[list[int]],
    hint: IntArray,
    hint_open: IntArray | None,
    symmetry: bool,
) -> None:
    """Hint a known packing, relabelled into the symmetry-broken form."""
    n_cand = ctx.sub.n_cand
    canon = canonical_hint(ctx.inst, ctx.sub, hint) if symmetry else hint
    opened = np.zeros(n_cand, dtype=np.bool_)
    opened[canon] = True
    if hint_open is not None:
        spare = np.zeros(n_cand, dtype=np.bool_)
        spare[hint_open] = True
        spare[hint] = False
        in_class = np.zeros(n_cand, dtype=np.bool_)
        for cls in classes:
            in_class[cls] = True
            n_open = int(opened[cls].sum() + spare[cls].sum())
            opened[cls] = False
            opened[cls[:n_open]] = True
        opened |= spare & ~in_class
    for (p, b), x in ctx.x.items():
        ctx.model.add_hint(x, int(canon[p] == b))
    for b in range(n_cand):
        ctx.model.add_hint(ctx.u[b], bool(opened[b]))


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(
        self,
        primary: cp_model.LinearExpr,
        callback: Callable[[int, int, float], None] | None,
        start: float,
        weight: int,
        stop_at: int | None,
    ) -> None:
        super().__init__()
        self._primary = primary
        self._callback = callback
        self._start = start
        self._weight = weight
        self._stop_at = stop_at

    def on_solution_callback(self) -> None:
        obj = round(self.value(self._primary))
        if self._callback is not None:
            bound = int(np.ceil(self.best_objective_bound / self._weight - 1e-9))
            self._callback(obj, bound, time.perf_counter() - self._start)
        if self._stop_at is not None and obj <= self._stop_at:
            self.stop_search()


def solve(
    inst: Instance,
    sub: SubProblem,
    *,
    hint: IntArray | None = None,
    hint_open: IntArray | None = None,
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    on_solution: Callable[[int, int, float], None] | None = None,
    stop_at: int | None = None,
    clock: Clock | None = None,
) -> SubResult:
    """Build and solve ``sub`` with CP-SAT.

    Parameters
    ----------
    hint
        Candidate position per sub-problem item from a known packing.
    hint_open
        Candidate positions open in the hint even when empty (HA spares).
    time_limit_s, workers, seed
        CP-SAT settings. With a deterministic ``clock``, ``time_limit_s`` is a limit in work
        units (converted to CP-SAT's deterministic time), CP-SAT runs one worker so that the
        result does not depend on the machine's load, the clock's wall limit caps the real
        time, and the work done is charged to the clock.
    on_solution
        Called with ``(objective, bound, elapsed_s)`` on every improving solution.
    stop_at
        Stop as soon as a solution with primary objective ≤ this value is found.
    """
    start = time.perf_counter()
    model, ctx, primary, secondary, weight = build_model(inst, sub, hint, hint_open)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    set_cpsat_limits(solver.parameters, clock, time_limit_s, workers)
    use_cb = on_solution is not None or stop_at is not None
    callback = _Progress(primary, on_solution, start, weight, stop_at) if use_cb else None
    status = solver.solve(model, callback) if callback is not None else solver.solve(model)
    wall = time.perf_counter() - start
    charge_cpsat(clock, solver.deterministic_time)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assign = np.full(len(sub.items), -1, dtype=np.int64)
        for (p, b), x in ctx.x.items():
            if solver.boolean_value(x):
                assign[p] = b
        open_bins = np.array([solver.boolean_value(u) for u in ctx.u], dtype=np.bool_)
        prim = round(solver.value(primary))
        sec = round(solver.value(secondary)) if secondary is not None else None
        bound = int(np.ceil(solver.best_objective_bound / weight - 1e-9))
        if status == cp_model.OPTIMAL and secondary is None:
            bound = prim
        zones = None
        if ctx.z:
            zones = np.full(sub.n_cand, -1, dtype=np.int64)
            for (b, zz), var in ctx.z.items():
                if solver.boolean_value(var):
                    zones[b] = zz
        return SubResult(
            OPTIMAL if status == cp_model.OPTIMAL else FEASIBLE,
            assign,
            np.flatnonzero(open_bins),
            prim,
            max(bound, sub.min_objective),
            sec,
            wall,
            zones,
        )
    if status == cp_model.INFEASIBLE:
        return SubResult(INFEASIBLE, None, None, None, 0, None, wall)
    bound = int(np.ceil(solver.best_objective_bound / weight - 1e-9)) if weight else 0
    return SubResult(UNKNOWN, None, None, None, max(bound, sub.min_objective), None, wall)


# ---------------------------------------------------------------------------- full model
def candidate_pool(inst: Instance, start: Solution | None) -> tuple[IntArray, IntArray]:
    """Candidate bins for the full model: type and existing index of each.

    Per type, as many bins as could appear in a solution no worse than ``start`` (or as many
    as there are items, whichever is smaller), never more than are available. Existing bins
    referenced by a pinned or current item come first with their identity.
    """
    n_items = max(inst.n_items, 1)
    budget = start.objective(inst) if start is not None else None
    extra = inst.ha_spares * inst.n_zones
    types: list[int] = []
    existing: list[int] = []
    for t in range(inst.n_types):
        if not inst.allowed[:, t].any() and extra == 0:
            continue
        limit = int(min(inst.n_available[t], n_items + extra))
        if budget is not None and inst.cost[t] > 0:
            limit = min(limit, budget // int(inst.cost[t]))
        owned = np.flatnonzero(inst.existing_type == t).tolist()
        for k in range(limit):
            types.append(t)
            existing.append(owned[k] if k < len(owned) else -1)
    return np.asarray(types, dtype=np.int64), np.asarray(existing, dtype=np.int64)


def full_subproblem(inst: Instance, start: Solution | None, min_objective: int) -> SubProblem:
    """The whole instance as one :class:`SubProblem` (items largest first)."""
    bin_type, bin_existing = candidate_pool(inst, start)
    size = (np.maximum(inst.flat_demand, 0) / normaliser(inst)).sum(axis=1)
    items = np.argsort(-size, kind="stable").astype(np.int64)
    demand = None
    if inst.ha_spares > 0:
        demand = ha.zone_demand(inst)
    return SubProblem(
        items,
        bin_type,
        bin_existing,
        None,
        inst.migration_budget,
        -1,
        min_objective,
        reserve_demand=demand,
        reserve_k=inst.ha_spares,
    )


def hint_positions(sub: SubProblem, sol: Solution) -> tuple[IntArray, IntArray] | None:
    """Map a solution's bins onto candidate positions (per type, in order); None if it cannot."""
    pos = np.full(sol.n_bins, -1, dtype=np.int64)
    taken = np.zeros(sub.n_cand, dtype=np.bool_)
    for b in range(sol.n_bins):
        e = int(sol.bin_existing[b])
        if e >= 0:
            hit = np.flatnonzero(sub.bin_existing == e)
            if len(hit) and not taken[hit[0]]:
                pos[b] = hit[0]
                taken[hit[0]] = True
    for b in range(sol.n_bins):
        if pos[b] >= 0:
            continue
        free = np.flatnonzero((sub.bin_type == sol.bin_type[b]) & ~taken)
        if not len(free):
            return None
        pos[b] = free[0]
        taken[free[0]] = True
    return pos[sol.assign[sub.items]], pos


def to_solution(sub: SubProblem, res: SubResult, n_items: int) -> Solution:
    """Turn a full-model result into a :class:`Solution` (open bins only, in candidate order)."""
    assert res.assign is not None and res.open_bins is not None
    opened = np.zeros(sub.n_cand, dtype=np.bool_)
    opened[res.open_bins] = True
    opened[res.assign] = True
    index = np.cumsum(opened) - 1
    assign = np.empty(n_items, dtype=np.int64)
    assign[sub.items] = index[res.assign]
    zones = None if res.bin_zone is None else res.bin_zone[opened]
    return Solution(assign, sub.bin_type[opened], sub.bin_existing[opened], zones)
