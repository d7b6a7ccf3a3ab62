"""Fixtures of the optimizer tests: an exhaustive solver for tiny homogeneous instances."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from capplan.optimize.instance import Instance


def brute_force_bins(inst: Instance) -> int | None:
    """Fewest bins of a one-type, rule-free instance, by enumerating set partitions.

    Partitions are generated as restricted growth strings (item k joins one of the blocks
    used so far or opens the next), pruned when a block overflows; fine up to ~9 items.
    Returns None when no packing exists.
    """
    d = inst.flat_demand
    cap = inst.flat_capacity[0]
    n = inst.n_items
    best = [n + 1]
    loads: list[np.ndarray] = []

    def rec(k: int) -> None:
        if len(loads) >= best[0]:
            return
        if k == n:
            best[0] = len(loads)
            return
        for b in range(len(loads)):
            new = loads[b] + d[k]
            if np.all(new <= cap):
                old = loads[b]
                loads[b] = new
                rec(k + 1)
                loads[b] = old
        if np.all(d[k] <= cap):
            loads.append(d[k].copy())
            rec(k + 1)
            loads.pop()

    rec(0)
    return None if best[0] > n else best[0]


@pytest.fixture
def brute_force() -> Callable[[Instance], int | None]:
    """The exhaustive minimum bin count (see :func:`brute_force_bins`)."""
    return brute_force_bins
