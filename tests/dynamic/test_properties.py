"""Property tests on random small fleets and workloads."""

from __future__ import annotations

import numpy as np
from dynamic.scenarios import config
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dynamic.detection import get_overload_test
from capplan.dynamic.engine import simulate
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.policies import get_policy
from capplan.dynamic.reference.round import cloudsim_round
from capplan.dynamic.selection import get_selection
from capplan.dynamic.state import Simulation

POLICIES = ["thr-mmt", "iqr-mu", "mad-rs", "lr-mmt", "lrr-mc", "dvfs", "capplan-fb"]


@st.composite
def scenario(draw: st.DrawFn) -> tuple[VmSet, HostFleet, str, bool]:
    n_vms = draw(st.integers(2, 8))
    n_hosts = draw(st.integers(n_vms, n_vms + 3))
    n_samples = draw(st.integers(3, 8))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    zeros = rng.random((n_vms, n_samples)) < 0.2
    util = np.where(zeros, 0.0, np.round(rng.random((n_vms, n_samples)), 2))
    vms = VmSet(
        vm_ids=np.asarray([f"v{i}" for i in range(n_vms)], dtype=np.str_),
        n_pes=np.ones(n_vms, dtype=np.int64),
        mips=rng.choice([500.0, 1000.0, 1800.0], n_vms),  # every VM fits every host
        ram_mib=rng.choice([613.0, 870.0, 1740.0], n_vms),
        bw_mbps=np.full(n_vms, 100.0),
        util_frac=util,
        sample_s=300.0,
    )
    kinds = rng.integers(0, 2, n_hosts)
    fleet = HostFleet.from_models(
        ["a" if k == 0 else "b" for k in kinds],
        n_pes=[2] * n_hosts,
        pe_mips=[(1860.0, 2660.0)[k] for k in kinds],
        ram_mib=[8192.0] * n_hosts,
        bw_mbps=[1000.0] * n_hosts,
        power_w=[[(86.0, 93.7)[k] + (3.1, 4.1)[k] * i for i in range(11)] for k in kinds],
    )
    policy = draw(st.sampled_from(POLICIES))
    quirks = draw(st.booleans())
    return vms, fleet, policy, quirks


def _config(quirks: bool, n_samples: int) -> object:
    horizon = 300.0 * (n_samples - 1)
    if quirks:
        return config(
            horizon,
            start_offset_s=0.1,
            initial_update=False,
            final_update=False,
            vanish_idle_vms=True,
            ram_checked_after_start=False,
            exclude_overload_targets=False,
            count_idle_start_as_shutdown=True,
        )
    return config(horizon)


@settings(max_examples=40, deadline=None)
@given(scenario())
def test_metrics_are_in_range_and_vms_are_conserved(
    case: tuple[VmSet, HostFleet, str, bool],
) -> None:
    vms, fleet, policy, quirks = case
    cfg = _config(quirks, vms.n_samples)
    result = simulate(vms, fleet, get_policy(policy), cfg)  # type: ignore[arg-type]
    assert result.energy_kwh >= 0
    assert (result.energy_kwh_per_round >= 0).all()
    for frac in (result.slatah_frac, result.pdm_frac, result.sla_overall_frac):
        assert 0.0 <= frac <= 1.0
    assert result.slav <= result.slatah_frac
    assert result.n_migrations == int(result.migrations_per_round.sum())
    if not quirks:
        assert result.n_vms_vanished == 0


@settings(max_examples=40, deadline=None)
@given(scenario())
def test_default_mode_keeps_every_vm_on_a_host(case: tuple[VmSet, HostFleet, str, bool]) -> None:
    vms, fleet, policy, _ = case
    cfg = _config(False, vms.n_samples)
    sim = Simulation(vms, fleet, cfg)  # type: ignore[arg-type]
    chosen = get_policy(policy)
    chosen.place_initial(sim)
    sim.update(0.0, record_history=True)
    for t in (300.0 * k for k in range(1, vms.n_samples - 1)):
        sim.advance_to(t)
        sim.update(t, record_history=True)
        if chosen.optimize is not None:
            sim.start_migrations(t, chosen.optimize(sim, t))
        assert (sim.host_of >= 0).all()
        assert int((sim.host_of >= 0).sum()) == vms.n_vms
    sim.advance_to(1e9)
    assert (sim.host_of >= 0).all()
    assert not sim.in_migration.any()


@settings(max_examples=40, deadline=None)
@given(scenario(), st.sampled_from(["thr", "iqr", "mad", "lr"]), st.sampled_from(["mmt", "mu"]))
def test_pabfd_never_fills_a_target_beyond_capacity(
    case: tuple[VmSet, HostFleet, str, bool], detector: str, selection: str
) -> None:
    vms, fleet, _, _ = case
    sim = Simulation(vms, fleet, _config(False, vms.n_samples))  # type: ignore[arg-type]
    get_policy("lr-mmt").place_initial(sim)
    sim.update(0.0, record_history=True)
    sim.update(300.0, record_history=True)
    test, param = get_overload_test(detector)
    moves = cloudsim_round(sim, test, param, get_selection(selection))
    # replay the round's tentative placements: every target stays within its capacity
    # (requests capped per PE) once the VM is added, as PABFD checks free MIPS first
    load = np.zeros(sim.n_hosts)
    for vm in range(sim.n_vms):
        host = sim.host_of[vm]
        load[host] += min(sim.req[vm], fleet.pe_mips[host] * vms.n_pes[vm])
    for vm, target in moves:
        add = min(sim.req[vm], fleet.pe_mips[target] * vms.n_pes[vm])
        assert sim.req[vm] / vms.n_pes[vm] <= fleet.pe_mips[target]
        load[target] += add
        assert load[target] <= fleet.total_mips[target] + 1e-6
