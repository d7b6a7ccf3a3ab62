"""Check a packing against every rule of its instance, without importing the solver.

:func:`validate` returns *all* violations (an empty list means the packing is valid), so a test
or a report can show everything that is wrong at once. The packing's structure is checked here;
each rule's check lives in its module of :mod:`capplan.optimize.rules`.
"""

from __future__ import annotations

import numpy as np

from capplan.optimize import rules
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.optimize.rules.base import MAX_PER_KIND, Violation


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
    return rules.check(inst, sol, bin_zone)


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
