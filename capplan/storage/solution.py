"""A storage placement and how good it is: the solver's answer, free of solver imports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from capplan.status import SolveStatus, has_plan
from capplan.storage.instance import StorageInstance

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Result statuses: a plan proven optimal, a plan with a gap, no plan because the problem
#: has none, no plan found in time.
STATUSES: Final = tuple(SolveStatus)


@dataclass(frozen=True, eq=False)
class StorageSolution:
    """A placement of volume copies onto pools.

    Attributes
    ----------
    assign
        ``(n_volumes, 2)`` pool index of each copy; ``-1`` in slot 1 for unmirrored volumes,
        ``-1`` everywhere when there is no plan.
    status
        One of :data:`STATUSES`.
    cost_usd
        Cost of the plan over the horizon (NaN without a plan).
    bound_usd
        Proven lower bound on the cost of any plan (NaN when none is known).
    wall_s
        Solve time, s.
    method
        How the plan was found (``cp-sat``, ``lp-round+cp-sat`` ...).
    reasons
        For an infeasible or unknown result, why.
    """

    assign: IntArray
    status: SolveStatus
    cost_usd: float = math.nan
    bound_usd: float = math.nan
    wall_s: float = 0.0
    method: str = ""
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # One vocabulary: a status given as text becomes its SolveStatus (unknown text raises).
        object.__setattr__(self, "status", SolveStatus(self.status))

    @property
    def has_plan(self) -> bool:
        """Whether the solution holds a placement."""
        return has_plan(self.status)

    @property
    def gap_frac(self) -> float:
        """``(cost - bound) / cost``; 0 for a proven optimum, NaN without both numbers."""
        if not (math.isfinite(self.cost_usd) and math.isfinite(self.bound_usd)):
            return math.nan
        if self.cost_usd <= 0:
            return 0.0
        return max(0.0, (self.cost_usd - self.bound_usd) / self.cost_usd)


def plan_cost(inst: StorageInstance, assign: IntArray) -> float:
    """Cost of an assignment ``(n, 2)``, USD (float64 sum over placed copies)."""
    total = 0.0
    rows = np.arange(inst.n_volumes)
    for slot in range(assign.shape[1]):
        pools = assign[:, slot]
        placed = pools >= 0
        total += float(inst.cost_usd[rows[placed], pools[placed]].sum())
    return total


def pool_loads(inst: StorageInstance, assign: IntArray) -> FloatArray:
    """Load per pool and resource ``(m, R)`` of an assignment ``(n, 2)``."""
    loads = np.zeros((inst.n_pools, inst.demand.shape[2]))
    rows = np.arange(inst.n_volumes)
    for slot in range(assign.shape[1]):
        pools = assign[:, slot]
        placed = pools >= 0
        np.add.at(loads, pools[placed], inst.demand[rows[placed], pools[placed]])
    return loads
