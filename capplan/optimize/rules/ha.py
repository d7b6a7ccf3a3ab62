"""N+k high availability: each zone's plan survives the loss of k bins.

k is the options' ``ha_hosts``. Under the ``reserve`` policy the open capacity of a zone minus
its k largest bins covers the zone's demand in every dimension and bucket (the
percentage-reservation idea of vSphere admission control); under ``strict`` the items of any k
failed bins can also be re-placed on the survivors (:mod:`capplan.optimize.failover`). The rule
has no per-bin mask: the greedy packers open empty spare bins until it holds
(``Packer.add_ha_spares``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.optimize.failover import (
    bin_zones,
    reserve_shortfall,
    strict_failures,
    zone_usable_types,
)
from capplan.optimize.instance import Instance, IntArray, Solution
from capplan.optimize.rules.base import MAX_PER_KIND, ModelContext, Rule, RuleSource, Violation


def derive(src: RuleSource) -> dict[str, Any]:
    """``ha_spares`` (k) and ``ha_policy``."""
    return {"ha_spares": src.opts.ha_hosts, "ha_policy": src.opts.ha_policy}


def applies(inst: Instance) -> bool:
    """k > 0."""
    return inst.ha_spares > 0


def zone_demand(inst: Instance) -> IntArray:
    """Per zone and column, the summed demand of the zone's items, int64 ``(n_zones, n_cols)``."""
    out = np.zeros((inst.n_zones, inst.flat_demand.shape[1]), dtype=np.int64)
    np.add.at(out, inst.zone, inst.flat_demand)
    return out


def sub_reserve(
    inst: Instance, sol: Solution, bins: IntArray, loads: IntArray, caps: IntArray
) -> IntArray | None:
    """N+k capacity the replacements of ``bins`` must offer, per zone and column (None: k=0).

    Parameters
    ----------
    inst, sol
        The instance and the packing whose ``bins`` a sub-problem frees.
    bins
        The freed bins.
    loads, caps
        Load and capacity of every bin of ``sol``, int64 ``(n_bins, n_columns)``.
    """
    k = inst.ha_spares
    if k <= 0:
        return None
    bin_zone = bin_zones(inst, sol)
    need = np.zeros((inst.n_zones, caps.shape[1]), dtype=np.int64)
    outside = np.ones(sol.n_bins, dtype=np.bool_)
    outside[bins] = False
    for z in range(inst.n_zones):
        in_zone = bin_zone == z
        if not (inst.zone == z).any():
            continue
        cz = caps[in_zone]
        top = -np.partition(-cz, min(k, len(cz)) - 1, axis=0)[:k].sum(axis=0) if len(cz) else 0
        demand = inst.flat_demand[inst.zone == z].sum(axis=0)
        need[z] = demand + top - caps[in_zone & outside].sum(axis=0)
    return need


def constrain(ctx: ModelContext) -> None:
    """The sub-problem's reserve: a fixed need (LNS) or the exact k-largest reserve (full)."""
    sub = ctx.sub
    if sub.reserve_need is not None:
        for zz in ctx.zones.tolist():
            need = sub.reserve_need[zz]
            opened = ctx.opened(zz)
            for c in np.flatnonzero(need > 0).tolist():
                caps = ctx.inst.flat_capacity[sub.bin_type, c]
                ctx.model.add(ctx.weighted_sum(opened, caps.tolist()) >= int(need[c]))
    if sub.reserve_demand is not None and sub.reserve_k > 0:
        _exact_reserve(ctx)


def _exact_reserve(ctx: ModelContext) -> None:
    """Open capacity of each zone minus its k largest bins covers the zone's demand.

    The sum of the k largest of the values ``a_b`` equals ``min over θ of k·θ + Σ max(0,
    a_b − θ)``, so the reserve holds exactly when some ``θ ≥ 0`` and slacks ``s_b ≥ a_b − θ,
    s_b ≥ 0`` give ``Σ a_b − k·θ − Σ s_b ≥ demand``, with ``a_b`` the capacity of bin b when it
    is open in the zone and 0 otherwise. Columns whose capacities are the same for every type
    (one dimension in every bucket) need only their largest demand.
    """
    from ortools.sat.python import cp_model  # the solver, only while a model is built

    inst, sub, model = ctx.inst, ctx.sub, ctx.model
    assert sub.reserve_demand is not None
    k = sub.reserve_k
    caps = inst.flat_capacity[sub.bin_type]
    usable = zone_usable_types(inst)
    _, group = np.unique(inst.flat_capacity.T, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    for zz in ctx.zones.tolist():
        demand = sub.reserve_demand[zz]
        opened = ctx.opened(zz)
        for g in np.unique(group).tolist():
            cols = np.flatnonzero(group == g)
            c = int(cols[np.argmax(demand[cols])])
            need = int(demand[c])
            if need <= 0:
                continue
            a = np.where(usable[zz][sub.bin_type], caps[:, c], 0)
            total = ctx.weighted_sum(opened, a.tolist())
            values = sorted({0, *(int(x) for x in a.tolist())})
            domain = cp_model.Domain.from_values(values)
            if k == 1:
                # The largest open bin, exactly.
                top = model.new_int_var_from_domain(domain, f"top{zz}_{c}")
                model.add_max_equality(top, [int(a[b]) * opened[b] for b in range(sub.n_cand)])
                model.add(total - top >= need)
                continue
            # θ can be taken among the capacities (the optimum is at one of the a_b).
            theta = model.new_int_var_from_domain(domain, f"theta{zz}_{c}")
            slack = []
            for b in range(sub.n_cand):
                s_b = model.new_int_var(0, int(a[b]), f"s{zz}_{c}_{b}")
                model.add(s_b >= int(a[b]) * opened[b] - theta)
                slack.append(s_b)
            model.add(total - k * theta - sum(slack) >= need)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """Reserve shortfalls per zone and column; under ``strict``, failures that strand items."""
    if inst.ha_spares <= 0:
        return []
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


RULE = Rule(
    name="ha",
    kinds=("ha_reserve", "ha_strict"),
    fields=("ha_spares", "ha_policy"),
    applies=applies,
    check=check,
    derive=derive,
    constrain=constrain,
    needs_clean=("capacity", "zone"),
)
