"""CPU ready as a share of wall time (VMware's %RDY): by hand, and the KPI shortcut against
the full array."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.emulate.cpu import ready_threshold_util, ready_wall_frac


def test_ready_by_hand() -> None:
    # 4 cores, 8 vCPUs, ρ = 0.5, a = 2: Erlang C = (2⁴/4! · 4/2) / (1 + 2 + 2 + 4/3 + 4/3)
    # = 4/23; Wq/S = C / (4 · 0.5) = 2/23. Each vCPU runs 0.5 · 4 / 8 = 25 % of the time,
    # so it waits 0.25 · 2/23 = 1/46 of wall time.
    got = ready_wall_frac(np.array([[0.5]], dtype=np.float32), [4], [8])
    assert float(got[0, 0]) == pytest.approx(1 / 46, rel=1e-5)
    # vCPUs not above cores: never ready
    assert ready_wall_frac(np.array([[0.9]], dtype=np.float32), [8], [8])[0, 0] == 0.0
    # idle host: no wait
    assert ready_wall_frac(np.array([[0.0]], dtype=np.float32), [4], [8])[0, 0] == 0.0


def test_threshold_counts_the_same_host_steps_as_the_full_array() -> None:
    rng = np.random.default_rng(5)
    util = rng.uniform(0.0, 1.0, (30, 200)).astype(np.float32)
    cores = rng.choice([2.0, 8.0, 32.0], 30)
    vcpus = cores * rng.choice([0.5, 1.5, 4.0], 30)
    full = ready_wall_frac(util, cores, vcpus)
    threshold = ready_threshold_util(cores, vcpus, 0.05)
    shortcut = sum(
        int(np.count_nonzero(util[h] > threshold[h]))
        for h in range(30)
        if np.isfinite(threshold[h])
    )
    brute = int(np.count_nonzero(full > 0.05))
    assert abs(shortcut - brute) <= 2  # bisection to float32 precision at the boundary
    assert brute > 0
