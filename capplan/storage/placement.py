"""Place volume copies onto pools at least cost with OR-Tools, and prove how good the plan is.

The problem is a generalized assignment problem with a few coupling rows: every volume gets
its copies (one, or two in distinct failure domains), each pool holds four resource limits,
and optionally one row limits the data moved. Two solve paths, both reporting a bound:

- **Small instances** (at most ``full_model_max_vars`` volume-pool pairs): one CP-SAT model of
  the whole problem, hinted with a rounded LP solution.
- **Large instances**: the LP relaxation (OR-Tools model builder → HiGHS simplex) gives the
  bound and a vertex solution in which only a handful of volumes are fractional (at most one
  per tight coupling row). Those, plus any volumes needed to make room, are re-placed by a
  CP-SAT model on the residual capacities; a large-neighbourhood search (free the volumes of a
  few pools, re-solve, keep improvements) then closes the remaining gap while time is left.

CP-SAT needs integers: demands are scaled and rounded **up**, capacities scaled and rounded
**down**, so an integer-feasible plan is feasible in real numbers. Costs are scaled to integers
for the objective; the reported cost and bound are recomputed in floating point, and the
bound is the larger of the LP bound and CP-SAT's bound corrected for rounding. Every plan is
checked by :mod:`capplan.storage.validator` before it is returned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh
from ortools.sat.python import cp_model

from capplan.optimize.clock import WORK_SHARE, Clock, charge_cpsat, set_cpsat_limits
from capplan.status import SolveStatus
from capplan.storage.instance import StorageInstance, infeasibility_reasons
from capplan.storage.solution import StorageSolution, plan_cost, pool_loads
from capplan.storage.validator import validate

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str], None]

#: Integer resolution of CP-SAT capacities: the largest capacity maps to this many units.
CAP_UNITS: Final = 1e9
#: Integer resolution of CP-SAT costs: the largest per-copy cost maps to this many units.
COST_UNITS: Final = 1e8
#: An LP value closer than this to 0 or 1 counts as integral.
INTEGRAL_TOL: Final = 1e-6
#: Default: stop improving once the gap to the bound is below this (0.1 %).
TARGET_GAP_FRAC: Final = 1e-3


@dataclass(frozen=True)
class _Vars:
    """The volume-pool pairs that exist (allowed), in a flat order."""

    vol: IntArray
    pool: IntArray

    @property
    def n(self) -> int:
        return len(self.vol)


def _pairs(inst: StorageInstance) -> _Vars:
    v, p = np.nonzero(inst.allowed)
    return _Vars(v.astype(np.int64), p.astype(np.int64))


# ------------------------------------------------------------------------------ LP relaxation
@dataclass(frozen=True)
class _LpResult:
    status: str  # optimal | infeasible | failed
    bound: float
    x: FloatArray  # per pair of _pairs(inst)


def _f64(values: npt.ArrayLike) -> Any:
    """A contiguous float64 array (typed Any: OR-Tools' stubs spell the array type oddly)."""
    return np.ascontiguousarray(values, dtype=np.float64)


def _lp_relaxation(inst: StorageInstance, pairs: _Vars, time_limit_s: float) -> _LpResult:
    """Solve the LP relaxation with HiGHS through OR-Tools' model builder."""
    n, m = inst.n_volumes, inst.n_pools
    k = pairs.n
    cols = np.arange(k)
    row_parts = [pairs.vol]
    col_parts = [cols]
    val_parts = [np.ones(k)]
    lo_parts = [inst.copies.astype(np.float64)]
    hi_parts = [inst.copies.astype(np.float64)]
    n_rows = n
    # mirrored volumes: at most one copy per failure domain
    mirrored = inst.copies[pairs.vol] >= 2
    if mirrored.any():
        n_dom = len(inst.domain_names)
        key = pairs.vol[mirrored] * n_dom + inst.pool_domain[pairs.pool[mirrored]]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        multi = counts[inverse] >= 2
        if multi.any():
            used_keys, row_of = np.unique(key[multi], return_inverse=True)
            row_parts.append(n_rows + row_of)
            col_parts.append(cols[mirrored][multi])
            val_parts.append(np.ones(int(multi.sum())))
            lo_parts.append(np.full(len(used_keys), -np.inf))
            hi_parts.append(np.ones(len(used_keys)))
            n_rows += len(used_keys)
    # capacities
    for r in range(inst.demand.shape[2]):
        for j in range(m):
            cap = inst.capacity[j, r]
            if not np.isfinite(cap):
                continue
            on = np.flatnonzero(pairs.pool == j)
            row_parts.append(np.full(len(on), n_rows))
            col_parts.append(on)
            val_parts.append(inst.demand[pairs.vol[on], j, r])
            lo_parts.append(np.array([-np.inf]))
            hi_parts.append(np.array([cap]))
            n_rows += 1
    if inst.current is not None and np.isfinite(inst.max_moved_gib):
        moves = ~inst.current[pairs.vol, pairs.pool]
        row_parts.append(np.full(int(moves.sum()), n_rows))
        col_parts.append(cols[moves])
        val_parts.append(inst.move_gib[pairs.vol[moves]])
        lo_parts.append(np.array([-np.inf]))
        hi_parts.append(np.array([inst.max_moved_gib]))
        n_rows += 1
    matrix = sp.csr_matrix(
        (np.concatenate(val_parts), (np.concatenate(row_parts), np.concatenate(col_parts))),
        shape=(n_rows, k),
    )
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        _f64(np.zeros(k)),
        _f64(np.ones(k)),
        _f64(inst.cost_usd[pairs.vol, pairs.pool]),
        _f64(np.concatenate(lo_parts)),
        _f64(np.concatenate(hi_parts)),
        matrix,
    )
    solver = mbh.ModelSolverHelper("highs")
    # Interior point with crossover: a vertex solution (few fractional volumes) several times
    # faster than dual simplex on these degenerate assignment LPs.
    solver.set_solver_specific_parameters("output_flag=false\nsolver=ipm\nrun_crossover=on")
    solver.enable_output(False)
    solver.set_time_limit_in_seconds(max(time_limit_s, 0.1))
    solver.solve(model)
    status = solver.status()
    if status == mbh.SolveStatus.OPTIMAL:
        values = np.asarray(solver.variable_values(), dtype=np.float64)
        return _LpResult("optimal", float(solver.objective_value()), values)
    if status == mbh.SolveStatus.INFEASIBLE:
        return _LpResult("infeasible", math.nan, np.zeros(k))
    return _LpResult("failed", math.nan, np.zeros(k))


# ----------------------------------------------------------------------------- CP-SAT models
@dataclass(frozen=True)
class _Scale:
    resource: FloatArray  # (R,) units per resource unit
    cost: float  # units per USD


def _scale(inst: StorageInstance) -> _Scale:
    finite = np.where(np.isfinite(inst.capacity), inst.capacity, 0.0)
    top = np.maximum(finite.max(axis=0), 1e-12)
    max_cost = float(np.max(np.where(inst.allowed, inst.cost_usd, 0.0), initial=0.0))
    return _Scale(CAP_UNITS / top, COST_UNITS / max(max_cost, 1e-12))


@dataclass(frozen=True)
class _CpResult:
    status: str  # optimal | feasible | infeasible | unknown
    assign: IntArray  # (k, 2) for the sub-problem's volumes
    bound_units: float  # CP-SAT objective bound (scaled), NaN if none


def _cp_solve(
    inst: StorageInstance,
    volumes: IntArray,
    residual: FloatArray,
    residual_move: float,
    scale: _Scale,
    *,
    hint: IntArray | None,
    time_limit_s: float,
    workers: int,
    seed: int,
    stop_at_units: float | None = None,
    clock: Clock | None = None,
) -> _CpResult:
    """Place ``volumes`` with CP-SAT on the ``residual`` capacities ``(m, R)``.

    ``stop_at_units``: stop as soon as a solution's scaled objective is at most this (the
    known bound plus the target gap), rather than spending the time limit proving it.
    """
    local, pool = np.nonzero(inst.allowed[volumes])  # row-major: local is sorted
    pairs = _Vars(volumes[local].astype(np.int64), pool.astype(np.int64))
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(pairs.n)]
    order = np.arange(pairs.n)
    starts = np.searchsorted(local, np.arange(len(volumes) + 1))
    n_dom = len(inst.domain_names)
    for i, v in enumerate(volumes):
        idx = order[starts[i] : starts[i + 1]]
        if len(idx) < inst.copies[v]:
            return _CpResult("infeasible", np.full((len(volumes), 2), -1), math.nan)
        model.add(sum(x[t] for t in idx) == int(inst.copies[v]))
        if inst.copies[v] >= 2:
            doms = inst.pool_domain[pairs.pool[idx]]
            for d in range(n_dom):
                in_d = idx[doms == d]
                if len(in_d) >= 2:
                    model.add(sum(x[t] for t in in_d) <= 1)
    for r in range(inst.demand.shape[2]):
        s = scale.resource[r]
        for j in range(inst.n_pools):
            cap = residual[j, r]
            if not np.isfinite(cap):
                continue
            on = np.flatnonzero(pairs.pool == j)
            if len(on) == 0:
                continue
            coefs = np.ceil(inst.demand[pairs.vol[on], j, r] * s - 1e-9).astype(np.int64)
            limit = math.floor(cap * s)
            if coefs.sum() <= limit:
                continue
            model.add(cp_model.LinearExpr.weighted_sum([x[t] for t in on], coefs.tolist()) <= limit)
    if inst.current is not None and np.isfinite(residual_move):
        moves = np.flatnonzero(~inst.current[pairs.vol, pairs.pool])
        s = CAP_UNITS / max(inst.max_moved_gib, float(inst.move_gib.sum()), 1e-12)
        coefs = np.ceil(inst.move_gib[pairs.vol[moves]] * s - 1e-9).astype(np.int64)
        limit = math.floor(residual_move * s)
        if len(moves) and coefs.sum() > limit:
            model.add(
                cp_model.LinearExpr.weighted_sum([x[t] for t in moves], coefs.tolist()) <= limit
            )
    cost = np.rint(inst.cost_usd[pairs.vol, pairs.pool] * scale.cost).astype(np.int64)
    model.minimize(cp_model.LinearExpr.weighted_sum(x, cost.tolist()))
    if hint is not None:
        chosen = set()
        for i, v in enumerate(volumes):
            for p in hint[i]:
                if p >= 0:
                    chosen.add((int(v), int(p)))
        for t in range(pairs.n):
            model.add_hint(x[t], (int(pairs.vol[t]), int(pairs.pool[t])) in chosen)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    set_cpsat_limits(solver.parameters, clock, max(time_limit_s, 0.05), workers)
    callback = _StopAt(stop_at_units) if stop_at_units is not None else None
    status = solver.solve(model, callback)
    charge_cpsat(clock, solver.deterministic_time)
    assign = np.full((len(volumes), 2), -1, dtype=np.int64)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.boolean_value(var) for var in x], dtype=bool)
        slot = np.zeros(len(volumes), dtype=np.int64)
        for chosen_var in np.flatnonzero(values):
            row = int(local[chosen_var])
            assign[row, slot[row]] = pairs.pool[chosen_var]
            slot[row] += 1
        return _CpResult(
            "optimal" if status == cp_model.OPTIMAL else "feasible",
            assign,
            float(solver.best_objective_bound),
        )
    if status == cp_model.INFEASIBLE:
        return _CpResult("infeasible", assign, math.nan)
    return _CpResult("unknown", assign, math.nan)


# ------------------------------------------------------------------- fallback without the LP
def _cheapest_copies_bound(inst: StorageInstance) -> float:
    """A lower bound ignoring every shared limit: each volume's cheapest allowed copies.

    One copy: its cheapest allowed pool. Two copies: the two cheapest failure domains, each at
    its cheapest allowed pool.
    """
    cost = np.where(inst.allowed, inst.cost_usd, np.inf)
    n_dom = len(inst.domain_names)
    per_dom = np.full((inst.n_volumes, n_dom), np.inf)
    for d in range(n_dom):
        cols = inst.pool_domain == d
        if cols.any():
            per_dom[:, d] = cost[:, cols].min(axis=1)
    per_dom.sort(axis=1)
    one = cost.min(axis=1)
    two = per_dom[:, 0] + (per_dom[:, 1] if n_dom >= 2 else np.inf)
    return float(np.where(inst.copies >= 2, two, one).sum())


def _greedy(inst: StorageInstance) -> IntArray:
    """Place volumes largest first on their cheapest pools with room; -1 where none fits.

    With a move limit and a current layout, volumes start where they are (nothing moved).
    """
    n = inst.n_volumes
    assign = np.full((n, 2), -1, dtype=np.int64)
    residual = inst.capacity.copy()
    todo = np.arange(n)
    if inst.current is not None and np.isfinite(inst.max_moved_gib):
        for v in range(n):
            pools = np.flatnonzero(inst.current[v])
            if len(pools) == inst.copies[v] and inst.allowed[v, pools].all():
                assign[v, : len(pools)] = pools
                residual[pools] -= inst.demand[v, pools]
        todo = np.flatnonzero(assign[:, 0] < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.isfinite(inst.capacity), inst.demand / inst.capacity, 0.0)
    size = np.nan_to_num(rel.max(axis=(1, 2)))
    for v in todo[np.argsort(-size[todo], kind="stable")]:
        fits = inst.allowed[v] & np.all(inst.demand[v] <= residual + 1e-12, axis=1)
        order = np.argsort(np.where(fits, inst.cost_usd[v], np.inf), kind="stable")
        chosen: list[int] = []
        for p in order:
            if not fits[p] or len(chosen) == inst.copies[v]:
                break
            if any(inst.pool_domain[p] == inst.pool_domain[q] for q in chosen):
                continue
            chosen.append(int(p))
        if len(chosen) == inst.copies[v]:
            assign[v, : len(chosen)] = chosen
            residual[chosen] -= inst.demand[v, chosen]
    return assign


class _StopAt(cp_model.CpSolverSolutionCallback):
    """Stops the search once a solution is good enough."""

    def __init__(self, threshold_units: float) -> None:
        super().__init__()
        self.threshold_units = threshold_units

    def on_solution_callback(self) -> None:
        if self.objective_value <= self.threshold_units:
            self.stop_search()


# ------------------------------------------------------------------------------ the strategy
def _round_lp(inst: StorageInstance, pairs: _Vars, x: FloatArray) -> tuple[IntArray, IntArray]:
    """Fix volumes whose LP values are integral; return (assign, free volume indices)."""
    n = inst.n_volumes
    frac = (x > INTEGRAL_TOL) & (x < 1 - INTEGRAL_TOL)
    is_frac = np.zeros(n, dtype=bool)
    np.logical_or.at(is_frac, pairs.vol, frac)
    assign = np.full((n, 2), -1, dtype=np.int64)
    chosen = (x >= 1 - INTEGRAL_TOL) & ~is_frac[pairs.vol]
    order = np.argsort(pairs.vol[chosen], kind="stable")
    vols = pairs.vol[chosen][order]
    pools = pairs.pool[chosen][order]
    first = np.r_[True, vols[1:] != vols[:-1]] if len(vols) else np.zeros(0, dtype=bool)
    assign[vols[first], 0] = pools[first]
    assign[vols[~first], 1] = pools[~first]
    placed = (assign >= 0).sum(axis=1)
    is_frac |= placed != inst.copies
    assign[is_frac] = -1
    return assign, np.flatnonzero(is_frac).astype(np.int64)


def _residual(inst: StorageInstance, assign: IntArray) -> tuple[FloatArray, float]:
    loads = pool_loads(inst, assign)
    move = (
        inst.max_moved_gib - inst.moved_gib(assign) if np.isfinite(inst.max_moved_gib) else math.inf
    )
    return inst.capacity - loads, move


def _make_room(inst: StorageInstance, assign: IntArray, free: IntArray) -> IntArray:
    """Free more volumes from pools whose residual is negative (LP rounding tolerance)."""
    residual, _ = _residual(inst, assign)
    extra: list[int] = []
    for j in np.flatnonzero((residual < 0).any(axis=1)):
        on = np.flatnonzero((assign == j).any(axis=1))
        need = -np.minimum(residual[j], 0.0)
        got = np.zeros_like(need)
        for v in on:
            extra.append(int(v))
            got += inst.demand[v, j]
            if np.all(got >= need):
                break
    return np.unique(np.concatenate([free, np.array(extra, dtype=np.int64)]))


def _grow(
    inst: StorageInstance, assign: IntArray, free: IntArray, rng: np.random.Generator
) -> IntArray:
    """Enlarge the free set: double it with volumes from the tightest pools."""
    residual, _ = _residual(inst, assign)
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.where(np.isfinite(inst.capacity), residual / inst.capacity, np.inf)
    tight = np.argsort(np.nanmin(slack, axis=1))[: max(2, inst.n_pools // 3)]
    fixed = np.setdiff1d(np.flatnonzero((assign[:, :, None] == tight).any(axis=(1, 2))), free)
    want = max(200, len(free))
    if len(fixed) < want:
        others = np.setdiff1d(np.arange(inst.n_volumes), np.concatenate([free, fixed]))
        pick = rng.choice(others, size=min(len(others), want - len(fixed)), replace=False)
        fixed = np.concatenate([fixed, pick])
    else:
        fixed = rng.choice(fixed, size=want, replace=False)
    return np.unique(np.concatenate([free, fixed.astype(np.int64)]))


def _sub_solve(
    inst: StorageInstance,
    assign: IntArray,
    free: IntArray,
    scale: _Scale,
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
    hint: bool,
    target_usd: float | None = None,
    clock: Clock | None = None,
) -> _CpResult:
    """Re-place the ``free`` volumes, all others fixed; stop early at ``target_usd`` in total."""
    rest = assign.copy()
    rest[free] = -1
    residual, move = _residual(inst, rest)
    stop = None
    if target_usd is not None and math.isfinite(target_usd):
        stop = (target_usd - plan_cost(inst, rest)) * scale.cost
    return _cp_solve(
        inst,
        free,
        residual,
        move,
        scale,
        hint=assign[free] if hint else None,
        time_limit_s=time_limit_s,
        workers=workers,
        seed=seed,
        stop_at_units=stop,
        clock=clock,
    )


def _lns(
    inst: StorageInstance,
    assign: IntArray,
    bound: float,
    scale: _Scale,
    deadline: float,
    *,
    workers: int,
    rng: np.random.Generator,
    progress: Progress | None,
    neighbourhood: int,
    target_gap_frac: float,
    clock: Clock,
) -> IntArray:
    """Large-neighbourhood search: free the volumes of a few pools, re-solve, keep gains."""
    cost = plan_cost(inst, assign)
    stale = 0
    while clock.left(deadline) > 0.2 and stale < 30:
        if cost <= 0 or (cost - bound) / cost <= target_gap_frac:
            break
        k = int(rng.integers(2, min(4, inst.n_pools) + 1)) if inst.n_pools >= 2 else 1
        pools = rng.choice(inst.n_pools, size=k, replace=False)
        on = np.flatnonzero((assign[:, :, None] == pools).any(axis=(1, 2)))
        if len(on) == 0:
            stale += 1
            continue
        if len(on) > neighbourhood:
            on = np.sort(rng.choice(on, size=neighbourhood, replace=False))
        budget = min(5.0, clock.left(deadline) - 0.1)
        if budget <= 0.05:
            break
        result = _sub_solve(
            inst,
            assign,
            on,
            scale,
            time_limit_s=budget,
            workers=workers,
            seed=int(rng.integers(1 << 30)),
            hint=True,
            target_usd=bound * (1 + target_gap_frac),
            clock=clock,
        )
        if result.status in ("optimal", "feasible"):
            trial = assign.copy()
            trial[on] = result.assign
            new_cost = plan_cost(inst, trial)
            if new_cost < cost - 1e-9 * max(abs(cost), 1.0):
                assign, cost, stale = trial, new_cost, 0
                if progress:
                    progress(f"lns: cost {cost:,.2f} gap {(cost - bound) / cost:.4%}")
                continue
        stale += 1
    return assign


def solve_placement(
    inst: StorageInstance,
    *,
    time_limit_s: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    full_model_max_vars: int = 30_000,
    lns_neighbourhood: int = 1500,
    target_gap_frac: float = TARGET_GAP_FRAC,
    progress: Progress | None = None,
    deterministic: bool = True,
) -> StorageSolution:
    """Find a least-cost placement and a lower bound on the cost of any placement.

    Parameters
    ----------
    inst
        The prepared instance.
    time_limit_s
        Wall-time budget for the whole solve, s. With ``deterministic`` the search runs on
        a work budget of ``WORK_SHARE`` × this (:mod:`capplan.optimize.clock`), so the same
        inputs and seed give the same plan unless the wall limit comes first (or the LP
        relaxation, limited to half of it in wall time, does not finish).
    workers
        CP-SAT worker threads.
    seed
        Random seed (LNS neighbourhoods, CP-SAT).
    full_model_max_vars
        Largest number of volume-pool pairs solved as one CP-SAT model.
    lns_neighbourhood
        Most volumes freed in one LNS step.
    target_gap_frac
        Stop searching once a plan is within this share of the bound (0: use the whole time
        limit to prove optimality).
    progress
        Called with short progress messages.
    deterministic
        Count work rather than wall time (CP-SAT with one worker).

    Returns
    -------
    StorageSolution
        ``infeasible`` with reasons when no plan exists, ``unknown`` when none was found in
        time, otherwise a validated plan with its cost, bound and gap.
    """
    start = time.monotonic()
    clock = Clock(deterministic=deterministic, wall_limit_s=time_limit_s)
    deadline = clock.now() + (WORK_SHARE * time_limit_s if deterministic else time_limit_s)
    empty = np.full((inst.n_volumes, 2), -1, dtype=np.int64)

    def done(assign: IntArray, status: SolveStatus, bound: float, method: str) -> StorageSolution:
        validate(inst, assign)
        cost = plan_cost(inst, assign)
        bound = min(bound, cost) if math.isfinite(bound) else bound
        if math.isfinite(bound) and cost > 0 and (cost - bound) / cost <= 1e-9:
            status = SolveStatus.OPTIMAL
        return StorageSolution(assign, status, cost, bound, time.monotonic() - start, method)

    if inst.n_volumes == 0:
        return StorageSolution(empty, SolveStatus.OPTIMAL, 0.0, 0.0, 0.0, "empty")
    reasons = infeasibility_reasons(inst)
    if reasons:
        return StorageSolution(
            empty,
            SolveStatus.INFEASIBLE,
            wall_s=time.monotonic() - start,
            method="pre-check",
            reasons=tuple(reasons),
        )
    pairs = _pairs(inst)
    scale = _scale(inst)
    rng = np.random.default_rng(seed)
    lp = _lp_relaxation(inst, pairs, max(time_limit_s * 0.5, 1.0))
    if progress:
        progress(f"lp: {lp.status}, bound {lp.bound:,.2f} ({time.monotonic() - start:.1f} s)")
    if lp.status == "infeasible":
        return StorageSolution(
            empty,
            SolveStatus.INFEASIBLE,
            wall_s=time.monotonic() - start,
            method="lp",
            reasons=(
                "even fractional placements cannot satisfy every pool's limits together "
                "(the LP relaxation is infeasible): capacity, IOPS, MiB/s, the alert threshold "
                "or the move limit is too tight for these volumes",
            ),
        )
    if lp.status == "optimal":
        lp_bound = lp.bound
        hint_assign, free = _round_lp(inst, pairs, lp.x)
        method = "lp-round+cp-sat+lns"
    else:
        # no LP solution in time: start from a greedy plan; the bound ignores shared limits
        lp_bound = _cheapest_copies_bound(inst)
        hint_assign = _greedy(inst)
        free = np.flatnonzero((hint_assign >= 0).sum(axis=1) != inst.copies).astype(np.int64)
        method = "greedy+cp-sat+lns"
    free = _make_room(inst, hint_assign, free)
    hint_assign[free] = -1
    if pairs.n <= full_model_max_vars:
        result = _cp_solve(
            inst,
            np.arange(inst.n_volumes, dtype=np.int64),
            inst.capacity,
            inst.max_moved_gib,
            scale,
            hint=hint_assign,
            time_limit_s=clock.left(deadline),
            workers=workers,
            seed=seed,
            clock=clock,
            stop_at_units=(
                lp_bound * scale.cost * (1 + target_gap_frac)
                if lp.status == "optimal" and target_gap_frac > 0
                else None
            ),
        )
        if result.status == "infeasible":
            return StorageSolution(
                empty,
                SolveStatus.INFEASIBLE,
                wall_s=time.monotonic() - start,
                method="cp-sat",
                reasons=("CP-SAT proved that no placement satisfies every rule",),
            )
        if result.status == "unknown":
            return StorageSolution(
                empty,
                SolveStatus.UNKNOWN,
                wall_s=time.monotonic() - start,
                method="cp-sat",
                reasons=(f"no placement found within {time_limit_s:g} s",),
            )
        slack = float(inst.copies.sum()) * 0.5 / scale.cost
        bound = max(lp_bound, result.bound_units / scale.cost - slack)
        status = SolveStatus.OPTIMAL if result.status == "optimal" else SolveStatus.FEASIBLE
        return done(result.assign, status, bound, "cp-sat")
    # large instance: repair the rounded LP (or greedy) solution, then improve
    assign = hint_assign
    attempt = 0
    while True:
        # short attempts first: a residual problem that is too tight can be slow to prove
        # infeasible, and widening the free set is cheaper than waiting
        attempt += 1
        budget = max(clock.left(deadline), 0.5)
        result = _sub_solve(
            inst,
            assign,
            free,
            scale,
            time_limit_s=min(budget, 2.0 * attempt),
            workers=workers,
            seed=seed,
            hint=False,
            target_usd=lp_bound * (1 + target_gap_frac),
            clock=clock,
        )
        if result.status in ("optimal", "feasible"):
            assign = assign.copy()
            assign[free] = result.assign
            break
        if result.status == "infeasible" and len(free) >= inst.n_volumes:
            return StorageSolution(
                empty,
                SolveStatus.INFEASIBLE,
                wall_s=time.monotonic() - start,
                method=method,
                reasons=(
                    "CP-SAT proved that no placement satisfies every rule (fractional "
                    "placements could, so no single pool or resource is to blame)",
                ),
            )
        if len(free) >= inst.n_volumes or clock.past(deadline):
            return StorageSolution(
                empty,
                SolveStatus.UNKNOWN,
                wall_s=time.monotonic() - start,
                method=method,
                reasons=(
                    f"no placement found within {time_limit_s:g} s (the LP bound is "
                    f"{lp_bound:,.2f} USD)",
                ),
            )
        free = _grow(inst, assign, free, rng)
        assign = assign.copy()
        assign[free] = -1
        if progress:
            progress(f"repair: widening to {len(free)} volumes")
    if progress:
        cost = plan_cost(inst, assign)
        progress(f"repaired: cost {cost:,.2f} gap {(cost - lp_bound) / max(cost, 1e-12):.4%}")
    assign = _lns(
        inst,
        assign,
        lp_bound,
        scale,
        deadline,
        workers=workers,
        rng=rng,
        progress=progress,
        neighbourhood=lns_neighbourhood,
        target_gap_frac=target_gap_frac,
        clock=clock,
    )
    return done(assign, SolveStatus.FEASIBLE, lp_bound, method)
