"""The solve entry point: strategies, reports, infeasibility, progress, properties."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import SolverError
from capplan.optimize.instance import Instance, make_instance
from capplan.optimize.strategies import STRATEGIES, ProgressEvent, solve
from capplan.optimize.validator import validate


def _random_instance(seed: int, n: int = 30) -> Instance:
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 45, (n, 2, 3))
    return make_instance(demand, [100, 100])


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_returns_a_valid_packing(name: str) -> None:
    inst = _random_instance(1)
    res = solve(inst, strategy=name, time_limit_s=1.0, workers=1)
    rep = res.report
    assert rep.status in ("optimal", "feasible")
    assert res.solution is not None and validate(inst, res.solution) == []
    assert rep.objective is not None and rep.bound <= rep.objective
    assert rep.gap_frac is not None and 0 <= rep.gap_frac <= 1
    assert rep.n_bins == res.solution.n_bins


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(SolverError) as err:
        solve(make_instance([[1]], [10]), strategy="magic")
    for name in STRATEGIES:
        assert name in str(err.value)


def test_optimal_when_objective_meets_the_bound() -> None:
    inst = make_instance([[5], [5], [5], [5]], [10])
    res = solve(inst, time_limit_s=1.0)
    assert res.report.status == "optimal" and res.report.gap_frac == 0.0
    assert res.report.objective == res.report.bound == 2


def test_cp_sat_proves_an_optimum_above_the_simple_bounds(
    brute_force: Callable[[Instance], int | None],
) -> None:
    # Volume, L2 and clique bounds say 3 bins; enumeration says 4; the solver must prove 4.
    inst = make_instance([[8, 2], [5, 7], [3, 3], [2, 2], [8, 2], [2, 2], [1, 7]], [10, 10])
    assert brute_force(inst) == 4
    res = solve(inst, time_limit_s=5.0, workers=1)
    assert res.report.status == "optimal"
    assert res.report.bound == res.report.objective == 4
    assert res.report.bound_source == "cpsat"


def test_item_bigger_than_every_host() -> None:
    inst = make_instance(
        [[3, 4], [2, 12]],
        [10, 10],
        item_names=["small", "huge-db"],
        dim_names=["cpu", "mem"],
        dim_units=["MHz", "MiB"],
    )
    res = solve(inst, time_limit_s=1.0)
    assert res.report.status == "infeasible" and res.solution is None
    assert "huge-db" in res.report.reason and "mem" in res.report.reason


def test_anti_affinity_group_larger_than_hosts_available() -> None:
    inst = make_instance([[1]] * 4, [10], n_available=[3], anti_affinity=[[0, 1, 2, 3]])
    res = solve(inst, time_limit_s=1.0)
    assert res.report.status == "infeasible"
    assert "anti-affinity" in res.report.reason and "4 members" in res.report.reason


def test_zone_without_host_model() -> None:
    inst = make_instance(
        [[1], [1]],
        [[10], [10]],
        zone=[0, 1],
        zone_names=["dmz", "pci"],
        allowed=[[True, True], [False, False]],
    )
    res = solve(inst, time_limit_s=1.0)
    assert res.report.status == "infeasible"
    assert "pci" in res.report.reason or "may use none" in res.report.reason


def test_total_capacity_too_small() -> None:
    inst = make_instance([[6, 1], [1, 6], [5, 5]], [10, 10], n_available=[1])
    res = solve(inst, time_limit_s=1.0)
    assert res.report.status == "infeasible" and res.report.reason


def test_progress_reports_phases_and_done() -> None:
    events: list[ProgressEvent] = []
    solve(_random_instance(2), time_limit_s=1.0, workers=1, progress=events.append)
    phases = {e.phase for e in events}
    assert {"bounds", "done"} <= phases
    assert events[-1].phase == "done" and events[-1].objective is not None


def test_affinity_groups_end_up_together() -> None:
    inst = make_instance([[3], [3], [3], [3]], [10], affinity=[[0, 3]])
    res = solve(inst, time_limit_s=1.0)
    assert res.solution is not None and res.solution.assign[0] == res.solution.assign[3]


def test_strict_ha_plan_validates() -> None:
    inst = make_instance([[4], [4], [4], [4], [4]], [10], ha_spares=1, ha_policy="strict")
    res = solve(inst, time_limit_s=2.0, workers=1)
    assert res.solution is not None and validate(inst, res.solution) == []
    assert res.report.objective is not None and res.report.objective >= 4


def test_no_packing_found_is_reported_as_unknown() -> None:
    # FFD fills 5+4 and 3+3+3 and cannot place the 2 on two bins; {5,3,2} + {4,3,3} works.
    inst = make_instance([[5], [4], [3], [3], [3], [2]], [10], n_available=[2])
    ffd = solve(inst, strategy="ffd", time_limit_s=1.0)
    assert ffd.report.status == "unknown" and ffd.solution is None
    assert "used up" in ffd.report.reason
    auto = solve(inst, strategy="auto", time_limit_s=2.0, workers=1)
    assert auto.report.status == "optimal" and auto.report.objective == 2


def test_nonpositive_time_limit_is_an_error() -> None:
    with pytest.raises(SolverError, match="time limit"):
        solve(make_instance([[1]], [10]), time_limit_s=0)


# ------------------------------------------------------------------------- properties
_tiny = st.integers(min_value=2, max_value=7).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.integers(0, 9), min_size=4, max_size=4), min_size=n, max_size=n),
        st.integers(9, 14),
    )
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tiny)
def test_property_valid_and_bound_below_objective(
    data: tuple[list[list[int]], int],
) -> None:
    rows, cap = data
    # 2 dims x 2 buckets.
    inst = make_instance(np.array(rows).reshape(len(rows), 2, 2), [cap, cap])
    res = solve(inst, time_limit_s=1.0, workers=1)
    assert res.solution is not None
    assert validate(inst, res.solution) == []
    assert res.report.bound <= res.report.objective  # type: ignore[operator]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_tiny)
def test_property_optimum_matches_brute_force_and_capacity_is_monotone(
    brute_force: Callable[[Instance], int | None],
    data: tuple[list[list[int]], int],
) -> None:
    rows, cap = data
    demand = np.array(rows).reshape(len(rows), 2, 2)
    small = make_instance(demand, [cap, cap])
    large = make_instance(demand, [cap + 2, cap + 1])
    a = solve(small, time_limit_s=2.0, workers=1)
    b = solve(large, time_limit_s=2.0, workers=1)
    if a.report.status == "optimal":
        assert a.report.objective == brute_force(small)
    if a.report.status == "optimal" and b.report.status == "optimal":
        assert b.report.objective <= a.report.objective  # type: ignore[operator]
