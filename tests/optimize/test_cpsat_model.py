"""The CP-SAT model: known optima, symmetry breaking, column reduction, sub-problems."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from capplan.optimize import cpsat
from capplan.optimize.heuristics import run_rule
from capplan.optimize.instance import Instance, Solution, make_instance
from capplan.optimize.subproblem import SubProblem
from capplan.optimize.validator import validate


def _full(inst: Instance, time_s: float = 5.0) -> tuple[cpsat.SubResult, SubProblem]:
    sub = cpsat.full_subproblem(inst, None, 0)
    return cpsat.solve(inst, sub, time_limit_s=time_s, workers=1), sub


def test_two_dimensional_optimum_matches_brute_force(
    brute_force: Callable[[Instance], int | None],
) -> None:
    # FFD by sum opens 3 bins; 2 suffice: {(6,1),(4,8)} and {(5,2),(3,3),(2,5)}... checked
    # by enumeration.
    inst = make_instance([[6, 1], [5, 2], [4, 8], [3, 3], [2, 5]], [10, 10])
    res, sub = _full(inst)
    assert res.status == cpsat.OPTIMAL
    assert res.objective == brute_force(inst)
    sol = cpsat.to_solution(sub, res, inst.n_items)
    assert validate(inst, sol) == []


def test_cheapest_type_mix() -> None:
    # Three items of 5: big bins (10, cost 5) hold two, small ones (6, cost 2) one:
    # 3 small = 6 < big + small = 7 < 2 big = 10.
    inst = make_instance([[5], [5], [5]], [[10], [6]], cost=[5, 2])
    res, sub = _full(inst)
    assert res.status == cpsat.OPTIMAL and res.objective == 6
    sol = cpsat.to_solution(sub, res, inst.n_items)
    assert sol.bins_by_type(inst) == {"type1": 3}


def test_hint_from_a_heuristic_is_accepted_after_relabelling() -> None:
    rng = np.random.default_rng(5)
    inst = make_instance(rng.integers(5, 45, (14, 2)), [100, 100])
    start = run_rule(inst, "ffd-l2").solution
    assert start is not None
    sub = cpsat.full_subproblem(inst, start, 0)
    mapped = cpsat.hint_positions(sub, start)
    assert mapped is not None
    hint, _ = mapped
    canon = cpsat.canonical_hint(inst, sub, hint)
    # The canonical hint respects "item at position p only in class bins <= p".
    for p, b in enumerate(canon.tolist()):
        assert b <= p
    res = cpsat.solve(inst, sub, hint=hint, time_limit_s=5, workers=1)
    assert res.objective is not None and res.objective <= start.n_bins


def test_reduce_columns_drops_slack_duplicate_and_dominated() -> None:
    demand = np.array([[5, 5, 1, 6, 2, 1], [5, 5, 1, 6, 2, 1], [4, 4, 1, 3, 9, 9]])
    caps = np.array([[10, 10, 10, 10, 10, 10]])
    keep = cpsat.reduce_columns(demand, caps).tolist()
    # Column 2 never binds (sum 3 <= 10), column 1 repeats column 0, column 5 (1,1,9) is
    # dominated by column 4 (2,2,9); columns 0, 3, 4 each bind on their own.
    assert keep == [0, 3, 4]


def test_migration_budget_in_a_subproblem() -> None:
    inst = make_instance([[2], [2]], [10], existing_type=[0, 0], current=[0, 1], migration_budget=0)
    sub = SubProblem(np.array([0, 1]), np.array([0, 0]), np.array([0, 1]), migration_left=0)
    res = cpsat.solve(inst, sub, time_limit_s=2, workers=1)
    assert res.status == cpsat.OPTIMAL and res.objective == 2
    sub_free = SubProblem(np.array([0, 1]), np.array([0, 0]), np.array([0, 1]), migration_left=1)
    res = cpsat.solve(inst, sub_free, time_limit_s=2, workers=1)
    assert res.objective == 1


def test_infeasible_subproblem_is_reported() -> None:
    inst = make_instance([[6], [6]], [10])
    sub = SubProblem(np.array([0, 1]), np.array([0]), np.array([-1]))
    res = cpsat.solve(inst, sub, time_limit_s=2, workers=1)
    assert res.status == cpsat.INFEASIBLE and res.assign is None


def test_zones_and_reserve_in_the_model() -> None:
    inst = make_instance([[4], [4], [4], [4]], [10], zone=[0, 0, 1, 1], ha_spares=1)
    res, sub = _full(inst)
    assert res.assign is not None
    sol = cpsat.to_solution(sub, res, inst.n_items)
    assert validate(inst, sol) == []
    # Per zone: 8 of demand + a spare of 10 -> 2 bins per zone.
    assert res.objective == 4


def test_a_pinned_item_whose_home_type_it_may_not_use_is_infeasible() -> None:
    # Item 0 is pinned to the one existing bin, of a type it may not use: no packing keeps it
    # home without breaking the type rule, so the model has no solution (it used to place
    # the item there anyway).
    inst = make_instance(
        [[1], [1]],
        [[10], [10]],
        allowed=[[False, True], [True, True]],
        existing_type=[0],
        pinned=[0, -1],
    )
    res, _ = _full(inst)
    assert res.status == cpsat.INFEASIBLE
    assert validate(inst, Solution(np.array([0, 0]), np.array([0]), np.array([0])))
