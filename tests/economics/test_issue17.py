"""Issue 17, figures worked by hand: labour model, NPV, guest patches, restart by OS family,
correlated failure domains (a 2-rack, 4-host example), the stated baseline and the
sensitivity table."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import numpy as np
import pytest
from helpers import make_workload

from capplan.economics import availability as av
from capplan.economics import cost
from capplan.economics.evaluate import economics_report
from capplan.economics.replay import emulation_replay
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog
from capplan.spec.economics import EconomicsSettings, bundled_economics_path, parse_economics

HOST = "hpe-dl380-gen11"
N_STEPS = 24
RATE = 42.51 * 1.419  # loaded rate: BLS wage × ECEC overhead = 60.32169 USD/h


def settings_with(**overrides: Any) -> EconomicsSettings:
    doc = tomllib.loads(bundled_economics_path().read_text())
    doc["availability"]["mc_runs"] = {"value": 4, "source": "mc-setting"}
    doc["availability"]["mc_years"] = {"value": 5, "source": "mc-setting"}
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        doc[section][key] = value
    return parse_economics(doc, label="test.toml")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def _workload(current: list[str | None] | None = None):  # type: ignore[no-untyped-def]
    demand = np.full((4, N_STEPS), 22_400.0)
    return make_workload(
        {"cpu_demand_mhz": demand, "mem_active_mib": np.full((4, N_STEPS), 1024.0)},
        inventory={
            "os_family": ["windows", "linux", "linux", "windows"],
            "current_host": current or [None, None, None, None],
            "disk_used_gib": [10.0, 10.0, 10.0, 10.0],
            "n_vcpus": [2, 2, 2, 2],
            "mem_provisioned_mib": [4096.0] * 4,
        },
    )


def _report(catalog, settings, **kw):  # type: ignore[no-untyped-def]
    wl = kw.pop("workload", None) or _workload()
    placement = Placement.from_assignment(wl.vm_ids, [0, 1, 0, 1], [HOST, HOST])
    return economics_report(
        wl, placement, catalog, settings, "hw-assisted", emulation_replay(catalog), **kw
    )


# ---------------------------------------------------------------------------------- labour
def test_labour_per_vm_is_the_same_on_both_sides(catalog) -> None:  # type: ignore[no-untyped-def]
    report = _report(catalog, settings_with(), plan_reserve_hosts=1, mc_runs=2)
    # Azure Migrate's shape: 4 workloads / 80 per admin × 2,080 h × 60.32 USD/h × 5 years.
    per_side = 4 * 2080 / 80 * RATE * 5
    assert per_side == pytest.approx(31_367.28, abs=0.01)
    assert report["tco_breakdown"]["administration"] == pytest.approx(per_side)
    assert report["baseline"]["tco_breakdown"]["administration"] == pytest.approx(per_side)
    assert report["comparison"]["tco_breakdown_delta"]["administration"] == pytest.approx(0.0)
    # Migration: 4 VMs × 20 h at the loaded rate = 4,825.74 USD.
    assert report["tco_breakdown"]["migration"] == pytest.approx(4 * 20 * RATE)


def test_labour_per_host_and_user_figures(catalog) -> None:  # type: ignore[no-untyped-def]
    per_host = _report(
        catalog, settings_with(**{"labor.model": "per-host"}), plan_reserve_hosts=1, mc_runs=2
    )
    # Plan: 2 hosts (its N+1 reserve inside); today: 4 servers (one per VM, assumed).
    hours = 2080 / 30
    assert per_host["tco_breakdown"]["administration"] == pytest.approx(2 * hours * RATE * 5)
    assert per_host["baseline"]["tco_breakdown"]["administration"] == pytest.approx(
        4 * hours * RATE * 5
    )
    user = _report(
        catalog,
        settings_with(
            **{
                "labor.model": "user",
                "labor.user_hours_per_vm_year": 10.0,
                "labor.user_hours_per_host_year": 40.0,
            }
        ),
        plan_reserve_hosts=1,
        mc_runs=2,
    )
    # (4 × 10 h + 2 × 40 h) × 60.32 × 5 = 36,193.01 USD; today (4 × 10 + 4 × 40) × ... .
    assert user["tco_breakdown"]["administration"] == pytest.approx((40 + 80) * RATE * 5)
    assert user["baseline"]["tco_breakdown"]["administration"] == pytest.approx(
        (40 + 160) * RATE * 5
    )


# ------------------------------------------------------------------------------------- NPV
def test_npv_hand_worked() -> None:
    breakdown = {"server_hardware": 1000.0, "migration": 100.0, "storage_hardware": math.nan}
    # Azure Migrate: Years 0-4 at 7 %: 1 + 1/1.07 + 1/1.07² + 1/1.07³ + 1/1.07⁴ = 4.387211.
    assert cost.npv_usd(breakdown, 5, 0.07) == pytest.approx(100 + 200 * 4.387211, abs=1e-3)
    assert cost.npv_usd(breakdown, 5, 0.0) == pytest.approx(1100.0)
    # 2.5 years at 10 %: weights 1, 1, 0.5 → 1 + 0.909091 + 0.413223 = 2.322314.
    assert cost.npv_usd({"energy_it": 1000.0}, 2.5, 0.10) == pytest.approx(400 * 2.322314, abs=1e-3)
    # Demand growing 20 % a year, undiscounted: 100 + 1000/5 × (1 + 1.2 + 1.44 + 1.728 + 2.0736).
    assert cost.npv_usd(breakdown, 5, 0.0, 0.2) == pytest.approx(100 + 200 * 7.4416, abs=1e-6)


def test_report_carries_npv_assumptions_and_sensitivity(catalog) -> None:  # type: ignore[no-untyped-def]
    report = _report(catalog, settings_with(), plan_reserve_hosts=1, mc_runs=2)
    comp = report["comparison"]
    assert comp["npv_usd_plan"] == pytest.approx(
        cost.npv_usd(report["tco_breakdown"], 5, 0.07), abs=0.01
    )
    assert comp["npv_savings_usd"] == pytest.approx(
        comp["npv_usd_today"] - comp["npv_usd_plan"], abs=0.01
    )
    a = comp["assumptions"]
    assert a["baseline_assumed"] and "ASSUMED" in a["baseline"]
    assert "per-vm" in a["labor"] and "both sides" in a["labor"]
    sens = comp["sensitivity"]
    keys = {r["key"] for r in sens["rows"]}
    assert keys == {
        "labor_model",
        "labor_rate",
        "server_prices",
        "energy_price",
        "pue",
        "licences",
        "horizon",
        "discount_rate",
        "growth",
    }
    rows = {r["key"]: r for r in sens["rows"]}
    # Labour per host instead of per VM: today 4 servers, plan 2 → saving grows by
    # 2 × 2,080/30 h × 60.32 USD/h × 5 years = 41,823.04 USD (TCO).
    delta = rows["labor_model"]["tco_savings_usd_high"] - rows["labor_model"]["tco_savings_usd_low"]
    assert delta == pytest.approx(2 * 2080 / 30 * RATE * 5, abs=0.01)
    # A zero discount rate makes the NPV saving the TCO saving.
    assert rows["discount_rate"]["npv_savings_usd_low"] == pytest.approx(
        comp["tco_savings_usd"], abs=0.01
    )
    # No growth is the base case; with growth both estates' recurring costs scale by the
    # same yearly factors, so the recurring part of the saving scales by their mean.
    assert rows["growth"]["tco_savings_usd_low"] == pytest.approx(comp["tco_savings_usd"], abs=0.01)
    one_off = comp["tco_breakdown_delta"]["migration"]
    grown = (comp["tco_savings_usd"] - one_off) * 7.4416 / 5 + one_off
    assert rows["growth"]["tco_savings_usd_high"] == pytest.approx(grown, rel=1e-6)
    # The flip list names exactly the rows whose ends straddle zero against the base.
    base_positive = sens["npv_savings_usd"] > 0
    for row in sens["rows"]:
        ends = (row["npv_savings_usd_low"] > 0, row["npv_savings_usd_high"] > 0)
        assert row["flips"] == (ends != (base_positive, base_positive))
        assert (row["label"] in sens["flips"]) == row["flips"]


# ------------------------------------------------------------------------ baseline assumed
def test_baseline_assumption_vms_per_server(catalog) -> None:  # type: ignore[no-untyped-def]
    report = _report(
        catalog, settings_with(**{"baseline.vms_per_server": 2}), plan_reserve_hosts=1, mc_runs=2
    )
    base = report["baseline"]
    assert base["n_hosts"] == 2  # 4 VMs, 2 per server
    rule = report["comparison"]["baseline_rule"]
    assert "ASSUMED for 4 VM(s) without a current host: 2 VM(s) per server" in rule
    # Shared servers run the hypervisor: 2 servers × 2 sockets × 56 cores × 135 USD × 5 y.
    assert base["tco_breakdown"]["hypervisor_licences"] == pytest.approx(2 * 2 * 16 * 135 * 5)
    # From the inventory: no assumption is stated.
    known = _report(
        catalog,
        settings_with(),
        workload=_workload(["a", "a", "b", "c"]),
        plan_reserve_hosts=1,
        mc_runs=2,
    )
    assert not known["comparison"]["assumptions"]["baseline_assumed"]
    assert known["baseline"]["n_hosts"] == 3


# ---------------------------------------------------------------------------- availability
def _inputs(**kw: Any) -> av.AvailabilityInputs:
    base: dict[str, Any] = {
        "host_of_vm": np.array([0, 1, 0, 2], dtype=np.int64),
        "mtbf_h": np.full(4, 999.0),
        "mttr_h": np.full(4, 1.0),
        "service_of_vm": np.array([0, 0, 1, 1], dtype=np.int64),
        "ha": False,
        "restart_h": 0.1,
        "reserve_hosts": 0,
        "live_migration": True,
        "maintenance_windows_per_year": 0.0,
        "maintenance_window_h": 0.0,
        "appliance": "none",
        "appliance_mirrored": False,
        "appliance_mtbf_h": math.inf,
        "appliance_mttr_h": 1.0,
        "n_paths": 0,
        "path_mtbf_h": math.inf,
        "path_mttr_h": 1.0,
        # Two racks: hosts 0 and 1 in rack A, hosts 2 and 3 in rack B.
        "domains": (av.Domain("rack", np.array([0, 0, 1, 1]), 1998.0, 2.0),),
    }
    base.update(kw)
    return av.AvailabilityInputs(**base)


def test_two_racks_four_hosts_by_hand_without_ha() -> None:
    res = av.closed_form(_inputs())
    # Host: q = 1/(999+1) = 0.001; rack: q = 2/(1998+2) = 0.001.
    vm = 1 - 0.999 * 0.999  # 0.001999
    assert res.vm_unavailability_frac == pytest.approx([vm] * 4)
    # Service 0 on hosts 0 and 1, the same rack: rack down, or both hosts down.
    same_rack = 0.001 + 0.999 * 0.001 * 0.001  # 0.001000999
    # Service 1 on hosts 0 and 2, one per rack: each side down, independently.
    two_racks = (0.001 + 0.999 * 0.001) ** 2  # 3.996001e-6
    assert res.service_unavailability_frac == pytest.approx([same_rack, two_racks], rel=1e-9)
    # Anti-affinity across racks is worth a factor of 250.
    assert same_rack / two_racks == pytest.approx(250.5, rel=1e-3)


def test_two_racks_four_hosts_by_hand_with_ha_reserve_two() -> None:
    res = av.closed_form(_inputs(ha=True, reserve_hosts=2))
    q = 0.001
    # Host failure blocked when ≥ 2 of the 3 other hosts are down: 3q²(1−q) + q³.
    b_host = 3 * q**2 * (1 - q) + q**3  # 2.998e-6
    d_host = (1 - b_host) * 1.0 * (1 - math.exp(-0.1 / 1.0)) + b_host * 1.0  # 0.0951653
    # Rack failure (2 hosts) fits k = 2 only if no host outside it is down: b = 1 − (1−q)².
    b_rack = 1 - (1 - q) ** 2  # 0.001999
    d_rack = (1 - b_rack) * 2.0 * (1 - math.exp(-0.1 / 2.0)) + b_rack * 2.0  # 0.1013442
    u_host = 0.001 * d_host  # failures per hour × outage per failure
    u_rack = 0.0005 * d_rack
    assert u_host == pytest.approx(9.51653e-5, rel=1e-5)
    assert u_rack == pytest.approx(5.06721e-5, rel=1e-5)
    assert res.vm_unavailability_frac == pytest.approx([1 - (1 - u_host) * (1 - u_rack)] * 4)
    # With k = 1 a rack (2 hosts) never fits: every rack failure lasts its repair.
    k1 = av.closed_form(_inputs(ha=True, reserve_hosts=1))
    b1 = 1 - (1 - q) ** 3
    d1 = (1 - b1) * (1 - math.exp(-0.1)) + b1
    assert k1.vm_unavailability_frac[0] == pytest.approx(1 - (1 - 0.001 * d1) * (1 - 0.001))


def test_two_racks_monte_carlo_agrees_on_pooled_figures() -> None:
    # Frequent failures so a short simulation resolves them: host q = rack q = 0.01.
    inp = _inputs(
        mtbf_h=np.full(4, 99.0),
        domains=(av.Domain("rack", np.array([0, 0, 1, 1]), 198.0, 2.0),),
    )
    cf = av.closed_form(inp)
    assert cf.service_unavailability_frac == pytest.approx(
        [0.01 + 0.99 * 1e-4, (0.01 + 0.99 * 0.01) ** 2]
    )
    mc = av.monte_carlo(inp, n_runs=12, years_per_run=3, seed=5)
    z_vm = (mc.vm_unavailability_frac.mean() - cf.vm_unavailability_frac.mean()) / mc.vm_mean_stderr
    assert abs(z_vm) < 4
    z_s = (
        np.abs(mc.service_unavailability_frac - cf.service_unavailability_frac) / mc.service_stderr
    )
    assert np.all(z_s < 4)
    # With HA and k = 2 (racks restart elsewhere when they fit), pooled figures agree too.
    ha = _inputs(
        mtbf_h=np.full(4, 99.0),
        domains=(av.Domain("rack", np.array([0, 0, 1, 1]), 198.0, 2.0),),
        ha=True,
        reserve_hosts=2,
    )
    cf_ha = av.closed_form(ha)
    mc_ha = av.monte_carlo(ha, n_runs=12, years_per_run=3, seed=6)
    z = (mc_ha.vm_unavailability_frac.mean() - cf_ha.vm_unavailability_frac.mean()) / (
        mc_ha.vm_mean_stderr
    )
    assert abs(z) < 4


def test_restart_time_by_os_family_and_guest_patches() -> None:
    # Linux restarts in 15 + 44.2 s, Windows in 15 + 429 s (Mao & Humphrey 2012).
    r_lin, r_win = (15 + 44.2) / 3600, (15 + 429) / 3600
    inp = _inputs(
        ha=True,
        reserve_hosts=3,
        domains=(),
        vm_restart_h=np.array([r_win, r_lin, r_lin, r_win]),
        guest_patches_per_year=12,
        guest_patch_h=1.0,
    )
    res = av.closed_form(inp)
    b = 0.0  # k = 3 of 4 hosts: never blocked with 3 others
    guest = 12 / 8760
    for vm, r in ((0, r_win), (1, r_lin)):
        u_host = 0.001 * ((1 - b) * (1 - math.exp(-r)) + b)
        assert res.vm_unavailability_frac[vm] == pytest.approx(1 - (1 - u_host) * (1 - guest))
    # Guest patches stay with live migration; bare metal charges its windows once.
    assert res.maintenance_frac == pytest.approx(guest)
    bare = av.closed_form(
        _inputs(
            domains=(),
            guest_patches_per_year=12,
            guest_patch_h=1.0,
            live_migration=False,
            maintenance_windows_per_year=12,
            maintenance_window_h=1.0,
            bare_metal=True,
        )
    )
    assert bare.maintenance_frac == pytest.approx(guest)
    # A service of two VMs patches them one at a time: no planned downtime for it.
    assert res.service_unavailability_frac[0] < res.vm_unavailability_frac[0] ** 1.5


def test_report_charges_guest_patches_on_both_sides(catalog) -> None:  # type: ignore[no-untyped-def]
    report = _report(catalog, settings_with(), plan_reserve_hosts=1, mc_runs=2)
    # Today (bare metal) and the plan both carry 12 × 1 h of guest patch reboots.
    patch_min = 12 * 60.0
    assert report["baseline"]["downtime_min_per_year_max"] > patch_min
    assert report["downtime_min_per_year_max"] > patch_min
    ci = report["availability"]["vm_mean_ci95"]
    assert ci["downtime_min_per_year_low"] <= ci["downtime_min_per_year_high"]
    names = [d["name"] for d in report["availability"]["domains"]]
    assert names == ["rack", "pdu", "array", "site"]


def test_the_site_is_charged_on_both_sides_by_hand(catalog) -> None:  # type: ignore[no-untyped-def]
    # Tier III: U = 0.00018 with Ponemon's 1.983 h repair -> MTBF 11,016 h. Every host of
    # either estate is in the one site, and no reserve restarts a whole site: each VM loses
    # f × MTTR = 1.983 / (11,016 + 1.983) of the year, today and in the plan alike.
    u_site = 1.983 / (11_016 + 1.983)
    assert u_site * 525_600 == pytest.approx(94.6, abs=0.05)  # min/year, ~1.6 h
    kw = {"plan_reserve_hosts": 1, "mc_runs": 2}
    with_site = _report(catalog, settings_with(), **kw)
    without = _report(catalog, settings_with(**{"availability.site_mtbf_h": math.inf}), **kw)
    for side in (lambda r: r, lambda r: r["baseline"]):
        a_with = 1 - side(with_site)["downtime_min_per_year_max"] / 525_600
        a_without = 1 - side(without)["downtime_min_per_year_max"] / 525_600
        assert a_with == pytest.approx(a_without * (1 - u_site), abs=1e-8)
