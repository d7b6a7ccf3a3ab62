"""Tiering by access density: hand-worked recommendation, savings and migration traffic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers import make_workload

from capplan.spec.catalog import load_catalog
from capplan.storage.spec import default_spec
from capplan.storage.tiering import TierOption, recommend_tiers
from capplan.storage.volumes import build_volumes

TIERS = [
    TierOption(
        "fast",
        density_iops_per_gib=10.0,
        write_penalty=2.0,
        unit_cost_usd_per_gib=1.0,
        latency_ms=0.2,
    ),
    TierOption(
        "slow",
        density_iops_per_gib=0.1,
        write_penalty=2.0,
        unit_cost_usd_per_gib=0.1,
        latency_ms=10.0,
    ),
]


def two_day_workload():  # type: ignore[no-untyped-def]
    steps = 48  # two days of hourly steps
    low = np.full(steps, 5.0)
    high = np.full(steps, 100.0)
    switch = np.r_[np.full(24, 5.0), np.full(24, 100.0)]
    reads = np.vstack([low, high, switch])
    return make_workload(
        {"disk_read_iops": reads, "disk_write_iops": np.zeros_like(reads)},
        inventory={"disk_provisioned_gib": [200.0] * 3, "disk_used_gib": [100.0] * 3},
        step_s=3600,
    )


def test_hand_worked_recommendation() -> None:
    wl = two_day_workload()
    vols = build_volumes(wl, default_spec(load_catalog()), horizon_days=365, snapshot_policy="none")
    result = recommend_tiers(
        vols,
        wl,
        TIERS,
        baseline_tier=np.array([0, 0, 0]),
        baseline="all fast",
        migration_mib_s=100.0,
    )
    names = [t.name for t in result.tiers]
    assert names == ["slow", "fast"]  # cheapest first
    # densities: 0.05 (fits slow), 1.0 (fast only), 0.05 then 1.0 (fast on day 2)
    assert [names[i] for i in result.recommended] == ["slow", "fast", "fast"]
    assert [[names[i] for i in row] for row in result.per_window] == [
        ["slow", "slow"],
        ["fast", "fast"],
        ["slow", "fast"],
    ]
    assert result.migrations_per_window_gib.tolist() == [100.0]
    consumed = 100 * 1.204  # forecast used at the horizon
    assert result.baseline_cost_usd == pytest.approx(3 * consumed * 1.0)
    assert result.recommended_cost_usd == pytest.approx(consumed * (0.1 + 1.0 + 1.0))
    assert result.savings_usd == pytest.approx(consumed * 0.9)
    assert result.n_moves == 1 and result.move_gib == 100.0
    assert result.migration_hours == pytest.approx(100 * 1024 / 100 / 3600)
    summary = result.summary()
    assert summary["n_windows"] == 2 and summary["daily_migration_gib_max"] == 100.0


def test_latency_class_limits_the_tiers() -> None:
    wl = two_day_workload()
    vols = build_volumes(wl, default_spec(load_catalog()), horizon_days=365, latency_class="any")
    strict = replace(vols, latency_limit_ms=np.array([1.0, 1.0, 1.0]))
    result = recommend_tiers(
        strict,
        wl,
        TIERS,
        baseline_tier=np.array([-1, -1, -1]),
        baseline="unknown",
        migration_mib_s=100.0,
    )
    assert {result.tiers[i].name for i in result.recommended} == {"fast"}
    assert result.n_moves == 0


def test_too_dense_for_every_tier_is_flagged() -> None:
    wl = two_day_workload()
    vols = build_volumes(wl, default_spec(load_catalog()), horizon_days=365)
    tiny = [TierOption("only", 0.01, 2.0, 1.0, 1.0)]
    result = recommend_tiers(
        vols, wl, tiny, baseline_tier=np.zeros(3, dtype=np.int64), baseline="x", migration_mib_s=1.0
    )
    assert result.exceeds_every_tier.all()


def test_not_available_without_iops() -> None:
    wl = make_workload(
        {"cpu_demand_mhz": [[1.0, 2.0]]},
        inventory={"disk_provisioned_gib": [10.0], "disk_used_gib": [5.0]},
    )
    vols = build_volumes(wl, default_spec(load_catalog()), horizon_days=30)
    result = recommend_tiers(
        vols,
        wl,
        TIERS,
        baseline_tier=np.zeros(1, dtype=np.int64),
        baseline="x",
        migration_mib_s=1.0,
    )
    assert not result.available and result.reason.startswith("not available")
    assert result.summary() == {"available": False, "reason": result.reason}
