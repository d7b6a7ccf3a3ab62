"""Capacity: in every dimension and time bucket, a bin's items fit within its type's capacity.

The demand and capacity themselves come from the sizing
(:func:`capplan.optimize.consolidate.size_vms`), not from this rule. The greedy packers keep
every open bin's free capacity themselves (``Packer.resid``), as every move needs it, so the
rule has no tracker.
"""

from __future__ import annotations

import numpy as np

from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution
from capplan.optimize.rules.base import MAX_PER_KIND, ModelContext, Rule, Violation


def pairs(ctx: ModelContext) -> BoolArray:
    """An item may go on a candidate bin whose type holds it alone."""
    fits: BoolArray = ctx.inst.fits_alone[ctx.sub.items][:, ctx.sub.bin_type]
    return fits


def constrain(ctx: ModelContext) -> None:
    """Load within capacity in every binding column; an item on a bin opens it."""
    inst, sub = ctx.inst, ctx.sub
    cols = ctx.cols
    caps = inst.flat_capacity[sub.bin_type][:, cols]
    dc = inst.flat_demand[sub.items][:, cols]
    for b in range(sub.n_cand):
        ps = ctx.on_bin[b]
        if not ps:
            continue
        xs = [ctx.x[p, b] for p in ps]
        for k in range(len(cols)):
            coeffs = dc[ps, k]
            if np.maximum(coeffs, 0).sum() <= caps[b, k]:
                continue
            ctx.model.add(ctx.weighted_sum(xs, coeffs.tolist()) <= int(caps[b, k]) * ctx.u[b])
        for x in xs:
            ctx.model.add_implication(x, ctx.u[b])


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Every bin and column where the load exceeds the capacity."""
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


def item_too_big(inst: Instance) -> str | None:
    """The first item no bin type it may use can hold alone, with the binding figure."""
    d = inst.flat_demand
    for i in np.flatnonzero(~inst.fits_type.any(axis=1)).tolist():
        allowed = np.flatnonzero(inst.allowed[i])
        if not len(allowed):
            return f"item {inst.item_names[i]!r} may use none of the bin types"
        # The allowed type that comes closest: smallest worst overshoot.
        caps = inst.flat_capacity[allowed]
        ratio = np.divide(d[i], caps, out=np.full(caps.shape, np.inf), where=caps > 0)
        ratio[:, d[i] <= 0] = 0.0
        t_pos = int(np.argmin(ratio.max(axis=1)))
        col = int(np.argmax(ratio[t_pos]))
        dim, bucket = inst.column_name(col)
        scale = float(inst.dim_scale[col // inst.n_buckets])
        unit = inst.dim_units[col // inst.n_buckets]
        t = int(allowed[t_pos])
        when = f" in bucket {bucket}" if inst.n_buckets > 1 else ""
        return (
            f"item {inst.item_names[i]!r} needs {d[i, col] * scale:g} {unit} of {dim}{when}, "
            f"more than the largest bin type it may use ({inst.type_names[t]!r}) offers "
            f"({inst.flat_capacity[t, col] * scale:g} {unit})"
        ).replace("  ", " ")
    return None


RULE = Rule(
    name="capacity",
    kinds=("capacity",),
    fields=("demand", "capacity"),
    applies=lambda inst: True,
    check=check,
    pairs=pairs,
    constrain=constrain,
    infeasible=item_too_big,
)
