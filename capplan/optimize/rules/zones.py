"""Zones: a bin serves one zone only.

A zone is a security zone; under a mode whose guests share the host kernel (containers) it is
a security zone and OS family, since a host runs one kernel. Empty bins (HA spares) may be
declared for a zone.
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
    """``zone`` and ``zone_names`` from the security zones (and OS families, shared kernel)."""
    sec_index, sec_names = src.workload.security_zones()
    sec = [sec_names[k] for k in sec_index.tolist()]
    os_family = src.workload.inventory.get_column("os_family").to_list()
    if src.mode.same_os_kernel:
        keys = [f"{z}/{o or 'unknown-os'}" for z, o in zip(sec, os_family, strict=True)]
        if any(o is None for o in os_family):
            src.notes.append(
                f"mode {src.mode.name!r} shares the host kernel: VMs of unknown OS family "
                "are grouped as one family"
            )
    else:
        keys = sec
    names = sorted(set(keys))
    index = {name: z for z, name in enumerate(names)}
    return {"zone": np.array([index[k] for k in keys], dtype=np.int64), "zone_names": names}


def applies(inst: Instance) -> bool:
    """The instance has several zones."""
    return inst.n_zones > 1


def constrain(ctx: ModelContext) -> None:
    """``z[b, zone]``: an open bin serves exactly one zone, the zone of each of its items."""
    if not ctx.multi_zone:
        return
    zones = ctx.zones.tolist()
    for b in range(ctx.sub.n_cand):
        zvars = []
        for zz in zones:
            ctx.z[b, zz] = ctx.model.new_bool_var(f"z{b}_{zz}")
            zvars.append(ctx.z[b, zz])
        ctx.model.add(sum(zvars) == ctx.u[b])
    item_zone = ctx.inst.zone[ctx.sub.items]
    for (p, b), x in ctx.x.items():
        ctx.model.add_implication(x, ctx.z[b, int(item_zone[p])])


class ZoneOfBin(Tracker):
    """Open bins that serve the item's zone or no zone yet; keeps ``Packer.bzone``."""

    def mask(self, i: int, nb: int) -> BoolArray:
        z = self.pk.bzone[:nb]
        ok: BoolArray = (z == self.inst.zone[i]) | (z == -1)
        return ok

    def admits(self, items: IntArray, b: int) -> BoolArray | None:
        zone = self.pk.bzone[b]
        if zone < 0:
            return None
        ok: BoolArray = self.inst.zone[items] == zone
        return ok

    def placed(self, i: int, b: int) -> None:
        self.pk.bzone[b] = self.inst.zone[i]

    def removed(self, i: int, b: int, on_b: BoolArray) -> None:
        if not on_b.any():
            self.pk.bzone[b] = -1


def tracker(pk: PackState) -> Tracker:
    """The packer's mask of the zone each open bin serves."""
    return ZoneOfBin(pk)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Bins holding items of several zones, and bins declared for a zone they do not hold."""
    out: list[Violation] = []
    if inst.n_zones <= 1 or not inst.n_items:
        return out
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


def zone_without_type(inst: Instance) -> str | None:
    """The first zone that holds items but may use no bin type."""
    for z in range(inst.n_zones):
        members = inst.zone == z
        if members.any() and not inst.allowed[members].any():
            return (
                f"zone {inst.zone_names[z]!r} has {int(members.sum())} item(s) but no bin "
                "type may serve it"
            )
    return None


RULE = Rule(
    name="zones",
    kinds=("zone",),
    fields=("zone", "zone_names"),
    applies=applies,
    check=check,
    derive=derive,
    constrain=constrain,
    tracker=tracker,
    infeasible=zone_without_type,
)
