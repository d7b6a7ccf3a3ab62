"""Pinned items: an item pinned to an existing bin stays on it.

The pinned VMs are the options' ``pinned_vms``; each stays on its current host, which must be
owned (its model given in ``existing_hosts``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.errors import SpecError
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
    """``pinned``: the owned host each pinned VM is on now; unknown VMs are refused by name."""
    pinned = np.full(src.workload.n_vms, -1, dtype=np.int64)
    for vm in src.opts.pinned_vms:
        if vm not in src.vm_index:
            raise SpecError([("pinned_vms", f"unknown VM {vm!r}")])
        i = src.vm_index[vm]
        if src.current_bin[i] < 0:
            raise SpecError(
                [
                    (
                        "pinned_vms",
                        f"VM {vm!r} has no owned current host to stay on "
                        "(give its host model in existing_hosts)",
                    )
                ]
            )
        pinned[i] = src.current_bin[i]
    return {"pinned": pinned}


def applies(inst: Instance) -> bool:
    """Some item is pinned."""
    return bool((inst.pinned >= 0).any())


def pairs(ctx: ModelContext) -> BoolArray:
    """A pinned item may go only on the candidate that is its existing bin (if any is)."""
    home = ctx.inst.pinned[ctx.sub.items]
    ok: BoolArray = (home[:, None] < 0) | (home[:, None] == ctx.sub.bin_existing[None, :])
    return ok


class HomeBin(Tracker):
    """For a pinned item, only the open bin that is its existing bin."""

    def mask(self, i: int, nb: int) -> BoolArray | None:
        home = int(self.inst.pinned[i])
        if home < 0:
            return None
        ok: BoolArray = self.pk.bexist[:nb] == home
        return ok

    def admits(self, items: IntArray, b: int) -> BoolArray:
        home = self.inst.pinned[items]
        ok: BoolArray = (home < 0) | (home == self.pk.bexist[b])
        return ok


def tracker(pk: PackState) -> Tracker:
    """The packer's mask of each pinned item's bin."""
    return HomeBin(pk)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Every pinned item placed elsewhere than its bin."""
    if not inst.n_items:
        return []
    at = sol.bin_existing[sol.assign]
    moved = np.flatnonzero((inst.pinned >= 0) & (at != inst.pinned))
    return [
        Violation(
            "pinned",
            f"item {inst.item_names[i]!r} is pinned to "
            f"{inst.existing_names[inst.pinned[i]]!r} but placed elsewhere",
            (i,),
            (int(sol.assign[i]),),
        )
        for i in moved[:MAX_PER_KIND].tolist()
    ]


def overload(inst: Instance) -> str | None:
    """The first existing bin its pinned items overload, or hold on a type they may not use."""
    pinned = np.flatnonzero(inst.pinned >= 0)
    for e in np.unique(inst.pinned[pinned]).tolist():
        on = pinned[inst.pinned[pinned] == e]
        t = int(inst.existing_type[e])
        load = inst.flat_demand[on].sum(axis=0)
        over = np.flatnonzero(load > inst.flat_capacity[t])
        if len(over):
            dim, bucket = inst.column_name(int(over[0]))
            return (
                f"{len(on)} item(s) pinned to {inst.existing_names[e]!r} need {load[over[0]]}"
                f" of {dim} in bucket {bucket}; it offers {inst.flat_capacity[t, over[0]]}"
            )
        bad = [i for i in on.tolist() if not inst.allowed[i, t]]
        if bad:
            return (
                f"item {inst.item_names[bad[0]]!r} is pinned to "
                f"{inst.existing_names[e]!r}, of a type it may not use"
            )
    return None


RULE = Rule(
    name="pinned",
    kinds=("pinned",),
    fields=("pinned", "existing_type", "existing_names"),
    applies=applies,
    check=check,
    derive=derive,
    pairs=pairs,
    tracker=tracker,
    infeasible=overload,
)
