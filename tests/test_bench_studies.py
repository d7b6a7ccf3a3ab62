"""``capplan bench studies``: the study in-process and on a local Dask cluster, per stage."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from capplan.bench.studies import run_benchmark


@pytest.mark.slow
def test_bench_studies_times_each_worker_count_and_agrees_on_hosts() -> None:
    figures = run_benchmark(
        n_vms=12, days=2, time_limit_s=5.0, workers=(1,), seed=3, trace="parquet"
    )
    (dask,) = figures["dask"]
    assert dask["workers"] == 1 and dask["wall_s"] > 0
    assert figures["stopped_by_wall"] == dask["stopped_by_wall"] == 0
    assert figures["same_host_counts"]
    assert set(figures["stage_s"]) >= {"optimize", "emulate", "economics", "report"}
    assert set(dask["stage_s"]) >= {"optimize", "emulate", "economics"}
    assert sum(figures["stage_share_frac"].values()) == pytest.approx(1.0, abs=1e-3)


def test_bench_studies_refuses_bad_worker_counts() -> None:
    from capplan.cli import load_all

    run = CliRunner().invoke(load_all(), ["bench", "studies", "--workers", "2,zero"])
    assert run.exit_code != 0
    assert "expected worker counts >= 1" in run.output
