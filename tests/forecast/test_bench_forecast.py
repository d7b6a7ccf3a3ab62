"""``capplan bench forecast`` on the smallest real data set (skipped without ../shared)."""

from __future__ import annotations

import pytest
from conftest import shared_or_skip


@pytest.mark.shared_data
def test_bench_runs_on_alibaba_and_reports_all_methods() -> None:
    import capplan.commands.bench  # noqa: F401  (registers the bench modules in order)
    from capplan.bench.forecast import run_forecast_bench

    shared_or_skip("data", "alibaba-cluster-trace-v2018")
    out = run_forecast_bench(shared_or_skip(), names=("alibaba",))
    figs = out["datasets"]["alibaba"]
    for method in ("model", "seasonal_naive", "last_value"):
        assert figs[method]["mase_mean"] > 0
        assert 0 <= figs[method]["coverage_pct"] <= 100
    assert "speed" not in out  # the speed figure is made from Bitbrains only
