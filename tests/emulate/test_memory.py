"""Memory replay: ballooning, swapping and paging worked by hand, and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.memory import memory_replay


def test_hand_worked_balloon_then_swap() -> None:
    # RAM 1000 MiB; VMs configured 1200 MiB; overhead 50 MiB; no page sharing.
    # Step 0: active 900 → D = 950, C = max(1250, 950) = 1250, X = 250, idle = 300,
    #         balloon cap = 0.65·1200 = 780 → B = 250, W = 0, E = 0.
    # Step 1: active 1100 → D = 1150, C = 1250, X = 250, idle = 100 → B = 100, W = 150,
    #         E = 150, P = 2·150/60 = 5 MiB/s, slowdown = 150/1150.
    active = np.array([[900.0, 1100.0]], dtype=np.float32)
    r = memory_replay(active, ram_mib=[1000.0], overhead_mib=[50.0], configured_mib=[1200.0])
    np.testing.assert_allclose(r.demand_mib, [[950, 1150]])
    np.testing.assert_allclose(r.balloon_mib, [[250, 100]])
    np.testing.assert_allclose(r.swapped_mib, [[0, 150]])
    np.testing.assert_allclose(r.paging_mib_s, [[0, 5]], rtol=1e-6)
    np.testing.assert_allclose(r.slowdown_frac, [[0, 150 / 1150]], rtol=1e-6)
    np.testing.assert_allclose(r.used_mib, [[950, 1000]])
    assert r.reclaim_rows.tolist() == [0] and r.paging_rows.tolist() == [0]


def test_page_sharing_and_hosts_that_fit() -> None:
    # 10 % sharing: D = 1000·0.9 + 20 = 920 < RAM 2000 → nothing reclaimed.
    r = memory_replay(
        np.array([[1000.0], [100.0]], dtype=np.float32),
        ram_mib=[2000.0, 2000.0],
        overhead_mib=[20.0, 0.0],
        configured_mib=[1500.0, 200.0],
        sharing_savings_frac=0.1,
    )
    assert r.demand_mib[0, 0] == pytest.approx(920.0)
    assert len(r.reclaim_rows) == 0
    assert not r.paging_mib_s.any() and not r.balloon_mib.any()


@settings(max_examples=40, deadline=None)
@given(
    active=st.lists(st.floats(0, 4000, width=32), min_size=1, max_size=8),
    configured=st.floats(0, 6000),
    ram=st.floats(100, 4000),
    extra=st.floats(0, 1000, width=32),
)
def test_invariants_and_monotone_paging(
    active: list[float], configured: float, ram: float, extra: float
) -> None:
    def run(a: np.ndarray):
        return memory_replay(
            a.copy(), ram_mib=[ram], overhead_mib=[30.0], configured_mib=[configured]
        )

    low = np.array([active], dtype=np.float32)
    a = run(low)
    b = run(low + np.float32(extra))
    # The hypervisor swaps at least the active pages that do not fit (W ≥ E).
    excess = np.maximum(a.demand_mib - ram, 0)
    assert np.all(a.swapped_mib >= excess - 1e-2)
    assert np.all(a.balloon_mib >= 0) and np.all(a.balloon_mib <= 0.65 * configured + 1e-2)
    assert np.all((a.slowdown_frac >= 0) & (a.slowdown_frac <= 1))
    # More active memory never lowers paging.
    assert np.all(b.paging_mib_s >= a.paging_mib_s - 1e-4)
