"""End-to-end planning: instance arithmetic, what-if knobs, pool risk, monotonicity."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import make_workload
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError, SpecError
from capplan.spec.catalog import load_catalog
from capplan.storage.files import UsedHistory
from capplan.storage.instance import (
    R_FORECAST,
    R_IOPS,
    R_MIB_S,
    R_PROV,
    PlanSettings,
    build_instance,
    planned_load,
    unit_cost_usd_per_gib,
)
from capplan.storage.planner import StorageOptions, plan_storage, pool_risk
from capplan.storage.spec import (
    Pool,
    StorageSpec,
    builtin_policies,
    default_spec,
    load_storage_spec,
)
from capplan.storage.validator import violations
from capplan.storage.volumes import build_volumes

CATALOG = load_catalog()
PRICES = {"nvme": 0.9, "ssd": 0.5, "hdd-15k": 0.3, "hdd-10k": 0.25, "nl-sas": 0.08}


def workload(prov: list[float], used: list[float], read: float = 50.0, write: float = 20.0):  # type: ignore[no-untyped-def]
    n = len(prov)
    steps = np.ones((n, 12))
    return make_workload(
        {
            "disk_read_iops": steps * read,
            "disk_write_iops": steps * write,
            "disk_read_mib_s": steps * 2.0,
            "disk_write_mib_s": steps * 1.0,
        },
        inventory={"disk_provisioned_gib": prov, "disk_used_gib": used},
    )


def small_spec(physical: float = 1000.0) -> StorageSpec:
    classes, snapshots = builtin_policies(CATALOG)
    pools = tuple(
        Pool(
            name=f"{t}-{d}",
            tier=CATALOG.tier(t),
            failure_domain=d,
            physical_gib=physical,
            price_usd_per_gib=PRICES[t],
        )
        for t in ("ssd", "nl-sas")
        for d in ("a", "b")
    )
    return StorageSpec(pools=pools, latency_classes=classes, snapshot_policies=snapshots)


def plan(wl, spec, **kw):  # type: ignore[no-untyped-def]
    opts = StorageOptions(time_limit_s=10, **kw)
    return plan_storage(wl, CATALOG, spec, opts, electricity_usd_per_kwh=0.1, pue_ratio=1.5)


def test_instance_arithmetic_hand_worked() -> None:
    spec = small_spec()
    vols = build_volumes(
        workload([100.0], [40.0], read=100, write=50),
        spec,
        horizon_days=365,
        snapshot_policy="ontap-default",
    )
    inst, paging = build_instance(
        vols, spec, PlanSettings(paging_mib_s={"ssd-a": 4.0}, page_size_kib=4.0)
    )
    j_ssd, j_nl = 0, 2
    # forecast: 40 GiB * 1.204 * (1 + 5 % snapshot reserve)
    assert inst.demand[0, j_ssd, R_FORECAST] == pytest.approx(40 * 1.204 * 1.05)
    assert inst.demand[0, j_ssd, R_PROV] == 100.0
    # back-end IOPS: read + write penalty (RAID 5: 4) * write = 100 + 4 * 50
    assert inst.demand[0, j_ssd, R_IOPS] == pytest.approx(300.0)
    assert inst.demand[0, j_ssd, R_MIB_S] == pytest.approx(3.0)
    # capacities: ratio 1.5, alert 75 %
    assert inst.capacity[j_nl, R_PROV] == pytest.approx(1500.0)
    assert inst.capacity[j_nl, R_FORECAST] == pytest.approx(750.0)
    # 4 MiB/s of 4 KiB pages = 1,024 IOPS, half writes at penalty 4: 512 + 2,048 back-end
    assert paging[j_ssd].tolist() == pytest.approx([2560.0, 4.0])
    # the SAS SSD pool (24 servers of 0.4 ms) stays far within the 20 ms objective up to the
    # latency model's cap: it may be filled to ρ = 0.99 of its IOPS, less the paging
    assert inst.capacity[j_ssd, R_IOPS] == pytest.approx(
        0.99 * CATALOG.tier("ssd").max_iops - 2560.0
    )
    # cost per copy includes energy only where W/TiB is published (bundled: not) -> price only
    assert inst.cost_usd[0, j_nl] == pytest.approx(40 * 1.204 * 1.05 * 0.08)
    # energy: 10 W/TiB x PUE 1.5 x 0.1252 USD/kWh over 8,760 h, per GiB
    watt_spec = replace(spec, pools=tuple(replace(p, watts_per_tib=10.0) for p in spec.pools))
    settings = PlanSettings(electricity_usd_per_kwh=0.1252, pue_ratio=1.5, horizon_days=365)
    unit = unit_cost_usd_per_gib(watt_spec, settings)
    energy = 10 / 1024 / 1000 * 1.5 * 0.1252 * 8760
    assert unit[j_nl] == pytest.approx(0.08 + energy)
    thick, _ = build_instance(vols, spec, PlanSettings(thin=False))
    assert thick.demand[0, 0, R_FORECAST] == pytest.approx(105.0)
    assert thick.capacity[0, R_PROV] == pytest.approx(1000.0)


def test_plan_is_valid_and_uses_cheap_pools_first() -> None:
    result = plan(workload([100.0] * 4, [40.0] * 4, read=5, write=1), small_spec())
    sol = result.solution
    assert sol.status == "optimal"
    assert violations(result.instance, sol.assign) == []
    tiers = {result.instance.pool_tiers[p] for p in sol.assign[:, 0]}
    assert tiers == {"nl-sas"}
    payload = result.to_json()
    for key in ("status", "cost_usd", "pools", "moves", "bound", "gap_frac"):
        assert key in payload
    for pool in payload["pools"]:
        for key in ("provisioned_gib", "used_now_gib", "forecast_used_gib", "p_run_out_frac"):
            assert key in pool


def test_mirroring_knob_doubles_copies_across_domains() -> None:
    result = plan(workload([100.0] * 3, [40.0] * 3, read=5, write=1), small_spec(), mirror=True)
    inst, sol = result.instance, result.solution
    assert (sol.assign >= 0).all()
    doms = inst.pool_domain[sol.assign]
    assert (doms[:, 0] != doms[:, 1]).all()
    single = plan(workload([100.0] * 3, [40.0] * 3, read=5, write=1), small_spec(), mirror=False)
    assert sol.cost_usd == pytest.approx(2 * single.solution.cost_usd)


def test_in_band_appliance_ceiling_and_spof() -> None:
    wl = workload([100.0] * 2, [40.0] * 2, read=500, write=100)
    result = plan(wl, small_spec(), appliance="in-band", appliance_max_iops=1000.0)
    assert result.solution.status == "infeasible"
    assert "in-band appliance" in result.solution.reasons[0]
    assert result.appliance["single_point_of_failure"] is True
    ok = plan(
        wl, small_spec(), appliance="in-band", appliance_max_iops=1e6, appliance_mirrored=True
    )
    assert ok.solution.has_plan and ok.appliance["single_point_of_failure"] is False
    oob = plan(wl, small_spec(), appliance="out-of-band")
    assert oob.appliance["needs_host_driver"] is True and "max_iops" not in oob.appliance


def test_thick_provisioning_costs_more_and_never_grows() -> None:
    wl = workload([100.0] * 3, [20.0] * 3, read=5, write=1)
    thin = plan(wl, small_spec())
    thick = plan(wl, small_spec(), thin=False)
    assert thick.solution.cost_usd > thin.solution.cost_usd
    for risk in thick.risks:
        assert risk.forecast_gib == risk.used_now_gib
        assert risk.p_run_out_frac == 0.0


def test_pool_risk_with_assumed_growth_hand_worked() -> None:
    # one thin pool, 600 GiB used now, physical 1,000 GiB, provisioned 2 x 1,500 (reachable):
    # 600 * 1.204^(d/365) = 1000 -> d = 365 ln(1000/600) / ln(1.204)
    classes, snapshots = builtin_policies(CATALOG)
    spec = StorageSpec(
        pools=(
            Pool(
                "p",
                CATALOG.tier("nl-sas"),
                "a",
                1000.0,
                over_subscription_ratio=5,
                alert_threshold_frac=1.0,
                price_usd_per_gib=0.1,
            ),
        ),
        latency_classes=classes,
        snapshot_policies=snapshots,
    )
    result = plan(
        workload([1500.0, 1500.0], [300.0, 300.0], read=0.1, write=0.1), spec, horizon_days=365.0
    )
    risk = result.risks[0]
    assert risk.used_now_gib == pytest.approx(600.0)
    assert risk.days_to_full == pytest.approx(365 * math.log(1000 / 600) / math.log(1.204))
    assert risk.forecast_gib == pytest.approx(600 * 1.204)
    assert risk.p_run_out_frac == 0.0  # 722 GiB after a year: deterministic, no noise
    # over three years the plan itself is infeasible (the alert level is exceeded), but the
    # risk of a given layout is still defined: it runs out for sure without noise
    wl = workload([1500.0, 1500.0], [300.0, 300.0], read=0.1, write=0.1)
    longer = plan(wl, spec, horizon_days=3 * 365.0)
    assert longer.solution.status == "infeasible"
    vols = build_volumes(wl, spec, horizon_days=3 * 365.0)
    inst, _ = build_instance(vols, spec, PlanSettings(horizon_days=3 * 365.0))
    both_on_p = np.array([[0, -1], [0, -1]])
    assert pool_risk(vols, inst, spec, both_on_p, thin=True)[0].p_run_out_frac == 1.0
    # provisioned below physical: it can never run out
    capped = plan(
        workload([400.0, 400.0], [300.0, 300.0], read=0.1, write=0.1), spec, horizon_days=3 * 365.0
    )
    assert capped.risks[0].p_run_out_frac == 0.0 and math.isinf(capped.risks[0].days_to_full)


def test_pool_risk_from_history(tmp_path: Path) -> None:
    classes, snapshots = builtin_policies(CATALOG)
    spec = StorageSpec(
        pools=(
            Pool(
                "p",
                CATALOG.tier("nl-sas"),
                "a",
                1000.0,
                over_subscription_ratio=5,
                alert_threshold_frac=1.0,
                price_usd_per_gib=0.1,
            ),
        ),
        latency_classes=classes,
        snapshot_policies=snapshots,
    )
    rng = np.random.default_rng(1)
    t = np.arange(60.0)
    series = np.vstack(
        [200 + 2.0 * t + rng.normal(0, 3, t.size), 300 + 1.0 * t + rng.normal(0, 3, t.size)]
    )
    hist = UsedHistory(np.asarray(["vm000", "vm001"]), t, series, start=None)  # type: ignore[arg-type]
    wl = workload([2000.0, 2000.0], [series[0, -1], series[1, -1]], read=0.1, write=0.1)
    result = plan_storage(
        wl,
        CATALOG,
        spec,
        StorageOptions(horizon_days=30.0, time_limit_s=10),
        electricity_usd_per_kwh=0.0,
        pue_ratio=1.0,
        history=hist,
    )
    risk = result.risks[0]
    now = series[:, -1].sum()
    assert risk.used_now_gib == pytest.approx(now)
    assert risk.forecast_gib == pytest.approx(now + 3.0 * 30, rel=0.02)
    assert risk.band_lo_gib < risk.forecast_gib < risk.band_hi_gib
    assert risk.days_to_full == pytest.approx((1000 - now) / 3.0, rel=0.05)
    assert 0.0 <= risk.p_alert_frac <= 1.0
    assert result.volumes.forecast_basis == "history"


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ratios=st.tuples(st.floats(1.0, 4.0), st.floats(1.0, 4.0)).map(sorted),
)
def test_tighter_ratios_never_lower_cost(seed: int, ratios: list[float]) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    prov = rng.uniform(200, 900, n).tolist()
    used = (np.asarray(prov) * rng.uniform(0.05, 0.3, n)).tolist()
    wl = workload(prov, used, read=1.0, write=0.5)
    tight, loose = (plan(wl, small_spec(1500.0), ratio=r) for r in ratios)
    if loose.solution.status == "infeasible":
        assert not tight.solution.has_plan
        return
    if not tight.solution.has_plan:
        return
    for res in (tight, loose):
        assert violations(res.instance, res.solution.assign) == []
    tol = 1e-6 * max(1.0, loose.solution.cost_usd)
    assert tight.solution.cost_usd >= loose.solution.bound_usd - tol
    if tight.solution.status == "optimal" and loose.solution.status == "optimal":
        assert tight.solution.cost_usd >= loose.solution.cost_usd - tol


def test_missing_prices_are_not_invented() -> None:
    priced = default_spec(CATALOG)
    nan = float("nan")
    spec = replace(priced, pools=tuple(replace(p, price_usd_per_gib=nan) for p in priced.pools))
    wl = workload([100.0], [40.0])
    with pytest.raises(CapplanError, match="not available: no price per GiB"):
        plan_storage(
            wl, CATALOG, spec, StorageOptions(), electricity_usd_per_kwh=0.1, pue_ratio=1.5
        )
    with pytest.raises(SpecError, match="names no pool or tier"):
        spec.with_prices({"tape": 0.01})


def test_no_io_metrics_still_plans_capacity() -> None:
    wl = make_workload(
        {"cpu_demand_mhz": [[1.0, 2.0], [1.0, 1.0]]},
        inventory={"disk_provisioned_gib": [10.0, 20.0], "disk_used_gib": [5.0, 5.0]},
    )
    result = plan(wl, small_spec())
    payload = result.to_json()
    assert result.solution.has_plan
    assert payload["io"]["available"] is False and "not available" in payload["io"]["reason"]
    assert payload["tiering"]["available"] is False
    assert np.isinf(result.instance.capacity[:, R_IOPS]).all()


def test_spec_file_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "pools.toml"
    path.write_text(
        'default_over_subscription_ratio = 0.5\ncolour = "red"\n'
        '[pools.a]\ntier = "tape"\n[pools.b]\ntier = "ssd"\nalert_threshold_frac = 2\n'
    )
    with pytest.raises(SpecError) as info:
        load_storage_spec(path, CATALOG)
    text = str(info.value)
    for fragment in ("default_over_subscription_ratio", "colour", "pools.a.tier", "pools.b.alert"):
        assert fragment in text
    # The study files' style (pydantic): the path, then what was expected.
    assert "pools.b.alert_threshold_frac: Input should be less than or equal to 1" in text
    assert "unknown SAN tier 'tape'" in text
    path.write_text('[pools.a]\ntier = "ssd"\nscale = true\nphysical_gib = nan\n[pools.b]\n')
    with pytest.raises(SpecError) as info:
        load_storage_spec(path, CATALOG)
    text = str(info.value)
    assert "pools.a.scale: Input should be a valid number" in text
    assert "pools.a.physical_gib: Input should be a finite number" in text
    assert "pools.b.tier: is required" in text
    path.write_text(
        '[pools.big]\ntier = "ssd"\nscale = 4\nfailure_domain = "x"\n'
        "[latency_classes]\ngold = 1.0\n"
    )
    spec = load_storage_spec(path, CATALOG)
    pool = spec.pools[0]
    assert pool.physical_gib == pytest.approx(4 * CATALOG.tier("ssd").usable_gib)
    assert pool.tier.max_iops == pytest.approx(4 * CATALOG.tier("ssd").max_iops)
    assert spec.latency_classes["gold"] == 1.0 and "slo" in spec.latency_classes
    with pytest.raises(SpecError, match=r"ratio >= 1\.0"):
        spec.with_ratio(0.9)
    assert replace(spec).with_ratio(20.0).ratio_of(pool) == 20.0


def test_planner_and_replay_share_one_latency_model() -> None:
    from capplan.emulate.storage import mean_latency_ms
    from capplan.storage.instance import planned_latency_ms, planned_load

    spec = small_spec()
    slo = spec.latency_classes["slo"]
    for pool in spec.pools:
        load = planned_load(pool.tier, spec)
        # filled to its planned load, a pool's M/M/c mean response time (what the replay
        # computes) is within the objective, and a little more load would not be
        assert 0 < load <= 0.99
        assert planned_latency_ms(pool.tier, spec) <= slo + 1e-6
        if load < 0.99:
            assert float(mean_latency_ms(pool.tier, load + 0.002)) > slo
    # Nearline SAS (24 drives of 12.5 ms): the 20 ms objective binds well below the cap.
    nl = CATALOG.tier("nl-sas")
    assert planned_load(nl, spec) == pytest.approx(0.9493, abs=1e-3)


def test_storage_spec_json_schema_for_editors() -> None:
    import json

    from typer.testing import CliRunner

    from capplan.cli import app

    result = CliRunner().invoke(app, ["validate", "--storage-schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["pools"]["minProperties"] == 1
    pool = schema["$defs"]["PoolFile"]
    assert pool["required"] == ["tier"] and pool["properties"]["scale"]["default"] == 1.0


def test_volume_io_is_capped_at_its_vms_path_ceiling_and_the_path_latency_counts() -> None:
    spec = small_spec()
    vols = build_volumes(
        workload([100.0], [40.0], read=60_000, write=20_000), spec, horizon_days=365
    )
    kvm = CATALOG.mode("hw-assisted")
    capped, _ = build_instance(vols, spec, PlanSettings(vm_iops_ceiling=kvm.vm_iops_ceiling))
    free, _ = build_instance(vols, spec, PlanSettings())
    # 80,000 front-end IOPS through a 42,543 IOPS path: reads and writes scaled by 42,543 / 80k,
    # then the RAID 5 write penalty (4) on the writes.
    share = kvm.vm_iops_ceiling / 80_000  # 0.5062 x 84,044 = 42,543
    assert capped.demand[0, 0, R_IOPS] == pytest.approx((60_000 + 4 * 20_000) * share)
    assert free.demand[0, 0, R_IOPS] == pytest.approx(60_000 + 4 * 20_000)
    # The mode's path latency is part of what a VM sees: the pools are planned to a lower
    # load so that pool + path stays within the objective.
    nl = next(p.tier for p in spec.pools if p.tier.name == "nl-sas")
    path = PlanSettings(path_added_latency_ms=0.624)
    assert path.added_latency_ms == 0.624
    assert planned_load(nl, spec, path.added_latency_ms) < planned_load(nl, spec, 0.0)
