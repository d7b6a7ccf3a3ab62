"""Explanations: the binding resource and bucket, "why N", infeasibility reasons."""

from __future__ import annotations

import numpy as np

from capplan.optimize.bounds import lower_bound
from capplan.optimize.explain import explain_solution, infeasibility_reason
from capplan.optimize.instance import Solution, make_instance


def test_binding_dimension_and_bucket() -> None:
    # cpu (dim 0) light; mem (dim 1) fills the bins at night (bucket 1).
    demand = np.array(
        [
            [[2, 2], [6, 9]],
            [[2, 2], [5, 9]],
        ]
    )
    inst = make_instance(demand, [10, 10], dim_names=["cpu", "mem"], bucket_names=["day", "night"])
    sol = Solution(np.array([0, 1]), np.array([0, 0]), np.array([-1, -1]))
    ex = explain_solution(inst, sol, lower_bound(inst))
    assert ex.binding == "mem" and ex.binding_bucket == "night"
    assert ex.bins_bound_by == {"cpu": 0, "mem": 2}
    assert ex.util_peak_frac["mem"] == 0.9
    assert any("lower bound: at least 2 bins" in w and "mem" in w for w in ex.why)
    assert ex.bins[0].util_frac == 0.9 and ex.bins[0].bucket == "night"
    assert ex.to_dict()["binding"] == "mem"


def test_no_reason_for_a_feasible_instance() -> None:
    assert infeasibility_reason(make_instance([[3], [4]], [10])) is None


def test_reason_names_item_dimension_and_bucket() -> None:
    demand = np.array([[[1, 1], [1, 1]], [[1, 1], [3, 12]]])
    inst = make_instance(
        demand,
        [10, 10],
        item_names=["a", "b"],
        dim_names=["cpu", "mem"],
        bucket_names=["day", "night"],
        dim_units=["MHz", "MiB"],
    )
    reason = infeasibility_reason(inst)
    assert reason is not None
    assert "'b'" in reason and "mem" in reason and "night" in reason and "12" in reason


def test_reason_for_pinned_overload() -> None:
    inst = make_instance(
        [[6], [6]], [10], existing_type=[0], existing_names=["esx01"], pinned=[0, 0]
    )
    reason = infeasibility_reason(inst)
    assert reason is not None and "esx01" in reason


def test_reason_for_affinity_group_too_big() -> None:
    inst = make_instance([[6], [6]], [10], affinity=[[0, 1]])
    reason = infeasibility_reason(inst)
    assert reason is not None and "affinity group" in reason


def test_binding_resource_is_the_one_the_bound_names() -> None:
    # Most bins are bound by cpu, but the bound on their number rests on memory: the
    # explanation must not say "cpu" beside a bound set by memory.
    rng = np.random.default_rng(4)
    for _ in range(30):
        demand = rng.integers(1, 9, size=(12, 2, 3))
        inst = make_instance(demand, [20, 20], dim_names=["cpu", "mem"])
        sol = Solution(np.arange(12), np.zeros(12, dtype=np.int64), np.full(12, -1))
        ex = explain_solution(inst, sol, lower_bound(inst))
        sentence = next(w for w in ex.why if w.startswith("lower bound"))
        if "pairwise" in sentence or "anti-affinity" in sentence:
            continue
        assert f" {ex.binding}" in sentence, (ex.binding, sentence)
        assert f"bucket {ex.binding_bucket}" in sentence or "bucket" not in sentence
