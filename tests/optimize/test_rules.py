"""The optimizer rules as modules: the registry is complete, and each rule's parts agree.

The heuristics' masks are checked against the validator's checks move by move on random
instances that carry every per-bin rule: a bin is offered to an item exactly when putting the
item there breaks no rule. The CP-SAT side is checked against the exhaustive oracle in
``test_trust.py``.
"""

from __future__ import annotations

import dataclasses
import pkgutil

import numpy as np
import pytest

from capplan.optimize import rules
from capplan.optimize.heuristics import Packer
from capplan.optimize.instance import Instance, Solution, make_instance
from capplan.optimize.validator import validate

#: Instance fields that are the packing itself or its labels, owned by no rule.
CORE_FIELDS = {
    "cost",
    "item_cost",
    "item_names",
    "type_names",
    "dim_names",
    "bucket_names",
    "objective_unit",
    "objective_scale",
    "dim_scale",
    "dim_units",
    "notes",
}


def test_every_rule_module_is_registered_once() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules.__path__)} - {"base"}
    names = [rule.name for rule in rules.REGISTRY]
    assert sorted(names) == sorted(modules)
    assert len(set(names)) == len(names)
    for name in modules:
        module = __import__(f"capplan.optimize.rules.{name}", fromlist=["RULE"])
        assert module.RULE in rules.REGISTRY


def test_every_instance_field_belongs_to_the_core_or_to_a_rule() -> None:
    owned = [f for rule in rules.REGISTRY for f in rule.fields]
    fields = {f.name for f in dataclasses.fields(Instance)}
    assert set(owned) | CORE_FIELDS == fields
    assert not set(owned) & CORE_FIELDS


def test_zone_rule_comes_before_the_rules_that_read_its_variables() -> None:
    names = [rule.name for rule in rules.REGISTRY]
    assert names.index("zones") < names.index("ha")


def _random_instance(rng: np.random.Generator) -> Instance:
    """Items of two zones on two types, with anti-affinity, VLAN limits, bans and pins."""
    n_items, n_types, n_existing = 14, 2, 2
    demand = rng.integers(1, 6, size=(n_items, 2, 3))
    capacity = np.array([[12, 12], [9, 15]])
    allowed = rng.random((n_items, n_types)) > 0.2
    allowed[:, 0] |= ~allowed.any(axis=1)
    existing_type = np.array([0, 1])
    pinned = np.full(n_items, -1)
    pinned[:2] = [0, 1]
    allowed[0, 0] = allowed[1, 1] = True
    order = rng.permutation(n_items)
    return make_instance(
        demand,
        capacity,
        allowed=allowed,
        zone=rng.integers(0, 2, size=n_items),
        zone_names=["dmz", "internal"],
        anti_affinity=[order[:4].tolist(), order[4:7].tolist()],
        label=rng.integers(-1, 4, size=n_items),
        label_limit=[2, 3],
        existing_type=existing_type,
        pinned=pinned,
        n_available=[n_items + n_existing] * n_types,
    )


def _restricted(inst: Instance, items: list[int]) -> Instance:
    """``inst`` with only ``items`` (in that order), the rules remapped."""
    index = {i: k for k, i in enumerate(items)}
    groups = [[index[i] for i in g.tolist() if i in index] for g in inst.anti_affinity]
    sel = np.array(items, dtype=np.int64)
    return make_instance(
        inst.demand[sel],
        inst.capacity,
        allowed=inst.allowed[sel],
        zone=inst.zone[sel],
        zone_names=inst.zone_names,
        anti_affinity=groups,
        label=inst.label[sel],
        label_limit=inst.label_limit,
        existing_type=inst.existing_type,
        pinned=inst.pinned[sel],
        n_available=inst.n_available,
    )


def _valid_with(inst: Instance, pk: Packer, i: int, b: int) -> bool:
    """The validator's verdict on the packer's placed items plus item ``i`` on bin ``b``."""
    placed = np.flatnonzero(pk.assign >= 0).tolist()
    items = [*placed, i]
    assign = np.array([*pk.assign[placed].tolist(), b], dtype=np.int64)
    sol = Solution(assign, pk.btype[: pk.nb].copy(), pk.bexist[: pk.nb].copy())
    return not validate(_restricted(inst, items), sol)


@pytest.mark.parametrize("seed", range(6))
def test_heuristic_masks_agree_with_the_validator(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inst = _random_instance(rng)
    assert set(rules.active(inst)) == {
        "bin_types",
        "capacity",
        "zones",
        "anti_affinity",
        "vlans",
        "pinned",
    }
    pk = Packer(inst)
    pk.open_bin(0, existing=0)
    pk.open_bin(1, existing=1)
    compared = refused = 0
    for i in rng.permutation(inst.n_items).tolist():
        offered = pk.candidates(i)
        for b in range(pk.nb):
            expected = _valid_with(inst, pk, i, b)
            assert offered[b] == expected, (seed, i, b)
            assert pk.admits(np.array([i]), b)[0] == expected, (seed, i, b)
            compared += 1
            refused += not expected
        hits = np.flatnonzero(offered)
        if len(hits) and rng.random() < 0.8:
            pk.place(i, int(rng.choice(hits)))
        elif inst.pinned[i] < 0:
            t = int(rng.choice(np.flatnonzero(inst.allowed[i])))
            pk.place(i, pk.open_bin(t))
        if rng.random() < 0.2:
            on = np.flatnonzero(pk.assign >= 0)
            pk.remove(int(rng.choice(on)))
    assert compared > 30 and 0 < refused < compared
    sol_items = np.flatnonzero(pk.assign >= 0).tolist()
    sol = Solution(pk.assign[sol_items], pk.btype[: pk.nb].copy(), pk.bexist[: pk.nb].copy())
    assert not validate(_restricted(inst, sol_items), sol)


def test_rule_mask_leaves_anti_affinity_to_eviction() -> None:
    inst = make_instance([[1], [1]], [10], anti_affinity=[[0, 1]], zone=[0, 0])
    pk = Packer(inst)
    b = pk.open_bin(0)
    pk.place(0, b)
    assert not pk.candidates(1)[b]
    assert pk.rule_mask(1)[b]


def test_checks_run_in_registry_order_and_ha_waits_for_capacity() -> None:
    inst = make_instance([[6], [6]], [10], ha_spares=1)
    sol = Solution(np.array([0, 0]), np.array([0]), np.array([-1]))
    assert [v.kind for v in rules.check(inst, sol)] == ["capacity"]
    fine = Solution(np.array([0, 1]), np.array([0, 0]), np.array([-1, -1]))
    assert [v.kind for v in rules.check(inst, fine)] == ["ha_reserve"]


def test_violation_kinds_belong_to_one_rule_each() -> None:
    kinds = [k for rule in rules.REGISTRY for k in rule.kinds]
    assert len(set(kinds)) == len(kinds)
    documented = rules.Violation.__doc__ or ""
    for kind in [*kinds, "structure"]:
        assert f"``{kind}``" in documented


def test_checks_that_need_others_clean_come_after_them() -> None:
    seen: set[str] = set()
    for rule in rules.REGISTRY:
        assert set(rule.needs_clean) <= seen, rule.name
        seen |= set(rule.kinds)


def test_labels_follow_a_packer_grown_from_a_wide_solution() -> None:
    # Two labelled items, limit one label per bin; the solution holds 40 (mostly spare) bins,
    # more than a packer of two items holds at first, so the label marks must grow too.
    inst = make_instance([[1], [1]], [10], label=[3, 4], label_limit=[1], n_available=[40])
    n_bins = 40
    sol = Solution(np.array([39, 38]), np.zeros(n_bins, np.int64), np.full(n_bins, -1))
    pk = Packer.from_solution(inst, sol)
    assert pk.nb == n_bins
    offered = pk.candidates(1)
    assert not offered[39] and offered[38] and offered[:38].all()
    pk.remove(1)
    pk.place(1, 39)
    assert [v.kind for v in validate(inst, pk.solution())] == ["label"]


def test_a_spare_bin_declared_for_a_zone_takes_only_that_zone() -> None:
    inst = make_instance([[1], [1]], [10], zone=[0, 1], zone_names=["dmz", "internal"])
    pk = Packer(inst)
    b = pk.open_bin(0, zone=1)
    assert not pk.candidates(0)[b] and pk.candidates(1)[b]
    assert not pk.admits(np.array([0, 1]), b)[0] and pk.admits(np.array([0, 1]), b)[1]
