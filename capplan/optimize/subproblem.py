"""The items and candidate bins one CP-SAT model places, with what is left of the global rules.

The full model (:func:`capplan.optimize.cpsat.full_subproblem`) and every large-neighbourhood
sub-problem (:mod:`capplan.optimize.lns`) are one :class:`SubProblem`; the optimizer rules
(:mod:`capplan.optimize.rules`) read it when they add their constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

from capplan.optimize.instance import IntArray


@dataclass(frozen=True, eq=False)
class SubProblem:
    """Items to place on a set of candidate bins.

    Attributes
    ----------
    items
        Item indices; the order sets the symmetry breaking (largest first works best).
    bin_type
        Type of each candidate bin, int64 ``(n_cand,)``.
    bin_existing
        Existing-bin index of each candidate bin or -1, int64 ``(n_cand,)``.
    reserve_need
        Per zone, int64 ``(n_zones, n_columns)``: capacity the open candidate bins of the zone
        must offer in total (N+k), or None.
    migration_left
        Moves (weighted) still allowed for these items, or None for no limit.
    target
        Candidate bin whose load is minimised as a secondary objective (-1: none).
    min_objective
        Known lower bound on the objective of this sub-problem (0 if none).
    reserve_demand
        Per zone, int64 ``(n_zones, n_columns)``: the zone's whole demand, which the open
        candidate bins of the zone minus their ``reserve_k`` largest (per column) must cover:
        the exact N+k reserve of :mod:`capplan.optimize.failover` (used by the full model),
        or None.
    reserve_k
        k of that reserve.
    """

    items: IntArray
    bin_type: IntArray
    bin_existing: IntArray
    reserve_need: IntArray | None = None
    migration_left: int | None = None
    target: int = -1
    min_objective: int = 0
    reserve_demand: IntArray | None = None
    reserve_k: int = 0

    @property
    def n_cand(self) -> int:
        """Number of candidate bins."""
        return int(self.bin_type.shape[0])
