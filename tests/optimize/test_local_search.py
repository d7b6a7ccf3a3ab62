"""Improvement searches: ejection chains and CP-SAT neighbourhoods keep packings valid."""

from __future__ import annotations

import time

import numpy as np

from capplan.optimize import eject, lns
from capplan.optimize.instance import Instance, Solution, make_instance
from capplan.optimize.validator import validate


def _one_per_bin(inst: Instance) -> Solution:
    n = inst.n_items
    return Solution(
        np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    )


def _instance(seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 40, (24, 2, 2))
    zone = rng.integers(0, 2, 24)
    return make_instance(
        demand,
        [100, 100],
        zone=zone,
        anti_affinity=[[0, 1, 2], [3, 4]],
        label=rng.integers(0, 4, 24),
        label_limit=[3],
    )


def test_ejection_chains_close_bins_and_stay_valid() -> None:
    inst = _instance(0)
    start = _one_per_bin(inst)
    assert validate(inst, start) == []
    improved: list[int] = []
    sol, stats = eject.search(
        inst, start, deadline=time.perf_counter() + 1.0, on_improve=lambda s, c: improved.append(c)
    )
    assert validate(inst, sol) == []
    assert sol.n_bins < start.n_bins
    assert stats.saved == len(improved) and improved == sorted(improved, reverse=True)


def test_cp_sat_neighbourhoods_close_bins_and_stay_valid() -> None:
    inst = _instance(1)
    start = _one_per_bin(inst)
    sol, stats = lns.search(inst, start, deadline=time.perf_counter() + 1.5, workers=1)
    assert validate(inst, sol) == []
    assert sol.n_bins < start.n_bins
    assert stats.steps >= 1


def test_searches_stop_at_the_lower_bound() -> None:
    inst = make_instance([[5], [5], [5], [5]], [10])
    start = _one_per_bin(inst)
    sol, _ = eject.search(inst, start, deadline=time.perf_counter() + 5.0, lower_bound=2)
    assert sol.n_bins == 2


def test_searches_respect_pinned_items_and_the_migration_budget() -> None:
    inst = make_instance(
        [[3], [3], [3], [3]],
        [10],
        existing_type=[0, 0, 0, 0],
        current=[0, 1, 2, 3],
        pinned=[0, -1, -1, -1],
        migration_budget=2,
    )
    start = Solution(np.arange(4), np.zeros(4, dtype=np.int64), np.arange(4))
    for search in (eject.search, lns.search):
        sol, _ = search(inst, start, deadline=time.perf_counter() + 1.0)
        assert validate(inst, sol) == []
        assert sol.bin_existing[sol.assign[0]] == 0


def _plain(seed: int, zones: bool = False) -> Instance:
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 40, (30, 2, 3))
    return make_instance(demand, [100, 100], zone=rng.integers(0, 2, 30) if zones else None)


def test_overflow_repair_closes_bins_and_stays_valid() -> None:
    from capplan.optimize import overflow
    from capplan.optimize.clock import Clock

    for seed, zones in ((0, False), (1, True)):
        inst = _plain(seed, zones)
        start = _one_per_bin(inst)
        improved: list[int] = []
        clock = Clock()
        sol, stats = overflow.search(
            inst,
            start,
            deadline=0.5,
            on_improve=lambda s, c, out=improved: out.append(c),
            clock=clock,
        )
        assert validate(inst, sol) == []
        assert sol.n_bins < start.n_bins
        assert stats.saved == len(improved) and improved == sorted(improved, reverse=True)
        # Deterministic on the work clock: the same run gives the same packing.
        again, _ = overflow.search(inst, start, deadline=0.5, clock=Clock())
        assert np.array_equal(again.assign, sol.assign)


def test_overflow_repair_leaves_instances_with_other_rules_alone() -> None:
    from capplan.optimize import overflow

    inst = _instance(0)
    start = _one_per_bin(inst)
    assert not overflow.applicable(inst)
    sol, stats = overflow.search(inst, start, deadline=time.perf_counter() + 1.0)
    assert sol.n_bins == start.n_bins and stats.tried == 0


def test_overflow_repair_keeps_a_few_sized_constant_column_feasible() -> None:
    """Memory in three VM sizes, CPU over buckets: memory is re-packed by counts, never broken."""
    from capplan.optimize import overflow
    from capplan.optimize.clock import Clock

    rng = np.random.default_rng(3)
    n = 40
    mem = rng.choice([15, 22, 44], n)
    cpu = rng.integers(5, 35, (n, 6))
    demand = np.concatenate([cpu[:, None, :], np.repeat(mem[:, None, None], 6, axis=2)], axis=1)
    inst = make_instance(demand, [[100, 100]])
    cols = overflow._columns(inst)
    assert cols.d.shape[1] == 7 and cols.hard == 6  # six CPU buckets, one memory column
    start = _one_per_bin(inst)
    sol, stats = overflow.search(inst, start, deadline=1.0, clock=Clock())
    assert validate(inst, sol) == []
    assert stats.saved > 0 and sol.n_bins < start.n_bins
    again, _ = overflow.search(inst, start, deadline=1.0, clock=Clock())
    assert np.array_equal(again.assign, sol.assign)
