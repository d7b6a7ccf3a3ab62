"""PABFD and one CloudSim consolidation round on hand-built states."""

from __future__ import annotations

import numpy as np
import pytest
from dynamic.scenarios import G5_W, config, fleet, vms

from capplan.dynamic.detection import lr, thr
from capplan.dynamic.placement import RoundState
from capplan.dynamic.reference.round import cloudsim_round
from capplan.dynamic.selection import mmt
from capplan.dynamic.state import Simulation


def state_at(util: list[float], hosts: list[int], n_hosts: int = 3, **cfg: object) -> Simulation:
    """A simulation right after the update at 300 s, VM i on hosts[i] (constant utilisation)."""
    v = vms([[u] * 4 for u in util], ram_mib=[625.0 * (i + 1) for i in range(len(util))])
    sim = Simulation(v, fleet(n_hosts), config(**cfg))
    for vm, host in enumerate(hosts):
        sim.place(vm, host)
    sim.update(0.0, record_history=True)
    sim.update(300.0, record_history=True)
    return sim


def test_equal_power_rise_goes_to_the_lowest_index() -> None:
    # linear power curve: any host rises by the same watts; host 0 is the first that passes
    sim = state_at([0.5, 0.3, 0.2], [0, 1, 2])
    state = RoundState(sim, thr, 0.8, check_ram=True)
    every = np.ones(3, dtype=bool)
    assert state.find_host(2, every) == 0
    allowed = every.copy()
    allowed[0] = False
    assert state.find_host(2, allowed) == 1


def test_pabfd_skips_hosts_that_would_be_overloaded() -> None:
    # host 0 holds 1,000 of 2,000 MIPS: + 600 gives 0.8 (not above 0.8), + 700 gives 0.85
    sim = state_at([0.5, 0.5, 0.6, 0.7], [0, 0, 1, 2], n_hosts=4)
    state = RoundState(sim, thr, 0.8, check_ram=True)
    allowed = np.array([True, False, False, True])
    assert state.find_host(2, allowed) == 0
    assert state.find_host(3, allowed) == 3  # host 0 would exceed 0.8; host 3 is idle


def test_pabfd_prefers_the_least_power_rise() -> None:
    # G5 curve: 10 % steps cost 3.3, 4, 4, 5, 6, 5, 4, 4, 4, 2 W; a host at 0.92 rises 2 W
    # per 10 % while a host at 0.12 rises 4 W
    v = vms([[0.92] * 4, [0.12] * 4, [0.02] * 4], mips=[2000.0, 2000.0, 200.0], pes=2)
    f = fleet(3, curve=G5_W)
    sim = Simulation(v, f, config())
    for vm, host in ((0, 0), (1, 1), (2, 2)):
        sim.place(vm, host)
    sim.update(0.0, record_history=True)
    state = RoundState(sim, thr, 1.0, check_ram=True)
    allowed = np.array([True, True, False])
    assert state.find_host(2, allowed) == 0


def test_snapshot_restore_is_exact() -> None:
    sim = state_at([0.5, 0.3, 0.2], [0, 1, 2])
    state = RoundState(sim, lr, 1.2, check_ram=True)
    before = (state.capped.copy(), state.req_sum.copy(), state.hist.copy(), state.avail().copy())
    snap = state.snapshot(1)
    state.add(0, 1)
    state.add(2, 1)
    assert state.members(1) == [1, 0, 2]
    state.restore(snap)
    assert state.members(1) == [1]
    after = (state.capped, state.req_sum, state.hist, state.avail())
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_remove_leaves_exact_zero_history() -> None:
    sim = state_at([0.5, 0.3], [0, 0], n_hosts=2)
    state = RoundState(sim, lr, 1.2, check_ram=True)
    state.remove(0, 0)
    state.remove(1, 0)
    assert not state.hist[0].any()
    assert state.req_sum[0] == 0.0
    assert state.avail()[0] == pytest.approx(2000.0)


def _double_move_state(exclude: bool) -> Simulation:
    # host 0: vm0, vm1 at 900 MIPS each (0.9 > 0.8); host 1: vm2 at 100; host 2: vm3 at 600
    v = vms([[0.9] * 4, [0.9] * 4, [0.1] * 4, [0.6] * 4], ram_mib=[625.0, 1250.0, 625.0, 625.0])
    sim = Simulation(v, fleet(3), config(exclude_overload_targets=exclude))
    for vm, host in enumerate([0, 0, 1, 2]):
        sim.place(vm, host)
    sim.update(0.0, record_history=True)
    sim.update(300.0, record_history=True)
    return sim


def test_cloudsim_may_move_a_vm_twice_in_one_round() -> None:
    # vm0 leaves overloaded host 0 for host 1 (equal rise, lowest index); CloudSim then
    # drains host 1, the least-loaded host, moving vm0 again
    moves = cloudsim_round(_double_move_state(False), thr, 0.8, mmt)
    assert moves == [(0, 1), (0, 2), (2, 2)]


def test_default_mode_does_not_drain_a_host_that_just_received_vms() -> None:
    moves = cloudsim_round(_double_move_state(True), thr, 0.8, mmt)
    assert moves == [(0, 1), (3, 1)]


def test_double_move_executes_in_order() -> None:
    sim = _double_move_state(False)
    moves = cloudsim_round(sim, thr, 0.8, mmt)
    assert sim.start_migrations(300.0, moves) == 3
    sim.advance_to(600.0)
    assert sim.host_of.tolist() == [2, 0, 2, 2]
    assert not sim.in_migration.any()
