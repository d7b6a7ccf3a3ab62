"""Bin elimination by simulated annealing: closes bins, stays valid, is deterministic."""

from __future__ import annotations

import numpy as np

from capplan.optimize import anneal, heuristics
from capplan.optimize.clock import Clock
from capplan.optimize.instance import Instance, Solution, make_instance
from capplan.optimize.validator import validate


def _one_per_bin(inst: Instance) -> Solution:
    n = inst.n_items
    return Solution(
        np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    )


def _planted(
    seed: int, n_bins: int = 8, per_bin: int = 6, n_cols: int = 6, fill: int = 93
) -> Instance:
    """``n_bins`` bins of capacity 100 per column, each filled to ``fill`` by ``per_bin`` items.

    The items of one bin split ``fill`` at random in every column independently (a time-varying
    load), so the planted packing is the only kind that fits in ``n_bins`` bins and greedy
    rules need more.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_bins):
        cuts = np.sort(rng.integers(1, fill, (per_bin - 1, n_cols)), axis=0)
        top = np.full((1, n_cols), fill)
        edges = np.vstack([np.zeros((1, n_cols), dtype=np.int64), cuts, top])
        rows.append(np.maximum(np.diff(edges, axis=0), 1))
    demand = np.vstack(rows)[rng.permutation(n_bins * per_bin)]
    return make_instance(demand[:, None, :], [100])


def test_annealing_finds_a_planted_packing_the_greedy_rules_miss() -> None:
    inst = _planted(0)
    greedy = min(r.objective for r in heuristics.portfolio(inst) if r.objective is not None)
    assert greedy > 8
    start = _one_per_bin(inst)
    improved: list[int] = []
    sol, stats = anneal.search(
        inst,
        start,
        deadline=3.0,
        lower_bound=8,
        on_improve=lambda s, c: improved.append(c),
        clock=Clock(),
    )
    assert validate(inst, sol) == []
    assert sol.n_bins == 8
    assert improved == sorted(improved, reverse=True) and improved[-1] == 8
    assert stats.saved == start.n_bins - 8 and stats.moves > 0


def test_annealing_is_deterministic_on_the_work_clock() -> None:
    inst = _planted(1)
    start = _one_per_bin(inst)
    first, _ = anneal.search(inst, start, deadline=1.0, seed=3, clock=Clock())
    again, _ = anneal.search(inst, start, deadline=1.0, seed=3, clock=Clock())
    assert np.array_equal(first.assign, again.assign)
    assert np.array_equal(first.bin_type, again.bin_type)


def test_annealing_keeps_bin_types_and_zones() -> None:
    rng = np.random.default_rng(2)
    n = 36
    demand = rng.integers(5, 40, (n, 2, 3))
    allowed = np.ones((n, 2), dtype=np.bool_)
    allowed[:6, 1] = False  # six items may use only the first type
    inst = make_instance(
        demand,
        [[100, 100], [140, 120]],
        cost=[10, 13],
        allowed=allowed,
        zone=rng.integers(0, 2, n),
    )
    start = _one_per_bin(inst)
    sol, stats = anneal.search(inst, start, deadline=2.0, clock=Clock())
    assert validate(inst, sol) == []
    assert stats.saved > 0 and sol.objective(inst) < start.objective(inst)


def test_annealing_leaves_instances_with_other_rules_alone() -> None:
    inst = make_instance([[3], [3], [3], [3]], [10], anti_affinity=[[0, 1]])
    start = _one_per_bin(inst)
    assert not anneal.applicable(inst)
    sol, stats = anneal.search(inst, start, deadline=1.0, clock=Clock())
    assert sol.n_bins == start.n_bins and stats.tried == 0


def test_the_compiled_loop_keeps_its_bookkeeping_and_removes_overflow() -> None:
    """Loads and bin membership stay consistent with the assignment through the moves."""
    from capplan.optimize import overflow

    inst = _planted(4, n_bins=6, fill=85)
    cols = overflow._columns(inst)
    # Everything in two of six bins: heavily overflowing, as after closing bins.
    start = Solution(np.arange(inst.n_items) % 2, np.zeros(6, dtype=np.int64), np.full(6, -1))
    state = anneal._State.build(inst, cols, start, False, seed=11)
    done, feasible = state.run(cols, 1.0 / cols.norm, 0, 400_000, Clock(), 10.0, 1e-9)
    assert feasible and 0 < done <= 400_000
    load = np.zeros_like(state.load)
    np.add.at(load, state.assign, cols.d)
    assert np.array_equal(load, state.load)
    assert (state.load <= state.cap).all()
    for b in range(6):
        listed = np.sort(state.members[b, : state.count[b]])
        assert np.array_equal(listed, np.flatnonzero(state.assign == b))
        assert (state.members[b, state.count[b] :] == -1).all()
        slots = state.members[b, : state.count[b]]
        assert np.array_equal(state.pos[slots], np.arange(state.count[b]))
