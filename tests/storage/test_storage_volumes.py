"""Volumes from workloads: sizes, I/O statistics, "not available", attributes, history."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import make_workload

from capplan.errors import CapplanError, TraceFormatError
from capplan.spec.catalog import load_catalog
from capplan.storage.files import read_attributes, read_layout, read_used_history
from capplan.storage.spec import default_spec
from capplan.storage.volumes import StorageDataError, build_volumes, row_quantile

CATALOG = load_catalog()
SPEC = default_spec(CATALOG)


def io_workload(n: int = 3, steps: int = 20, **inventory: list[object]):  # type: ignore[no-untyped-def]
    base = np.tile(np.arange(1, steps + 1, dtype=float), (n, 1))
    return make_workload(
        {
            "disk_read_iops": base,
            "disk_write_iops": base / 2,
            "disk_read_mib_s": base / 10,
            "disk_write_mib_s": base / 20,
        },
        inventory=inventory or {"disk_provisioned_gib": [100.0] * n, "disk_used_gib": [40.0] * n},
    )


def test_row_quantile_hand_worked() -> None:
    values = np.array([[1, 2, 3, 4, 100], [5, 5, 5, 5, 5]], dtype=np.float32)
    observed = np.array([[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)
    # observed 1..4: p50 = 2.5 (linear), p100 = 4 (the unobserved 100 is ignored)
    assert row_quantile(values, observed, 0.5).tolist() == [2.5, 0.0]
    assert row_quantile(values, observed, 1.0)[0] == 4.0


def test_volumes_from_inventory_and_io() -> None:
    vols = build_volumes(io_workload(), SPEC, horizon_days=365)
    assert vols.n_volumes == 3
    assert vols.provisioned_gib.tolist() == [100.0] * 3
    assert vols.used_gib.tolist() == [40.0] * 3
    assert vols.io is not None and vols.io.has_iops and vols.io.has_mib_s
    # values 1..20: p95 = 1 + 0.95 * 19 = 19.05
    assert vols.io.read_iops[0] == pytest.approx(19.05)
    assert vols.io.peak_write_iops[0] == pytest.approx(10.0)
    assert vols.forecast_basis == "assumed"
    assert vols.forecast_used_gib[0] == pytest.approx(40 * 1.204)
    assert not vols.mirrored.any()
    assert vols.latency_class.tolist() == ["slo"] * 3


def test_no_disk_sizes_is_not_available() -> None:
    wl = make_workload({"cpu_demand_mhz": [[1.0, 2.0]]})
    with pytest.raises(StorageDataError, match=r"not available.*disk_provisioned_gib"):
        build_volumes(wl, SPEC, horizon_days=30)


def test_missing_used_size_is_an_error_unless_bounded() -> None:
    wl = io_workload(2, disk_provisioned_gib=[100.0, 50.0], disk_used_gib=[10.0, None])
    with pytest.raises(StorageDataError, match="1 of 2 VMs have no disk_used_gib"):
        build_volumes(wl, SPEC, horizon_days=30)
    vols = build_volumes(wl, SPEC, horizon_days=30, used_missing="provisioned")
    assert vols.used_gib.tolist() == [10.0, 50.0]
    assert any("upper bound" in note for note in vols.notes)


def test_no_io_metrics_is_reported_not_invented() -> None:
    wl = make_workload(
        {"cpu_demand_mhz": [[1.0, 2.0]]},
        inventory={"disk_provisioned_gib": [10.0], "disk_used_gib": [5.0]},
    )
    vols = build_volumes(wl, SPEC, horizon_days=30)
    assert vols.io is None
    assert "disk_read_iops" in vols.io_reason and "not available" in vols.io_reason


def test_attributes_and_knobs(tmp_path: Path) -> None:
    path = tmp_path / "attrs.csv"
    path.write_text(
        "vm_id,latency_class,mirrored,snapshot_policy\nvm000,any,true,ontap-default\nvm001,2.5,no,\n"
    )
    attrs = read_attributes(path)
    vols = build_volumes(io_workload(), SPEC, horizon_days=30, attributes=attrs)
    assert vols.mirrored.tolist() == [True, False, False]
    assert math.isinf(vols.latency_limit_ms[0]) and vols.latency_limit_ms[1] == 2.5
    assert vols.snapshot_reserve_frac[0] == 0.05
    forced = build_volumes(
        io_workload(),
        SPEC,
        horizon_days=30,
        attributes=attrs,
        mirror=False,
        snapshot_policy="none",
    )
    assert not forced.mirrored.any() and not forced.snapshot_reserve_frac.any()
    bad = tmp_path / "bad.csv"
    bad.write_text("vm_id,latency_class\nvm000,platinum\n")
    with pytest.raises(TraceFormatError, match=r"bad.csv:2.*platinum"):
        build_volumes(
            io_workload(),
            SPEC,
            horizon_days=30,
            attributes=read_attributes(bad),
            attributes_label=str(bad),
        )
    with pytest.raises(CapplanError, match="unknown snapshot policy"):
        build_volumes(io_workload(), SPEC, horizon_days=30, snapshot_policy="weekly")


def test_history_drives_the_forecast(tmp_path: Path) -> None:
    path = tmp_path / "hist.csv"
    rows = ["vm_id,timestamp,used_gib"]
    for day in range(10):
        rows.append(f"vm000,2024-01-{day + 1:02d}T00:00:00Z,{30 + day}")
    path.write_text("\n".join(rows) + "\n")
    hist = read_used_history(path)
    assert hist.span_days == 9.0
    vols = build_volumes(io_workload(), SPEC, horizon_days=4, history=hist)
    assert vols.forecast_basis == "mixed"
    assert vols.has_history.tolist() == [True, False, False]
    assert vols.forecast_used_gib[0] == pytest.approx(40 + 4 * 1.0)
    assert vols.growth_mu_gib_per_day[0] == pytest.approx(1.0)
    assert vols.history_window_days == 4.5
    long = build_volumes(io_workload(), SPEC, horizon_days=30, history=hist)
    assert any("half the history" in n for n in long.notes)
    # never beyond the provisioned size
    huge = build_volumes(io_workload(), SPEC, horizon_days=3650, history=hist)
    assert huge.forecast_used_gib[0] == 100.0


def test_history_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("vm_id,timestamp,used_gib\na,2024-01-01,1\na,2024-01-01,2\n")
    with pytest.raises(TraceFormatError, match=r"h.csv:3.*repeats"):
        read_used_history(path)
    path.write_text("vm_id,timestamp,used_gib\na,2024-01-01,-1\n")
    with pytest.raises(TraceFormatError, match=r"h.csv:2"):
        read_used_history(path)
    path.write_text("vm_id,used_gib\na,1\n")
    with pytest.raises(TraceFormatError, match="missing required column"):
        read_used_history(path)


def test_current_layout_resolution(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    path.write_text("volume_id,pool\nvm000,ssd\nvm001,nl-sas\nvm001,nvme\nghost,ssd\n")
    vols = build_volumes(
        io_workload(),
        SPEC,
        horizon_days=30,
        current_layout=read_layout(path),
        layout_label=str(path),
    )
    names = [p.name for p in SPEC.pools]
    assert vols.current_pool is not None
    assert names[vols.current_pool[0, 0]] == "ssd" and vols.current_pool[0, 1] == -1
    assert {names[p] for p in vols.current_pool[1]} == {"nl-sas", "nvme"}
    assert any("not in the workload" in n for n in vols.notes)
    path.write_text("volume_id,pool\nvm000,gold-array\n")
    with pytest.raises(TraceFormatError, match=r"cur.csv:2.*unknown pool 'gold-array'"):
        build_volumes(
            io_workload(),
            SPEC,
            horizon_days=30,
            current_layout=read_layout(path),
            layout_label=str(path),
        )


def test_attributes_file_checks(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("vm_id,mirrored\nx,maybe\n")
    with pytest.raises(TraceFormatError, match=r"a.csv:2.*true or false"):
        read_attributes(path)
    path.write_text("vm_id,colour\nx,red\n")
    with pytest.raises(TraceFormatError, match="unknown column"):
        read_attributes(path)
    frame = pl.DataFrame({"vm_id": ["x"]})
    assert frame.height == 1
