"""Greedy packings: hand-worked cases, rules, time-awareness."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.optimize.heuristics import (
    PackingFailed,
    multi_bin_search,
    pack_bins,
    pack_from_current,
    pack_items,
    portfolio,
    rule_names,
    run_rule,
)
from capplan.optimize.instance import make_instance
from capplan.optimize.validator import validate


def test_ffd_hand_worked_one_dimension() -> None:
    # FFD: 7+3, 5+4+1, 2+2 -> 3 bins (the optimum: total 24 needs 3 bins of 10).
    inst = make_instance([[7], [5], [4], [3], [2], [2], [1]], [10])
    res = run_rule(inst, "ffd-sum")
    assert res.solution is not None and res.objective == 3
    assert validate(inst, res.solution) == []
    loads = sorted(res.solution.loads(inst)[:, 0].tolist())
    assert loads == [4, 10, 10]


def test_time_aware_items_with_complementary_peaks_share_a_bin() -> None:
    # Each needs 8 of 10, one by day, one by night.
    aware = make_instance([[[8, 1]], [[1, 8]]], [10])
    peak = make_instance([[8], [8]], [10])
    assert run_rule(aware, "ffd-sum").objective == 1
    assert run_rule(peak, "ffd-sum").objective == 2


@pytest.mark.parametrize("name", ["ffd-sum", "bfd-l2", "bin-dot", "bin-avg_l2", "pair-dot"])
def test_rules_respect_anti_affinity_and_zones(name: str) -> None:
    inst = make_instance([[1], [1], [1], [1]], [10], anti_affinity=[[0, 1]], zone=[0, 0, 1, 1])
    res = run_rule(inst, name)
    assert res.solution is not None
    assert validate(inst, res.solution) == []
    a = res.solution.assign
    assert a[0] != a[1] and a[2] == a[3] and a[0] != a[2] and a[1] != a[2]


def test_pair_lookahead_finds_exact_triplets() -> None:
    # Two perfect triplets (50+30+20, 45+35+20), shuffled; greedy by size pairs 50 with 45.
    sizes = [[50], [45], [35], [30], [20], [20]]
    inst = make_instance(sizes, [100])
    assert run_rule(inst, "pair-dot").objective == 2
    assert validate(inst, pack_bins(inst, "dot", pair=True)) == []


def test_allowed_types_and_type_preference() -> None:
    # Item 0 may only use the big type; the small type is cheaper per unit.
    inst = make_instance(
        [[8], [3], [3]],
        [[10], [6]],
        cost=[10, 3],
        allowed=[[True, False], [True, True], [True, True]],
    )
    sol = pack_items(inst, np.array([0, 1, 2]))
    assert validate(inst, sol) == []
    assert sol.bin_type[sol.assign[0]] == 0


def test_item_that_fits_nowhere_fails_with_its_name() -> None:
    inst = make_instance([[3], [11]], [10], item_names=["a", "huge"])
    res = run_rule(inst, "ffd-sum")
    assert res.solution is None and "huge" in res.reason
    with pytest.raises(PackingFailed):
        pack_items(inst, np.array([0, 1]))


def test_availability_limits_bins() -> None:
    inst = make_instance([[6], [6], [6]], [10], n_available=[2])
    res = run_rule(inst, "ffd-sum")
    assert res.solution is None and "used up" in res.reason


def test_label_limit_splits_bins() -> None:
    inst = make_instance([[1], [1], [1]], [10], label=[1, 2, 3], label_limit=[2])
    res = run_rule(inst, "ffd-sum")
    assert res.solution is not None and res.objective == 2
    assert validate(inst, res.solution) == []


def test_ha_spares_are_added() -> None:
    inst = make_instance([[5], [5], [5], [5]], [10], ha_spares=1, ha_policy="strict")
    res = run_rule(inst, "ffd-sum")
    assert res.solution is not None
    assert res.objective == 3
    assert validate(inst, res.solution) == []


def test_from_current_keeps_vms_within_a_zero_budget() -> None:
    inst = make_instance(
        [[2], [2], [2]], [10], existing_type=[0, 0, 0], current=[0, 1, 2], migration_budget=0
    )
    sol = pack_from_current(inst)
    assert validate(inst, sol) == []
    assert sol.n_bins == 3
    sol2 = pack_from_current(inst, max_moves=5)
    assert (
        sol2.n_bins == 1
        and validate(
            make_instance([[2], [2], [2]], [10], existing_type=[0, 0, 0], current=[0, 1, 2]), sol2
        )
        == []
    )


def test_multi_bin_search_never_returns_an_invalid_packing() -> None:
    rng = np.random.default_rng(3)
    inst = make_instance(rng.integers(10, 60, (40, 3)), [100, 100, 100])
    start = run_rule(inst, "ffd-sum").solution
    assert start is not None
    for rule in ("worst", "dot", "best"):
        sol = multi_bin_search(inst, start, 1, rule, "sum")
        if sol is not None:
            assert sol.n_bins < start.n_bins
            assert validate(inst, sol) == []


def test_portfolio_sorts_best_first_and_rule_names_scale() -> None:
    rng = np.random.default_rng(0)
    inst = make_instance(rng.integers(1, 50, (30, 2)), [100, 100])
    results = portfolio(inst)
    objs = [r.objective for r in results if r.objective is not None]
    assert objs == sorted(objs)
    assert "bin-dot" in rule_names(inst)
    big = make_instance(np.ones((3000, 48), dtype=np.int64), np.full(48, 100))
    assert not any(n.startswith("bin-") for n in rule_names(big))


def test_unknown_rule_is_an_error() -> None:
    inst = make_instance([[1]], [10])
    with pytest.raises(ValueError, match="unknown"):
        run_rule(inst, "ffd-volume")
