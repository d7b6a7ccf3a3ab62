"""CP-SAT assignment model of the packing, for a whole instance or for a sub-problem.

Variables: ``x[i, b]`` (item i on candidate bin b), ``u[b]`` (bin b open), ``z[b, zone]`` when
there are several zones, ``v[b, label]`` when a label (VLAN) limit applies.

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
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from capplan.optimize.clock import Clock, charge_cpsat, set_cpsat_limits
from capplan.optimize.failover import zone_usable_types
from capplan.optimize.heuristics import normaliser
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.status import SolveStatus

#: Statuses of a solve (:class:`capplan.status.SolveStatus`).
OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN = (
    SolveStatus.OPTIMAL,
    SolveStatus.FEASIBLE,
    SolveStatus.INFEASIBLE,
    SolveStatus.UNKNOWN,
)


@dataclass(frozen=True, eq=False)
class SubProblem:
    """Items to place on a set of candidate bins.

    Attributes
    ----------
    items
        Item indices; the order sets the symmetry breaking (largest first works best).
    bin_type
        Type of each candidate bin, int64 ``(n_cand,)``.
    bin_existing
        Existing-bin index of each candidate bin or -1, int64 ``(n_cand,)``.
    reserve_need
        Per zone, int64 ``(n_zones, n_columns)``: capacity the open candidate bins of the zone
        must offer in total (N+k), or None.
    migration_left
        Moves (weighted) still allowed for these items, or None for no limit.
    target
        Candidate bin whose load is minimised as a secondary objective (-1: none).
    min_objective
        Known lower bound on the objective of this sub-problem (0 if none).
    reserve_demand
        Per zone, int64 ``(n_zones, n_columns)``: the zone's whole demand, which the open
        candidate bins of the zone minus their ``reserve_k`` largest (per column) must cover:
        the exact N+k reserve of :mod:`capplan.optimize.failover` (used by the full model),
        or None.
    reserve_k
        k of that reserve.
    """

    items: IntArray
    bin_type: IntArray
    bin_existing: IntArray
    reserve_need: IntArray | None = None
    migration_left: int | None = None
    target: int = -1
    min_objective: int = 0
    reserve_demand: IntArray | None = None
    reserve_k: int = 0

    @property
    def n_cand(self) -> int:
        """Number of candidate bins."""
        return int(self.bin_type.shape[0])


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


@dataclass
class _Vars:
    x: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    u: list[cp_model.IntVar] = field(default_factory=list)
    z: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)


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
) -> tuple[cp_model.CpModel, _Vars, cp_model.LinearExpr, cp_model.LinearExpr | None, int]:
    """Build the CP-SAT model of ``sub``.

    Returns
    -------
    model, vars, primary, secondary, weight
        The model (objective set to ``weight * primary + secondary``), its variables, the
        primary objective expression (costs), the secondary one (target load) or None, and the
        weight of the primary.
    """
    model = cp_model.CpModel()
    items = sub.items
    n_sub, n_cand = len(items), sub.n_cand
    d = inst.flat_demand[items]
    types_used = np.unique(sub.bin_type)
    cols = reduce_columns(d, inst.flat_capacity[types_used])
    v = _Vars()
    v.u = [model.new_bool_var(f"u{b}") for b in range(n_cand)]
    cand_existing = {int(e): b for b, e in enumerate(sub.bin_existing.tolist()) if e >= 0}

    # Which (item, bin) pairs exist.
    fits = inst.fits_type[items][:, sub.bin_type]
    pos_limit = np.full(n_cand, 0, dtype=np.int64)
    classes = _classes(inst, sub) if symmetry else []
    for cls in classes:
        for k, b in enumerate(cls):
            pos_limit[b] = k
    pinned = inst.pinned[items]
    for p in range(n_sub):
        if pinned[p] >= 0:
            home = cand_existing.get(int(pinned[p]))
            if home is None:
                model.add_bool_or([])  # pinned to a bin that is not a candidate: infeasible
                continue
            v.x[p, home] = model.new_bool_var(f"x{p}_{home}")
            continue
        for b in range(n_cand):
            if fits[p, b] and p >= pos_limit[b]:
                v.x[p, b] = model.new_bool_var(f"x{p}_{b}")
    on_bin: list[list[int]] = [[] for _ in range(n_cand)]
    for p, b in v.x:
        on_bin[b].append(p)
    for p in range(n_sub):
        model.add_exactly_one([v.x[p, b] for b in range(n_cand) if (p, b) in v.x])
    # Capacity, in every kept column.
    caps = inst.flat_capacity[sub.bin_type][:, cols]
    dc = d[:, cols]
    for b in range(n_cand):
        ps = on_bin[b]
        if not ps:
            continue
        xs = [v.x[p, b] for p in ps]
        for k in range(len(cols)):
            coeffs = dc[ps, k]
            if np.maximum(coeffs, 0).sum() <= caps[b, k]:
                continue
            model.add(
                cp_model.LinearExpr.weighted_sum(xs, coeffs.tolist()) <= int(caps[b, k]) * v.u[b]
            )
        for x in xs:
            model.add_implication(x, v.u[b])
    # Symmetry: bins of a class open in order.
    for cls in classes:
        for a, b in itertools.pairwise(cls):
            model.add_implication(v.u[b], v.u[a])
    # Zones.
    zones = np.unique(inst.zone[items])
    multi_zone = inst.n_zones > 1
    if multi_zone:
        for b in range(n_cand):
            zvars = []
            for zz in zones.tolist():
                v.z[b, zz] = model.new_bool_var(f"z{b}_{zz}")
                zvars.append(v.z[b, zz])
            model.add(sum(zvars) == v.u[b])
        for (p, b), x in v.x.items():
            model.add_implication(x, v.z[b, int(inst.zone[items[p]])])
    # Anti-affinity.
    pos_of = {int(i): p for p, i in enumerate(items.tolist())}
    for members in inst.anti_affinity:
        ps = [pos_of[i] for i in members.tolist() if i in pos_of]
        if len(ps) < 2:
            continue
        for b in range(n_cand):
            xs = [v.x[p, b] for p in ps if (p, b) in v.x]
            if len(xs) > 1:
                model.add_at_most_one(xs)
    # Label (VLAN) limits.
    labels = inst.label[items]
    if (labels >= 0).any() and (inst.label_limit[sub.bin_type] >= 0).any():
        for b in range(n_cand):
            limit = int(inst.label_limit[sub.bin_type[b]])
            if limit < 0:
                continue
            present = {}
            for p in on_bin[b]:
                lab = int(labels[p])
                if lab < 0:
                    continue
                if lab not in present:
                    present[lab] = model.new_bool_var(f"l{b}_{lab}")
                model.add_implication(v.x[p, b], present[lab])
            if len(present) > limit:
                model.add(sum(present.values()) <= limit)
    # N+k reserve, per zone.
    if sub.reserve_need is not None:
        for zz in zones.tolist():
            need = sub.reserve_need[zz]
            for c in np.flatnonzero(need > 0).tolist():
                terms = [
                    (
                        v.z[b, zz] if multi_zone else v.u[b],
                        int(inst.flat_capacity[sub.bin_type[b], c]),
                    )
                    for b in range(n_cand)
                ]
                model.add(
                    cp_model.LinearExpr.weighted_sum([t for t, _ in terms], [w for _, w in terms])
                    >= int(need[c])
                )
    if sub.reserve_demand is not None and sub.reserve_k > 0:
        _exact_reserve(model, v, inst, sub, zones, multi_zone)
    # Migration budget.
    if sub.migration_left is not None:
        cur = inst.current[items]
        move_w = inst.move_weight[items]
        stay_terms, stay_w = [], []
        fixed_moves = 0
        for p in range(n_sub):
            if cur[p] < 0:
                continue
            home = cand_existing.get(int(cur[p]))
            if home is None or (p, home) not in v.x:
                fixed_moves += int(move_w[p])
            else:
                stay_terms.append(v.x[p, home])
                stay_w.append(int(move_w[p]))
        total_w = int(sum(stay_w)) + fixed_moves
        # moves = total_w - sum(stay) <= left
        model.add(
            cp_model.LinearExpr.weighted_sum(stay_terms, stay_w) >= total_w - sub.migration_left
        )
    # Redundant volume cuts: open capacity covers the demand of every kept column.
    total = d.sum(axis=0)
    for k, c in enumerate(cols.tolist()):
        model.add(cp_model.LinearExpr.weighted_sum(v.u, caps[:, k].tolist()) >= int(total[c]))
    # Objective.
    cost_b = inst.cost[sub.bin_type]
    prim_vars: list[cp_model.IntVar] = list(v.u)
    prim_w: list[int] = cost_b.tolist()
    if inst.item_cost is not None:
        ic = inst.item_cost[items]
        for (p, b), x in v.x.items():
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
        size = (
            np.rint(100.0 * (np.maximum(d, 0) / normaliser(inst)).sum(axis=1)).astype(np.int64) + 1
        )
        on_t = [(v.x[p, sub.target], int(size[p])) for p in on_bin[sub.target]]
        if on_t:
            secondary = cp_model.LinearExpr.weighted_sum([x for x, _ in on_t], [w for _, w in on_t])
            weight = int(size.sum()) + 1
    if secondary is None:
        model.minimize(primary)
    else:
        model.minimize(primary * weight + secondary)
    # Hints.
    if hint is not None:
        canon = canonical_hint(inst, sub, hint) if symmetry else hint
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
        for (p, b), x in v.x.items():
            model.add_hint(x, int(canon[p] == b))
        for b in range(n_cand):
            model.add_hint(v.u[b], bool(opened[b]))
    return model, v, primary, secondary, weight


def _exact_reserve(
    model: cp_model.CpModel,
    v: _Vars,
    inst: Instance,
    sub: SubProblem,
    zones: IntArray,
    multi_zone: bool,
) -> None:
    """Open capacity of each zone minus its k largest bins covers the zone's demand.

    The sum of the k largest of the values ``a_b`` equals ``min over θ of k·θ + Σ max(0,
    a_b − θ)``, so the reserve holds exactly when some ``θ ≥ 0`` and slacks ``s_b ≥ a_b − θ,
    s_b ≥ 0`` give ``Σ a_b − k·θ − Σ s_b ≥ demand``, with ``a_b`` the capacity of bin b when it
    is open in the zone and 0 otherwise. Columns whose capacities are the same for every type
    (one dimension in every bucket) need only their largest demand.
    """
    assert sub.reserve_demand is not None
    k = sub.reserve_k
    caps = inst.flat_capacity[sub.bin_type]
    usable = zone_usable_types(inst)
    _, group = np.unique(inst.flat_capacity.T, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    for zz in zones.tolist():
        demand = sub.reserve_demand[zz]
        for g in np.unique(group).tolist():
            cols = np.flatnonzero(group == g)
            c = int(cols[np.argmax(demand[cols])])
            need = int(demand[c])
            if need <= 0:
                continue
            a = np.where(usable[zz][sub.bin_type], caps[:, c], 0)
            opened = [v.z[b, zz] if multi_zone else v.u[b] for b in range(sub.n_cand)]
            total = cp_model.LinearExpr.weighted_sum(opened, a.tolist())
            values = sorted({0, *(int(x) for x in a.tolist())})
            if k == 1:
                # The largest open bin, exactly.
                top = model.new_int_var_from_domain(
                    cp_model.Domain.from_values(values), f"top{zz}_{c}"
                )
                model.add_max_equality(top, [int(a[b]) * opened[b] for b in range(sub.n_cand)])
                model.add(total - top >= need)
                continue
            # θ can be taken among the capacities (the optimum is at one of the a_b).
            theta = model.new_int_var_from_domain(
                cp_model.Domain.from_values(values), f"theta{zz}_{c}"
            )
            slack = []
            for b in range(sub.n_cand):
                s_b = model.new_int_var(0, int(a[b]), f"s{zz}_{c}_{b}")
                model.add(s_b >= int(a[b]) * opened[b] - theta)
                slack.append(s_b)
            model.add(total - k * theta - sum(slack) >= need)


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
    model, v, primary, secondary, weight = build_model(inst, sub, hint, hint_open)
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
        for (p, b), x in v.x.items():
            if solver.boolean_value(x):
                assign[p] = b
        open_bins = np.array([solver.boolean_value(u) for u in v.u], dtype=np.bool_)
        prim = round(solver.value(primary))
        sec = round(solver.value(secondary)) if secondary is not None else None
        bound = int(np.ceil(solver.best_objective_bound / weight - 1e-9))
        if status == cp_model.OPTIMAL and secondary is None:
            bound = prim
        zones = None
        if v.z:
            zones = np.full(sub.n_cand, -1, dtype=np.int64)
            for (b, zz), var in v.z.items():
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
        demand = zone_demand(inst)
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


def zone_demand(inst: Instance) -> IntArray:
    """Per zone and column, the summed demand of the zone's items, int64 ``(n_zones, n_cols)``."""
    out = np.zeros((inst.n_zones, inst.flat_demand.shape[1]), dtype=np.int64)
    np.add.at(out, inst.zone, inst.flat_demand)
    return out


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
