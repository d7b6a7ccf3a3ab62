"""Check a packing against every rule of its instance, without importing the solver.

:func:`validate` returns *all* violations (an empty list means the packing is valid), so a test
or a report can show everything that is wrong at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.optimize.failover import reserve_shortfall, strict_failures
from capplan.optimize.instance import Instance, IntArray, Solution

#: Most violations of one kind that are listed individually.
MAX_PER_KIND = 50


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    kind
        ``structure``, ``availability``, ``allowed``, ``capacity``, ``zone``, ``anti_affinity``,
        ``affinity``, ``label``, ``pinned``, ``migration``, ``ha_reserve`` or ``ha_strict``.
    message
        What is wrong, with names and numbers.
    items
        Item indices concerned.
    bins
        Bin indices concerned.
    """

    kind: str
    message: str
    items: tuple[int, ...] = ()
    bins: tuple[int, ...] = ()


def validate(inst: Instance, sol: Solution, bin_zone: IntArray | None = None) -> list[Violation]:
    """Return every violation of ``sol`` against ``inst`` (empty when valid).

    Parameters
    ----------
    inst
        The instance.
    sol
        The packing.
    bin_zone
        Optional zone of each open bin, int64 ``(n_bins,)`` (-1: taken from its items); it
        matters only for empty (spare) bins under N+k in instances with several zones.
    """
    out = _structure(inst, sol)
    if out:
        return out
    out += _availability(inst, sol)
    out += _allowed(inst, sol)
    out += _capacity(inst, sol)
    out += _zones(inst, sol, bin_zone)
    out += _anti_affinity(inst, sol)
    out += _affinity(inst, sol)
    out += _labels(inst, sol)
    out += _pinned_and_migration(inst, sol)
    if inst.ha_spares > 0 and not [v for v in out if v.kind in ("capacity", "zone")]:
        out += _ha(inst, sol, bin_zone)
    return out


def is_valid(inst: Instance, sol: Solution) -> bool:
    """True when :func:`validate` finds nothing."""
    return not validate(inst, sol)


def _structure(inst: Instance, sol: Solution) -> list[Violation]:
    out: list[Violation] = []
    if sol.assign.shape != (inst.n_items,):
        return [
            Violation(
                "structure", f"assign has shape {sol.assign.shape}, expected ({inst.n_items},)"
            )
        ]
    if sol.bin_existing.shape != sol.bin_type.shape:
        return [Violation("structure", "bin_existing and bin_type differ in length")]
    if inst.n_items and (sol.assign.min() < 0 or sol.assign.max() >= sol.n_bins):
        bad = np.flatnonzero((sol.assign < 0) | (sol.assign >= sol.n_bins))
        out.append(
            Violation(
                "structure",
                f"{len(bad)} item(s) assigned to no open bin, e.g. "
                f"{inst.item_names[int(bad[0])]!r}",
                tuple(bad[:10].tolist()),
            )
        )
    if sol.n_bins and (sol.bin_type.min() < 0 or sol.bin_type.max() >= inst.n_types):
        out.append(Violation("structure", "a bin has a type index outside the bin types"))
    ex = sol.bin_existing
    if sol.n_bins and (ex.min() < -1 or ex.max() >= inst.n_existing):
        out.append(Violation("structure", "a bin names an existing bin that does not exist"))
        return out
    named = ex[ex >= 0]
    if len(np.unique(named)) < len(named):
        out.append(Violation("structure", "an existing bin is opened twice"))
    if not inst.n_existing:
        return out
    mismatch = np.flatnonzero((ex >= 0) & (inst.existing_type[np.maximum(ex, 0)] != sol.bin_type))
    for b in mismatch[:MAX_PER_KIND].tolist():
        out.append(
            Violation(
                "structure",
                f"bin {b} is existing bin {inst.existing_names[ex[b]]!r} of type "
                f"{inst.type_names[inst.existing_type[ex[b]]]!r} but is given type "
                f"{inst.type_names[sol.bin_type[b]]!r}",
                bins=(b,),
            )
        )
    return out


def _availability(inst: Instance, sol: Solution) -> list[Violation]:
    counts = np.bincount(sol.bin_type, minlength=inst.n_types)
    return [
        Violation(
            "availability",
            f"{counts[t]} bins of type {inst.type_names[t]!r} are open "
            f"but only {inst.n_available[t]} are available",
        )
        for t in np.flatnonzero(counts > inst.n_available).tolist()
    ]


def _allowed(inst: Instance, sol: Solution) -> list[Violation]:
    if not inst.n_items:
        return []
    types = sol.bin_type[sol.assign]
    bad = np.flatnonzero(~inst.allowed[np.arange(inst.n_items), types])
    return [
        Violation(
            "allowed",
            f"item {inst.item_names[i]!r} is on bin {sol.assign[i]} of type "
            f"{inst.type_names[types[i]]!r}, which it may not use",
            (i,),
            (int(sol.assign[i]),),
        )
        for i in bad[:MAX_PER_KIND].tolist()
    ]


def _capacity(inst: Instance, sol: Solution) -> list[Violation]:
    loads = sol.loads(inst)
    caps = inst.flat_capacity[sol.bin_type]
    over_b, over_c = np.nonzero(loads > caps)
    out: list[Violation] = []
    for b, c in zip(over_b[:MAX_PER_KIND].tolist(), over_c[:MAX_PER_KIND].tolist(), strict=True):
        dim, bucket = inst.column_name(c)
        out.append(
            Violation(
                "capacity",
                f"bin {b} ({inst.type_names[sol.bin_type[b]]}) holds {loads[b, c]} of "
                f"{dim} in bucket {bucket}, capacity {caps[b, c]}",
                tuple(np.flatnonzero(sol.assign == b)[:20].tolist()),
                (b,),
            )
        )
    return out


def _zones(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    out: list[Violation] = []
    if inst.n_zones > 1 and inst.n_items:
        lo = np.full(sol.n_bins, inst.n_zones, dtype=np.int64)
        hi = np.full(sol.n_bins, -1, dtype=np.int64)
        np.minimum.at(lo, sol.assign, inst.zone)
        np.maximum.at(hi, sol.assign, inst.zone)
        for b in np.flatnonzero((hi >= 0) & (lo != hi))[:MAX_PER_KIND].tolist():
            names = sorted({inst.zone_names[z] for z in inst.zone[sol.assign == b].tolist()})
            out.append(Violation("zone", f"bin {b} serves several zones {names}", bins=(b,)))
        if bin_zone is None:
            bin_zone = sol.bin_zone
        if bin_zone is not None:
            clash = np.flatnonzero((hi >= 0) & (bin_zone >= 0) & (bin_zone != hi))
            for b in clash[:MAX_PER_KIND].tolist():
                out.append(
                    Violation(
                        "zone",
                        f"bin {b} is declared zone "
                        f"{inst.zone_names[bin_zone[b]]!r} but holds items of "
                        f"zone {inst.zone_names[hi[b]]!r}",
                        bins=(b,),
                    )
                )
    return out


def _anti_affinity(inst: Instance, sol: Solution) -> list[Violation]:
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


def _affinity(inst: Instance, sol: Solution) -> list[Violation]:
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


def _labels(inst: Instance, sol: Solution) -> list[Violation]:
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


def _pinned_and_migration(inst: Instance, sol: Solution) -> list[Violation]:
    out: list[Violation] = []
    if not inst.n_items:
        return out
    at = sol.bin_existing[sol.assign]
    pinned = np.flatnonzero((inst.pinned >= 0) & (at != inst.pinned))
    for i in pinned[:MAX_PER_KIND].tolist():
        out.append(
            Violation(
                "pinned",
                f"item {inst.item_names[i]!r} is pinned to "
                f"{inst.existing_names[inst.pinned[i]]!r} but placed elsewhere",
                (i,),
                (int(sol.assign[i]),),
            )
        )
    if inst.migration_budget is not None:
        moved = (inst.current >= 0) & (at != inst.current)
        n_moves = int(inst.move_weight[moved].sum())
        if n_moves > inst.migration_budget:
            out.append(
                Violation(
                    "migration",
                    f"{n_moves} moves from the current placement, budget {inst.migration_budget}",
                    tuple(np.flatnonzero(moved)[:20].tolist()),
                )
            )
    return out


def _ha(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    out: list[Violation] = []
    for z, c, missing in reserve_shortfall(inst, sol, bin_zone)[:MAX_PER_KIND]:
        dim, bucket = inst.column_name(c)
        out.append(
            Violation(
                "ha_reserve",
                f"zone {inst.zone_names[z]!r}: after losing the "
                f"{inst.ha_spares} largest bins, {dim} in bucket {bucket} lacks "
                f"{missing}",
            )
        )
    if inst.ha_policy == "strict" and not out:
        failures, exhaustive = strict_failures(inst, sol, bin_zone)
        scope = "" if exhaustive else " (sampled: the most loaded bins were combined)"
        for failed in failures:
            out.append(
                Violation(
                    "ha_strict",
                    f"the items of failed bin(s) {list(failed)} "
                    f"cannot be restarted on the surviving bins{scope}",
                    bins=failed,
                )
            )
    return out
