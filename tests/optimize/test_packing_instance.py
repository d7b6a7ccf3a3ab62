"""The packing instance: defaults, structural checks, affinity contraction, solutions."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import InfeasibleError, SolverError
from capplan.optimize import rules
from capplan.optimize.instance import Solution, make_instance
from capplan.optimize.rules.affinity import contract_affinity


def test_defaults_make_a_bin_count_objective() -> None:
    inst = make_instance([[3, 1], [4, 2]], [10, 10])
    assert (inst.n_items, inst.n_dims, inst.n_buckets, inst.n_types) == (2, 2, 1, 1)
    assert inst.cost.tolist() == [1]
    assert inst.allowed.all() and inst.zone.tolist() == [0, 0]
    assert rules.active(inst) == ("capacity",)
    sol = Solution(np.array([0, 0]), np.array([0]), np.array([-1]))
    assert sol.objective(inst) == 1
    assert sol.loads(inst).tolist() == [[7, 3]]


def test_flat_columns_are_dimension_major() -> None:
    demand = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    inst = make_instance(demand, [[100, 200]])
    assert inst.flat_demand.shape == (2, 6)
    assert inst.flat_capacity.tolist() == [[100, 100, 100, 200, 200, 200]]
    assert inst.column_name(4) == ("dim1", "b1")


def test_bad_shapes_are_reported_together() -> None:
    with pytest.raises(SolverError) as err:
        make_instance([[1, 2]], [10, 10], cost=[1, 2], zone=[0, 0])
    text = str(err.value)
    assert "cost" in text and "zone" in text


def test_out_of_range_references_are_rejected() -> None:
    with pytest.raises(SolverError, match="pinned"):
        make_instance([[1]], [10], pinned=[0])
    with pytest.raises(SolverError, match="anti_affinity"):
        make_instance([[1], [1]], [10], anti_affinity=[[0, 5]])
    with pytest.raises(SolverError, match="ha_policy"):
        make_instance([[1]], [10], ha_policy="maybe")


def test_existing_bins_must_fit_availability() -> None:
    with pytest.raises(SolverError, match="existing bins"):
        make_instance([[1]], [10], n_available=[1], existing_type=[0, 0])


def test_item_cost_enters_the_objective() -> None:
    inst = make_instance([[1], [1]], [[10], [10]], cost=[5, 7], item_cost=[[1, 2], [3, 4]])
    sol = Solution(np.array([0, 1]), np.array([0, 1]), np.array([-1, -1]))
    assert sol.objective(inst) == 5 + 7 + 1 + 4


def test_compact_drops_empty_bins_only() -> None:
    sol = Solution(np.array([2, 0]), np.array([0, 1, 0]), np.array([-1, -1, -1]))
    out = sol.compact()
    assert out.n_bins == 2 and out.assign.tolist() == [1, 0]


def test_affinity_contraction_merges_and_expands() -> None:
    inst = make_instance(
        [[2, 1], [3, 1], [4, 4]], [10, 10], affinity=[[0, 1]], anti_affinity=[[1, 2]]
    )
    con = contract_affinity(inst)
    assert con is not None
    red = con.reduced
    assert red.n_items == 2
    assert red.flat_demand.tolist() == [[5, 2], [4, 4]]
    assert len(red.anti_affinity) == 1 and red.anti_affinity[0].tolist() == [0, 1]
    sol = con.expand(Solution(np.array([0, 1]), np.array([0, 0]), np.array([-1, -1])))
    assert sol.assign.tolist() == [0, 0, 1]


def test_affinity_contradicting_anti_affinity_is_infeasible() -> None:
    inst = make_instance([[1], [1]], [10], affinity=[[0, 1]], anti_affinity=[[0, 1]])
    with pytest.raises(InfeasibleError, match="affinity"):
        contract_affinity(inst)


def test_affinity_across_zones_is_infeasible() -> None:
    inst = make_instance([[1], [1]], [10], affinity=[[0, 1]], zone=[0, 1])
    with pytest.raises(InfeasibleError, match="zone"):
        contract_affinity(inst)


def test_affinity_reports_the_first_member_whose_rules_clash() -> None:
    # Item 1's VLAN clashes before item 2's zone: the label error is the one raised, as each
    # member is checked in turn.
    inst = make_instance(
        [[1], [1], [1]],
        [10],
        zone=[0, 0, 1],
        label=[1, 2, -1],
        label_limit=[3],
        affinity=[[0, 1, 2]],
    )
    with pytest.raises(SolverError, match="spans several labels"):
        contract_affinity(inst)
