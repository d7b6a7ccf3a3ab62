"""capplan's forecast + budget policy on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest
from dynamic.scenarios import G4_W, G5_W, config, fleet, vms

from capplan.dynamic.engine import simulate
from capplan.dynamic.fleet import HostFleet
from capplan.dynamic.forecast import (
    ForecastBudgetParams,
    ForecastBudgetPolicy,
    make_forecast_policy,
)
from capplan.dynamic.policies import get_policy
from capplan.dynamic.state import Simulation


def test_forecast_level_and_spread() -> None:
    sim = Simulation(vms([[0.5] * 3]), fleet(1), config())
    policy = ForecastBudgetPolicy(ForecastBudgetParams(window=4, now_weight=0.5, sigma_floor=0.0))
    sim.hist[0, :4] = [0.4, 0.2, 0.2, 0.2]
    sim.hist_count = 4
    mean, var = policy.forecast(sim, np.array([0.4]))
    # level 0.5 × 0.4 + 0.5 × mean(0.4, 0.2, 0.2, 0.2) = 0.325 of 1,000 MIPS
    assert mean[0] == pytest.approx(325.0)
    assert var[0] == pytest.approx((np.std([0.4, 0.2, 0.2, 0.2]) * 1000) ** 2)
    cold = ForecastBudgetPolicy(ForecastBudgetParams(sigma_prior=0.1))
    sim.hist_count = 0
    mean, var = cold.forecast(sim, np.array([0.3]))
    assert mean[0] == pytest.approx(300.0) and var[0] == pytest.approx(100.0**2)


def test_initial_placement_packs_onto_the_most_efficient_model() -> None:
    # a G4 (117 W / 3,720 MIPS) and a G5 (135 W / 5,320 MIPS) of each; G5 is cheaper per MIPS
    f = HostFleet.from_models(
        ["g4", "g5", "g4", "g5"],
        n_pes=[2] * 4,
        pe_mips=[1860.0, 2660.0, 1860.0, 2660.0],
        ram_mib=[4096.0] * 4,
        bw_mbps=[1000.0] * 4,
        power_w=[G4_W, G5_W, G4_W, G5_W],
    )
    v = vms([[0.1] * 3] * 6, mips=1000.0)
    sim = Simulation(v, f, config())
    make_forecast_policy("fb", ForecastBudgetParams()).place_initial(sim)
    assert set(sim.host_of.tolist()) == {1}


def test_budget_caps_migrations() -> None:
    rng = np.random.default_rng(5)
    util = np.clip(rng.normal(0.5, 0.3, (12, 13)), 0.0, 1.0)
    v = vms(util, mips=1000.0)
    params = ForecastBudgetParams(budget_per_vm_day=24.0, initial_frac=0.0)  # 1 per VM per hour
    result = simulate(v, fleet(12), make_forecast_policy("fb", params), config(3600.0))
    assert result.n_migrations <= 12 * 24.0 * 3600.0 / 86_400.0
    none = ForecastBudgetParams(budget_per_vm_day=0.0)
    result = simulate(v, fleet(12), make_forecast_policy("fb", none), config(3600.0))
    assert result.n_migrations == 0


def test_relief_moves_a_vm_off_a_host_over_capacity() -> None:
    # four 1,000-MIPS VMs jump from 20 % to 90 % at 600 s; packed onto one 2,000-MIPS host at
    # time 0 they then ask 3,600 MIPS: the policy must move some away
    util = [[0.2, 0.2, 0.9, 0.9, 0.9]] * 4
    params = ForecastBudgetParams(budget_per_vm_day=200.0, initial_frac=0.5)
    result = simulate(vms(util), fleet(4), make_forecast_policy("fb", params), config(1200.0))
    assert result.migrations_per_round[0] == 0
    assert result.migrations_per_round[1:].sum() >= 1
    assert result.active_hosts[-1] >= 2


def test_consolidation_empties_a_lightly_loaded_host() -> None:
    # two hosts each start with one VM at 40 %; both fall to 5 %: one host is emptied
    util = [[0.4, 0.05, 0.05, 0.05, 0.05]] * 2
    v = vms(util, mips=1000.0, pes=2)
    params = ForecastBudgetParams(budget_per_vm_day=200.0, initial_frac=0.5, z=0.0)

    def split(sim: Simulation) -> None:
        policy.place_initial(sim)  # builds the budget, then place one VM per host
        for vm in range(2):
            sim.host_of[vm] = -1
        sim.ram_used_mib[:] = 0
        sim.bw_used_mbps[:] = 0
        sim.place(0, 0)
        sim.place(1, 1)

    policy = ForecastBudgetPolicy(params)
    from capplan.dynamic.contract import Policy

    result = simulate(
        v, fleet(2, pe_mips=500.0), Policy("fb", split, policy.optimize), config(1200.0)
    )
    assert result.n_migrations == 1
    assert result.active_hosts[-1] == 1
    assert result.n_host_shutdowns == 1


def test_capplan_fb_is_registered_and_fresh_per_run() -> None:
    first = get_policy("capplan-fb")
    second = get_policy("capplan-fb")
    assert first.name == "capplan-fb"
    assert first.optimize is not second.optimize


def test_ram_is_checked_even_where_the_config_does_not() -> None:
    # CloudSim's config checks RAM only at the start; capplan-fb checks it on every placement
    # and move: 1,500 MiB VMs, two to a 4,096 MiB host, though the CPU would take all six
    util = [[0.05] * 6] * 6
    v = vms(util, mips=500.0, ram_mib=1500.0)
    cfg = config(1500.0, ram_checked_after_start=False)
    params = ForecastBudgetParams(budget_per_vm_day=500.0, initial_frac=0.5)
    seen: list[int] = []
    policy = ForecastBudgetPolicy(params)
    from capplan.dynamic.contract import Policy

    def watch_place(sim: Simulation) -> None:
        policy.place_initial(sim)
        seen.append(int(np.bincount(sim.host_of, minlength=sim.n_hosts).max()))

    def watch_optimize(sim: Simulation, time_s: float) -> list[tuple[int, int]]:
        moves = policy.optimize(sim, time_s)
        held = np.bincount(sim.host_of, minlength=sim.n_hosts)
        for _vm, target in moves:
            held[target] += 1
        seen.append(int(held.max()))
        return moves

    simulate(v, fleet(6), Policy("fb", watch_place, watch_optimize), cfg)
    assert seen and max(seen) == 2


def test_pabfd_start_uses_the_cloudsim_initial_placement() -> None:
    from capplan.dynamic.placement import place_pabfd

    v = vms([[0.2] * 3] * 5, ram_mib=1000.0)
    cfg = config(900.0, pabfd_stale_power=True)
    ref = Simulation(v, fleet(5), cfg)
    place_pabfd(ref)
    sim = Simulation(v, fleet(5), cfg)
    get_policy("capplan-fb-pabfd").place_initial(sim)
    assert np.array_equal(sim.host_of, ref.host_of)
    assert len(set(ref.host_of.tolist())) > 1  # the CloudSim start spreads
