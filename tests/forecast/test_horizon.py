"""Planning for a horizon: growth factors, run-out days and purchases against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import make_workload

from capplan.forecast.checks import ForecastError
from capplan.forecast.horizon import (
    MAX_EXTRAPOLATION_RATIO,
    Growth,
    fit_growth,
    parse_growth,
    purchase_schedule,
    run_out,
)


def test_parse_growth_takes_auto_fractions_and_percentages() -> None:
    assert parse_growth("auto") == "auto"
    assert parse_growth(" AUTO ") == "auto"
    assert parse_growth(0.2) == 0.2
    assert parse_growth("0.2") == 0.2
    assert parse_growth("20%") == pytest.approx(0.2)
    assert parse_growth("-10%") == pytest.approx(-0.1)
    for bad in ("fast", "-1", "-150%", float("nan"), "inf"):
        with pytest.raises(ForecastError, match="growth"):
            parse_growth(bad)


def _fixed(rate: float, horizon_days: float = 365.0) -> Growth:
    return Growth(horizon_days, 0.9, rate, {})


def test_fixed_growth_sizes_the_horizon_and_runs_out_on_the_hand_worked_day() -> None:
    growth = _fixed(0.2)
    # One VM, peak bucket 100 units, capacity 150: 100 · 1.2^(t/365) > 150 first on day
    # 365 · ln 1.5 / ln 1.2 = 811.7 → day 812. The horizon factor is 1.2 exactly.
    assert growth.sizing_factor("cpu", 1)[0] == pytest.approx(1.2)
    assert growth.sizing_factor("vcpus", 1)[0] == 1.0  # counts do not grow
    base = {"cpu": np.array([[40.0, 100.0, 70.0]])}
    day = math.ceil(365 * math.log(1.5) / math.log(1.2))
    zone = np.zeros(1, dtype=np.int64)
    (row,) = run_out(base, {"cpu": "MHz"}, zone, ("all",), {(0, "cpu"): 150.0}, growth, 1200)
    assert row.expected_days == row.earliest_days == row.latest_days == day == 812
    assert row.demand_today == pytest.approx(100.0)
    assert row.demand_at_horizon == pytest.approx(120.0)
    # Purchases of 50-unit hosts: the first when demand passes 150 (day 812), the second
    # when it passes 200: 365 · ln 2 / ln 1.2 = 1387.6 → day 1388.
    steps = purchase_schedule(
        base, zone, ("all",), {(0, "cpu"): 150.0}, {"cpu": 50.0}, "m", growth, 1500
    )
    assert [(s["day"], s["add_hosts_total"]) for s in steps] == [(812, 1), (1388, 2)]
    assert all(s["binding"] == "cpu" and s["host_model"] == "m" for s in steps)


def test_run_out_is_none_within_the_window_when_demand_stays_below() -> None:
    zone = np.zeros(2, dtype=np.int64)
    base = {"mem": np.array([[10.0], [20.0]])}
    (row,) = run_out(base, {"mem": "MiB"}, zone, ("z",), {(0, "mem"): 100.0}, _fixed(0.1), 365)
    assert row.expected_days is None and row.earliest_days is None
    assert row.demand_today == pytest.approx(30.0)


def test_zones_run_out_separately() -> None:
    zone = np.array([0, 1], dtype=np.int64)
    base = {"cpu": np.array([[90.0], [10.0]])}
    capacity = {(0, "cpu"): 100.0, (1, "cpu"): 100.0}
    rows = run_out(base, {"cpu": "MHz"}, zone, ("a", "b"), capacity, _fixed(0.5), 2000)
    by_zone = {r.zone: r for r in rows}
    # 90 · 1.5^(t/365) > 100 → 365 · ln(10/9) / ln 1.5 = 94.8 → day 95; zone b much later.
    assert by_zone["a"].expected_days == 95
    assert by_zone["b"].expected_days is None


def _trending(days: int, slope_per_day: float, level: float, n_vms: int = 4) -> object:
    steps_per_day = 24
    t = np.arange(days * steps_per_day) / steps_per_day
    daily = 1.0 + 0.3 * np.sin(2 * np.pi * t)
    rng = np.random.default_rng(1)
    rows = [
        (level + slope_per_day * t) * daily * (1 + 0.01 * rng.standard_normal(len(t)))
        for _ in range(n_vms)
    ]
    return make_workload({"cpu_demand_mhz": np.array(rows)}, step_s=3600)


def test_auto_growth_recovers_a_known_trend_relative_to_the_end_of_the_history() -> None:
    # 28 days rising 2 MHz a day from 100 MHz: the trend line ends near 156 MHz, so the
    # relative rate is about 2 / 156 = 1.28 % a day.
    wl = _trending(28, 2.0, 100.0)
    growth = fit_growth(wl, ("cpu", "mem"), 30, "auto", level=0.9)
    expected, lower, upper, sized = growth.rates_per_day["cpu"]
    assert expected == pytest.approx(np.full(4, 2.0 / 156.0), rel=0.05)
    assert (lower < expected).all() and (expected < upper).all()
    assert (sized == upper).all()  # a significant trend is sized at its upper bound
    assert "mem" not in growth.rates_per_day  # no memory usage in this workload
    factor = growth.sizing_factor("cpu", 4)
    assert factor == pytest.approx(1 + 30 * upper)


def test_auto_growth_does_not_size_a_trend_the_history_does_not_support() -> None:
    wl = _trending(14, 0.0, 100.0)
    growth = fit_growth(wl, ("cpu",), 14, "auto", level=0.9)
    expected, _, upper, sized = growth.rates_per_day["cpu"]
    assert (expected == 0).all() and (upper > 0).all() and (sized == 0).all()
    assert (growth.sizing_factor("cpu", 4) == 1.0).all()
    assert any("none significant" in n for n in growth.notes)


def test_auto_growth_refuses_to_extrapolate_far_beyond_the_history() -> None:
    wl = _trending(7, 1.0, 100.0)
    limit = MAX_EXTRAPOLATION_RATIO * 7
    fit_growth(wl, ("cpu",), limit, "auto")
    with pytest.raises(ForecastError, match=r"7\.0 days of history allow a horizon of 21 days"):
        fit_growth(wl, ("cpu",), limit + 1, "auto")


def test_fit_growth_checks_its_arguments() -> None:
    wl = _trending(7, 1.0, 100.0)
    with pytest.raises(ForecastError, match="horizon_days"):
        fit_growth(wl, ("cpu",), 0, 0.1)
    with pytest.raises(ForecastError, match="confidence level"):
        fit_growth(wl, ("cpu",), 10, 0.1, level=0.4)


def test_new_vms_add_the_zone_average_linearly_on_top_of_growth() -> None:
    # 4 VMs in two zones, 2 new VMs a month: a = 2 / (30.4375 · 4) per day for every VM, so
    # each zone's demand grows by the same share (its N_z = 1 new VM of its average size).
    wl = _trending(7, 0.0, 100.0)
    zones = np.array([0, 0, 1, 1])
    growth = fit_growth(wl, ("cpu",), 365, 0.0, group_of_vm=zones, new_vms_per_month=2)
    a = 2 / (30.4375 * 4)
    assert growth.arrivals_per_day == pytest.approx(np.full(4, a))
    assert growth.sizing_factor("cpu", 4) == pytest.approx(np.full(4, 1 + 365 * a))
    assert growth.sizing_factor("vcpus", 4) == pytest.approx(np.ones(4))
    # Zone 0: two VMs of peak 50 and 30 (sum 80) against 100: 80 (1 + a t) > 100 first on
    # day ceil(0.25 / a) = ceil(15.22) = 16.
    base = {"cpu": np.array([[50.0], [30.0], [10.0], [10.0]])}
    rows = run_out(base, {"cpu": "MHz"}, zones, ("a", "b"), {(0, "cpu"): 100.0}, growth, 400)
    assert rows[0].expected_days == math.ceil(0.25 / a) == 16
    with pytest.raises(ForecastError, match="new_vms_per_month"):
        fit_growth(wl, ("cpu",), 10, 0.0, new_vms_per_month=-1)
