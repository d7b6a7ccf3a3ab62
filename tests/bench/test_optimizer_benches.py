"""The optimizer benchmarks on small selections, and the benchmark file readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capplan.bench.scale import run_scale, synthetic_workload
from capplan.bench.tbpp import run_tbpp
from capplan.bench.vbp import run_vbp, summarise
from capplan.errors import TraceFormatError
from capplan.optimize.tbppfile import (
    TemporalJobs,
    maximal_points,
    peak_instance,
    read_tbpp,
    temporal_instance,
)
from capplan.optimize.vbpfile import read_vbp


def test_read_vbp_expands_copies(tmp_path: Path) -> None:
    path = tmp_path / "x.vbp"
    path.write_text("2\n10 20\n2\n3 4 2\n5 6 1\n")
    inst = read_vbp(path)
    assert inst.flat_demand.tolist() == [[3, 4], [3, 4], [5, 6]]
    assert inst.capacity.tolist() == [[10, 20]]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("2\n10 20\n1\n3 x 1\n", 4, "non-integer"),
        ("2\n10 20\n1\n3 4\n", 4, "expected 3"),
        ("2\n10 -20\n1\n3 4 1\n", 2, "negative"),
        ("2\n10 20\n1\n3 4 -1\n", 4, "count"),
        ("2\n10 20\n1\n3 4 1\n1 1 1\n", 5, "extra line"),
    ],
)
def test_read_vbp_errors_name_the_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = tmp_path / "bad.vbp"
    path.write_text(text)
    with pytest.raises(TraceFormatError) as err:
        read_vbp(path)
    assert err.value.line == line and what in str(err.value)


def test_maximal_start_times_of_intervals() -> None:
    # Jobs: [0,10), [5,15), [12,20), [13,14). Running sets at starts 0:{a}, 5:{a,b},
    # 12:{b,c}, 13:{b,c,d}: maximal at 5 and 13 only.
    jobs = TemporalJobs(
        np.array([0, 5, 12, 13]), np.array([10, 15, 20, 14]), np.array([40, 30, 50, 10]), 100
    )
    points, lo, hi = maximal_points(jobs)
    assert points.tolist() == [5, 13]
    inst = temporal_instance(jobs)
    assert inst.flat_demand.tolist() == [[40, 0], [30, 30], [0, 50], [0, 10]]
    assert peak_instance(jobs).flat_demand[:, 0].tolist() == [40, 30, 50, 10]
    assert (lo.tolist(), hi.tolist()) == ([0, 0, 1, 1], [1, 2, 2, 2])


def test_read_tbpp_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("2\t100\t0\t0\n0\t0\t5\t30\n")
    with pytest.raises(TraceFormatError, match="announces 2 jobs"):
        read_tbpp(path)
    path.write_text("1\t100\t0\t0\n0\t9\t5\t30\n")
    with pytest.raises(TraceFormatError) as err:
        read_tbpp(path)
    assert err.value.line == 2


def test_summary_figures() -> None:
    rows = [
        {
            "benchmark": "A",
            "cls": "c1",
            "n_bins": 10,
            "best_known": 10,
            "bound": 10,
            "gap_frac": 0.0,
            "status": "optimal",
            "wall_s": 1.0,
        },
        {
            "benchmark": "A",
            "cls": "c1",
            "n_bins": 11,
            "best_known": 10,
            "bound": 11,
            "gap_frac": 0.1,
            "status": "feasible",
            "wall_s": 3.0,
        },
    ]
    out = summarise(rows)
    fig = out["classes"]["A/c1"]
    assert fig["mean_gap_frac"] == 0.05 and fig["hit_frac"] == 0.5 and fig["proven_frac"] == 0.5
    assert out["overall"]["mean_wall_s"] == 2.0
    assert fig["n_bound_above_best_known"] == 1  # a bound of 11 against a best known of 10


@pytest.mark.shared_data
def test_vbp_bench_on_two_instances(shared_path: type) -> None:
    folder = shared_path("benchmarks", "vbp")
    out = run_vbp(folder, time_limit_s=1.0, workers=1, classes=["Panigrahy/class5"], limit=2)
    assert out["overall"]["n"] == 2 and out["overall"]["n_solved"] == 2
    for row in out["instances"]:
        assert row["n_bins"] >= row["bound"]
        assert row["gap_frac"] is not None
    assert "Panigrahy" in out["families"]


@pytest.mark.shared_data
def test_tbpp_bench_on_one_instance(shared_path: type) -> None:
    folder = shared_path("benchmarks", "tbpp_azure")
    out = run_tbpp(folder, time_limit_s=1.0, workers=1, limit=1)
    row = out["instances"][0]
    assert row["time_aware_bins"] >= row["lb_peak_volume"]
    assert row["peak_based_bins"] >= row["time_aware_bins"]


def test_scale_bench_small() -> None:
    wl = synthetic_workload(50, days=2, seed=1)
    assert wl.mean["cpu_demand_mhz"].shape == (50, 48)
    out = run_scale(300, time_limit_s=2.0, workers=1)
    assert out["status"] in ("optimal", "feasible")
    assert out["resources"] == ["cpu", "mem"]
    assert out["gap_frac"] is not None and 0 <= out["gap_frac"] <= 1
