"""Migration budget: at most so many (weighted) items leave their current bin.

The budget is the options' ``migration_budget``; counting moves needs the current hosts'
models (``existing_hosts``). An item merged from an affinity group counts its members
(``move_weight``). The rule is global, not per bin, so it has no heuristic mask: the packers
that start from the current placement stop moving at the budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.errors import SpecError
from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution
from capplan.optimize.rules.base import ModelContext, Rule, RuleSource, Violation


def derive(src: RuleSource) -> dict[str, Any]:
    """``migration_budget``; refused without the current hosts' models."""
    if src.opts.migration_budget is not None and not src.has_owned:
        raise SpecError(
            [
                (
                    "migration_budget",
                    "needs the current hosts' models (existing_hosts) to count moves",
                )
            ]
        )
    return {"migration_budget": src.opts.migration_budget}


def applies(inst: Instance) -> bool:
    """The instance has a budget."""
    return inst.migration_budget is not None


def moved(inst: Instance, sol: Solution) -> BoolArray:
    """bool ``(n_items,)``: items ``sol`` takes off their current bin."""
    at = sol.bin_existing[sol.assign]
    out: BoolArray = (inst.current >= 0) & (at != inst.current)
    return out


def moves(inst: Instance, sol: Solution, among: BoolArray | None = None) -> int:
    """Weighted moves of ``sol`` from the current placement (of the ``among`` items only)."""
    away = moved(inst, sol) if among is None else moved(inst, sol) & among
    return int(inst.move_weight[away].sum())


def left_for(inst: Instance, sol: Solution, in_sub: BoolArray) -> int | None:
    """Moves left for the items of a sub-problem after the others' moves in ``sol``."""
    if inst.migration_budget is None:
        return None
    return max(inst.migration_budget - moves(inst, sol, ~in_sub), 0)


def constrain(ctx: ModelContext) -> None:
    """The sub-problem's items stay home often enough: moves ≤ the moves left."""
    sub = ctx.sub
    if sub.migration_left is None:
        return
    cur = ctx.inst.current[sub.items]
    move_w = ctx.inst.move_weight[sub.items]
    stay_terms, stay_w = [], []
    fixed_moves = 0
    for p in range(len(sub.items)):
        if cur[p] < 0:
            continue
        home = ctx.cand_existing.get(int(cur[p]))
        if home is None or (p, home) not in ctx.x:
            fixed_moves += int(move_w[p])
        else:
            stay_terms.append(ctx.x[p, home])
            stay_w.append(int(move_w[p]))
    total_w = int(sum(stay_w)) + fixed_moves
    # moves = total_w - sum(stay) <= left
    ctx.model.add(ctx.weighted_sum(stay_terms, stay_w) >= total_w - sub.migration_left)


def check(inst: Instance, sol: Solution, bin_zone: IntArray | None) -> list[Violation]:
    """The budget overrun, if any, with the moved items."""
    if inst.migration_budget is None or not inst.n_items:
        return []
    away = moved(inst, sol)
    n_moves = int(inst.move_weight[away].sum())
    if n_moves <= inst.migration_budget:
        return []
    return [
        Violation(
            "migration",
            f"{n_moves} moves from the current placement, budget {inst.migration_budget}",
            tuple(np.flatnonzero(away)[:20].tolist()),
        )
    ]


RULE = Rule(
    name="migration",
    kinds=("migration",),
    fields=("migration_budget", "current", "move_weight"),
    applies=applies,
    check=check,
    derive=derive,
    constrain=constrain,
)
