"""Bin types: an item goes only on a type it may use, and no type opens more bins than it has.

An item may not use a type when its virtualization mode cannot run it: legacy guests need full
virtualization. ``n_available`` (how many hosts of a model may be bought or are owned) is set
with the host offer, not here; this rule checks it.
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
    """``allowed``: legacy guests only under a mode that runs them."""
    os_family = src.workload.inventory.get_column("os_family").to_list()
    allowed = np.ones((len(os_family), src.n_types), dtype=np.bool_)
    legacy = np.array([o == "legacy" for o in os_family], dtype=np.bool_)
    if legacy.any() and not src.mode.supports_legacy_guests:
        allowed[legacy] = False
        src.reasons.append(
            f"VM {str(src.workload.vm_ids[legacy][0])!r} is a legacy guest, which mode "
            f"{src.mode.name!r} cannot run (legacy guests need full virtualization); "
            f"{int(legacy.sum())} legacy VM(s) in all"
        )
    return {"allowed": allowed}


def applies(inst: Instance) -> bool:
    """Some item may not use some type."""
    return not bool(inst.allowed.all())


def pairs(ctx: ModelContext) -> BoolArray:
    """An item may go only on a candidate bin of a type it may use."""
    ok: BoolArray = ctx.inst.allowed[ctx.sub.items][:, ctx.sub.bin_type]
    return ok


class AllowedTypes(Tracker):
    """Open bins of a type the item may use."""

    def mask(self, i: int, nb: int) -> BoolArray:
        ok: BoolArray = self.inst.allowed[i, self.pk.btype[:nb]]
        return ok

    def admits(self, items: IntArray, b: int) -> BoolArray:
        ok: BoolArray = self.inst.allowed[items, self.pk.btype[b]]
        return ok


def tracker(pk: PackState) -> Tracker:
    """The packer's mask of the types each item may use."""
    return AllowedTypes(pk)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Types opened beyond their availability, and items on a type they may not use."""
    counts = np.bincount(sol.bin_type, minlength=inst.n_types)
    out = [
        Violation(
            "availability",
            f"{counts[t]} bins of type {inst.type_names[t]!r} are open "
            f"but only {inst.n_available[t]} are available",
        )
        for t in np.flatnonzero(counts > inst.n_available).tolist()
    ]
    if not inst.n_items:
        return out
    types = sol.bin_type[sol.assign]
    bad = np.flatnonzero(~inst.allowed[np.arange(inst.n_items), types])
    out += [
        Violation(
            "allowed",
            f"item {inst.item_names[i]!r} is on bin {sol.assign[i]} of type "
            f"{inst.type_names[types[i]]!r}, which it may not use",
            (i,),
            (int(sol.assign[i]),),
        )
        for i in bad[:MAX_PER_KIND].tolist()
    ]
    return out


RULE = Rule(
    name="bin_types",
    kinds=("availability", "allowed"),
    fields=("allowed", "n_available"),
    applies=applies,
    check=check,
    derive=derive,
    pairs=pairs,
    tracker=tracker,
)
