"""The generator: reproducibility, schema validity, inventory structure, parameter checks."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import SpecError
from capplan.generate import GeneratorParams, generate, generate_trace, iter_blocks
from capplan.generate.params import FITTED, with_overrides
from capplan.generate.population import group_sizes, snap_memory_gib
from capplan.generate.synth import BLOCK_VMS
from capplan.schema import INVENTORY_SCHEMA, OS_FAMILIES, USAGE_METRICS, USAGE_SCHEMA

SMALL = GeneratorParams(n_vms=40, days=2.0)


def test_same_seed_gives_identical_arrays_and_inventory() -> None:
    a = generate(SMALL, 11)
    b = generate(SMALL, 11)
    for name in USAGE_METRICS:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
    assert a.inventory.equals(b.inventory)


def test_different_seeds_differ() -> None:
    a = generate(SMALL, 1)
    b = generate(SMALL, 2)
    assert not np.array_equal(a.arrays["cpu_demand_mhz"], b.arrays["cpu_demand_mhz"])


def test_blockwise_generation_equals_whole() -> None:
    params = GeneratorParams(n_vms=BLOCK_VMS + 7, days=1.0)
    whole = generate(params, 5)
    for lo, hi, block in iter_blocks(params, 5):
        for name in USAGE_METRICS:
            np.testing.assert_array_equal(block[name], whole.arrays[name][lo:hi])


def test_trace_matches_canonical_schema_and_values_are_sane() -> None:
    trace = generate_trace(SMALL, 3)
    usage = trace.usage.collect()
    assert usage.schema == pl.Schema(USAGE_SCHEMA)
    assert trace.inventory.schema == pl.Schema(INVENTORY_SCHEMA)
    assert trace.format == "synthetic"
    assert trace.native_step_s == 300.0
    assert usage.height == SMALL.n_vms * SMALL.n_steps
    for name in USAGE_METRICS:
        column = usage.get_column(name)
        assert column.null_count() == 0, name
        assert column.is_finite().all(), name
        assert column.min() >= 0.0, name  # type: ignore[operator]
    joined = usage.join(trace.inventory, on="vm_id")
    assert (joined["cpu_demand_mhz"] <= joined["cpu_capacity_mhz"] * (1 + 1e-9)).all()
    assert (joined["mem_active_mib"] <= joined["mem_provisioned_mib"] * (1 + 1e-9)).all()
    times = usage.filter(pl.col("vm_id") == usage["vm_id"][0]).get_column("timestamp")
    assert times[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert (times.diff().drop_nulls().dt.total_seconds() == 300).all()
    inv = trace.inventory
    for column in (
        "vm_id",
        "n_vcpus",
        "cpu_capacity_mhz",
        "mem_provisioned_mib",
        "os_family",
        "security_zone",
        "vlan_id",
        "current_host",
        "disk_provisioned_gib",
    ):
        assert inv.get_column(column).null_count() == 0, column
    assert set(inv["os_family"]) <= set(OS_FAMILIES)
    assert (inv["disk_used_gib"] <= inv["disk_provisioned_gib"]).all()
    assert set(inv["n_vcpus"]) <= set(FITTED.vcpu_counts)


def test_replicas_share_attributes_and_sit_on_distinct_hosts() -> None:
    inv = generate(GeneratorParams(n_vms=300, days=1.0), 9).inventory
    grouped = inv.filter(pl.col("ha_group").is_not_null())
    assert grouped.height > 0
    per_group = grouped.group_by("ha_group").agg(
        pl.len().alias("n"),
        pl.col("current_host").n_unique().alias("hosts"),
        pl.col("n_vcpus").n_unique().alias("sizes"),
        pl.col("security_zone").n_unique().alias("zones"),
        pl.col("vlan_id").n_unique().alias("vlans"),
    )
    assert set(per_group["n"]) <= {2, 3}
    assert (per_group["hosts"] == per_group["n"]).all()
    assert (per_group[["sizes", "zones", "vlans"]].max_horizontal() == 1).all()


def test_group_sizes_partition_and_follow_shares() -> None:
    sizes = group_sizes(1000, 0.2, 0.09)
    assert sizes.sum() == 1000
    assert (sizes == 2).sum() == 100 and (sizes == 3).sum() == 30
    assert group_sizes(1, 0.5, 0.5).tolist() == [1]


def test_memory_sizes_snap_to_power_of_two_grid() -> None:
    snapped = snap_memory_gib(np.array([0.1, 1.0, 1.3, 2.9, 5.0, 7.0, 5000.0]))
    # Nearest in log scale: 5 → 6 (ln 6/5 < ln 5/4), 7 → 8.
    assert snapped.tolist() == [0.5, 1.0, 1.5, 3.0, 6.0, 8.0, 1024.0]


def test_other_steps_and_starts_are_honoured() -> None:
    start = datetime(2023, 5, 6, 12, 0, tzinfo=UTC)
    params = GeneratorParams(n_vms=3, days=0.5, step_s=60, start=start)
    usage = generate_trace(params, 1).usage.collect()
    assert usage.height == 3 * 720
    assert usage["timestamp"].min() == start


def test_invalid_parameters_list_every_problem() -> None:
    with pytest.raises(SpecError) as info:
        GeneratorParams(n_vms=0, days=-1.0, step_s=0, vlans_per_zone=(1,)).validate()
    where = [w for w, _ in info.value.problems]
    assert where == ["n_vms", "days", "step_s", "vlans_per_zone"]
    with pytest.raises(SpecError, match="seed"):
        generate(SMALL, -1)


def test_overrides_replace_statistics_and_reject_unknown_names() -> None:
    params = with_overrides(SMALL, {"cpu_level_ln_mu": -1.0})
    assert params.stats.cpu_level_ln_mu == -1.0
    with pytest.raises(SpecError) as info:
        with_overrides(SMALL, {"nope": 1.0, "cpu_level_ln_mu": "x", "disk_read": 1.0})
    assert [w for w, _ in info.value.problems] == ["nope", "cpu_level_ln_mu", "disk_read"]


def test_vector_overrides_are_checked() -> None:
    params = with_overrides(SMALL, {"os_family_probs": [0.5, 0.5, 0, 0]})
    assert params.stats.os_family_probs == (0.5, 0.5, 0.0, 0.0)
    bad = {"os_family_probs": [0.5, 0.6, 0, 0], "zone_probs": [1.0], "vcpu_probs": "x"}
    with pytest.raises(SpecError) as info:
        with_overrides(SMALL, bad)
    messages = dict(info.value.problems)
    assert "sum to 1" in messages["os_family_probs"]
    assert "list of 3 numbers" in messages["zone_probs"]
    assert "vcpu_probs" in messages


@settings(max_examples=12, deadline=None)
@given(
    n_vms=st.integers(1, 12),
    days=st.floats(0.01, 1.5),
    step_s=st.sampled_from([60, 300, 900, 3600]),
    seed=st.integers(0, 2**32),
)
def test_any_valid_parameters_give_a_valid_trace(
    n_vms: int, days: float, step_s: int, seed: int
) -> None:
    params = GeneratorParams(n_vms=n_vms, days=days, step_s=step_s)
    if step_s > days * 86_400:
        with pytest.raises(SpecError):
            generate(params, seed)
        return
    work = generate(params, seed)
    for name in USAGE_METRICS:
        values = work.arrays[name]
        assert values.shape == (n_vms, params.n_steps)
        assert np.isfinite(values).all() and (values >= 0).all(), name
    assert work.inventory.height == n_vms


def test_out_of_range_statistics_are_refused() -> None:
    params = with_overrides(
        SMALL, {"diurnal_amp_zero_frac": 2.0, "burst_rate_shape": 0.0, "rho_cpu_mem": 3.0}
    )
    with pytest.raises(SpecError) as info:
        params.validate()
    assert sorted(w for w, _ in info.value.problems) == [
        "stats.burst_rate_shape",
        "stats.diurnal_amp_zero_frac",
        "stats.rho_cpu_mem",
    ]
