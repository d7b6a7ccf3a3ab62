"""``capplan bench storage`` runs end to end on a small generated estate (figures, no timing)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from capplan.bench.storage import bench_spec, generated_estate
from capplan.cli import app
from capplan.spec.catalog import load_catalog


def test_generated_estate_shape() -> None:
    workload, attributes = generated_estate(500, seed=3)
    assert workload.n_vms == 500 and attributes.height == 500
    assert set(workload.metrics) == {
        "disk_read_iops",
        "disk_write_iops",
        "disk_read_mib_s",
        "disk_write_mib_s",
    }
    spec = bench_spec(load_catalog())
    assert spec.n_pools == 12
    assert len({p.failure_domain for p in spec.pools}) == 3


def test_bench_storage_prints_figures() -> None:
    result = CliRunner().invoke(
        app, ["bench", "storage", "--volumes", "400", "--time-limit", "20", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("wall_s", "gap_frac", "cost_usd", "bound_usd", "status", "valid"):
        assert key in figures
    assert figures["valid"] is True
    assert figures["bound_usd"] <= figures["cost_usd"] + 1e-6
