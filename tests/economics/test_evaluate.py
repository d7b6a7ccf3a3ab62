"""The economics of a placement end to end: real emulation, bundled catalog and settings."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import numpy as np
import pytest
from helpers import make_workload

from capplan.economics import cost
from capplan.economics.evaluate import economics_report
from capplan.economics.replay import emulation_replay
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog
from capplan.spec.economics import EconomicsSettings, bundled_economics_path, parse_economics
from capplan.units import HOURS_PER_YEAR, MIB_PER_GIB

HOST = "hpe-dl380-gen11"
N_STEPS = 24


def settings_with(**overrides: Any) -> EconomicsSettings:
    """Bundled settings with ``section.key`` overrides (plain values)."""
    doc = tomllib.loads(bundled_economics_path().read_text())
    doc["availability"]["mc_runs"] = {"value": 8, "source": "mc-setting"}
    doc["availability"]["mc_years"] = {"value": 20, "source": "mc-setting"}
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        doc[section][key] = value
    return parse_economics(doc, label="test.toml")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


def _workload():  # type: ignore[no-untyped-def]
    # Four VMs of 22,400 MHz each (10 % of a DL380 Gen11's 224,000 MHz) for 2 hours.
    demand = np.full((4, N_STEPS), 22_400.0)
    return make_workload(
        {"cpu_demand_mhz": demand, "mem_active_mib": np.full((4, N_STEPS), 1024.0)},
        inventory={
            "os_family": ["windows", "linux", "linux", None],
            "ha_group": ["web", "web", None, None],
            "current_host": ["old-a", "old-a", None, None],
            "disk_used_gib": [100.0, 50.0, None, 30.0],
            "n_vcpus": [2, 2, 2, 2],
            "mem_provisioned_mib": [4096.0, 4096.0, 4096.0, 4096.0],
        },
    )


def _placement(workload):  # type: ignore[no-untyped-def]
    # VMs 0 and 2 on host A, 1 and 3 on host B: the "web" service spans both hosts.
    return Placement.from_assignment(workload.vm_ids, [0, 1, 0, 1], [HOST, HOST])


def test_report_has_required_keys_and_hand_worked_energy(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    settings = settings_with()
    report = economics_report(
        wl, _placement(wl), catalog, settings, "hw-assisted", emulation_replay(catalog)
    )
    for key in (
        "energy_kwh_per_year",
        "power_w_mean",
        "tco_usd",
        "tco_breakdown",
        "availability_frac_min",
        "downtime_min_per_year_max",
    ):
        assert report[key] is not None, key
    host = catalog.host(HOST)
    m = float(catalog.mode("hw-assisted").cpu_multiplier(0.07))
    util = 2 * 22_400.0 * m / host.cpu_capacity_mhz
    # Two busy hosts on the DL380 Gen11 curve (interpolated) + one idle spare, and the
    # switch ports: 3 hosts × 2 NICs + one ToR's uplinks, at 5 W each (Arista 7124SX).
    curve = host.power_w
    i = int(util * 10)
    busy_w = curve[i] + (curve[i + 1] - curve[i]) * (util * 10 - i)
    switch_w = (3 * host.nic_count + catalog.fabric.tor_uplinks) * 5.0
    host_w = 2 * busy_w + curve[0] + switch_w
    assert report["n_hosts"] == 3 and report["n_spare_hosts"] == 1
    # SAN: 100 + 50 + 30 GiB used on the default tier (one VM has no disk size), at its W/TiB.
    tier = catalog.tier(catalog.san.default_tier)
    storage_w = 180.0 / 1024.0 * tier.watts_per_tib
    assert report["baseline"]["storage_power_w"] == pytest.approx(storage_w, abs=1e-3)
    assert report["power_w_mean"] == pytest.approx(host_w + storage_w, rel=1e-5)
    assert report["energy_kwh_per_year"] == pytest.approx(
        (host_w + storage_w) * HOURS_PER_YEAR / 1000, rel=1e-5
    )
    assert report["facility_energy_kwh_per_year"] == pytest.approx(
        report["energy_kwh_per_year"] * 1.58, rel=1e-6
    )
    # Server hardware: no published price → Azure regression ($14,344), raised to the two
    # Xeon 8480+ at $10,710 each; three hosts over 5/4 of a life.
    regression = float(cost.azure_server_price_usd(host.n_cores, host.ram_mib / MIB_PER_GIB))
    assert regression == pytest.approx(14_344, abs=1)
    price = 2 * 10_710.0
    assert report["tco_breakdown"]["server_hardware"] == pytest.approx(3 * price * 5 / 4, rel=1e-6)
    # Hypervisor: vSphere Foundation per core, 3 hosts × 112 cores × $135 × 5 years.
    assert report["tco_breakdown"]["hypervisor_licences"] == pytest.approx(3 * 112 * 135 * 5)
    # Windows on one host: Standard for 1 VM on 112 cores = 7 × 1,069, amortized 5/5.
    assert report["tco_breakdown"]["guest_os_licences"] == pytest.approx(7 * 1069)
    # Migration at the loaded rate: BLS wage × ECEC overhead (42.51 × 1.419).
    assert report["tco_breakdown"]["migration"] == pytest.approx(4 * 20 * 42.51 * 1.419)
    # SAN capacity at the tier's price per GiB, depreciated over 5/4 of its life.
    storage_usd = 180.0 * tier.price_usd_per_gib
    assert report["tco_breakdown"]["storage_hardware"] == pytest.approx(storage_usd * 5 / 4)
    assert report["tco_missing"] == []
    # Categories are rounded to 3 decimals each in the report, the total once.
    assert report["tco_usd"] == pytest.approx(
        sum(v for v in report["tco_breakdown"].values() if v is not None), abs=0.01
    )
    # An unpriced SAN tier is reported missing, not counted as zero (W/TiB said in the notes).
    unpriced = dataclasses.replace(
        catalog,
        san_tiers={
            **catalog.san_tiers,
            tier.name: dataclasses.replace(
                tier, price_usd_per_gib=float("nan"), watts_per_tib=float("nan")
            ),
        },
    )
    bare = economics_report(
        wl, _placement(wl), unpriced, settings, "hw-assisted", emulation_replay(unpriced)
    )
    assert "storage_hardware" in bare["tco_missing"]
    assert any("W/TiB" in note for note in bare["notes"])
    assert bare["power_w_mean"] == pytest.approx(host_w, rel=1e-5)


def test_baseline_says_which_rule_it_used(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    report = economics_report(
        wl, _placement(wl), catalog, settings_with(), "hw-assisted", emulation_replay(catalog)
    )
    rule = report["comparison"]["baseline_rule"]
    assert "2 VM(s) on their 1 current host(s)" in rule
    assert "ASSUMED for 2 VM(s) without a current host: 1 VM(s) per server" in rule
    base = report["baseline"]
    assert base["n_hosts"] == 3  # old-a plus two own servers
    assert report["comparison"]["hosts_before"] == 3
    assert set(report["comparison"]["tco_breakdown_delta"]) == set(cost.CATEGORIES)
    # Today's servers are bare metal or unreserved: no HA restart, so no better than the plan.
    assert base["availability_frac_min"] <= report["availability_frac_min"]


def test_monte_carlo_agrees_and_is_reported(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    report = economics_report(
        wl,
        _placement(wl),
        catalog,
        settings_with(**{"availability.host_mtbf_h": 400.0, "availability.host_mttr_h": 40.0}),
        "hw-assisted",
        emulation_replay(catalog),
        mc_runs=30,
        detail=True,
    )
    mc = report["availability"]["monte_carlo"]
    assert mc["runs"] == 30
    assert mc["vm_max_abs_z"] < 4.0
    assert abs(mc["vm_mean_z"]) < 4.0
    assert mc["vm_checked"] == 4 and mc["vm_never_down_in_simulation"] == 0
    rows = report["availability"]["per_vm"]
    assert len(rows) == 4 and {r["id"] for r in rows} == set(wl.vm_ids.tolist())
    services = {r["id"]: r for r in report["availability"]["per_service"]}
    assert set(services) == {"web", "vm002", "vm003"}
    # The two-host service is more available than any single VM.
    assert services["web"]["availability_frac"] > report["availability_frac_min"]


def test_higher_pue_and_prices_never_lower_the_tco(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    replay = emulation_replay(catalog)

    def tco(**kw: Any) -> float:
        report = economics_report(
            wl, _placement(wl), catalog, settings_with(**kw), "hw-assisted", replay, mc_runs=2
        )
        return float(report["tco_usd"])

    base = tco()
    assert tco(**{"energy.pue_ratio": 2.0}) > base
    assert tco(**{"energy.electricity_usd_per_kwh": 0.3}) > base
    assert tco(**{"labor.wage_usd_per_hour": 80.0}) > base
    assert tco(**{"labor.overhead_ratio": 2.0}) > base
    assert tco(**{"finance.rack_usd_per_u_year": 500.0}) > base


def test_more_reserve_never_lowers_availability(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    replay = emulation_replay(catalog)
    previous = None
    for k in (0, 1, 2):
        report = economics_report(
            wl,
            _placement(wl),
            catalog,
            settings_with(**{"availability.reserve_hosts": k}),
            "hw-assisted",
            replay,
            mc_runs=2,
        )
        assert report["n_spare_hosts"] == k
        if previous is not None:
            assert report["availability_frac_min"] >= previous["availability_frac_min"]
            assert report["tco_usd"] > previous["tco_usd"]  # spare hosts cost money
        previous = report


def test_empty_hosts_switch_off_and_live_migration_matters(catalog) -> None:  # type: ignore[no-untyped-def]
    wl = _workload()
    replay = emulation_replay(catalog)
    # A third host in the placement holds no VM: off when empty, idling when always on.
    placement = Placement.from_assignment(wl.vm_ids, [0, 1, 0, 1], [HOST, HOST, HOST])
    off = economics_report(
        wl, placement, catalog, settings_with(), "hw-assisted", replay, mc_runs=2
    )
    on = economics_report(
        wl,
        placement,
        catalog,
        settings_with(**{"energy.host_power_policy": "always-on"}),
        "hw-assisted",
        replay,
        mc_runs=2,
    )
    assert on["power_w_mean"] - off["power_w_mean"] == pytest.approx(201.0, rel=1e-6)
    # Containers cannot live-migrate: maintenance windows become downtime.
    containers = economics_report(
        wl, _placement(wl), catalog, settings_with(), "containers", replay, mc_runs=2
    )
    vm = economics_report(
        wl, _placement(wl), catalog, settings_with(), "hw-assisted", replay, mc_runs=2
    )
    # Guest OS patches (12 × 1 h) on both; host windows (12 × 1 h) only without live migration.
    guest = 12 / 8760
    assert containers["availability"]["maintenance_unavailability_frac"] == pytest.approx(
        1 - (1 - guest) ** 2
    )
    assert vm["availability"]["maintenance_unavailability_frac"] == pytest.approx(guest)
    assert containers["availability_frac_min"] < vm["availability_frac_min"]
    # Windows and Linux containers share one host kernel: the emulation's finding is reported.
    assert any(note.startswith("emulation:") for note in containers["notes"])
    # Containers carry no hypervisor licence.
    assert containers["tco_breakdown"]["hypervisor_licences"] == 0.0
