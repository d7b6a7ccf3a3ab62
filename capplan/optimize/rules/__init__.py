"""The optimizer's placement rules, one module each, and the registry the solvers loop over.

Each module (:mod:`.bin_types`, :mod:`.capacity`, :mod:`.zones`, :mod:`.anti_affinity`,
:mod:`.affinity`, :mod:`.vlans`, :mod:`.pinned`, :mod:`.migration`, :mod:`.ha`) holds one
:class:`~capplan.optimize.rules.base.Rule`: how its instance fields are derived from a
workload, its CP-SAT constraints, its mask for the greedy heuristics and its validator check.
The consolidation's preparation, the CP-SAT model builder, the heuristics' packer, the ejection
search, the validator and the infeasibility explanation each loop over :data:`REGISTRY`, so a
new rule is a new module plus one line here.

The registry's order is the order in which the rules act everywhere:

- the zone rule makes the ``z`` variables the HA rule reads, so it comes before it;
- a check that needs others clean (``needs_clean``: HA needs capacity and zones) comes after
  the rules that report those kinds;
- the validator lists violations, the preparation raises its first bad setting (affinity,
  pinned, migration) and notes its remarks, and the explanation gives its first reason, in
  registry order.

A few parts of the solvers act on a rule's figures without a per-bin mask: the ejection and
LNS searches accept a packing only when the migration budget and the N+k reserve still hold
(:func:`.migration.moves`, :func:`capplan.optimize.failover.reserve_shortfall`), and the
greedy packers open HA spares at the end (``Packer.add_ha_spares``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution
from capplan.optimize.rules import (
    affinity,
    anti_affinity,
    bin_types,
    capacity,
    ha,
    migration,
    pinned,
    vlans,
    zones,
)
from capplan.optimize.rules.base import (
    ModelContext,
    PackState,
    Rule,
    RuleSource,
    Tracker,
    Violation,
)

#: Every rule, in the order the model builder and the validator apply them.
REGISTRY: tuple[Rule, ...] = (
    bin_types.RULE,
    capacity.RULE,
    zones.RULE,
    anti_affinity.RULE,
    affinity.RULE,
    vlans.RULE,
    pinned.RULE,
    migration.RULE,
    ha.RULE,
)


def active(inst: Instance) -> tuple[str, ...]:
    """Names of the rules that constrain ``inst`` (capacity always does)."""
    return tuple(rule.name for rule in REGISTRY if rule.applies(inst))


def derive(src: RuleSource) -> dict[str, Any]:
    """Every rule's instance fields, as keyword arguments of ``make_instance``."""
    fields: dict[str, Any] = {}
    for rule in REGISTRY:
        fields |= rule.derive(src)
    return fields


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None = None) -> list[Violation]:
    """Every rule's violations, in registry order (a check whose ``needs_clean`` kinds were
    found is skipped: its result would mean nothing)."""
    out: list[Violation] = []
    for rule in REGISTRY:
        if rule.needs_clean and any(v.kind in rule.needs_clean for v in out):
            continue
        out += rule.check(inst, sol, bin_zone)
    return out


def infeasibility(inst: Instance) -> str | None:
    """The first reason some rule alone leaves no packing, or None."""
    for rule in REGISTRY:
        if rule.infeasible is not None:
            reason = rule.infeasible(inst)
            if reason:
                return reason
    return None


def pairs(ctx: ModelContext) -> BoolArray:
    """bool ``(n_sub_items, n_cand)``: the (item, candidate bin) pairs every rule allows."""
    ok = np.ones((len(ctx.sub.items), ctx.sub.n_cand), dtype=np.bool_)
    for rule in REGISTRY:
        if rule.pairs is not None and rule.applies(ctx.inst):
            ok &= rule.pairs(ctx)
    return ok


def constrain(ctx: ModelContext) -> None:
    """Add every rule's CP-SAT constraints to the model.

    Each rule tests whether it applies to the sub-problem itself (a sub-problem may carry no
    reserve or migration budget where the instance has one).
    """
    for rule in REGISTRY:
        rule.constrain(ctx)


def trackers(pk: PackState) -> list[Tracker]:
    """The heuristic masks of the rules that constrain the packer's instance."""
    return [rule.tracker(pk) for rule in REGISTRY if rule.tracker and rule.applies(pk.inst)]


__all__ = [
    "REGISTRY",
    "ModelContext",
    "PackState",
    "Rule",
    "RuleSource",
    "Tracker",
    "Violation",
    "active",
    "check",
    "constrain",
    "derive",
    "infeasibility",
    "pairs",
    "trackers",
]
