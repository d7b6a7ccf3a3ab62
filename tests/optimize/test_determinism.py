"""Same instance and seed, same packing: the work clock makes solves reproducible."""

from __future__ import annotations

import threading
import time

import numpy as np

from capplan.optimize.clock import Clock
from capplan.optimize.instance import Instance, make_instance
from capplan.optimize.strategies import solve


def _hard_instance(seed: int = 3, n_items: int = 70) -> Instance:
    """Time-varying 2-D items on two bin types: no greedy rule meets the bound."""
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 60, size=(n_items, 2, 6))
    capacity = np.array([[100, 100], [160, 140]])
    return make_instance(demand, capacity, cost=[10, 15], ha_spares=1)


def _busy(stop: threading.Event) -> None:
    """Keep one core busy, as another process on the machine would."""
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def test_same_instance_same_packing_under_varying_load() -> None:
    inst = _hard_instance()
    outcomes = []
    for k in range(3):
        stop = threading.Event()
        thread = threading.Thread(target=_busy, args=(stop,), daemon=True)
        if k == 1:
            thread.start()
        try:
            res = solve(inst, time_limit_s=1.5, wall_limit_s=120.0, workers=2, seed=5)
        finally:
            stop.set()
        assert res.solution is not None
        assert res.report.stopped_by in ("work budget", "proof", "search exhausted")
        outcomes.append(
            (
                res.report.objective,
                res.report.bound,
                res.solution.assign.tolist(),
                res.solution.bin_type.tolist(),
            )
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_wall_limit_stops_a_deterministic_solve_and_says_so() -> None:
    inst = _hard_instance(n_items=120)
    start = time.perf_counter()
    res = solve(inst, time_limit_s=60.0, wall_limit_s=0.5, seed=1)
    assert time.perf_counter() - start < 20.0
    assert res.report.stopped_by == "wall-clock limit"
    assert res.solution is not None


def test_clock_counts_work_not_time() -> None:
    clock = Clock(deterministic=True, wall_limit_s=100.0)
    assert clock.now() == 0.0
    time.sleep(0.01)
    assert clock.now() == 0.0
    clock.charge(0.25)
    clock.charge(-1.0)  # negative work is ignored
    assert clock.now() == 0.25 and clock.left(1.0) == 0.75 and not clock.past(1.0)
    assert clock.past(0.25)
    wall = Clock(deterministic=False, wall_limit_s=0.0)
    assert wall.wall_out() and wall.stopped_by_wall and wall.left(1e12) == 0.0
