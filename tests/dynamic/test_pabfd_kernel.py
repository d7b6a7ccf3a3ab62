"""The compiled PABFD search picks exactly the host the numpy search picks."""

from __future__ import annotations

import numpy as np
import pytest
from dynamic.scenarios import G4_W, G5_W, config

from capplan.dynamic.detection import iqr, lr, lrr, thr
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.placement import RoundState
from capplan.dynamic.reference.search import find_host as reference_find_host
from capplan.dynamic.state import Simulation


def random_simulation(seed: int, n_updates: int) -> Simulation:
    """Mixed G4/G5 hosts (some idle), VMs of four sizes, ``n_updates`` recorded updates."""
    rng = np.random.default_rng(seed)
    n_hosts, n_vms = 14, 22
    fleet = HostFleet.from_models(
        ["g4" if h % 2 == 0 else "g5" for h in range(n_hosts)],
        n_pes=[2] * n_hosts,
        pe_mips=[1860.0 if h % 2 == 0 else 2660.0 for h in range(n_hosts)],
        ram_mib=[4096.0] * n_hosts,
        bw_mbps=[1000.0] * n_hosts,
        power_w=[list(G4_W) if h % 2 == 0 else list(G5_W) for h in range(n_hosts)],
    )
    kind = rng.integers(0, 4, n_vms)
    vms = VmSet(
        vm_ids=np.asarray([f"vm{i}" for i in range(n_vms)], dtype=np.str_),
        n_pes=np.ones(n_vms, dtype=np.int64),
        mips=np.array([2500.0, 2000.0, 1000.0, 500.0])[kind],
        ram_mib=np.array([870.0, 1740.0, 1740.0, 613.0])[kind],
        bw_mbps=np.full(n_vms, 100.0),
        util_frac=rng.uniform(0.0, 1.0, size=(n_vms, 16)) ** rng.uniform(0.5, 3.0, (n_vms, 1)),
        sample_s=300.0,
    )
    sim = Simulation(vms, fleet, config(horizon_s=300.0 * 16))
    busy_hosts = rng.choice(n_hosts, size=8, replace=False)
    for vm in range(n_vms):
        sim.place(vm, int(rng.choice(busy_hosts)))
    for step in range(n_updates):
        sim.update(300.0 * step, record_history=True)
    return sim


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_updates", [3, 12])  # LR: fallback (short history) and the line
@pytest.mark.parametrize(("test", "param"), [(thr, 0.8), (thr, 1.0), (lr, 1.2), (lrr, 1.1)])
def test_kernel_equals_the_numpy_search(
    seed: int, n_updates: int, test: object, param: float
) -> None:
    sim = random_simulation(seed, n_updates)
    rng = np.random.default_rng(100 + seed)
    for check_ram in (True, False):
        state = RoundState(sim, test, param, check_ram=check_ram)  # type: ignore[arg-type]
        assert state._kernel_test is not None
        for _ in range(4):
            allowed = rng.random(sim.n_hosts) < 0.7
            for vm in range(sim.n_vms):
                for idle_allowed in (True, False):
                    for requested in (None, float(sim.vms.mips[vm])):
                        got = state.find_host(vm, allowed, requested, idle_allowed=idle_allowed)
                        want = reference_find_host(
                            state, vm, allowed, requested, idle_allowed=idle_allowed
                        )
                        assert got == want, (vm, idle_allowed, requested)
            # change the tentative state the way a round does, then search again
            vm = int(rng.integers(sim.n_vms))
            target = state.find_host(vm, allowed)
            if target >= 0:
                state.add(vm, target)


def test_iqr_and_mad_are_not_searched_by_the_kernel() -> None:
    """The kernel has no IQR or MAD test: asking it is an error, not a silent THR search."""
    state = RoundState(random_simulation(0, 12), iqr, 1.5, check_ram=True)
    assert state._kernel_test is None
    with pytest.raises(ValueError, match="THR, LR and LRR"):
        state.find_host(0, np.ones(state.sim.n_hosts, dtype=bool))
