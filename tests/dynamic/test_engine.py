"""Hand-worked scenarios: energy, over-subscription, capping, migration accounting, quirk."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from dynamic.scenarios import G4_W, G5_W, config, fleet, vms

from capplan.dynamic.config import SimConfig
from capplan.dynamic.contract import Policy
from capplan.dynamic.engine import round_times, simulate
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.policies import get_policy
from capplan.dynamic.state import Simulation
from capplan.units import KWH_PER_WS

WS = 1.0 / KWH_PER_WS  # watt-seconds per kWh


def pinned(hosts: Sequence[int], optimize: str | None = None) -> Policy:
    """A policy that places VM i on hosts[i] and then runs ``optimize`` (a policy name)."""

    def place(sim: Simulation) -> None:
        for vm, host in enumerate(hosts):
            sim.place(vm, host)

    inner = get_policy(optimize).optimize if optimize else None
    return Policy("pinned", place, inner)


def run(v: VmSet, f: HostFleet, policy: Policy, cfg: SimConfig) -> object:
    return simulate(v, f, policy, cfg)


def test_round_times() -> None:
    assert round_times(config(900.0)).tolist() == [300.0, 600.0]
    cloudsim = config(86_400.0, start_offset_s=0.1)
    times = round_times(cloudsim)
    assert len(times) == 287
    assert times[0] == pytest.approx(300.1)
    assert times[-1] == pytest.approx(86_100.1)


def test_energy_is_the_trapezoid_between_updates() -> None:
    # one 2 × 1000 MIPS host, power 100 + 100 u W; the VM uses 0.4, 0.4, 0.8, 0.8 of 1000 MIPS
    result = run(vms([[0.4, 0.4, 0.8, 0.8]]), fleet(1), get_policy("dvfs"), config())
    # host utilisation 0.2, 0.2, 0.4, 0.4 at 0, 300, 600, 900 s
    expected_ws = 120 * 300 + (120 + 140) / 2 * 300 + 140 * 300
    assert result.energy_kwh * WS == pytest.approx(expected_ws)
    assert result.slatah_frac == 0.0
    assert result.n_migrations == 0


def test_energy_is_zero_after_a_zero_utilisation() -> None:
    # CloudSim: an interval that starts at utilisation 0 draws nothing, even if it ends higher
    result = run(vms([[0.0, 0.0, 0.5, 0.5]]), fleet(1), get_policy("dvfs"), config())
    assert result.energy_kwh * WS == pytest.approx(125 * 300)


def test_cloudsim_timing_loses_the_first_interval_and_interpolates() -> None:
    cfg = config(900.0, start_offset_s=0.1, initial_update=False, final_update=False)
    result = run(vms([[0.4, 0.4, 0.8, 0.8]]), fleet(1), get_policy("dvfs"), cfg)
    # rounds at 300.1 and 600.1; the first has no previous utilisation
    u_a = (0.4 + (0.8 - 0.4) / 300 * 0.1) / 2
    u_b = 0.8 / 2
    expected_ws = ((100 + 100 * u_a) + (100 + 100 * u_b)) / 2 * 300
    assert result.energy_kwh * WS == pytest.approx(expected_ws)


def test_npa_draws_full_power_on_every_host() -> None:
    result = run(vms([[0.1] * 4]), fleet(3), get_policy("npa"), config())
    assert result.energy_kwh * WS == pytest.approx(3 * 200 * 900)


def test_oversubscribed_host_scales_and_floors() -> None:
    # three 900-MIPS requests on a 2,000-MIPS host: each gets floor(900 × 2000 / 2700) = 666
    v = vms([[0.9] * 4] * 3)
    result = run(v, fleet(1), pinned([0, 0, 0]), config())
    assert result.slatah_frac == pytest.approx(1.0)
    assert result.sla_overall_frac == pytest.approx((2700 - 3 * 666) / 2700)
    assert result.sla_average_frac == pytest.approx((900 - 666) / 900)
    assert result.pdm_frac == 0.0
    assert result.host_util_frac[0, 0] == pytest.approx(3 * 666 / 2000)


def test_request_above_pe_is_capped() -> None:
    # a 1-PE VM of 1,500 MIPS at 80 % asks 1,200 MIPS of a 1,000-MIPS PE
    v = vms([[0.8] * 4], mips=1500.0)
    result = run(v, fleet(1), pinned([0]), config())
    assert result.slatah_frac == pytest.approx(1.0)
    assert result.sla_overall_frac == pytest.approx(200 / 1200)


def test_migration_accounting_by_hand() -> None:
    # two 1,000-MIPS VMs at 90 % on host 0 (of two 2,000-MIPS hosts): THR 0.8 flags host 0,
    # MMT moves vm0 (625 MB -> 625 / 62.5 = 10 s at half of 1 Gbit/s) to idle host 1.
    v = vms([[0.9] * 4, [0.9] * 4], ram_mib=[625.0, 1250.0])
    result = run(v, fleet(2), pinned([0, 0], "thr-mmt"), config())
    assert result.n_migrations == 1
    assert result.migrations_per_round.tolist() == [1, 0]
    assert result.mean_migration_s == pytest.approx(10.0)
    # energy: host 0 at 0.9 until 310 s then 0.45; host 1 reserves 10 % of 900 MIPS
    # (util 0.045) during the migration, then 0.45
    expected_ws = 190 * 300 + 190 * 10 + 104.5 * 10 + 145 * 290 * 2 + 145 * 300 * 2
    assert result.energy_kwh * WS == pytest.approx(expected_ws)
    # PDM: vm0 got 810 of 900 MIPS for 10 s, out of 2 × 900 MIPS × 900 s requested
    assert result.pdm_frac == pytest.approx(90 * 10 / (2 * 900 * 900))
    # SLATAH: host 1 allocated 90 of 900 requested MIPS for 10 s; active time 900 + 600 s
    assert result.slatah_frac == pytest.approx(10 / 1500)
    assert result.slav == pytest.approx(result.slatah_frac * result.pdm_frac)
    assert result.n_host_shutdowns == 0


def test_underloaded_host_is_emptied_and_switched_off() -> None:
    v = vms([[0.2] * 4, [0.2] * 4])
    result = run(v, fleet(2), pinned([0, 1], "thr-mmt"), config())
    assert result.n_migrations == 1
    assert result.n_host_shutdowns == 1
    assert result.mean_time_before_shutdown_s == pytest.approx(310.0)
    assert result.active_hosts.tolist() == [2, 1]


def test_zero_mips_vms_vanish_only_in_compat_mode() -> None:
    util = [[0.5, 0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 0.5, 0.5, 0.5]]
    quirky = config(
        1200.0, start_offset_s=0.1, initial_update=False, final_update=False, vanish_idle_vms=True
    )
    result = run(vms(util), fleet(2), pinned([0, 1]), quirky)
    # at 300.1 s vm0 requests 0 (two zero samples); vm1 requests 0.5 × 0.1 / 300 > 0
    assert result.n_vms_vanished == 1
    fixed = run(vms(util), fleet(2), pinned([0, 1]), config(1200.0))
    assert fixed.n_vms_vanished == 0


def test_migrating_vm_does_not_vanish() -> None:
    # vm0 is moved at round 1 and requests 0 at the next update while still migrating:
    # long migration (62,500 MB over 62.5 MB/s = 1,000 s)
    util = [[0.9, 0.9, 0.0, 0.0, 0.0], [0.9, 0.9, 0.9, 0.9, 0.9]]
    v = vms(util, ram_mib=[62_500.0, 125_000.0])
    cfg = config(1200.0, vanish_idle_vms=True, ram_checked_after_start=False)
    result = run(v, fleet(2, ram_mib=1e6), pinned([0, 0], "thr-mmt"), cfg)
    assert result.n_migrations == 1
    assert result.n_vms_vanished == 0


def test_pabfd_initial_placement_follows_power_and_pe_size() -> None:
    # G4 (2 × 1,860) at even, G5 (2 × 2,660) at odd indices, as in CloudSim
    f = HostFleet.from_models(
        ["g4", "g5", "g4", "g5"],
        n_pes=[2] * 4,
        pe_mips=[1860.0, 2660.0, 1860.0, 2660.0],
        ram_mib=[4096.0] * 4,
        bw_mbps=[1000.0] * 4,
        power_w=[G4_W, G5_W, G4_W, G5_W],
    )
    v = vms([[0.1, 0.1]] * 3, mips=[2500.0, 1000.0, 500.0], ram_mib=[870.0, 1740.0, 613.0])
    sim = Simulation(v, f, config())
    get_policy("lr-mmt").place_initial(sim)
    # no host has a utilisation yet, so the rise is P(mips / capacity) - P(0): the 2,500-MIPS
    # VM needs a 2,660 PE (G5); 1,000 MIPS adds 8.94 W on a G4 but 6.82 W on a G5, 500 MIPS
    # 4.5 W vs 3.1 W; ties between G5 hosts go to the lowest index, which still has room
    assert sim.host_of.tolist() == [1, 1, 1]
    first_fit = Simulation(v, f, config())
    get_policy("dvfs").place_initial(first_fit)
    assert first_fit.host_of.tolist() == [1, 0, 0]


def test_a_policy_pair_without_a_compiled_round_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A selection registered without a compiled round is refused when the policy is asked
    for, naming the pair, not at the first round with a traceback."""
    from capplan.dynamic import selection
    from capplan.errors import CapplanError

    monkeypatch.setitem(selection.VM_SELECTIONS, "first", lambda sim, candidates: candidates[0])
    with pytest.raises(CapplanError, match="thr-first"):
        get_policy("thr-first")
