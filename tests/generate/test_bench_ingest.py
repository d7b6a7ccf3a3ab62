"""The ingest benchmark's measuring function, on a tiny set (figures only, no timing asserts)."""

from __future__ import annotations

import pytest

from capplan.bench.ingest import run_ingest_bench
from capplan.errors import CapplanError


@pytest.mark.slow
def test_ingest_bench_reports_its_figures() -> None:
    figures = run_ingest_bench(0.003, days=1.0, repeat=1)
    for key in ("throughput_mb_s", "ratio_to_polars", "peak_mem_ratio"):
        assert figures[key] > 0, key
    assert figures["size_mb"] >= 3.0
    assert figures["rows"] == figures["n_vms"] * 288
    assert figures["n_steps"] in (288, 289)
    assert figures["arrays_mb"] > 0
    assert figures["quality_frac"] == pytest.approx(1.0)


def test_ingest_bench_refuses_a_non_positive_size() -> None:
    with pytest.raises(CapplanError, match="size-gb"):
        run_ingest_bench(0.0)
