"""``capplan bench cloudsim --against``: CloudSim's committed figures and the comparison with them.

The fixture tests need nothing but ``tests/fixtures/cloudsim``; the comparison tests read the
PlanetLab day 20110303 from ``../shared`` (skipped when it is absent). The engine's match with
every policy is asserted in ``tests/dynamic/test_cloudsim_match.py``; these tests check the
harness itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_or_skip
from typer.testing import CliRunner

from capplan.bench.cloudsim_diff import (
    TARGETS,
    RoundLog,
    RoundTrace,
    available_round_logs,
    default_fixture_dir,
    diff_alloc,
    diff_moves,
    diff_rounds,
    read_round_log,
    read_summary,
    relative_error,
    round_log_path,
    run_against,
    run_policy_day,
    select_rows,
)
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.fleet import VmSet
from capplan.errors import CapplanError

FIXTURES = default_fixture_dir()
DAY = "20110303"
#: The 22 policies CloudSim ran on every one of the first four days.
POLICIES_0303 = {
    "npa",
    "dvfs",
    *(f"{d}-{s}" for d in ("thr", "iqr", "mad", "lr", "lrr") for s in ("mmt", "mu", "rs", "mc")),
}
ROUND_POLICIES = ("thr-mmt", "iqr-mmt", "mad-mmt", "lr-mmt")


# ---------------------------------------------------------------------------- the fixture files
def test_summary_parses_with_every_policy_of_20110303() -> None:
    rows = read_summary(FIXTURES / "summary_sorted.csv")
    assert len(rows) == 220  # all 22 policies on all 10 days
    assert {(r.day, r.policy) for r in rows} == {
        (d, p) for d in {r.day for r in rows} for p in POLICIES_0303
    }
    day = {r.policy: r for r in rows if r.day == DAY}
    assert set(day) == POLICIES_0303
    assert day["npa"].energy_kwh == pytest.approx(2410.80280, abs=1e-5)
    assert day["dvfs"].energy_kwh == pytest.approx(802.75449, abs=1e-5)
    # npa: every host at full power from 0.1 s to the last round at 86,100.1 s
    assert day["npa"].energy_kwh == pytest.approx(800 * (117 + 135) / 2 * 86_100.1 / 3.6e6)
    for row in rows:
        assert (row.n_hosts, row.n_vms > 0) == (800, True)
        assert 0 <= row.slatah_frac <= 1 and 0 <= row.pdm_frac <= 1
        assert row.slav == pytest.approx(row.slatah_frac * row.pdm_frac, rel=1e-12, abs=1e-300)
        if row.policy in ("npa", "dvfs"):
            assert row.n_migrations == 0
        else:
            assert 0 < row.energy_kwh < day["dvfs"].energy_kwh and row.n_migrations > 1000
    # LR and LRR coincide except for the random selection
    for sel in ("mmt", "mu", "mc"):
        assert day[f"lr-{sel}"].energy_kwh == day[f"lrr-{sel}"].energy_kwh


@pytest.mark.parametrize("policy", ROUND_POLICIES)
def test_round_logs_parse(policy: str) -> None:
    assert (DAY, policy) in available_round_logs(FIXTURES)
    log = read_round_log(round_log_path(FIXTURES, DAY, policy), 1052)
    assert log.moves_complete
    assert ((log.alloc >= 0) & (log.alloc < 800)).all()
    counts = np.bincount(log.alloc, minlength=800)
    assert np.bincount(counts).tolist() == [0, 548, 252]  # every host used, 1 or 2 VMs each
    np.testing.assert_allclose(log.times_s, 300.1 + 300.0 * np.arange(287))
    assert log.rounds["energy_ws"][0] == 0.0
    assert (np.diff(log.rounds["energy_ws"]) > 0).all()
    assert log.rounds["vms_alive"][0] == 994
    assert (np.diff(log.rounds["vms_alive"]) <= 0).all()
    per_round = [len(log.moves.get(float(t), [])) for t in log.times_s]
    assert per_round == log.rounds["migrations"].tolist()
    assert log.rounds["active_hosts"][0] == 775


def test_summary_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CapplanError, match="not found"):
        read_summary(tmp_path / "summary_sorted.csv")
    bad = tmp_path / "summary_sorted.csv"
    bad.write_text("day,policy\n20110303,npa\n", encoding="utf-8")
    with pytest.raises(CapplanError, match="lacks column"):
        read_summary(bad)


def test_select_rows_rejects_unknown_filters() -> None:
    rows = read_summary(FIXTURES / "summary_sorted.csv")
    assert {r.policy for r in select_rows(rows, [DAY], ["npa", "dvfs"])} == {"npa", "dvfs"}
    with pytest.raises(CapplanError, match="available: 20110303"):
        select_rows(rows, ["19990101"], None)
    with pytest.raises(CapplanError, match="policy"):
        select_rows(rows, None, ["thr-xyz"])


# ---------------------------------------------------------------------------- the differential
def test_relative_error() -> None:
    assert relative_error(101.0, 100.0) == pytest.approx(0.01)
    assert relative_error(0.0, 0.0) == 0.0
    assert math.isinf(relative_error(1.0, 0.0))


def test_diffs_find_the_first_difference() -> None:
    rounds = {
        "active_hosts": np.array([5, 4, 3]),
        "hosts_with_vms": np.array([5, 4, 3]),
        "vms_alive": np.array([9, 9, 8]),
        "migrations": np.array([1, 1, 0]),
        "energy_ws": np.array([0.0, 10.0, 20.0]),
    }
    log = RoundLog(
        alloc=np.array([0, 1, 1]),
        times_s=np.array([300.1, 600.1, 900.1]),
        rounds=rounds,
        moves={300.1: [(0, 0, 1)], 600.1: [(2, 1, 3)]},
        moves_complete=True,
    )
    trace = RoundTrace(
        initial_host=np.array([0, 1, 2]),
        times_s=[300.1, 600.1, 900.1],
        active_hosts=[5, 4, 2],
        hosts_with_vms=[5, 4, 3],
        vms_alive=[9, 9, 8],
        energy_ws=[0.0, 10.0, 21.0],
        moves=[[(0, 0, 1)], [(2, 1, 4)], []],
    )
    alloc = diff_alloc(log.alloc, trace.initial_host)
    assert alloc["n_vms_elsewhere"] == 1
    assert alloc["first_difference"] == {"vm": 2, "cloudsim_host": 1, "capplan_host": 2}
    found = diff_rounds(log, trace)
    assert found["round_times_match"]
    assert found["first_round_that_differs"]["round"] == 3
    per_field = found["first_difference_per_field"]
    assert per_field["active_hosts"]["round"] == 3 and per_field["migrations"] is None
    moves = diff_moves(log, trace)
    first = moves["first_difference"]
    assert (first["round"], first["index"], first["cloudsim"], first["capplan"]) == (
        2,
        0,
        [2, 1, 3],
        [2, 1, 4],
    )


# ---------------------------------------------------------------------------- against CloudSim
@pytest.fixture(scope="module")
def planetlab() -> Path:
    return shared_or_skip("data", "planetlab")


@pytest.fixture(scope="module")
def day_vms(planetlab: Path) -> VmSet:
    from capplan.demand import load_workload

    return cloudsim_vms(load_workload(f"planetlab:{planetlab / DAY}"))


@pytest.mark.shared_data
def test_baselines_match_cloudsim(planetlab: Path) -> None:
    figures = run_against(FIXTURES, planetlab, days=[DAY], policies=["npa", "dvfs"])
    assert figures["n_rows"] == 2 and figures["round_diffs"] == []
    for row in figures["rows"]:
        assert row["within_target"], row
        energy = row["metrics"]["energy_kwh"]
        assert abs(energy["rel_error"]) <= TARGETS["energy_kwh"]
        assert row["metrics"]["n_migrations"]["capplan"] == 0
        assert row["metrics"]["n_host_shutdowns"]["rel_error"] == 0.0
    assert figures["n_within_target"] == 2


@pytest.mark.shared_data
def test_table_and_round_diff_for_one_policy_day(planetlab: Path) -> None:
    figures = run_against(FIXTURES, planetlab, days=[DAY], policies=["mad-mmt"])
    (row,) = figures["rows"]
    assert (row["day"], row["policy"], row["n_vms"]) == (DAY, "mad-mmt", 1052)
    for metric in ("energy_kwh", "n_migrations", "n_host_shutdowns", "slatah_frac", "pdm_frac"):
        values = row["metrics"][metric]
        assert values["cloudsim"] > 0 and values["capplan"] > 0
        assert math.isfinite(values["rel_error"])
    (diff,) = figures["round_diffs"]
    assert diff["rounds"]["round_times_match"]
    assert diff["rounds"]["n_rounds"] == {"cloudsim": 287, "capplan": 287}
    assert diff["alloc"]["n_vms"] == 1052
    assert diff["migrations"]["complete_log"]
    assert diff["capplan_energy_kwh"] == pytest.approx(row["metrics"]["energy_kwh"]["capplan"])


@pytest.mark.shared_data
def test_recording_changes_no_result(day_vms: VmSet) -> None:
    fleet = cloudsim_fleet()
    plain = run_policy_day(day_vms, fleet, "thr-mmt").summary()
    trace = RoundTrace()
    traced = run_policy_day(day_vms, fleet, "thr-mmt", trace=trace).summary()
    plain.pop("wall_s")
    traced.pop("wall_s")
    assert traced == plain
    assert len(trace.times_s) == 287
    assert sum(len(m) for m in trace.moves) == plain["n_migrations"]


@pytest.mark.shared_data
def test_cloudsim_start_uses_cloudsims_map(planetlab: Path, day_vms: VmSet) -> None:
    from capplan.bench.cloudsim_diff import round_diff

    diff = round_diff(FIXTURES, planetlab, DAY, "lr-mmt", start="cloudsim", vms=day_vms)
    assert diff["alloc"]["n_vms_elsewhere"] == 0
    assert diff["alloc"]["capplan"]["vms_per_host"] == {"1": 548, "2": 252}
    fields = diff["rounds"]["first_round_that_differs"]
    assert fields is None or fields["round"] >= 1


@pytest.mark.shared_data
def test_cli_against_json(planetlab: Path) -> None:
    from capplan.cli import app

    result = CliRunner().invoke(
        app,
        [
            "bench",
            "cloudsim",
            "--against",
            "default",
            "--data",
            str(planetlab),
            "--days",
            DAY,
            "--policies",
            "dvfs",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n_rows"] == 1 and figures["n_within_target"] == 1
