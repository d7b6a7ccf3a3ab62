"""The one vocabulary of solve status, shared by the optimizer, the storage planner and results.

A :class:`SolveStatus` is a ``str`` (``"optimal"`` == ``SolveStatus.OPTIMAL``), so JSON files
and comparisons written before it keep their meaning.
"""

from __future__ import annotations

from enum import StrEnum


class SolveStatus(StrEnum):
    """How a solve ended.

    Members
    -------
    OPTIMAL
        A plan, proven optimal (gap 0 within the solver's tolerance).
    FEASIBLE
        A plan, with a bound and a gap but no proof of optimality.
    INFEASIBLE
        Proven: no plan satisfies the constraints.
    UNKNOWN
        No plan found and no proof that none exists (time limit, or the model was not
        solved).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @property
    def has_plan(self) -> bool:
        """Whether the solve returned a plan."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def has_plan(status: object) -> bool:
    """Whether ``status`` (a :class:`SolveStatus` or its text; None: no solve) has a plan."""
    return status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
