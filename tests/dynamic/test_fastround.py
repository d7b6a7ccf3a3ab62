"""The compiled round decides exactly the migrations the reference round decides."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_or_skip
from dynamic.scenarios import G4_W, G5_W, LINEAR_W

from capplan.demand import load_workload
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.config import CLOUDSIM_CONFIG, DEFAULT_CONFIG, SimConfig
from capplan.dynamic.contract import Policy
from capplan.dynamic.detection import OverloadTest, iqr, lr, lrr, mad, thr
from capplan.dynamic.engine import simulate
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.kernels.round import pairwise_sum, run_round, stable_argsort, supports
from capplan.dynamic.placement import place_pabfd
from capplan.dynamic.reference.round import cloudsim_round
from capplan.dynamic.selection import Selection, mc, mmt, mu, rs
from capplan.dynamic.state import Simulation

TESTS = ((thr, 0.8), (lr, 1.2), (lrr, 1.1), (iqr, 1.5), (mad, 2.5))
COMPILED = [(t, p, s) for t, p in TESTS for s in (mmt, mu, rs, mc)]


def checked_policy(
    test: OverloadTest, param: float, select: Selection, *, list_room: int = 16
) -> tuple[Policy, list[int]]:
    """A policy that runs both rounds on the same state, asserts they agree, and moves.

    Both start from the same random-generator state and must leave the same one (RS).
    """
    rounds: list[int] = []

    def optimize(sim: Simulation, time_s: float) -> list[tuple[int, int]]:
        start = sim.rs_state.copy()
        compiled = run_round(sim, test, param, select, list_room=list_room)
        after = sim.rs_state.copy()
        sim.rs_state[:] = start
        reference = cloudsim_round(sim, test, param, select)
        assert compiled == reference, f"round at {time_s} s"
        assert sim.rs_state[0] == after[0]
        rounds.append(len(reference))
        return reference

    return Policy("checked", place_pabfd, optimize), rounds


def mixed_workload(seed: int, *, host_bw_mbps: float) -> tuple[VmSet, HostFleet]:
    """G4/G5 hosts plus 3-PE hosts on the G4 curve; 1- and 2-PE VMs with bursty demand.

    32 hosts for 40 VMs: CloudSim's initial placement spreads the VMs, about one per host.

    At 20 Mbit/s a migration takes 490–1,400 s, so rounds see VMs migrating in and out.
    """
    rng = np.random.default_rng(seed)
    n_hosts, n_vms, n_samples = 32, 40, 40
    kind = np.arange(n_hosts) % 3
    fleet = HostFleet.from_models(
        [f"k{k}" for k in kind],
        n_pes=[2 if k < 2 else 3 for k in kind],
        pe_mips=[(1860.0, 2660.0, 1860.0)[k] for k in kind],
        ram_mib=[4096.0] * n_hosts,
        bw_mbps=[host_bw_mbps] * n_hosts,
        power_w=[list(G5_W) if k == 1 else list(G4_W) for k in kind],
    )
    size = rng.integers(0, 4, n_vms)
    base = rng.uniform(0.0, 1.0, (n_vms, 1)) ** 2
    noise = rng.normal(0.0, 0.25, (n_vms, n_samples))
    util = np.clip(base + noise, 0.0, 1.0)
    util[rng.random(util.shape) < 0.005] = 0.0  # a few VMs vanish in CloudSim mode
    vms = VmSet(
        vm_ids=np.asarray([f"vm{i}" for i in range(n_vms)], dtype=np.str_),
        n_pes=np.where(rng.random(n_vms) < 0.3, 2, 1).astype(np.int64),
        mips=np.array([2500.0, 2000.0, 1000.0, 500.0])[size],
        ram_mib=np.array([870.0, 1740.0, 1740.0, 613.0])[size],
        bw_mbps=np.full(n_vms, host_bw_mbps / 20.0),
        util_frac=np.round(util, 2),
        sample_s=300.0,
    )
    return vms, fleet


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("test", "param", "select"), COMPILED)
@pytest.mark.parametrize("preset", ["cloudsim", "default"])
@pytest.mark.parametrize("host_bw_mbps", [1000.0, 20.0])
def test_compiled_round_equals_reference_on_random_fleets(
    seed: int,
    test: OverloadTest,
    param: float,
    select: Selection,
    preset: str,
    host_bw_mbps: float,
) -> None:
    vms, fleet = mixed_workload(seed, host_bw_mbps=host_bw_mbps)
    base = CLOUDSIM_CONFIG if preset == "cloudsim" else DEFAULT_CONFIG
    cfg = base.with_(horizon_s=300.0 * vms.n_samples)
    policy, rounds = checked_policy(test, param, select, list_room=1 + seed % 2)
    simulate(vms, fleet, policy, cfg)
    assert len(rounds) > 30 and sum(rounds) > 0  # the check ran, and rounds moved VMs


@pytest.mark.parametrize(
    ("test", "param", "select", "cfg"),
    [
        (lr, 1.2, mmt, CLOUDSIM_CONFIG),
        (thr, 0.8, mu, CLOUDSIM_CONFIG),
        (lrr, 1.2, mu, DEFAULT_CONFIG),
    ],
)
def test_compiled_round_equals_reference_on_a_planetlab_day(
    test: OverloadTest, param: float, select: Selection, cfg: SimConfig
) -> None:
    path = shared_or_skip("data", "planetlab", "20110303")
    vms = cloudsim_vms(load_workload(f"planetlab:{path}"))
    policy, rounds = checked_policy(test, param, select)
    result = simulate(vms, cloudsim_fleet(), policy, cfg)
    assert len(rounds) == 287
    assert result.n_migrations == sum(rounds) > 100


def varied_scenario(seed: int) -> tuple[VmSet, HostFleet, SimConfig, float]:
    """A random small case: hosts of one idle class that differ in RAM or network, hosts
    without migration bandwidth, VMs without RAM or bandwidth, 1–4 PEs, every switch of the
    configuration, other history lengths and migrating-in weights, thresholds that overload."""
    rng = np.random.default_rng(seed)
    n_hosts = int(rng.integers(1, 20))
    n_vms = int(rng.integers(1, 2 * n_hosts + 2))
    n_samples = int(rng.integers(5, 60))
    n_types = int(rng.integers(1, 4))
    n_spare = n_vms // 2 + 1  # type-0 hosts that take any two VMs: every case is feasible
    kind = np.concatenate([rng.integers(0, n_types, n_hosts), np.zeros(n_spare, np.int64)])
    pes = rng.choice([1, 2, 4], n_types)
    pes[0] = 4
    pe_mips = rng.choice([1000.0, 1860.0, 2660.0], n_types)
    pe_mips[0] = 2660.0
    ram = np.concatenate([rng.choice([2048.0, 4096.0, 8192.0], n_hosts), np.full(n_spare, 8192.0)])
    bw = np.concatenate([rng.choice([0.0, 20.0, 100.0, 1000.0], n_hosts), np.full(n_spare, 1e3)])
    fleet = HostFleet.from_models(
        [f"k{k}" for k in kind],
        n_pes=[int(pes[k]) for k in kind],
        pe_mips=[float(pe_mips[k]) for k in kind],
        ram_mib=ram.tolist(),
        bw_mbps=bw.tolist(),
        power_w=[list((G4_W, G5_W, LINEAR_W)[k]) for k in kind],
    )
    size = rng.integers(0, 5, n_vms)
    util = np.clip(
        rng.uniform(0.0, 1.0, (n_vms, 1)) ** 2
        + rng.normal(0.0, rng.uniform(0.05, 0.4), (n_vms, n_samples)),
        0.0,
        1.0,
    )
    util[rng.random(util.shape) < rng.choice([0.0, 0.01, 0.2])] = 0.0
    vm_pes = rng.choice([1, 1, 1, 2, 4], n_vms).astype(np.int64)
    vms = VmSet(
        vm_ids=np.asarray([f"vm{i}" for i in range(n_vms)], dtype=np.str_),
        n_pes=vm_pes,
        mips=np.array([1000.0, 900.0, 600.0, 500.0, 250.0])[size] * vm_pes,
        ram_mib=np.array([870.0, 1740.0, 0.0, 613.0, 128.0])[size],
        bw_mbps=rng.choice([0.0, 1.0, 5.0], n_vms),
        util_frac=np.round(util, int(rng.choice([1, 2, 6]))),
        sample_s=300.0,
    )
    cfg = (CLOUDSIM_CONFIG if rng.random() < 0.5 else DEFAULT_CONFIG).with_(
        horizon_s=300.0 * n_samples,
        exclude_overload_targets=bool(rng.random() < 0.5),
        ram_checked_after_start=bool(rng.random() < 0.5),
        migrating_in_weight=float(rng.choice([1.0, 10.0])),
        history_length=int(rng.choice([10, 12, 30, 40])),
        seed=seed,
    )
    return vms, fleet, cfg, float(rng.choice([0.5, 0.8, 1.2, 2.5]))


@pytest.mark.parametrize("seed", range(60))
def test_compiled_round_equals_reference_on_varied_cases(seed: int) -> None:
    vms, fleet, cfg, param = varied_scenario(seed)
    test, _ = TESTS[seed % len(TESTS)]
    select = (mmt, mu, rs, mc)[(seed // len(TESTS)) % 4]
    policy, rounds = checked_policy(test, param, select, list_room=1 + seed % 3)
    simulate(vms, fleet, policy, cfg)
    assert len(rounds) == vms.n_samples - 1


def test_every_cloudsim_combination_is_compiled() -> None:
    from capplan.dynamic.detection import OVERLOAD_TESTS
    from capplan.dynamic.selection import VM_SELECTIONS

    for test, _ in OVERLOAD_TESTS.values():
        for select in VM_SELECTIONS.values():
            assert supports(test, select)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 127, 128, 129, 255, 1000, 4099])
def test_pairwise_sum_matches_numpy_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(20):
        values = rng.random(n + 3) * 10.0 ** rng.uniform(-6, 6, n + 3)
        assert 0.0 + pairwise_sum(values, 3, n) == values[3:].sum()


def test_host_histories_are_the_reference_bits() -> None:
    """Host histories summed as numpy sums them (crowded hosts: pairwise sums differ)."""
    from capplan.dynamic.kernels import round as fastround
    from capplan.dynamic.placement import RoundState

    vms, fleet = mixed_workload(7, host_bw_mbps=1000.0)
    crowded = vms.subset(np.repeat(np.arange(vms.n_vms), 3))  # 120 VMs on 6 hosts
    sim = Simulation(crowded, fleet, DEFAULT_CONFIG.with_(horizon_s=300.0 * 40))
    for vm in range(sim.n_vms):
        sim.place(vm, vm % 6)
    for step in range(35):
        sim.update(300.0 * step, record_history=True)
    reference = RoundState(sim, iqr, 1.5, check_ram=True)
    vm_table = fastround._vm_table(sim, fastround.TEST_IQR)
    host_table, _, start = fastround._host_table(sim)
    empty = np.zeros(0, dtype=np.int64)
    settings = np.array([1.5, 0.1, 300.0, 1860.0, float(sim.hist_count), 9.0, 0.0])
    vms = fastround.RoundVms(vm_table, sim.hist, sim.in_migration, sim.host_of, sim.seq)
    hosts = fastround.RoundHosts(
        host_table, np.zeros(6), start, sim.idle_class, sim.ram_used_mib, sim.bw_used_mbps,
        sim.type_curves_w,
    )  # fmt: skip
    rules = fastround.RoundRules(settings, fastround.TEST_IQR, fastround.SELECT_MMT, True, False)
    flights = fastround.Flights(empty, empty, empty)
    _, host_hist, _, _, n_mem = fastround._host_lists(vms, hosts, flights, rules, 16)
    assert n_mem[:6].tolist() == [20] * 6
    assert np.array_equal(host_hist, reference.hist)
    sequential = np.zeros_like(host_hist)
    for vm in range(sim.n_vms):
        sequential[vm % 6] += sim.hist[vm] * (crowded.mips[vm] / sim.total_mips[vm % 6])
    assert not np.array_equal(sequential, reference.hist)  # the order is what is tested


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64, 65, 800, 1001])
def test_stable_argsort_matches_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    for keys in (rng.random(n), rng.integers(0, 4, n).astype(float), -np.zeros(n)):
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
