"""Reference solvers used as test oracles (tiny instances only; not production code).

:func:`exact_optimum` and :func:`exact_solve` find the true optimum of a small packing instance
by exhaustive search. They share no code with the optimizer (strategies, CP-SAT model, bounds,
heuristics, local search) nor with the validator and failover checks, so a disagreement
points at a bug on one side.
"""

from __future__ import annotations

from capplan.optimize.reference.exhaustive import (
    MAX_ITEMS,
    ExactResult,
    Unsupported,
    exact_optimum,
    exact_solve,
)

__all__ = ["MAX_ITEMS", "ExactResult", "Unsupported", "exact_optimum", "exact_solve"]
