"""Backtests: plan on the first days, replay on the next (``capplan backtest``).

A hand-built workload whose second VM doubles its CPU demand in the test day must show the
overload, and the figures computed by hand; windows and errors are checked against counts
done by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from capplan.demand.workload import Workload
from capplan.errors import CapplanError
from capplan.forecast.backtest import backtest, plan_windows, slice_steps
from capplan.forecast.checks import ForecastError
from capplan.optimize.consolidate import ConsolidateOptions, HostOffer
from capplan.spec.catalog import Catalog, load_catalog
from tests.helpers import make_workload

HOST = "ibm-x3250-m3-x3470"  # 12,107.424 MHz normalised, 8 GiB: two 5,000 MHz VMs fit one host
STEP_S = 3600
STEPS_PER_DAY = 24
TRAIN_CPU_MHZ = 5000.0


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(None)


def doubling_workload(n_days: int = 3, test_from_day: int = 2) -> Workload:
    """Two VMs at 5,000 MHz and 1,000 MiB; VM ``b`` runs 10,000 MHz from ``test_from_day``."""
    n = n_days * STEPS_PER_DAY
    cpu = np.full((2, n), TRAIN_CPU_MHZ)
    cpu[1, test_from_day * STEPS_PER_DAY :] = 2 * TRAIN_CPU_MHZ
    return make_workload(
        {"cpu_demand_mhz": cpu, "mem_active_mib": np.full((2, n), 1000.0)},
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [2048.0, 2048.0]},
        vm_ids=["a", "b"],
        step_s=STEP_S,
    )


def options(**kw: object) -> ConsolidateOptions:
    base: dict[str, object] = {
        "hosts": (HostOffer(HOST),),
        "headroom_frac": 0.0,
        "ha_hosts": 0,
        "sizing": "peak",
        "objective": "hosts",
        "time_limit_s": 5.0,
    }
    return ConsolidateOptions(**(base | kw))  # type: ignore[arg-type]


def test_doubled_vm_overloads_the_test_day_and_the_figures_match_a_hand_count(
    catalog: Catalog,
) -> None:
    result = backtest(doubling_workload(), catalog, options(), train_days=2, test_days=1)
    (w,) = result.windows
    assert w.status == "optimal" and w.n_hosts == 1
    assert (w.span.train_start, w.span.test_start, w.span.test_stop) == (0, 48, 72)
    # Promised: the training days fit (10,000 MHz × overhead < 12,107 MHz).
    assert w.promised["overloaded_host_steps"] == 0
    assert w.promised["slatah_frac"] == 0.0
    assert w.promised["pdm_frac"] == 0.0
    # Experienced: 15,000 MHz × overhead on one host, every one of the 24 test steps.
    assert w.experienced["overloaded_host_steps"] == STEPS_PER_DAY
    assert w.experienced["slatah_frac"] == 1.0
    assert w.experienced["pdm_frac"] > 0.0
    assert w.experienced["paging_mib"] == 0.0  # 2 GiB of 8 GiB: no memory pressure
    # Headroom figures by hand: sized per VM = demand × the mode's CPU multiplier, rounded
    # up to whole MHz in the plan; planned capacity = floor(12,107.424 × (1 − 0)).
    m = float(catalog.mode("hw-assisted").cpu_multiplier(0.07))
    cap = math.floor(catalog.hosts[HOST].cpu_capacity_mhz)
    planned = 2 * math.ceil(TRAIN_CPU_MHZ * m)
    test_peak = 3 * TRAIN_CPU_MHZ * m
    cpu = w.resources["cpu"]
    assert cpu["planned_peak_pct"] == pytest.approx(100 * planned / cap, rel=1e-6)
    assert cpu["train_peak_pct"] == pytest.approx(100 * 2 * TRAIN_CPU_MHZ * m / cap, rel=1e-5)
    assert cpu["test_peak_pct"] == pytest.approx(100 * test_peak / cap, rel=1e-5)
    assert cpu["test_peak_pct"] > 100.0  # ≈ 126.8 %: the plan was a quarter short
    assert cpu["headroom_needed_frac"] == pytest.approx((test_peak - planned) / cap, rel=1e-5)
    assert w.resources["mem"]["headroom_needed_frac"] == 0.0  # memory did not grow
    # JSON-ready.
    text = json.dumps(result.to_dict())
    assert '"n_windows": 1' in text


def test_unchanged_demand_keeps_its_promise(catalog: Catalog) -> None:
    # Same workload, but the doubling starts after the test day: nothing goes wrong.
    w = backtest(
        doubling_workload(n_days=4, test_from_day=3),
        catalog,
        options(),
        train_days=2,
        test_days=1,
    ).windows[0]
    assert w.experienced["overloaded_host_steps"] == 0
    assert w.resources["cpu"]["headroom_needed_frac"] == 0.0


def test_train_plus_test_beyond_the_trace_is_refused_with_its_span(catalog: Catalog) -> None:
    with pytest.raises(ForecastError) as err:
        backtest(doubling_workload(), catalog, options(), train_days=2, test_days=2)
    text = str(err.value)
    assert "--train-days 2 + --test-days 2 = 4 days is longer than the trace" in text
    assert "3.00 days (72 steps of 3600 s from 2024-01-01T00:00:00+00:00)" in text
    with pytest.raises(ForecastError, match="--test-days: must be a number of days > 0"):
        plan_windows(72, STEP_S, 1, 0)
    with pytest.raises(ForecastError, match=r"--train-days: 0\.01 days is shorter than one step"):
        plan_windows(72, STEP_S, 0.01, 1)


def test_rolling_window_counts_by_hand() -> None:
    day = STEPS_PER_DAY
    # 6 days, train 2, test 1, step 1: test windows end on days 3, 4, 5, 6 → 4 windows.
    spans = plan_windows(6 * day, STEP_S, 2, 1, rolling=True)
    assert [(s.train_start, s.test_start, s.test_stop) for s in spans] == [
        (0, 2 * day, 3 * day),
        (day, 3 * day, 4 * day),
        (2 * day, 4 * day, 5 * day),
        (3 * day, 5 * day, 6 * day),
    ]
    # 6 days, train 2, test 1.5: ends at 3.5 and 5 days; the next (6.5) is past the end.
    assert len(plan_windows(6 * day, STEP_S, 2, 1.5, rolling=True)) == 2
    # 30 days at 300 s, train 14, test 4: (30 − 14 − 4) // 4 + 1 = 4.
    assert len(plan_windows(8640, 300, 14, 4, rolling=True)) == 4
    # Without --rolling: one window.
    assert len(plan_windows(6 * day, STEP_S, 2, 1)) == 1


def test_rolling_backtest_finds_the_window_where_demand_doubles(catalog: Catalog) -> None:
    # VM b doubles from day 4 on: windows testing days 3, 4, 5 → only the last two overload.
    result = backtest(
        doubling_workload(n_days=5, test_from_day=3),
        catalog,
        options(),
        train_days=2,
        test_days=1,
        rolling=True,
    )
    assert len(result.windows) == 3
    over = [w.experienced["overloaded_host_steps"] for w in result.windows]
    # Window 2 trains on days 2–3, which already hold the doubled demand: 2 hosts, no overload.
    assert over == [0, STEPS_PER_DAY, 0]
    assert [w.n_hosts for w in result.windows] == [1, 1, 2]


def test_slice_steps_keeps_every_vm_and_shifts_the_start() -> None:
    w = doubling_workload()
    part = slice_steps(w, 24, 48)
    assert part.n_vms == 2 and part.n_steps == 24
    assert (part.start - w.start).total_seconds() == 24 * STEP_S
    assert float(part.mean["cpu_demand_mhz"][1, 0]) == TRAIN_CPU_MHZ
    with pytest.raises(ForecastError, match="outside the workload's 72 steps"):
        slice_steps(w, 48, 80)


def test_new_vms_are_planned_from_configuration_or_skipped(catalog: Catalog) -> None:
    w = doubling_workload()
    w.observed[1, :48] = False  # VM b has no sample in the training days
    w.mean["cpu_demand_mhz"][1, :48] = 0.0
    w.mean["mem_active_mib"][1, :48] = 0.0
    with pytest.raises(CapplanError, match="no CPU usage and no cpu_capacity_mhz"):
        backtest(w, catalog, options(), train_days=2, test_days=1)
    sized = replace(w, inventory=w.inventory.with_columns(pl.lit(6000.0).alias("cpu_capacity_mhz")))
    configured = backtest(sized, catalog, options(), train_days=2, test_days=1).windows[0]
    # b planned at its configured 6,000 MHz: one host, which the doubled b then overloads.
    assert configured.new_vms == ("b",) and configured.n_hosts == 1
    assert configured.experienced["overloaded_host_steps"] == STEPS_PER_DAY
    skipped = backtest(w, catalog, options(), train_days=2, test_days=1, new_vms="skip")
    (s,) = skipped.windows
    assert s.new_vms == ("b",) and s.experienced["overloaded_host_steps"] == 0
    with pytest.raises(ForecastError, match="--new-vms"):
        backtest(w, catalog, options(), train_days=2, test_days=1, new_vms="drop")


def test_cli_names_the_options_when_the_window_is_too_long() -> None:
    from capplan.cli import load_all

    app = load_all()
    root = Path(__file__).resolve().parents[3] / "shared" / "data"
    folder = root / "bitbrains-gwa-t-12" / "rnd" / "2013-8"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the Bitbrains sample of ../shared/data)")
    runner = CliRunner()
    bad = runner.invoke(
        app, ["backtest", "--workload", str(folder), "--train-days", "25", "--test-days", "7"]
    )
    assert bad.exit_code == 2
    assert "--train-days 25 + --test-days 7" in bad.output and "30.00 days" in bad.output
    ok = runner.invoke(
        app,
        [
            "backtest",
            "--workload",
            str(folder),
            "--train-days",
            "20",
            "--test-days",
            "5",
            "--rolling",
            "--objective",
            "hosts",
            "--time-limit",
            "5",
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.output)
    assert payload["n_windows"] == 2  # (30 − 20 − 5) // 5 + 1
    assert {"promised", "experienced", "resources"} <= set(payload["windows"][0])


def test_the_report_and_the_chart_show_promised_vs_experienced(
    catalog: Catalog, tmp_path: Path
) -> None:
    from capplan.reporting.backtest import write_backtest_report
    from capplan.viz.figures import backtest_chart

    data = backtest(doubling_workload(), catalog, options(), train_days=2, test_days=1).to_dict()
    figure = backtest_chart(data)
    bars = {t.name: list(t.y) for t in figure.data}
    assert set(bars) == {"plan sized", "promised (training days)", "experienced (test days)"}
    cpu = data["windows"][0]["resources"]["cpu"]
    assert bars["experienced (test days)"][0] == pytest.approx(cpu["test_peak_pct"])
    assert bars["experienced (test days)"][0] > 100  # the overload shows above the line
    out = write_backtest_report(data, tmp_path / "bt.html")
    html = out.read_text(encoding="utf-8")
    assert "Promised vs experienced" in html and "plotly" in html
    assert '<td>SLA violation time (SLATAH)</td><td>0.00%</td><td class="bad">100.00%</td>' in html
    assert f"{cpu['test_peak_pct']:.1f} %" in html
    # Rolling: one line per resource and kind, one point per window.
    rolling = backtest(
        doubling_workload(n_days=5, test_from_day=4),
        catalog,
        options(),
        train_days=2,
        test_days=1,
        rolling=True,
    ).to_dict()
    lines = backtest_chart(rolling).data
    assert {t.name for t in lines} >= {"cpu promised", "cpu experienced"}
    assert all(len(t.x) == rolling["n_windows"] == 3 for t in lines)


def test_backtest_command_writes_the_report(tmp_path: Path) -> None:
    from capplan.cli import app

    wl = doubling_workload()
    lines = ["vm_id,timestamp,cpu_demand_mhz,mem_active_mib"]
    for i, vm in enumerate(wl.vm_ids.tolist()):
        for k, t in enumerate(wl.times().tolist()):
            cpu = wl.mean["cpu_demand_mhz"][i, k]
            lines.append(f"{vm},{t.isoformat()}Z,{cpu},1000")
    usage = tmp_path / "usage.csv"
    usage.write_text("\n".join(lines) + "\n", encoding="utf-8")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("vm_id,n_vcpus,mem_provisioned_mib\na,2,2048\nb,2,2048\n")
    out = tmp_path / "report.html"
    run = CliRunner().invoke(
        app,
        [
            "backtest",
            "--workload",
            str(usage),
            "--workload",
            str(inventory),
            "--train-days",
            "2",
            "--test-days",
            "1",
            "--hosts",
            HOST,
            "--headroom",
            "0",
            "--ha",
            "0",
            "--time-limit",
            "5",
            "--quiet",
            "--report",
            str(out),
        ],
    )
    assert run.exit_code == 0, run.output
    assert out.is_file() and "Promised vs experienced" in out.read_text(encoding="utf-8")
