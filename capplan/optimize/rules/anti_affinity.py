"""Anti-affinity: the members of a group sit on pairwise distinct bins.

The groups are the inventory's ``ha_group`` (VMs that back each other up must not share a
host).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution
from capplan.optimize.rules.base import (
    MAX_PER_KIND,
    ModelContext,
    PackState,
    Rule,
    RuleSource,
    Tracker,
    Violation,
)


def derive(src: RuleSource) -> dict[str, Any]:
    """``anti_affinity``: one group per ``ha_group`` value, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, g in enumerate(src.workload.inventory.get_column("ha_group").to_list()):
        if g is not None:
            groups.setdefault(g, []).append(i)
    return {"anti_affinity": list(groups.values())}


def applies(inst: Instance) -> bool:
    """The instance has an anti-affinity group."""
    return bool(inst.anti_affinity)


def constrain(ctx: ModelContext) -> None:
    """At most one member of a group on each candidate bin."""
    for members in ctx.inst.anti_affinity:
        ps = [ctx.pos_of[i] for i in members.tolist() if i in ctx.pos_of]
        if len(ps) < 2:
            continue
        for b in range(ctx.sub.n_cand):
            xs = [ctx.x[p, b] for p in ps if (p, b) in ctx.x]
            if len(xs) > 1:
                ctx.model.add_at_most_one(xs)


class GroupBins(Tracker):
    """Open bins that hold no group mate of the item (the bins of each group are kept)."""

    evictable = True

    def __init__(self, pk: PackState) -> None:
        super().__init__(pk)
        self.groups_of = self.inst.anti_groups_of
        self.group_bins: dict[int, BoolArray] = {}

    def mask(self, i: int, nb: int) -> BoolArray | None:
        ok: BoolArray | None = None
        for g in self.groups_of[i]:
            gb = self.group_bins.get(g)
            if gb is not None:
                ok = ~gb[:nb] if ok is None else ok & ~gb[:nb]
        return ok

    def admits(self, items: IntArray, b: int) -> BoolArray | None:
        groups = {
            g for j in np.flatnonzero(self.pk.assign == b).tolist() for g in self.groups_of[j]
        }
        if not groups:
            return None
        barred = np.zeros(self.inst.n_items, dtype=np.bool_)
        for g in groups:
            barred[self.inst.anti_affinity[g]] = True
        ok: BoolArray = ~barred[items]
        return ok

    def placed(self, i: int, b: int) -> None:
        for g in self.groups_of[i]:
            gb = self.group_bins.get(g)
            if gb is None:
                gb = self.group_bins[g] = np.zeros(self.pk.max_bins, dtype=np.bool_)
            gb[b] = True

    def removed(self, i: int, b: int, on_b: BoolArray) -> None:
        for g in self.groups_of[i]:
            gb = self.group_bins.get(g)
            if gb is not None:
                gb[b] = bool(on_b[self.inst.anti_affinity[g]].any())


def tracker(pk: PackState) -> Tracker:
    """The packer's mask of the bins each group already uses."""
    return GroupBins(pk)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Every bin that holds two or more members of one group."""
    out: list[Violation] = []
    for g, members in enumerate(inst.anti_affinity):
        bins = sol.assign[members]
        uniq, counts = np.unique(bins, return_counts=True)
        for b in uniq[counts > 1].tolist():
            together = members[bins == b]
            names = [inst.item_names[i] for i in together.tolist()]
            out.append(
                Violation(
                    "anti_affinity",
                    f"anti-affinity group {g}: {names} share bin {b}",
                    tuple(together.tolist()),
                    (b,),
                )
            )
            if len(out) >= MAX_PER_KIND:
                return out
    return out


def group_too_large(inst: Instance) -> str | None:
    """The first group with more members than bins of the types they may use."""
    for g, members in enumerate(inst.anti_affinity):
        usable = inst.allowed[members].any(axis=0)
        n_bins = int(inst.n_available[usable].sum())
        if len(members) > n_bins:
            names = ", ".join(repr(inst.item_names[i]) for i in members[:5].tolist())
            return (
                f"anti-affinity group {g} ({names}{', ...' if len(members) > 5 else ''}) "
                f"has {len(members)} members that need distinct bins, but at most {n_bins} "
                "bins of the types they may use are available"
            )
    return None


RULE = Rule(
    name="anti_affinity",
    kinds=("anti_affinity",),
    fields=("anti_affinity",),
    applies=applies,
    check=check,
    derive=derive,
    constrain=constrain,
    tracker=tracker,
    infeasible=group_too_large,
)
