"""Availability: hand-worked formulas, Monte Carlo against the closed form, properties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.economics import availability as av


def test_component_formulas_hand_worked() -> None:
    assert av.unavailability_frac(99.0, 1.0) == pytest.approx(0.01)
    assert av.failure_rate_per_h(99.0, 1.0) == pytest.approx(0.01)
    assert av.unavailability_frac(np.inf, 1.0) == 0.0
    assert av.failure_rate_per_h(np.inf, 1.0) == 0.0
    assert av.redundant_unavailability(0.1, 2) == pytest.approx(0.01)
    assert av.appliance_unavailability("none", False, 0.1) == 0.0
    assert av.appliance_unavailability("in-band", False, 0.1) == pytest.approx(0.1)
    assert av.appliance_unavailability("out-of-band", True, 0.1) == pytest.approx(0.01)
    assert av.maintenance_unavailability(12, 1.0, live_migration=True) == 0.0
    assert av.maintenance_unavailability(12, 1.0, live_migration=False) == pytest.approx(12 / 8760)
    assert av.combine_independent(0.1, 0.2).item() == pytest.approx(1 - 0.9 * 0.8)
    assert av.nines(0.999).item() == pytest.approx(3.0)
    assert av.nines(1.0).item() == np.inf
    assert av.downtime_min_per_year(0.999).item() == pytest.approx(525.6)


def test_others_down_tail_hand_worked() -> None:
    q = [0.1, 0.2, 0.3]
    # k = 1: 1 − Π(1 − q_other).  Host 0: 1 − 0.8·0.7 = 0.44; host 1: 0.37; host 2: 0.28.
    assert av.others_down_tail(q, 1).tolist() == pytest.approx([0.44, 0.37, 0.28])
    # k = 2: both others down. Host 0: 0.2·0.3 = 0.06; host 1: 0.03; host 2: 0.02.
    assert av.others_down_tail(q, 2).tolist() == pytest.approx([0.06, 0.03, 0.02])
    assert av.others_down_tail(q, 0).tolist() == [1.0, 1.0, 1.0]
    assert av.others_down_tail(q, 3).tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=30, deadline=None)
@given(
    q=st.lists(st.floats(0.0, 0.45), min_size=2, max_size=8),
    k=st.integers(1, 4),
)
def test_fast_tail_matches_direct_convolution(q: list[float], k: int) -> None:
    arr = np.asarray(q)
    if k > arr.size - 1:
        return
    np.testing.assert_allclose(
        av.others_down_tail(arr, k), av._others_down_tail_direct(arr, k), atol=1e-12
    )


def test_outage_per_failure_hand_worked() -> None:
    # MTTR 6 h, restart 0.5 h, never blocked: 6·(1 − e^(−1/12)) = 6·0.0799556 = 0.479733 h.
    got = av.outage_per_failure_h([6.0], 0.5, [0.0], ha=True)
    assert got[0] == pytest.approx(6 * (1 - np.exp(-0.5 / 6)))
    assert got[0] == pytest.approx(0.479733, abs=1e-6)
    # Always blocked, or no HA: the whole repair.
    assert av.outage_per_failure_h([6.0], 0.5, [1.0], ha=True)[0] == pytest.approx(6.0)
    assert av.outage_per_failure_h([6.0], 0.5, [0.0], ha=False)[0] == pytest.approx(6.0)


def _inputs(**kw: object) -> av.AvailabilityInputs:
    n = 6
    base = av.AvailabilityInputs(
        host_of_vm=np.array([0, 0, 1, 2, 3, 4, 5, 5]),
        mtbf_h=np.full(n, 500.0),
        mttr_h=np.full(n, 50.0),
        service_of_vm=np.array([0, 0, 1, 1, 2, 3, 4, 4]),
        ha=True,
        restart_h=2.0,
        reserve_hosts=1,
        live_migration=True,
        maintenance_windows_per_year=12,
        maintenance_window_h=1.0,
        appliance="in-band",
        appliance_mirrored=True,
        appliance_mtbf_h=300.0,
        appliance_mttr_h=30.0,
        n_paths=2,
        path_mtbf_h=200.0,
        path_mttr_h=20.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_closed_form_without_ha_is_host_downtime() -> None:
    # No HA, no storage parts, no maintenance: a VM is down exactly when its host is.
    inp = _inputs(ha=False, appliance="none", n_paths=0)
    res = av.closed_form(inp)
    np.testing.assert_allclose(res.vm_unavailability_frac, 50 / 550)
    # Service 1 spans hosts 1 and 2: both must be down: (50/550)².
    assert res.service_unavailability_frac[1] == pytest.approx((50 / 550) ** 2)
    # Service 0 has both VMs on host 0: no redundancy.
    assert res.service_unavailability_frac[0] == pytest.approx(50 / 550)


def test_closed_form_with_ha_hand_worked() -> None:
    # 6 hosts, q = 1/11, k = 1: b = 1 − (10/11)^5; D = (1−b)·50·(1−e^(−2/50)) + b·50;
    # U_host = D / 550.  Storage parts and maintenance off.
    inp = _inputs(appliance="none", n_paths=0)
    b = 1 - (10 / 11) ** 5
    d = (1 - b) * 50 * (1 - np.exp(-2 / 50)) + b * 50
    res = av.closed_form(inp)
    np.testing.assert_allclose(res.vm_unavailability_frac, d / 550)


def test_the_reserve_is_held_per_zone_hand_worked() -> None:
    # The same 6 hosts in two zones of 3 (hosts 0-2, 3-5), k = 1 per zone: a host's failure
    # is blocked when one of the *2 other hosts of its zone* is down: b = 1 − (10/11)².
    zoned = _inputs(appliance="none", n_paths=0, zone_of_host=np.array([0, 0, 0, 1, 1, 1]))
    b = 1 - (10 / 11) ** 2
    d = (1 - b) * 50 * (1 - np.exp(-2 / 50)) + b * 50
    np.testing.assert_allclose(av.closed_form(zoned).vm_unavailability_frac, d / 550)
    # Each zone holds its own reserve (as consolidation plans N+k per zone): two failures in
    # different zones are both absorbed, so blocking is rarer than with one reserve for all.
    pooled = av.closed_form(_inputs(appliance="none", n_paths=0)).vm_unavailability_frac
    assert np.all(av.closed_form(zoned).vm_unavailability_frac < pooled)


def test_a_rack_failure_restarts_within_each_zone() -> None:
    # Rack 0 = hosts 0, 1; zones: host 0 with hosts 2, 3 (zone 0), host 1 with 4, 5 (zone 1).
    # k = 1: each zone loses one host of the rack, so each restart needs none of the zone's
    # other two hosts down: b = 1 − (10/11)² for both, not "2 hosts > k: always blocked".
    rack = av.Domain("rack", np.array([0, 0, 1, 1, 2, 2]), 1000.0, 10.0)
    zones = np.array([0, 1, 0, 0, 1, 1])
    zoned = _inputs(appliance="none", n_paths=0, domains=(rack,), zone_of_host=zones)
    pooled = _inputs(appliance="none", n_paths=0, domains=(rack,))
    q = np.full(6, 50 / 550)
    assert av.domain_block_prob(q, [0, 1], 1) == 1.0  # one pool: 2 hosts > k
    assert av.domain_block_prob(q, [0, 1], 1, same_zone=zones == 0) == pytest.approx(
        1 - (10 / 11) ** 2
    )
    assert np.all(
        av.closed_form(zoned).vm_unavailability_frac[:4]
        < av.closed_form(pooled).vm_unavailability_frac[:4]
    )


def test_storage_path_enters_every_vm() -> None:
    plain = av.closed_form(_inputs(appliance="none", n_paths=0)).vm_unavailability_frac
    spof = av.closed_form(_inputs(appliance="in-band", appliance_mirrored=False, n_paths=0))
    mirrored = av.closed_form(_inputs(appliance="in-band", appliance_mirrored=True, n_paths=0))
    q_app = 30 / 330
    # An unmirrored in-band appliance is a single point of failure for every VM.
    np.testing.assert_allclose(spof.vm_unavailability_frac, 1 - (1 - plain) * (1 - q_app))
    assert spof.appliance_frac == pytest.approx(q_app)
    assert mirrored.appliance_frac == pytest.approx(q_app**2)
    assert np.all(mirrored.vm_unavailability_frac < spof.vm_unavailability_frac)
    # Even a fully redundant service falls with the appliance.
    assert np.all(spof.service_unavailability_frac >= q_app)
    one_path = av.closed_form(_inputs(appliance="none", n_paths=1)).vm_unavailability_frac
    two_paths = av.closed_form(_inputs(appliance="none", n_paths=2)).vm_unavailability_frac
    assert np.all(two_paths < one_path) and np.all(one_path > plain)


def test_maintenance_counts_only_without_live_migration() -> None:
    live = av.closed_form(_inputs(appliance="none", n_paths=0, live_migration=True))
    cold = av.closed_form(_inputs(appliance="none", n_paths=0, live_migration=False))
    m = 12 / 8760
    np.testing.assert_allclose(
        cold.vm_unavailability_frac, 1 - (1 - live.vm_unavailability_frac) * (1 - m)
    )
    # Rolling windows never take down a service spread over two hosts.
    assert cold.service_unavailability_frac[1] == pytest.approx(live.service_unavailability_frac[1])


def test_monte_carlo_is_seeded() -> None:
    inp = _inputs()
    a = av.monte_carlo(inp, n_runs=4, years_per_run=2, seed=7)
    b = av.monte_carlo(inp, n_runs=4, years_per_run=2, seed=7)
    c = av.monte_carlo(inp, n_runs=4, years_per_run=2, seed=8)
    np.testing.assert_array_equal(a.vm_unavailability_frac, b.vm_unavailability_frac)
    np.testing.assert_array_equal(a.service_unavailability_frac, b.service_unavailability_frac)
    assert not np.array_equal(a.vm_unavailability_frac, c.vm_unavailability_frac)


@pytest.mark.parametrize(
    "kw",
    [
        {},  # HA, N+1, mirrored in-band appliance, two paths
        {"reserve_hosts": 0},
        {"ha": False, "appliance": "out-of-band", "appliance_mirrored": False, "n_paths": 1},
        {"live_migration": False, "appliance": "none", "reserve_hosts": 2},
        {"appliance": "none", "n_paths": 0, "zone_of_host": np.array([0, 0, 0, 1, 1, 1])},
        {
            "appliance": "none",
            "n_paths": 0,
            "zone_of_host": np.array([0, 1, 0, 0, 1, 1]),
            "domains": (av.Domain("rack", np.array([0, 0, 1, 1, 2, 2]), 1000.0, 10.0),),
        },
    ],
)
def test_monte_carlo_agrees_with_closed_form_per_vm(kw: dict[str, object]) -> None:
    inp = _inputs(**kw)
    cf = av.closed_form(inp)
    mc = av.monte_carlo(inp, n_runs=40, years_per_run=20, seed=11)
    # Each VM within 4 standard errors (8 VMs, so a spurious failure is very unlikely).
    assert np.all(np.abs(mc.vm_unavailability_frac - cf.vm_unavailability_frac) <= 4 * mc.vm_stderr)


def test_monte_carlo_agrees_with_closed_form_per_service_without_ha() -> None:
    # Without HA the hosts' outages are independent, so the service formula is exact.
    inp = _inputs(ha=False)
    cf = av.closed_form(inp)
    mc = av.monte_carlo(inp, n_runs=40, years_per_run=20, seed=3)
    diff = np.abs(mc.service_unavailability_frac - cf.service_unavailability_frac)
    assert np.all(diff <= 4 * mc.service_stderr)


def test_monte_carlo_shows_service_coupling_under_ha() -> None:
    # With HA and q ≈ 9 %, a failure while the service's other host is down finds no
    # reserve: the simulated multi-host service is down more than independence predicts.
    inp = _inputs()
    cf = av.closed_form(inp)
    mc = av.monte_carlo(inp, n_runs=40, years_per_run=20, seed=3)
    assert mc.service_unavailability_frac[1] > cf.service_unavailability_frac[1]


@settings(max_examples=30, deadline=None)
@given(
    n_hosts=st.integers(2, 8),
    k=st.integers(0, 3),
    q_mtbf=st.floats(50.0, 5000.0),
    mttr=st.floats(1.0, 100.0),
)
def test_more_reserve_never_lowers_availability(
    n_hosts: int, k: int, q_mtbf: float, mttr: float
) -> None:
    host_of_vm = np.arange(n_hosts)

    def u(extra: int) -> np.ndarray:
        n = n_hosts + k + extra
        inp = _inputs(
            host_of_vm=host_of_vm,
            service_of_vm=host_of_vm,
            mtbf_h=np.full(n, q_mtbf),
            mttr_h=np.full(n, mttr),
            reserve_hosts=k + extra,
        )
        return av.closed_form(inp).vm_unavailability_frac

    assert np.all(u(1) <= u(0) + 1e-15)


def test_service_index_groups_and_singletons() -> None:
    idx, names = av.service_index(["web", None, "web", "db"], ["a", "b", "c", "d"])
    assert idx.tolist() == [0, 1, 0, 2]
    assert names == ["web", "b", "db"]


def test_host_zones_from_the_placement() -> None:
    from helpers import make_workload

    from capplan.economics.evaluate import host_zones

    wl = make_workload(
        {"cpu_demand_mhz": np.ones((4, 2))},
        inventory={"security_zone": ["dmz", "dmz", "internal", None]},
    )
    # hosts: 0 holds the two dmz VMs, 1 the internal one, 2 the VM without a zone; 3 is empty
    zones = host_zones(wl, np.array([0, 0, 1, 2]), 4)
    names = sorted(["dmz", "internal", "default"])
    assert zones[:3].tolist() == [
        names.index("dmz"),
        names.index("internal"),
        names.index("default"),
    ]
    assert zones[3] == 3  # a spare forms a zone of its own


def test_reserve_exhausted_share_hand_worked() -> None:
    # Hosts 0 and 1 down over [10, 20] and [15, 30] of a 100 h window; host 2 never.
    # k = 1: host 0 lacks reserve while host 1 is down (15 h), host 1 while host 0 is
    # (10 h), host 2 while either is ([10, 30]: 20 h).  k = 2: only host 2 ever sees two
    # others down at once ([15, 20]: 5 h).
    start, end, host = np.array([10.0, 15.0]), np.array([20.0, 30.0]), np.array([0, 1])
    three = _inputs(host_of_vm=np.arange(3), service_of_vm=np.arange(3), mtbf_h=np.ones(3))
    got = av.reserve_exhausted_frac(three, start, end, host, 0.0, 100.0)
    np.testing.assert_allclose(got, [0.15, 0.10, 0.20])
    two = replace(three, reserve_hosts=2)
    np.testing.assert_allclose(
        av.reserve_exhausted_frac(two, start, end, host, 0.0, 100.0), [0.0, 0.0, 0.05]
    )
    # Per zone: host 1 alone in its zone never lacks reserve; host 2 only sees host 0.
    zoned = replace(three, zone_of_host=np.array([0, 1, 0]))
    np.testing.assert_allclose(
        av.reserve_exhausted_frac(zoned, start, end, host, 0.0, 100.0), [0.0, 0.0, 0.10]
    )
    # k = 0: every failure is blocked.
    none = replace(three, reserve_hosts=0)
    np.testing.assert_allclose(av.reserve_exhausted_frac(none, start, end, host, 0.0, 100.0), 1.0)


def _rare_blocking() -> av.AvailabilityInputs:
    # 12 hosts of Dean 2008 (MTBF 15,768 h, MTTR 6 h), N+1, three VMs each with Windows
    # and Linux restart times; nothing else fails: a failure is blocked with b ≈ 0.4 %, so a
    # 50-year run draws about 0.1 blocked failures per host.
    n = 12
    return _inputs(
        host_of_vm=np.repeat(np.arange(n), 3),
        service_of_vm=np.arange(3 * n),
        mtbf_h=np.full(n, 15_768.0),
        mttr_h=np.full(n, 6.0),
        restart_h=0.1233,
        vm_restart_h=np.tile([0.1233, 0.0164, 0.1233], n),
        appliance="none",
        n_paths=0,
        maintenance_windows_per_year=0,
    )


def test_conditional_monte_carlo_samples_rare_blocking_properly() -> None:
    inp = _rare_blocking()
    cf = av.closed_form(inp).vm_unavailability_frac
    plain = av.monte_carlo(inp, n_runs=64, years_per_run=50, seed=1, conditional=False)
    cond = av.monte_carlo(inp, n_runs=64, years_per_run=50, seed=1)
    # The plain estimate of a VM rests on a handful of blocked instants; weighing each
    # failure by the measured time without reserve cuts the standard error several-fold
    # (a plain VM whose host drew no blocked failure even shows a deceptively small one).
    assert cond.vm_stderr.mean() < 0.4 * plain.vm_stderr.mean()
    assert np.all(np.abs(cond.vm_unavailability_frac - cf) <= 4 * cond.vm_stderr)
    pooled_z = (cond.vm_unavailability_frac.mean() - cf.mean()) / cond.vm_mean_stderr
    assert abs(pooled_z) <= 3.0
    # One-VM services follow their VM.
    np.testing.assert_allclose(cond.service_unavailability_frac, cond.vm_unavailability_frac)
