"""The validator finds every broken rule of deliberately broken packings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from capplan.optimize.instance import Instance, Solution, make_instance
from capplan.optimize.validator import validate


def _sol(assign: list[int], types: list[int], existing: list[int] | None = None) -> Solution:
    return Solution(
        np.array(assign, dtype=np.int64),
        np.array(types, dtype=np.int64),
        np.array(existing if existing is not None else [-1] * len(types), dtype=np.int64),
    )


def _kinds(inst: Instance, sol: Solution) -> set[str]:
    return {v.kind for v in validate(inst, sol)}


def _two_bucket() -> Instance:
    # Two dims (cpu, mem), two buckets (day, night); one bin type of 10 / 10.
    demand = np.array(
        [
            [[6, 2], [3, 3]],
            [[2, 6], [3, 3]],
            [[5, 5], [5, 5]],
        ]
    )
    return make_instance(demand, [10, 10], dim_names=["cpu", "mem"], bucket_names=["day", "night"])


def test_valid_packing_has_no_violation() -> None:
    inst = _two_bucket()
    assert validate(inst, _sol([0, 0, 1], [0, 0])) == []


def test_capacity_is_checked_in_every_bucket() -> None:
    inst = _two_bucket()
    # Items 0 and 2 together: cpu 11 in the day bucket only.
    out = validate(inst, _sol([0, 1, 0], [0, 0]))
    assert [v.kind for v in out] == ["capacity"]
    assert "cpu" in out[0].message and "day" in out[0].message and "11" in out[0].message


def test_all_violations_are_returned_at_once() -> None:
    inst = make_instance([[6], [6], [1]], [10], zone=[0, 1, 0], anti_affinity=[[0, 2]])
    kinds = _kinds(inst, _sol([0, 0, 0], [0]))
    assert {"capacity", "zone", "anti_affinity"} <= kinds


def test_structure_errors() -> None:
    inst = _two_bucket()
    assert _kinds(inst, _sol([0, 0, 5], [0, 0])) == {"structure"}
    assert _kinds(inst, Solution(np.array([0, 0]), np.array([0]), np.array([-1]))) == {"structure"}


def test_allowed_types_and_availability() -> None:
    inst = make_instance(
        [[1], [1]], [[10], [10]], n_available=[1, 5], allowed=[[True, False], [True, True]]
    )
    assert "allowed" in _kinds(inst, _sol([1, 0], [0, 1]))
    assert "availability" in _kinds(inst, _sol([0, 1], [0, 0]))


def test_affinity_split() -> None:
    inst = make_instance([[1], [1]], [10], affinity=[[0, 1]])
    assert _kinds(inst, _sol([0, 1], [0, 0])) == {"affinity"}
    assert validate(inst, _sol([0, 0], [0])) == []


def test_label_limit() -> None:
    inst = make_instance([[1], [1], [1]], [10], label=[4, 5, 4], label_limit=[1])
    assert _kinds(inst, _sol([0, 0, 1], [0, 0])) == {"label"}
    assert validate(inst, _sol([0, 1, 0], [0, 0])) == []


def test_pinned_and_migration_budget() -> None:
    inst = make_instance(
        [[1], [1], [1]],
        [10],
        existing_type=[0, 0],
        pinned=[0, -1, -1],
        current=[0, 1, 1],
        migration_budget=1,
    )
    # Item 0 leaves its pinned bin; items 1 and 2 both move: 3 moves > 1.
    sol = _sol([1, 0, 0], [0, 0], [0, 1])
    assert _kinds(inst, sol) == {"pinned", "migration"}
    assert validate(inst, _sol([0, 1, 1], [0, 0], [0, 1])) == []


def test_existing_bin_type_must_match() -> None:
    inst = make_instance([[1]], [[10], [10]], existing_type=[1])
    assert _kinds(inst, _sol([0], [0], [0])) == {"structure"}


def test_ha_reserve_needs_the_largest_bins_spare() -> None:
    inst = make_instance([[6], [6]], [10], ha_spares=1)
    assert _kinds(inst, _sol([0, 1], [0, 0])) == {"ha_reserve"}
    # A third, empty, open bin restores the reserve: 30 - 10 >= 12.
    assert validate(inst, _sol([0, 1], [0, 0, 0])) == []


def test_ha_strict_checks_every_failure() -> None:
    # Reserve holds (30 - 10 >= 17) but bin 0's item of 6 fits on no survivor (4 and 5 free).
    inst = make_instance([[6], [6], [5]], [10], ha_spares=1, ha_policy="strict")
    out = validate(inst, _sol([0, 1, 2], [0, 0, 0]))
    assert {v.kind for v in out} == {"ha_strict"}
    inst_ok = make_instance([[6], [6], [5]], [10], ha_spares=1, ha_policy="strict")
    assert validate(inst_ok, _sol([0, 1, 2], [0, 0, 0, 0])) == []


def test_validator_does_not_import_the_solver() -> None:
    code = (
        "import sys, capplan.optimize.validator as v; "
        "print(any(m.startswith('ortools') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
