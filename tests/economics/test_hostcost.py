"""The optimizer's cost and the economics report price hosts the same way."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from helpers import make_workload

from capplan.economics.evaluate import economics_report
from capplan.economics.hostcost import host_fixed_usd, vm_variable_usd
from capplan.economics.replay import emulation_replay
from capplan.optimize.consolidate import ConsolidateOptions, HostOffer, consolidate
from capplan.spec.catalog import load_catalog
from capplan.spec.economics import EconomicsSettings, bundled_economics_path, parse_economics

HOST = "hpe-dl380-gen11"


def settings_with(**overrides: object) -> EconomicsSettings:
    """Bundled settings with ``section.key`` overrides."""
    doc = tomllib.loads(bundled_economics_path().read_text())
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        doc[section][key] = value
    return parse_economics(doc, label="test.toml")


SMALL = "inspur-nf5180m6-gold6336y"


def _workload(n_vms: int = 12, steps: int = 48):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    cpu = rng.uniform(2_000.0, 12_000.0, size=(n_vms, steps))
    return make_workload(
        {"cpu_demand_mhz": cpu, "mem_active_mib": np.full((n_vms, steps), 8_192.0)},
        inventory={
            "os_family": ["windows" if i % 3 == 0 else "linux" for i in range(n_vms)],
            "mem_provisioned_mib": [16_384.0] * n_vms,
            "n_vcpus": [4] * n_vms,
        },
    )


def test_host_costs_match_the_report_category_by_category() -> None:
    catalog = load_catalog()
    settings = settings_with(
        **{"energy.power_model": {"value": "linear", "source": "specpower-curve"}}
    )
    wl = _workload()
    opts = ConsolidateOptions(
        hosts=(HostOffer(HOST), HostOffer(SMALL)),
        ha_hosts=1,
        time_limit_s=5,
        economics=settings,
    )
    res = consolidate(wl, catalog, opts)
    assert res.placement is not None and res.report.objective is not None
    report = economics_report(
        wl,
        res.placement,
        catalog,
        settings,
        "hw-assisted",
        emulation_replay(catalog),
        plan_reserve_hosts=1,
    )
    mode = catalog.mode("hw-assisted")
    hosts = [catalog.host(str(m)) for m in res.placement.host_models.tolist()]
    fixed = [host_fixed_usd(h, mode, settings) for h in hosts]
    tco = report["tco_breakdown"]
    h = settings.finance.horizon_years
    # Purchase, rack space and hypervisor licences: the same money, to the cent.
    for key in ("server_hardware", "rack_space", "hypervisor_licences"):
        assert sum(f[key] for f in fixed) == pytest.approx(tco[key], rel=1e-9), key
    # Administration: the hosts' share (the guests' share is the same for every plan).
    per_server = settings.labor.hours_per_server_year * settings.labor.admin_usd_per_hour * h
    assert sum(f["administration"] for f in fixed) == pytest.approx(len(hosts) * per_server)
    # Energy of the hosts: idle power plus each VM's mean demand on the linear curve, as the
    # optimizer charges it, against the report's emulated host power (linear model).
    demand = wl.demand("cpu_demand_mhz").mean(axis=1) * float(mode.cpu_multiplier(0.07))
    slope = np.array([(m.power_w[-1] - m.power_w[0]) / m.cpu_capacity_mhz for m in hosts])
    expected_w = sum(m.power_w[0] for m in hosts) + float(
        (demand * slope[res.placement.host_of_vm]).sum()
    )
    assert report["host_power_w_mean"] == pytest.approx(expected_w, rel=0.01)
    # The reserve is in the plan: no spare host was added.
    assert report["n_hosts"] == len(hosts)


def test_vm_energy_is_linear_in_mean_demand_and_licences_follow_the_cheaper_edition() -> None:
    catalog = load_catalog()
    settings = settings_with()
    host = catalog.host(HOST)
    one = vm_variable_usd([host], settings, [[1000.0]], [[0.0]], ["linux"])
    two = vm_variable_usd([host], settings, [[2000.0]], [[0.0]], ["linux"])
    assert two[0, 0] == pytest.approx(2 * one[0, 0]) and one[0, 0] > 0
    # Hand check: slope (P_max − P_idle) / capacity × horizon hours × price × PUE.
    e, f = settings.energy, settings.finance
    watts = (host.power_w[-1] - host.power_w[0]) / host.cpu_capacity_mhz * 1000.0
    usd = watts * f.horizon_years * 8760 / 1000 * e.electricity_usd_per_kwh * e.pue_ratio
    assert one[0, 0] == pytest.approx(usd)
    # A Windows guest pays its licence share on top; a tiny one pays the Datacenter share.
    win_small = vm_variable_usd([host], settings, [[0.0]], [[0.001]], ["windows"])[0, 0]
    win_big = vm_variable_usd([host], settings, [[0.0]], [[0.9]], ["windows"])[0, 0]
    assert 0 < win_small < win_big
