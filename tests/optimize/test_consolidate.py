"""Consolidation: sizing, rules from the inventory, results, the CLI, real PlanetLab data."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_workload
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import SpecError, WorkloadError
from capplan.optimize.consolidate import (
    ConsolidateOptions,
    HostOffer,
    consolidate,
    prepare,
)
from capplan.outcomes import PlanSummary
from capplan.placement import Placement
from capplan.spec.catalog import Catalog, load_catalog

SMALL = "ibm-x3550-m3-x5675"  # 36,804 MHz normalised, 16,384 MiB
BIG = "hpe-dl380-gen11"


def _plain(**kwargs: Any) -> ConsolidateOptions:
    """Options without the scenario's default headroom and N+1 reserve (hand-worked cases)."""
    kwargs.setdefault("headroom_frac", 0.0)
    kwargs.setdefault("ha_hosts", 0)
    return ConsolidateOptions(**kwargs)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _flat(n: int, steps: int, cpu: float, mem: float) -> dict[str, np.ndarray]:
    return {"cpu_demand_mhz": np.full((n, steps), cpu), "mem_active_mib": np.full((n, steps), mem)}


def test_sizing_applies_mode_overheads_and_overcommit(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(2, 24, 1000.0, 2048.0),
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [4096.0, 4096.0]},
    )
    mode = catalog.mode("hw-assisted")
    opts = _plain(
        hosts=(HostOffer(SMALL),),
        mode="hw-assisted",
        buckets=4,
        mem_overcommit_ratio=2.0,
        cpu_overcommit_ratio=1.0,
    )
    inst = prepare(wl, catalog, opts).instance
    assert inst.dim_names == ("cpu", "mem") and inst.n_buckets == 4
    cpu = inst.demand[0, 0, 0]
    mem = inst.demand[0, 1, 0]
    assert cpu == math.ceil(1000.0 / (1.0 - mode.cpu_overhead_frac) - 1e-9)
    overhead = float(mode.mem_overhead_mib(2, 4096.0))
    assert mem == math.ceil(2048.0 / 2.0 + overhead - 1e-9)
    assert inst.capacity[0].tolist() == [
        math.floor(catalog.host(SMALL).cpu_capacity_mhz),
        math.floor(catalog.host(SMALL).ram_mib),
    ]


@pytest.mark.parametrize(
    ("basis", "sized_mib"),
    [("auto", 2048.0), ("consumed", 2048.0), ("configured", 6144.0)],
)
def test_memory_basis_is_divided_by_the_ratio_once(
    catalog: Catalog, basis: str, sized_mib: float
) -> None:
    # Hand-worked: 2,048 MiB used of 6,144 MiB configured, ratio 2 → 1,024 or 3,072 MiB,
    # plus the mode's per-VM overhead (which is never over-committed).
    wl = make_workload(
        _flat(2, 24, 1000.0, 2048.0),
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [6144.0, 6144.0]},
    )
    mode = catalog.mode("hw-assisted")
    opts = _plain(
        hosts=(HostOffer(SMALL),),
        mode="hw-assisted",
        buckets=4,
        mem_overcommit_ratio=2.0,
        mem_basis=basis,
    )
    prep = prepare(wl, catalog, opts)
    overhead = float(mode.mem_overhead_mib(2, 6144.0))
    assert (prep.instance.demand[:, 1, :] == math.ceil(sized_mib / 2.0 + overhead - 1e-9)).all()
    said = any("configured memory" in n for n in prep.notes)
    assert said == (basis == "configured")


@pytest.mark.parametrize(("basis", "used_mib"), [("consumed", 2048.0), ("configured", 6144.0)])
def test_containers_size_memory_without_the_guest_kernel(
    catalog: Catalog, basis: str, used_mib: float
) -> None:
    # Hand-worked: a 6,144 MiB guest's kernel keeps 78 + 6,144 / 64 = 174 MiB resident, which
    # a container on the host's kernel does not need; the ratio 2 applies after it.
    wl = make_workload(
        _flat(2, 24, 1000.0, 2048.0),
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [6144.0, 6144.0]},
    )
    opts = _plain(
        hosts=(HostOffer(SMALL),),
        mode="containers",
        buckets=4,
        mem_overcommit_ratio=2.0,
        mem_basis=basis,
    )
    prep = prepare(wl, catalog, opts)
    assert (prep.instance.demand[:, 1, :] == math.ceil((used_mib - 174.0) / 2.0 - 1e-9)).all()
    assert any("own kernel memory" in n and "up to 0.3 GiB" in n for n in prep.notes)
    vm = prepare(wl, catalog, replace(opts, mode="hw-assisted"))
    assert not any("own kernel memory" in n for n in vm.notes)


def test_containers_memory_never_goes_below_zero(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(1, 24, 1000.0, 50.0), inventory={"n_vcpus": [1], "mem_provisioned_mib": [512.0]}
    )
    opts = _plain(hosts=(HostOffer(SMALL),), mode="containers", buckets=2)
    assert (prepare(wl, catalog, opts).instance.demand[0, 1, :] == 0).all()


def test_memory_basis_auto_is_configured_without_memory_usage(catalog: Catalog) -> None:
    wl = make_workload(
        {"cpu_demand_mhz": np.full((1, 24), 500.0)},
        inventory={"n_vcpus": [1], "mem_provisioned_mib": [3000.0]},
    )
    opts = _plain(hosts=(HostOffer(SMALL),), mode="none", buckets=2, mem_overcommit_ratio=1.5)
    inst = prepare(wl, catalog, opts).instance
    assert (inst.demand[0, 1, :] == 2000).all()


def test_memory_basis_configured_needs_the_inventory_and_names_the_vm(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(2, 24, 1000.0, 2048.0),
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [4096.0, float("nan")]},
    )
    opts = _plain(hosts=(HostOffer(SMALL),), mode="none", mem_basis="configured")
    with pytest.raises(WorkloadError, match=r"mem_provisioned_mib.*1 VM\(s\)"):
        prepare(wl, catalog, opts)
    with pytest.raises(SpecError, match="mem_basis"):
        prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mem_basis="active"))


def test_a_horizon_plan_holds_for_grown_demand_and_says_when_it_runs_out(
    catalog: Catalog,
) -> None:
    wl = make_workload(
        _flat(6, 24, 9000.0, 2048.0),
        inventory={"n_vcpus": [2] * 6, "mem_provisioned_mib": [4096.0] * 6},
    )
    base = {"hosts": (HostOffer(SMALL),), "mode": "none", "buckets": 4, "objective": "hosts"}
    today = prepare(wl, catalog, _plain(**base))  # type: ignore[arg-type]
    grown = prepare(wl, catalog, _plain(horizon_days=730, growth=0.2, **base))  # type: ignore[arg-type]
    # 1.2² = 1.44 on CPU and memory after two years (ceil of the grown float demand).
    assert (grown.instance.demand[:, 0, :] == math.ceil(9000.0 * 1.44 - 1e-9)).all()
    assert (grown.instance.demand[:, 1, :] == math.ceil(2048.0 * 1.44 - 1e-9)).all()
    assert (today.instance.demand[:, 0, :] == 9000).all()
    assert grown.growth is not None and grown.demand_today is not None
    assert any("730-day horizon" in n for n in grown.notes)

    result = consolidate(wl, catalog, _plain(horizon_days=730, growth=0.2, **base))  # type: ignore[arg-type]
    # 6 × 12,960 MHz = 77,760 MHz on 36,804-MHz hosts: 3 hosts (today's 54,000 needs 2).
    assert result.summary.n_hosts == 3
    horizon = result.summary.horizon
    assert isinstance(horizon, dict)
    cpu = next(r for r in horizon["run_out"] if r["dim"] == "cpu")
    cap = 3 * math.floor(catalog.host(SMALL).cpu_capacity_mhz)
    assert cpu["capacity"] == cap and cpu["demand_today"] == 54_000
    # 54,000 · 1.2^(t/365) > cap on the first day past 365 · ln(cap / 54,000) / ln 1.2.
    assert cpu["expected_days"] == math.floor(365 * math.log(cap / 54_000) / math.log(1.2)) + 1
    assert cpu["expected_days"] > 730  # the plan holds for the horizon
    first = horizon["purchases"][0]
    assert first["day"] == cpu["expected_days"] and first["add_hosts_total"] == 1
    assert first["host_model"] == SMALL and first["binding"] == "cpu"


def test_new_vms_auto_fits_the_rate_to_creation_dates(catalog: Catalog) -> None:
    from datetime import UTC, datetime, timedelta

    # The trace starts 2024-01-01 and ends after 2 hours (24 five-minute steps); six VMs
    # created 1, 2, ..., 6 months earlier and two more than a year earlier: 6 in the last
    # 365 days, 6 / 11.99 a month.
    end = datetime(2024, 1, 1, 1, 55, tzinfo=UTC)
    created = [end - timedelta(days=d) for d in (30, 60, 90, 120, 150, 180, 400, 500)]
    wl = make_workload(
        _flat(8, 24, 1000.0, 1024.0),
        inventory={"n_vcpus": [2] * 8, "mem_provisioned_mib": [4096.0] * 8, "created": created},
    )
    opts = _plain(
        hosts=(HostOffer(SMALL),),
        mode="none",
        buckets=4,
        horizon_days=365,
        growth=0.0,
        new_vms_per_month="auto",
    )
    prep = prepare(wl, catalog, opts)
    assert prep.growth is not None
    assert prep.growth.new_vms_per_month == pytest.approx(6 / (365 / 30.4375))
    low, high = prep.growth.new_vms_range or (0.0, 0.0)
    assert low < prep.growth.new_vms_per_month < high
    assert any("6 created in the 365 days" in n for n in prep.notes)
    # Sized on the upper rate: each VM × (1 + high · 365 / (30.4375 · 8)).
    factor = 1 + high * 365 / (30.4375 * 8)
    assert prep.instance.demand[0, 0, 0] == math.ceil(1000.0 * factor - 1e-9)
    without = make_workload(_flat(2, 24, 1000.0, 1024.0))
    with pytest.raises(Exception, match="creation dates"):
        prepare(without, catalog, opts)


def test_horizon_options_are_checked(catalog: Catalog) -> None:
    wl = make_workload(_flat(1, 24, 100.0, 100.0))
    for bad in (
        {"horizon_days": -1.0},
        {"growth": "lots"},
        {"confidence": 0.3},
        {"new_vms_per_month": 2.0},  # arrivals need a horizon
        {"new_vms_per_month": "lots", "horizon_days": 10.0},
    ):
        with pytest.raises(SpecError, match=next(iter(bad))):
            prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),), **bad))  # type: ignore[arg-type]


def test_network_capacity_per_direction_follows_the_modes_ttcp_factors(
    catalog: Catalog,
) -> None:
    wl = make_workload(
        {
            "cpu_demand_mhz": np.full((1, 24), 100.0),
            "mem_active_mib": np.full((1, 24), 100.0),
            "net_rx_mbps": np.full((1, 24), 10.0),
            "net_tx_mbps": np.full((1, 24), 10.0),
        }
    )
    inst = prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="full-bt")).instance
    nic = catalog.host(SMALL).nic_capacity_mbps
    caps = dict(zip(inst.dim_names, inst.capacity[0].tolist(), strict=True))
    assert caps["net_tx"] == math.floor(nic * 0.3244 + 1e-9)  # ttcp transmit 291 / 897
    assert caps["net_rx"] == math.floor(nic * 0.6856 + 1e-9)  # ttcp receive 615 / 897
    assert caps["net_rx"] > 2 * caps["net_tx"]


def test_source_hardware_scales_cpu_demand(catalog: Catalog) -> None:
    wl = make_workload(_flat(1, 24, 1000.0, 100.0))
    base = {"hosts": (HostOffer(SMALL),), "mode": "none"}
    plain = prepare(wl, catalog, _plain(**base)).instance  # type: ignore[arg-type]
    half = prepare(
        wl,
        catalog,
        _plain(source_perf_factor=0.5, **base),  # type: ignore[arg-type]
    ).instance
    g5 = prepare(
        wl,
        catalog,
        _plain(source_host="hp-proliant-ml110-g5", **base),  # type: ignore[arg-type]
    )
    assert plain.demand[0, 0, 0] == 1000 and half.demand[0, 0, 0] == 500
    factor = catalog.host("hp-proliant-ml110-g5").perf_factor
    assert g5.instance.demand[0, 0, 0] == math.ceil(1000 * factor - 1e-9)
    assert any("perf_factor" in n for n in g5.notes)


def test_headroom_and_vcpu_limit(catalog: Catalog) -> None:
    wl = make_workload(_flat(1, 24, 100.0, 100.0), inventory={"n_vcpus": [8]})
    opts = _plain(hosts=(HostOffer(SMALL),), headroom_frac=0.25, vcpu_per_core_ratio=2.0)
    inst = prepare(wl, catalog, opts).instance
    host = catalog.host(SMALL)
    assert inst.dim_names == ("cpu", "mem", "vcpus")
    assert inst.capacity[0].tolist() == [
        math.floor(host.cpu_capacity_mhz * 0.75),
        math.floor(host.ram_mib * 0.75),
        host.n_cores * 2,
    ]
    assert inst.demand[0, 2].tolist() == [8] * 24


def test_vms_without_data_are_sized_from_the_inventory(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(2, 24, 500.0, 1000.0),
        inventory={"cpu_capacity_mhz": [4000.0, 4000.0], "mem_provisioned_mib": [8192.0, 8192.0]},
    )
    observed = wl.observed.copy()
    observed[1] = False
    wl = type(wl)(**{**wl.__dict__, "observed": observed})
    prep = prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="none"))
    assert prep.sized_from_inventory == {"cpu": ["vm001"], "mem": ["vm001"]}
    assert prep.instance.demand[1, 0, 0] == 4000 and prep.instance.demand[1, 1, 0] == 8192
    res = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="none", time_limit_s=1))
    assert res.summary.sized_from_inventory == {"cpu": 1, "mem": 1}


def test_vm_that_cannot_be_sized_is_an_error(catalog: Catalog) -> None:
    wl = make_workload({"cpu_demand_mhz": np.ones((1, 4))})
    with pytest.raises(WorkloadError, match="mem_provisioned_mib"):
        prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),)))


def test_legacy_guests_need_full_virtualization(catalog: Catalog) -> None:
    wl = make_workload(_flat(2, 24, 100.0, 100.0), inventory={"os_family": ["legacy", "linux"]})
    res = consolidate(
        wl,
        catalog,
        _plain(hosts=(HostOffer(SMALL),), mode="hw-assisted", time_limit_s=1),
    )
    assert res.summary.status == "infeasible" and res.placement is None
    assert "legacy" in str(res.summary.reason)
    ok = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="full-bt", time_limit_s=1))
    assert ok.summary.status == "optimal"


def test_containers_separate_os_families_and_zones(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(4, 24, 100.0, 100.0),
        inventory={
            "os_family": ["linux", "windows", "linux", "windows"],
            "security_zone": ["a", "a", "a", "b"],
        },
    )
    res = consolidate(
        wl,
        catalog,
        _plain(hosts=(HostOffer(SMALL),), mode="containers", time_limit_s=1),
    )
    assert res.placement is not None
    host = res.placement.host_of_vm
    assert host[0] == host[2] and len({host[0], host[1], host[3]}) == 3
    assert res.summary.n_hosts == 3 and res.summary.status == "optimal"


def test_ha_groups_are_spread(catalog: Catalog) -> None:
    wl = make_workload(_flat(3, 24, 100.0, 100.0), inventory={"ha_group": ["db", "db", None]})
    res = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL),), time_limit_s=1))
    assert res.placement is not None
    assert res.placement.host_of_vm[0] != res.placement.host_of_vm[1]


def test_time_aware_beats_peak_on_complementary_vms(catalog: Catalog) -> None:
    # Two VMs each at 30,000 MHz for half the day, at opposite times; a host offers 36,804.
    steps = np.arange(48)
    day = (steps % 24) < 12
    cpu = np.stack([np.where(day, 30000.0, 1000.0), np.where(day, 1000.0, 30000.0)])
    wl = make_workload(
        {"cpu_demand_mhz": cpu, "mem_active_mib": np.full((2, 48), 1000.0)}, step_s=3600
    )
    aware = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="none", time_limit_s=1))
    peak = consolidate(
        wl,
        catalog,
        _plain(hosts=(HostOffer(SMALL),), mode="none", sizing="peak", time_limit_s=1),
    )
    assert aware.summary.n_hosts == 1 and peak.summary.n_hosts == 2
    assert aware.summary.binding == "cpu"


def test_cost_objective_prefers_the_cheaper_mix(catalog: Catalog) -> None:
    wl = make_workload(_flat(4, 24, 2000.0, 3000.0))
    res = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL), HostOffer(BIG)), time_limit_s=1))
    # Everything fits on one of either model; the small one is far cheaper.
    assert res.summary.hosts_by_model == {SMALL: 1}
    assert res.summary.cost_usd is not None and res.summary.status == "optimal"
    # full precision: the price as the catalog derives it, not rounded to cents
    from capplan.economics.hostcost import host_price_usd

    assert res.summary.cost_usd == host_price_usd(catalog.hosts[SMALL])[0]
    assert PlanSummary.from_dict(json.loads(json.dumps(res.summary.to_dict()))) == res.summary


def test_existing_hosts_migration_budget_and_pins(catalog: Catalog) -> None:
    wl = make_workload(
        _flat(4, 24, 1000.0, 1000.0), inventory={"current_host": ["esx1", "esx2", "esx3", "esx4"]}
    )
    opts = _plain(
        hosts=(HostOffer(SMALL, 0),),
        existing_hosts={f"esx{k}": SMALL for k in range(1, 5)},
        migration_budget=1,
        pinned_vms=("vm000",),
        time_limit_s=1,
    )
    res = consolidate(wl, catalog, opts)
    assert res.placement is not None
    ids = res.placement.host_ids[res.placement.host_of_vm].tolist()
    assert ids[0] == "esx1"
    moved = sum(a != b for a, b in zip(ids, ["esx1", "esx2", "esx3", "esx4"], strict=True))
    assert moved <= 1 and res.summary.n_hosts == 3


def test_power_and_balance_objectives(catalog: Catalog) -> None:
    wl = make_workload(_flat(6, 24, 3000.0, 2000.0))
    power = consolidate(
        wl,
        catalog,
        _plain(hosts=(HostOffer(SMALL),), objective="power", time_limit_s=1),
    )
    assert power.summary.objective_unit == "w" and power.summary.n_hosts == 1
    bal = consolidate(
        wl,
        catalog,
        _plain(hosts=(HostOffer(SMALL, 3),), ha_hosts=1, objective="balance", time_limit_s=1),
    )
    assert bal.placement is not None
    assert any("balance" in n for n in bal.summary.notes)


def test_bad_options_are_reported_together(catalog: Catalog) -> None:
    wl = make_workload(_flat(1, 4, 1.0, 1.0))
    with pytest.raises(SpecError) as err:
        prepare(
            wl,
            catalog,
            _plain(
                hosts=(HostOffer("no-such-host"),), mode="warp", sizing="avg", headroom_frac=1.5
            ),
        )
    text = str(err.value)
    for word in ("no-such-host", "warp", "sizing", "headroom"):
        assert word in text
    for bad in ("", "x:-1", "x:many"):
        with pytest.raises(SpecError):
            HostOffer.parse(bad)
    assert HostOffer.parse("m:3") == HostOffer("m", 3)


# ------------------------------------------------------------------------------- CLI
def _planetlab_day(root: Path, n: int = 6) -> Path:
    day = root / "20110303"
    day.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        values = rng.integers(0, 60, 288)
        (day / f"node{k}").write_text("\n".join(str(v) for v in values) + "\n")
    return day


def test_cli_consolidate_json_and_csv(tmp_path: Path) -> None:
    day = _planetlab_day(tmp_path)
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app,
        [
            "consolidate",
            "--workload",
            f"planetlab:{day}",
            "--hosts",
            "hp-proliant-ml110-g5:20",
            "--mode",
            "none",
            "--buckets",
            "12",
            "--time-limit",
            "2",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("status", "n_hosts", "cost_usd", "bound", "gap_frac", "binding", "wall_s"):
        assert key in data
    assert data["status"] in ("optimal", "feasible") and data["n_hosts"] >= 1
    assert data["placement_csv"] == str(out)
    assert "horizon" not in data  # only a plan made for a horizon has one
    plc = Placement.read_csv(out)
    assert plc.n_vms == 6 and plc.n_hosts == data["n_hosts"]


def test_cli_bad_host_model_is_a_clean_error(tmp_path: Path) -> None:
    day = _planetlab_day(tmp_path, 2)
    result = CliRunner().invoke(
        app, ["consolidate", "--workload", f"planetlab:{day}", "--hosts", "cray-1", "--json"]
    )
    assert result.exit_code == 2
    assert "cray-1" in result.output and "Traceback" not in result.output


def test_cli_infeasible_plan_exits_3_with_its_reason(tmp_path: Path) -> None:
    # A host of 20 would be needed but only 1 may be bought: the plan is infeasible.
    day = _planetlab_day(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "consolidate",
            "--workload",
            f"planetlab:{day}",
            "--hosts",
            "hp-proliant-ml110-g5:1",
            "--mode",
            "none",
            "--ha",
            "0",
            "--time-limit",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "infeasible" and data["reason"]


def test_exit_codes_cover_every_status() -> None:
    from capplan.commands.consolidate import EXIT_CODES
    from capplan.optimize.strategies import FEASIBLE, INFEASIBLE, OPTIMAL, UNKNOWN

    assert EXIT_CODES == {OPTIMAL: 0, FEASIBLE: 0, INFEASIBLE: 3, UNKNOWN: 4}


# ------------------------------------------------------------------------- real data
@pytest.mark.slow
@pytest.mark.shared_data
def test_planetlab_day_binding_resource(shared_path: type, catalog: Catalog) -> None:
    from capplan.demand import load_workload

    day = shared_path("data", "planetlab", "20110303")
    wl = load_workload(f"planetlab:{day}")
    base = {
        "hosts": (HostOffer("hp-proliant-ml110-g5"),),
        "source_host": "hp-proliant-ml110-g5",
        "mode": "none",
        "objective": "hosts",
        "time_limit_s": 2.0,
        "workers": 1,
    }
    mem_bound = consolidate(wl, catalog, _plain(sizing="peak", **base))
    assert mem_bound.summary.binding == "mem"
    # Volume says 319 hosts; the pattern bound proves 329 (every full host needs a 613 MiB VM).
    assert mem_bound.summary.bound_hosts == 329
    cpu_bound = consolidate(wl, catalog, _plain(sizing="peak", mem_overcommit_ratio=4.0, **base))
    assert cpu_bound.summary.binding == "cpu"
    # Sum of per-VM CPU peaks over one host: about 139 hosts (CloudSim's MIPS figures).
    assert 135 <= int(cpu_bound.summary.bound_hosts) <= 142
    aware = consolidate(wl, catalog, _plain(mem_overcommit_ratio=4.0, **base))
    assert int(aware.summary.n_hosts) < int(cpu_bound.summary.n_hosts)


@pytest.mark.shared_data
def test_rvtools_export_alone_is_sized_by_allocation_and_says_so() -> None:
    from conftest import shared_or_skip

    export = shared_or_skip("data", "rvtools-export", "SizingWorkshop-RVTools.xlsx")
    args = ["consolidate", "--workload", str(export), "--mode", "full-bt", "--json"]
    full = CliRunner().invoke(app, [*args, "--time-limit", "5"])
    assert full.exit_code == 0, full.output
    data = json.loads(full.stdout)
    assert data["sizing_basis"] == "allocation" and data["n_hosts"] > 0
    assert data["sized_from_inventory"]["cpu"] == data["n_vms"]
    light = CliRunner().invoke(app, [*args, "--time-limit", "5", "--expected-cpu-util", "0.25"])
    assert light.exit_code == 0, light.output
    assert any("25% of their configured CPU" in n for n in json.loads(light.stdout)["notes"])
    bad = CliRunner().invoke(app, [*args, "--expected-cpu-util", "1.5"])
    assert bad.exit_code == 2 and "expected_cpu_util_frac" in bad.output


def test_cpu_ready_limit_caps_each_hosts_cpu_and_the_replay_honours_it(
    catalog: Catalog,
) -> None:
    from capplan.emulate import emulate
    from capplan.optimize.consolidate import ready_cap_frac

    # 30 flat 2-vCPU VMs of 3,000 MHz on 12-core hosts: without a limit 11 fit a host (96 %,
    # 22 vCPUs); with a 5 % ready limit each host is filled to at most the cap, and the
    # replay's ready stays within the limit.
    wl = make_workload(
        _flat(30, 24, 3000.0, 256.0), inventory={"n_vcpus": [2] * 30, "os_family": ["linux"] * 30}
    )
    offer = (HostOffer(SMALL),)
    cap = ready_cap_frac(catalog.host(SMALL), 0.05)
    assert 0.6 < cap < 0.8
    free = consolidate(wl, catalog, _plain(hosts=offer, mode="containers", strategy="ffd"))
    limited = consolidate(
        wl,
        catalog,
        _plain(hosts=offer, mode="containers", strategy="ffd", cpu_ready_limit_frac=0.05),
    )
    mhz = catalog.host(SMALL).cpu_capacity_mhz
    assert free.summary.n_hosts == math.ceil(30 / math.floor(mhz / 3000))
    assert limited.summary.n_hosts == math.ceil(30 / math.floor(cap * mhz / 3000))
    assert limited.summary.n_hosts > free.summary.n_hosts
    ready_free = emulate(wl, free.placement, catalog, "containers").kpis().peak_cpu_ready_frac
    ready_limited = emulate(wl, limited.placement, catalog, "containers").kpis()
    assert ready_free > 0.05 >= ready_limited.peak_cpu_ready_frac
    with pytest.raises(SpecError, match="cpu_ready_limit_frac"):
        prepare(wl, catalog, _plain(hosts=offer, cpu_ready_limit_frac=1.5))


def test_io_cpu_of_a_virtualized_path_is_sized(catalog: Catalog) -> None:
    # One VM of 1,000 MHz doing 40,000 IOPS under KVM: the replay charges 40,000 x 2.91 us of
    # a 2.4 GHz core on top of 1,000 / (1 - 0.0227); the sizing must reserve the same.
    from capplan.emulate import emulate

    wl = make_workload(
        {
            "cpu_demand_mhz": np.full((1, 24), 1000.0),
            "mem_active_mib": np.full((1, 24), 512.0),
            "disk_read_iops": np.full((1, 24), 30_000.0),
            "disk_write_iops": np.full((1, 24), 10_000.0),
        },
        inventory={"n_vcpus": [2], "os_family": ["linux"]},
    )
    kvm = catalog.mode("hw-assisted")
    inst = prepare(wl, catalog, _plain(hosts=(HostOffer(SMALL),), mode="hw-assisted")).instance
    io_mhz = 40_000 * kvm.io_cpu_mhz_per_iops
    expected = 1000.0 / (1.0 - kvm.cpu_overhead_frac) + io_mhz
    assert inst.demand[0, 0, 0] == math.ceil(expected - 1e-6)
    placement = consolidate(wl, catalog, _plain(hosts=(HostOffer(SMALL),))).placement
    replayed = emulate(wl, placement, catalog, "hw-assisted").cpu.demand_mhz[0, 0]
    assert replayed == pytest.approx(expected, rel=1e-5)
