"""Time-bucket reductions of a Workload: hand-worked peaks and percentiles."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from helpers import make_workload

from capplan.demand.reduce import bucket_names, parse_statistic, reduce_buckets, reduce_peak
from capplan.errors import WorkloadError


def _two_days() -> np.ndarray:
    # 6-hour steps over two days: steps 00h, 06h, 12h, 18h, 00h, 06h, 12h, 18h.
    return np.array(
        [
            [1, 2, 9, 4, 3, 8, 5, 6],
            [5, 5, 5, 5, 5, 5, 5, 5],
        ],
        dtype=np.float32,
    )


def test_peak_per_bucket_across_days() -> None:
    wl = make_workload({"cpu_demand_mhz": _two_days()}, step_s=6 * 3600)
    red = reduce_buckets(wl, 4)
    assert red.bucket_names == ("00:00", "06:00", "12:00", "18:00")
    assert red.values["cpu_demand_mhz"].tolist() == [[3, 8, 9, 6], [5, 5, 5, 5]]
    assert red.statistic == "peak" and red.n_filled == 0
    two = reduce_buckets(wl, 2)
    assert two.values["cpu_demand_mhz"].tolist() == [[8, 9], [5, 5]]


def test_percentile_per_bucket() -> None:
    wl = make_workload({"cpu_demand_mhz": _two_days()}, step_s=6 * 3600)
    red = reduce_buckets(wl, 1, statistic="p50")
    assert red.values["cpu_demand_mhz"][:, 0].tolist() == [4.5, 5.0]
    assert red.statistic == "p50"


def test_unobserved_steps_are_ignored_and_empty_buckets_filled() -> None:
    wl = make_workload({"cpu_demand_mhz": _two_days()}, step_s=6 * 3600)
    observed = wl.observed.copy()
    observed[0, [2, 6]] = False  # VM 0 never observed at 12:00
    wl = type(wl)(**{**wl.__dict__, "observed": observed})
    red = reduce_buckets(wl, 4)
    # The 12:00 bucket takes VM 0's peak over the observed steps (8).
    assert red.values["cpu_demand_mhz"][0].tolist() == [3, 8, 8, 6]
    assert red.n_filled == 1


def test_peak_based_baseline() -> None:
    wl = make_workload({"cpu_demand_mhz": _two_days(), "mem_active_mib": _two_days() * 100})
    red = reduce_peak(wl)
    assert red.bucket_names == ("peak",) and red.period == "horizon"
    assert red.values["cpu_demand_mhz"][:, 0].tolist() == [9, 5]
    assert red.values["mem_active_mib"][:, 0].tolist() == [900, 500]
    p = reduce_peak(wl, statistic="p50")
    assert p.values["cpu_demand_mhz"][:, 0].tolist() == [4.5, 5.0]


def test_week_buckets_start_on_monday() -> None:
    # 2024-01-01 was a Monday: daily steps map onto Mon..Sun.
    values = np.arange(14, dtype=np.float32)[None, :]
    wl = make_workload(
        {"cpu_demand_mhz": values}, step_s=86_400, start=datetime(2024, 1, 1, 12, tzinfo=UTC)
    )
    red = reduce_buckets(wl, 7, period="week")
    assert red.bucket_names[0] == "Mon 00:00" and red.bucket_names[-1] == "Sun 00:00"
    assert red.values["cpu_demand_mhz"][0].tolist() == [7, 8, 9, 10, 11, 12, 13]


def test_bucket_names_and_statistics() -> None:
    assert bucket_names(3, "day") == ("00:00", "08:00", "16:00")
    assert parse_statistic("peak") is None and parse_statistic("p95") == 95.0
    for bad in ("p0", "p101", "median", "px"):
        with pytest.raises(WorkloadError, match="statistic"):
            parse_statistic(bad)
    wl = make_workload({"cpu_demand_mhz": _two_days()})
    with pytest.raises(WorkloadError, match="period"):
        reduce_buckets(wl, 4, period="month")
    with pytest.raises(WorkloadError, match="buckets"):
        reduce_buckets(wl, 0)
