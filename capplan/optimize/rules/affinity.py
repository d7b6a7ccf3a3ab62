"""Affinity: the members of a group share one bin.

The groups are the options' ``affinity_groups`` (VMs that talk so much they must share a
host). The solvers never see the rule as a constraint: before they run, every group is merged
into one item (:func:`contract_affinity`), and the plan is mapped back onto the members
(:meth:`Contraction.expand`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from capplan.errors import InfeasibleError, SolverError, SpecError
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.optimize.rules.base import Rule, RuleSource, Violation


def derive(src: RuleSource) -> dict[str, Any]:
    """``affinity``: the options' groups as item indices; unknown VMs are refused by name."""
    groups = []
    for k, members in enumerate(src.opts.affinity_groups):
        unknown = [m for m in members if m not in src.vm_index]
        if unknown:
            raise SpecError([(f"affinity_groups[{k}]", f"unknown VM(s) {unknown[:3]}")])
        groups.append([src.vm_index[m] for m in members])
    return {"affinity": groups}


def applies(inst: Instance) -> bool:
    """The instance has an affinity group."""
    return bool(inst.affinity)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Every group split over several bins."""
    out: list[Violation] = []
    for g, members in enumerate(inst.affinity):
        bins = np.unique(sol.assign[members])
        if len(bins) > 1:
            out.append(
                Violation(
                    "affinity",
                    f"affinity group {g} "
                    f"({[inst.item_names[i] for i in members[:5].tolist()]}) is "
                    f"split over bins {bins[:10].tolist()}",
                    tuple(members.tolist()),
                    tuple(bins.tolist()),
                )
            )
    return out


def group_too_big(inst: Instance) -> str | None:
    """The first group that no bin type its members may all use can hold."""
    for g, members in enumerate(inst.affinity):
        load = inst.flat_demand[members].sum(axis=0)
        usable = inst.allowed[members].all(axis=0)
        fits = usable & np.all(inst.flat_capacity >= load, axis=1)
        if not fits.any():
            return (
                f"affinity group {g} ({len(members)} items that must share a bin) fits no "
                "bin type they may all use"
            )
    return None


@dataclass(frozen=True, eq=False)
class Contraction:
    """An instance with every affinity group merged into one item, and the way back.

    Attributes
    ----------
    reduced
        The instance whose items are the groups (and the items in no group).
    group_of_item
        int64 ``(n_items_original,)``: reduced item index of each original item.
    """

    reduced: Instance
    group_of_item: IntArray

    def expand(self, solution: Solution) -> Solution:
        """Map a solution of the reduced instance back onto the original items."""
        return Solution(
            solution.assign[self.group_of_item],
            solution.bin_type,
            solution.bin_existing,
            solution.bin_zone,
        )


def contract_affinity(inst: Instance) -> Contraction | None:
    """Merge each affinity group into one item; None when the instance has none.

    Raises
    ------
    InfeasibleError
        When the merge is impossible: members pinned to different bins, in different zones,
        or together in one anti-affinity group. The message names the items.
    SolverError
        When members carry different labels (VLANs) under a label limit: not supported.
    """
    if not inst.affinity:
        return None
    group_of_item = _union(inst)
    n_groups = int(group_of_item.max()) + 1
    demand = np.zeros((n_groups, inst.n_dims, inst.n_buckets), dtype=np.int64)
    np.add.at(demand, group_of_item, inst.demand)
    allowed = np.ones((n_groups, inst.n_types), dtype=np.bool_)
    np.logical_and.at(allowed, group_of_item, inst.allowed)
    zone, pinned, current, label = _merged_rules(inst, group_of_item, n_groups)
    move_weight = np.bincount(group_of_item, weights=inst.move_weight, minlength=n_groups)
    item_cost = None
    if inst.item_cost is not None:
        item_cost = np.zeros((n_groups, inst.n_types), dtype=np.int64)
        np.add.at(item_cost, group_of_item, inst.item_cost)
    names = [""] * n_groups
    for i, g in enumerate(group_of_item.tolist()):
        names[g] = inst.item_names[i] if not names[g] else names[g] + "+" + inst.item_names[i]
    # Everything else (bin types, existing bins, budgets, units) is the instance's own.
    reduced = replace(
        inst,
        demand=demand,
        item_names=tuple(names),
        allowed=allowed,
        zone=zone,
        anti_affinity=_merged_anti_affinity(inst, group_of_item),
        affinity=(),
        label=label,
        pinned=pinned,
        current=current,
        move_weight=move_weight.astype(np.int64),
        item_cost=item_cost,
    )
    return Contraction(reduced, group_of_item)


def _union(inst: Instance) -> IntArray:
    """int64 ``(n_items,)``: merged item of each item (overlapping groups are joined)."""
    n = inst.n_items
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for members in inst.affinity:
        root = find(int(members[0]))
        for m in members[1:].tolist():
            r = find(m)
            if r != root:
                parent[r] = root
    roots = np.fromiter((find(i) for i in range(n)), dtype=np.int64, count=n)
    _, group_of_item = np.unique(roots, return_inverse=True)
    return np.asarray(group_of_item, dtype=np.int64).reshape(-1)


def _merged_rules(
    inst: Instance, group_of_item: IntArray, n_groups: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Zone, pinned bin, current bin and label of each merged item; raise at the first item
    whose rules clash with its group's."""
    zone = np.full(n_groups, -1, dtype=np.int64)
    pinned = np.full(n_groups, -1, dtype=np.int64)
    current = np.full(n_groups, -2, dtype=np.int64)
    label = np.full(n_groups, -1, dtype=np.int64)
    label_limited = bool((inst.label_limit >= 0).any())
    for i, g in enumerate(group_of_item.tolist()):
        if zone[g] == -1:
            zone[g] = inst.zone[i]
        elif zone[g] != inst.zone[i]:
            raise InfeasibleError(
                f"affinity puts {inst.item_names[i]!r} (zone "
                f"{inst.zone_names[inst.zone[i]]!r}) with items of zone "
                f"{inst.zone_names[zone[g]]!r}, but a bin serves one zone"
            )
        if inst.pinned[i] >= 0:
            if pinned[g] not in (-1, inst.pinned[i]):
                raise InfeasibleError(
                    f"affinity group of {inst.item_names[i]!r} holds items pinned to "
                    f"different bins ({inst.existing_names[pinned[g]]!r} and "
                    f"{inst.existing_names[inst.pinned[i]]!r})"
                )
            pinned[g] = inst.pinned[i]
        if current[g] == -2:
            current[g] = inst.current[i]
        elif current[g] != inst.current[i]:
            current[g] = -1
        _merge_label(inst, label, g, i, label_limited)
    current[current == -2] = -1
    return zone, pinned, current, label


def _merge_label(inst: Instance, label: IntArray, g: int, i: int, label_limited: bool) -> None:
    """Give merged item ``g`` the label of item ``i``; a merged item carries one label (without
    a label limit the label is unused, so a second one does no harm)."""
    if inst.label[i] < 0:
        return
    if label[g] == -1:
        label[g] = inst.label[i]
    elif label[g] != inst.label[i] and label_limited:
        raise SolverError(
            f"affinity group of {inst.item_names[i]!r} spans several labels (VLANs) "
            "under a per-bin label limit; this combination is not supported"
        )


def _merged_anti_affinity(inst: Instance, group_of_item: IntArray) -> tuple[IntArray, ...]:
    """The anti-affinity groups over merged items; raise when a group holds two mates."""
    anti: list[IntArray] = []
    for members in inst.anti_affinity:
        mapped = group_of_item[members]
        if len(np.unique(mapped)) < len(mapped):
            srt = np.sort(mapped)
            dup = srt[np.flatnonzero(np.diff(srt) == 0)[0]]
            both = [inst.item_names[i] for i in members.tolist() if group_of_item[i] == dup]
            raise InfeasibleError(
                f"items {both[:2]} must share a bin (affinity) and be on distinct bins "
                "(anti-affinity)"
            )
        anti.append(np.sort(mapped))
    return tuple(anti)


RULE = Rule(
    name="affinity",
    kinds=("affinity",),
    fields=("affinity",),
    applies=applies,
    check=check,
    derive=derive,
    infeasible=group_too_big,
)
