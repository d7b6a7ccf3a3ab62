"""The pipeline end to end on a small generated workload: studies, persistence, reports, Dask."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_or_skip
from openpyxl import load_workbook
from typer.testing import CliRunner

from capplan.cli import app
from capplan.commands.report import write_outputs
from capplan.errors import CapplanError
from capplan.pipeline import StudyResult, run_study
from capplan.spec.study import load_study

DESCRIPTOR = """
[synthetic]
seed = 11
n_vms = 24
days = 1
step_s = 900

[synthetic.overrides]
os_family_probs = [0.3, 0.7, 0.0, 0.0]
"""

STUDY = """
name = "tiny"
description = "pipeline test"

[base]
workload = "workload.toml"
mode = "hw-assisted"
buckets = 6
headroom_frac = 0.2
time_limit_s = 5
workers = 1
hosts = [{ model = "hpe-dl380-gen11" }]

[axes]
mem_overcommit_ratio = [1.0, 1.5]
"""


@pytest.fixture
def study_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPPLAN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "workload.toml").write_text(DESCRIPTOR)
    path = tmp_path / "study.toml"
    path.write_text(STUDY)
    return path


def _figures(result: StudyResult) -> list[dict[str, object]]:
    return [r.summary for r in result.results]


def test_study_runs_saves_loads_and_reports(study_path: Path, tmp_path: Path) -> None:
    stages: list[str] = []
    result = run_study(load_study(study_path), progress=lambda label, frac: stages.append(label))
    assert [r.solve.status for r in result.results] == ["optimal", "optimal"]
    assert any(label.endswith(": emulate") for label in stages)
    table = result.comparison()
    assert table.height == 3
    assert table["scenario"][0] == "today (unconsolidated)"
    assert table["n_hosts"][1] >= table["n_hosts"][2]  # more over-commit never needs more hosts
    for r in result.results:
        assert r.series["cpu_util_frac"].shape[0] == r.placement.n_hosts
        assert r.summary.energy_kwh_per_year > 0
        assert 0 < r.summary.availability_frac_min <= 1
    best, reason = result.recommended()
    assert best is not None
    assert f"{best.summary.n_hosts} hosts instead of" in reason

    back = StudyResult.load(result.save(tmp_path / "saved"))
    assert back.comparison().equals(table)
    assert [r.solve for r in back.results] == [r.solve for r in result.results]
    assert [r.kpis for r in back.results] == [r.kpis for r in result.results]
    assert [r.economics for r in back.results] == [r.economics for r in result.results]
    assert [r.storage for r in back.results] == [r.storage for r in result.results]
    assert [r.workload for r in back.results] == [r.workload for r in result.results]
    assert _figures(back) == _figures(result)
    assert (back.results[0].series["power_w"] == result.results[0].series["power_w"]).all()

    outputs = write_outputs(result, tmp_path / "out" / "tiny.html")
    html = Path(outputs["report"]).read_text()
    for section in (
        "Executive summary",
        "Scenario comparison",
        "Why this many hosts",
        "Assumptions and sources",
        "Data quality",
    ):
        assert section in html
    assert "<script src=" not in html  # plotly.js is embedded: the file opens offline
    assert html.count("Plotly.newPlot") >= 4
    assert pl.read_csv(outputs["csv"][0]).height == 3
    assert set(load_workbook(outputs["xlsx"]).sheetnames) == {"comparison", "placements"}
    placements = pl.read_csv(outputs["csv"][1])
    assert placements.columns[0] == "scenario"
    assert set(placements["scenario"]) == {r.name for r in result.results}
    # The dashboard writes the same files in the same layout (its report inside the folder).
    from capplan.dashboard.services import write_outputs as dashboard_outputs

    cli_files = {
        p.relative_to(tmp_path / "out" / "tiny_files")
        for p in (tmp_path / "out" / "tiny_files").rglob("*")
    }
    folder = dashboard_outputs(result, tmp_path / "dash")
    dash_files = {p.relative_to(folder) for p in folder.rglob("*")} - {Path("report.html")}
    assert dash_files == cli_files
    assert StudyResult.load(folder / "results").comparison().equals(table)


@pytest.mark.slow
@pytest.mark.parametrize("trace", ["synthetic", "bitbrains"])
def test_local_dask_cluster_gives_the_same_results(study_path: Path, trace: str) -> None:
    """A generated descriptor is read whole by one task; a real Bitbrains month (10 VMs,
    two reader batches) is read in two parts on the two workers."""
    if trace == "bitbrains":
        month = shared_or_skip("data", "bitbrains-gwa-t-12", "rnd", "2013-7")
        text = study_path.read_text().replace('"workload.toml"', f'"{month}"')
        study_path.write_text(text)
    study = load_study(study_path)
    local = run_study(study)
    labels: list[str] = []
    distributed = run_study(study, workers=2, progress=lambda label, frac: labels.append(label))
    if trace == "bitbrains":
        assert "ingest 1 of 1: 2 of 2 parts on the grid" in labels
    else:
        assert any(label.startswith("ingest 1 of 1: reading whole") for label in labels)
    assert [r.name for r in distributed.results] == [r.name for r in local.results]
    assert [r.workload for r in distributed.results] == [r.workload for r in local.results]
    assert _figures(distributed) == _figures(local)
    assert distributed.comparison().equals(local.comparison())
    assert distributed.timings_s["ingest"] > 0


@pytest.mark.slow
def test_same_study_three_times_and_on_dask_gives_identical_results(study_path: Path) -> None:
    """Every figure but wall times: placements, solve reports, KPIs, economics, storage."""
    from capplan.bench.determinism import first_differences, study_fingerprint

    text = study_path.read_text().replace("time_limit_s = 5", "time_limit_s = 3")
    study_path.write_text(
        text.replace("mem_overcommit_ratio = [1.0, 1.5]", 'sizing = ["peak", "time-aware"]')
    )
    study = load_study(study_path)
    runs = [study_fingerprint(run_study(study)) for _ in range(3)]
    runs.append(study_fingerprint(run_study(study, workers=1)))
    for other in runs[1:]:
        assert other == runs[0], first_differences(runs[0], other)


@pytest.mark.slow
def test_dask_study_names_a_bad_trace_file_as_in_process(study_path: Path, tmp_path: Path) -> None:
    month = tmp_path / "2013-7"
    shutil.copytree(shared_or_skip("data", "bitbrains-gwa-t-12", "rnd", "2013-7"), month)
    bad = month / "82.csv"  # a VM of the second of the two parts
    lines = bad.read_text().split("\n")
    lines[99] = lines[99].replace(";\t", ";\tx", 1)
    bad.write_text("\n".join(lines))
    study_path.write_text(study_path.read_text().replace('"workload.toml"', f'"{month}"'))
    study = load_study(study_path)
    with pytest.raises(CapplanError) as in_process:
        run_study(study)
    with pytest.raises(CapplanError) as on_dask:
        run_study(study, workers=2)
    assert type(on_dask.value) is type(in_process.value)
    assert str(on_dask.value) == str(in_process.value)
    assert str(in_process.value).startswith(f"{bad}:100, column 'CPU cores'")


def test_report_command_json_and_formula_safe_tables(tmp_path: Path) -> None:
    usage = ["vm_id,timestamp,cpu_demand_mhz,mem_active_mib"]
    names = ['=HYPERLINK("http://evil")', "+cmd", "web-01", "@SUM(A1)"]
    for step in range(8):
        for i, name in enumerate(names):
            quoted = '"' + name.replace('"', '""') + '"'
            usage.append(f"{quoted},2024-01-01T{step:02d}:00:00Z,{500 + 100 * i},{2048}")
    (tmp_path / "usage.csv").write_text("\n".join(usage) + "\n")
    inventory = ["vm_id,n_vcpus,mem_provisioned_mib,os_family"]
    inventory += ['"' + n.replace('"', '""') + '",2,4096,linux' for n in names]
    (tmp_path / "inventory.csv").write_text("\n".join(inventory) + "\n")
    study = STUDY.replace('workload = "workload.toml"', 'workload = "usage.csv"')
    study = study.replace("[axes]\nmem_overcommit_ratio = [1.0, 1.5]", "")
    (tmp_path / "study.toml").write_text(study)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["report", str(tmp_path / "study.toml"), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_scenarios"] == 1 and Path(payload["report"]).exists()
    placement_csv = Path(payload["csv"][1]).read_text()
    assert "'=HYPERLINK" in placement_csv and "'+cmd" in placement_csv
    assert "\n=" not in placement_csv and "\n+" not in placement_csv


def test_bad_study_is_one_clean_error(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('name = "x"\n[base]\nworkload = "nope.csv"\nbuckets = 0\n')
    result = CliRunner().invoke(app, ["report", str(tmp_path / "s.toml")])
    assert result.exit_code == 2
    assert "base.buckets" in result.output and "Traceback" not in result.output


def test_design_knobs_reach_the_catalog() -> None:
    from capplan.pipeline import scenario_catalog
    from capplan.spec.catalog import load_catalog
    from capplan.spec.study import Scenario

    bundled = load_catalog()
    plain = scenario_catalog(Scenario(workload="x.csv"))
    assert plain.fabric == bundled.fabric and plain.san == bundled.san
    tuned = scenario_catalog(
        Scenario.model_validate(
            {
                "workload": "x.csv",
                "network": {"uplink_oversubscription_ratio": 6.0, "vpn_frac": 0.25},
                "storage": {"snapshot_reserve_frac": 0.2},
            }
        )
    )
    assert tuned.fabric.oversubscription_ratio == pytest.approx(6.0, rel=0.3)
    assert tuned.fabric.tor_uplinks < bundled.fabric.tor_uplinks
    assert tuned.fabric.vpn_frac == 0.25
    assert tuned.san.snapshot_overhead_frac == 0.2


@pytest.mark.slow
def test_dask_run_can_be_cancelled(study_path: Path) -> None:
    import threading

    from capplan.runcontrol import Cancelled

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_study(load_study(study_path), workers=1, cancel=cancel)


def test_a_scenario_with_backtest_days_carries_its_backtest(tmp_path: Path) -> None:
    """``backtest_days``: the scenario's options planned on the first days, replayed on the
    last; saved with the result and drawn on the dashboard's consolidation tab."""
    import numpy as np
    from helpers import make_workload

    from capplan.dashboard.pages import results as pages
    from capplan.pipeline import ScenarioResult, run_scenario
    from capplan.spec.study import HostOffer, Scenario
    from capplan.viz import results as figures

    n = 3 * 24
    cpu = np.full((2, n), 5000.0)
    cpu[1, 48:] = 10_000.0  # VM b doubles on the last day
    wl = make_workload(
        {"cpu_demand_mhz": cpu, "mem_active_mib": np.full((2, n), 1000.0)},
        inventory={"n_vcpus": [2, 2], "mem_provisioned_mib": [2048.0, 2048.0]},
        vm_ids=["a", "b"],
        step_s=3600,
    )
    scenario = Scenario(
        workload="in-memory",
        hosts=(HostOffer(model="ibm-x3250-m3-x3470"),),
        headroom_frac=0.0,
        ha_hosts=0,
        sizing="peak",
        objective="hosts",
        time_limit_s=5,
        backtest_days=1,
    )
    result = run_scenario(scenario, workload=wl)
    (window,) = result.backtest["windows"]
    assert result.backtest["train_days"] == 2 and result.backtest["test_days"] == 1
    assert window["experienced"]["overloaded_host_steps"] == 24  # the doubled day overloads
    assert window["promised"]["overloaded_host_steps"] == 0
    assert "backtest" in result.timings_s
    back = ScenarioResult.load(result.save(tmp_path / "s"))
    assert back.backtest == result.backtest
    page = pages.consolidation(back, None, None, figures.backtest(back))
    assert "backtest-chart" in str(page) and "SLA violation time (SLATAH)" in str(page)
    with pytest.raises(CapplanError, match="leaves no training days"):
        run_scenario(scenario.model_copy(update={"backtest_days": 3}), workload=wl)


def test_progress_moves_while_the_solver_runs() -> None:
    """The optimize stage reports the solver's phases, not one line at its start."""
    import numpy as np
    from helpers import make_workload

    from capplan.pipeline import STAGES, run_scenario
    from capplan.spec.study import HostOffer, Scenario

    wl = make_workload(
        {"cpu_demand_mhz": np.full((30, 24), 700.0), "mem_active_mib": np.full((30, 24), 900.0)},
        inventory={"n_vcpus": [2] * 30, "mem_provisioned_mib": [2048.0] * 30},
    )
    seen: list[tuple[str, float]] = []
    scenario = Scenario(
        workload="in-memory",
        hosts=(HostOffer(model="ibm-x3250-m3-x3470"),),
        time_limit_s=5,
        ha_hosts=0,
    )
    run_scenario(scenario, workload=wl, progress=lambda stage, frac: seen.append((stage, frac)))
    solver = [(s, f) for s, f in seen if s.startswith("optimize:")]
    assert len(solver) >= 2, seen
    assert all(1 / len(STAGES) <= f < 2 / len(STAGES) for _, f in solver)
    assert [f for _, f in seen] == sorted(f for _, f in seen)  # never goes back
    assert any("bounds" in s or "improve" in s for s, _ in solver)


def test_a_storage_plan_its_replay_rejects_is_redone_at_a_higher_quantile() -> None:
    """Spiky volumes: planned at their p95 (5 IOPS each) they all fit the cheapest pool, but
    the replay of that plan, with each VM's I/O on its pool, breaches the pool's latency
    objective; the plan is redone at higher quantiles until the replay passes."""
    import numpy as np
    from helpers import make_workload

    from capplan.pipeline import run_scenario
    from capplan.spec.study import HostOffer, Scenario

    n_vms, n_steps = 20, 288
    reads = np.full((n_vms, n_steps), 5.0)
    reads[:, [100, 101, 102]] = 2000.0  # 1 % of the steps, all VMs at once
    wl = make_workload(
        {
            "cpu_demand_mhz": np.full((n_vms, n_steps), 500.0),
            "mem_active_mib": np.full((n_vms, n_steps), 512.0),
            "disk_read_iops": reads,
            "disk_write_iops": reads * 0.25,
            "disk_read_mib_s": reads * 0.004,
            "disk_write_mib_s": reads * 0.001,
        },
        inventory={
            "n_vcpus": [2] * n_vms,
            "mem_provisioned_mib": [2048.0] * n_vms,
            "disk_provisioned_gib": [400.0] * n_vms,
            "disk_used_gib": [200.0] * n_vms,
            "os_family": ["linux"] * n_vms,
        },
    )
    scenario = Scenario(
        workload="in-memory",
        hosts=(HostOffer(model="hpe-dl380-gen11"),),
        time_limit_s=5,
        ha_hosts=0,
    )
    result = run_scenario(scenario, workload=wl)
    checks = result.storage.replay_check
    assert checks[0]["io_quantile"] == 0.95 and checks[0]["breach_steps_by_pool"]
    assert checks[-1]["breach_steps_by_pool"] == {}
    assert result.storage.io_quantile == checks[-1]["io_quantile"] > 0.95
    # The KPIs are the accepted plan's replay: one entry per pool holding a VM's disk (and
    # the swap tier, which holds the VMs' swap files), none breaching its objective.
    pools = {p.name for p in result.storage.pools if p.provisioned_gib > 0}
    assert result.kpis is not None
    tiers = result.kpis.storage
    assert set(tiers) - pools <= {"ssd"} and pools <= set(tiers)
    assert all(t.slo_breach_steps == 0 for t in tiers.values())


def test_a_storage_plan_no_quantile_can_hold_is_kept_and_flagged() -> None:
    """One step of a billion MiB/s: the p95 and p99 plans break in the replay, and at the
    0.999 quantile no pool can take the volume; the last plan found is kept, flagged."""
    import numpy as np
    from helpers import make_workload

    from capplan.pipeline import run_scenario
    from capplan.spec.study import HostOffer, Scenario

    n_steps = 288
    reads = np.full((1, n_steps), 5.0)
    mib_s = np.full((1, n_steps), 0.02)
    mib_s[0, 100] = 1e9
    wl = make_workload(
        {
            "cpu_demand_mhz": np.full((1, n_steps), 500.0),
            "mem_active_mib": np.full((1, n_steps), 512.0),
            "disk_read_iops": reads,
            "disk_write_iops": reads * 0.0,
            "disk_read_mib_s": mib_s,
            "disk_write_mib_s": reads * 0.0,
        },
        inventory={
            "n_vcpus": [2],
            "mem_provisioned_mib": [2048.0],
            "disk_provisioned_gib": [400.0],
            "disk_used_gib": [200.0],
            "os_family": ["linux"],
        },
    )
    scenario = Scenario(
        workload="in-memory",
        hosts=(HostOffer(model="hpe-dl380-gen11"),),
        time_limit_s=5,
        ha_hosts=0,
    )
    storage = run_scenario(scenario, workload=wl).storage
    checks = storage.replay_check
    assert [c["io_quantile"] for c in checks] == [0.95, 0.99, 0.999]
    assert checks[0]["breach_steps_by_pool"] and checks[1]["breach_steps_by_pool"]
    assert "no_plan" in checks[2]
    assert storage.replay_accepted is False and storage.io_quantile == 0.99
    assert storage.status in ("optimal", "feasible")
