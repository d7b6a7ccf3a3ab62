"""Check a storage plan against its instance, without importing the solver.

Every plan the planner returns passes through :func:`validate`; a violation is a bug in the
solver, reported as a :class:`capplan.errors.SolverError` rather than a plan that overfills a
pool.
"""

from __future__ import annotations

import numpy as np

from capplan.errors import SolverError
from capplan.storage.instance import RESOURCES, StorageInstance
from capplan.storage.solution import IntArray, pool_loads

#: Relative tolerance of the capacity checks (float rounding only).
REL_TOL = 1e-9


def violations(inst: StorageInstance, assign: IntArray, limit: int = 20) -> list[str]:
    """Every way ``assign`` breaks the instance's rules (empty list: the plan is valid).

    Checks: shape; each volume has exactly its number of copies, on allowed and distinct
    pools, mirror copies in distinct failure domains; no pool exceeds any resource limit;
    the data moved stays within the limit.
    """
    found: list[str] = []
    n, m = inst.n_volumes, inst.n_pools
    if assign.shape != (n, 2):
        return [f"assignment has shape {assign.shape}, expected ({n}, 2)"]
    if np.any((assign < -1) | (assign >= m)):
        return ["assignment holds a pool index outside [-1, n_pools)"]
    n_placed = (assign >= 0).sum(axis=1)
    wrong = np.flatnonzero(n_placed != inst.copies)
    for v in wrong[:limit]:
        found.append(
            f"volume {inst.volume_ids[v]!s} has {int(n_placed[v])} copies, needs "
            f"{int(inst.copies[v])}"
        )
    first_empty = assign[:, 0] < 0
    for v in np.flatnonzero(first_empty & (n_placed > 0))[:limit]:
        found.append(f"volume {inst.volume_ids[v]!s}: copy in slot 1 without one in slot 0")
    rows = np.arange(n)
    for slot in range(2):
        pools = assign[:, slot]
        placed = pools >= 0
        bad = placed.copy()
        bad[placed] = ~inst.allowed[rows[placed], pools[placed]]
        for v in np.flatnonzero(bad)[:limit]:
            found.append(
                f"volume {inst.volume_ids[v]!s} is on pool {inst.pool_names[assign[v, slot]]}, "
                "which its latency class or size does not allow"
            )
    both = (assign[:, 0] >= 0) & (assign[:, 1] >= 0)
    same_pool = both & (assign[:, 0] == assign[:, 1])
    for v in np.flatnonzero(same_pool)[:limit]:
        found.append(f"volume {inst.volume_ids[v]!s} has both copies on one pool")
    dom = np.where(assign >= 0, inst.pool_domain[np.maximum(assign, 0)], -1)
    same_domain = both & ~same_pool & (dom[:, 0] == dom[:, 1])
    for v in np.flatnonzero(same_domain)[:limit]:
        found.append(
            f"volume {inst.volume_ids[v]!s} has both copies in failure domain "
            f"{inst.domain_names[dom[v, 0]]}"
        )
    loads = pool_loads(inst, assign)
    over = loads > inst.capacity * (1 + REL_TOL) + REL_TOL
    for j, r in np.argwhere(over)[:limit]:
        found.append(
            f"pool {inst.pool_names[j]} exceeds its {RESOURCES[r]} limit: "
            f"{loads[j, r]:,.3f} > {inst.capacity[j, r]:,.3f}"
        )
    if np.isfinite(inst.max_moved_gib):
        moved = inst.moved_gib(assign)
        if moved > inst.max_moved_gib * (1 + REL_TOL) + REL_TOL:
            found.append(f"moves {moved:,.1f} GiB, more than the limit {inst.max_moved_gib:,.1f}")
    return found


def validate(inst: StorageInstance, assign: IntArray) -> None:
    """Raise :class:`SolverError` listing the violations if ``assign`` breaks any rule."""
    found = violations(inst, assign)
    if found:
        raise SolverError(
            "the storage solver returned an invalid plan (a bug): " + "; ".join(found[:10])
        )
