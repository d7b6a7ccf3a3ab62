"""``capplan bench emulate`` on a tiny size: the figures are produced (no timing assertions)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from capplan.bench.emulate import run_bench, synthetic_workload
from capplan.cli import app


def test_run_bench_returns_the_figures() -> None:
    figures = run_bench(40, 30, 4, repeat=1)
    for key in ("ratio_to_sum", "peak_memory_ratio", "sum_s", "replay_s", "kpis_ratio_to_sum"):
        assert figures[key] > 0
    assert figures["input_bytes"] == 4 * 40 * 30 * 4
    assert set(figures["kpis"]) >= {"energy_kwh", "slatah_frac", "pdm_frac"}


def test_synthetic_workload_shape() -> None:
    wl = synthetic_workload(5, 7)
    assert wl.n_vms == 5 and wl.n_steps == 7 and len(wl.metrics) == 4
    assert all(v.dtype.name == "float32" and (v >= 0).all() for v in wl.mean.values())


def test_bench_command_json() -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "emulate",
            "--vms",
            "30",
            "--steps",
            "20",
            "--hosts",
            "3",
            "--repeat",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ratio_to_sum" in json.loads(result.stdout)
