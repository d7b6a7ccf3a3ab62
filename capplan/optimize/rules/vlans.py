"""VLANs: a bin carries at most its type's limit of distinct labels.

A label is an item's VLAN (the inventory's ``vlan_id``); the limit is the options'
``vlan_limit``, the most VLANs one host trunk carries. Without a limit the labels are not read.
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
    """``label`` (VLAN per VM, -1 for none) and ``label_limit`` (per type, -1 for none)."""
    n_vms = src.workload.n_vms
    label = np.full(n_vms, -1, dtype=np.int64)
    label_limit = np.full(src.n_types, -1, dtype=np.int64)
    if src.opts.vlan_limit is not None:
        vlans = src.workload.inventory.get_column("vlan_id").to_list()
        label = np.array([v if v is not None else -1 for v in vlans], dtype=np.int64)
        label_limit[:] = src.opts.vlan_limit
    return {"label": label, "label_limit": label_limit}


def applies(inst: Instance) -> bool:
    """Some item has a label and some type a limit."""
    return bool((inst.label_limit >= 0).any() and (inst.label >= 0).any())


def constrain(ctx: ModelContext) -> None:
    """``l[b, label]``: the label is present on bin b; at most the limit of them per bin."""
    inst, sub = ctx.inst, ctx.sub
    labels = inst.label[sub.items]
    if not ((labels >= 0).any() and (inst.label_limit[sub.bin_type] >= 0).any()):
        return
    for b in range(sub.n_cand):
        limit = int(inst.label_limit[sub.bin_type[b]])
        if limit < 0:
            continue
        present = {}
        for p in ctx.on_bin[b]:
            lab = int(labels[p])
            if lab < 0:
                continue
            if lab not in present:
                present[lab] = ctx.model.new_bool_var(f"l{b}_{lab}")
            ctx.model.add_implication(ctx.x[p, b], present[lab])
        if len(present) > limit:
            ctx.model.add(sum(present.values()) <= limit)


class LabelsOnBins(Tracker):
    """Open bins that carry the item's label already or have room for one more."""

    def __init__(self, pk: PackState) -> None:
        super().__init__(pk)
        self.label_bins: dict[int, BoolArray] = {}
        self.n_labels = np.zeros(pk.max_bins, dtype=np.int64)
        self.limit = np.full(pk.max_bins, -1, dtype=np.int64)

    def mask(self, i: int, nb: int) -> BoolArray | None:
        lab = int(self.inst.label[i])
        if lab < 0:
            return None
        lim = self.limit[:nb]
        room: BoolArray = (lim < 0) | (self.n_labels[:nb] < lim)
        lb = self.label_bins.get(lab)
        return room if lb is None else room | lb[:nb]

    def admits(self, items: IntArray, b: int) -> BoolArray | None:
        if self.limit[b] < 0 or self.n_labels[b] < self.limit[b]:
            return None
        present = [lab for lab, lb in self.label_bins.items() if lb[b]]
        labels = self.inst.label[items]
        ok: BoolArray = (labels < 0) | np.isin(labels, present)
        return ok

    def opened(self, b: int, t: int) -> None:
        self.limit[b] = self.inst.label_limit[t]

    def placed(self, i: int, b: int) -> None:
        lab = int(self.inst.label[i])
        if lab < 0:
            return
        lb = self.label_bins.get(lab)
        if lb is None:
            lb = self.label_bins[lab] = np.zeros(self.pk.max_bins, dtype=np.bool_)
        if not lb[b]:
            lb[b] = True
            self.n_labels[b] += 1

    def removed(self, i: int, b: int, on_b: BoolArray) -> None:
        lab = int(self.inst.label[i])
        if lab < 0:
            return
        if not bool((on_b & (self.inst.label == lab)).any()):
            self.label_bins[lab][b] = False
            self.n_labels[b] -= 1

    def grown(self, extra: int) -> None:
        self.n_labels = np.concatenate([self.n_labels, np.zeros(extra, dtype=np.int64)])
        self.limit = np.concatenate([self.limit, np.full(extra, -1, dtype=np.int64)])


def tracker(pk: PackState) -> Tracker:
    """The packer's mask of the labels each open bin carries."""
    return LabelsOnBins(pk)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Every bin carrying more distinct labels than its type's limit."""
    labelled = np.flatnonzero(inst.label >= 0)
    if not len(labelled) or not (inst.label_limit >= 0).any():
        return []
    pairs = np.unique(np.stack([sol.assign[labelled], inst.label[labelled]]), axis=1)
    n_labels = np.bincount(pairs[0], minlength=sol.n_bins)
    limit = inst.label_limit[sol.bin_type]
    bad = np.flatnonzero((limit >= 0) & (n_labels > limit))
    return [
        Violation(
            "label",
            f"bin {b} ({inst.type_names[sol.bin_type[b]]}) carries "
            f"{n_labels[b]} distinct labels (VLANs), limit {limit[b]}",
            bins=(b,),
        )
        for b in bad[:MAX_PER_KIND].tolist()
    ]


RULE = Rule(
    name="vlans",
    kinds=("label",),
    fields=("label", "label_limit"),
    applies=applies,
    check=check,
    derive=derive,
    constrain=constrain,
    tracker=tracker,
)
