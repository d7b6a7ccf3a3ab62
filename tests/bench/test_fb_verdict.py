"""``capplan bench cloudsim --fb-verdict``: the fair verdict on capplan-fb.

The day test reads one PlanetLab test day from ``../shared`` (skipped when it is absent) and
CloudSim's committed figures; it checks, with a RAM-watching wrapper around the policy, that
capplan-fb never puts more RAM on a host than it has, from either start.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from conftest import shared_or_skip
from dynamic.scenarios import config, fleet, vms
from typer.testing import CliRunner

from capplan.bench.cloudsim_diff import default_fixture_dir
from capplan.bench.fbverdict import (
    FB_POLICIES,
    N_TUNE_DAYS,
    VERDICT_METRICS,
    RamWatch,
    compare,
    grid_params,
    ram_watched,
    read_cloudsim_figures,
    run_fb_verdict,
    split_days,
)
from capplan.cli import app
from capplan.dynamic.config import CLOUDSIM_CONFIG
from capplan.dynamic.contract import Policy
from capplan.dynamic.engine import simulate
from capplan.dynamic.state import Simulation

HOST_RAM_MIB = 4096.0


def test_reader_keeps_complete_rows_and_skips_a_partly_written_one(tmp_path: Path) -> None:
    source = default_fixture_dir() / "summary_sorted.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        first = next(reader)
        second = next(reader)
    path = tmp_path / "summary_sorted.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(first)
        writer.writerow(second)
        handle.write(",".join(second[:9]))  # a row CloudSim is still appending
    rows, skipped = read_cloudsim_figures(path)
    assert skipped == 1
    assert set(rows[first[0]]) == {first[1], second[1]}
    energy = float(first[header.index("energy_kWh")])
    assert rows[first[0]][first[1]]["energy_kwh"] == energy
    assert set(rows[first[0]][first[1]]) == set(VERDICT_METRICS)


def test_compare_counts_strict_wins_and_ties() -> None:
    ref = {
        "a": dict.fromkeys(VERDICT_METRICS, 1.0),
        "b": dict.fromkeys(VERDICT_METRICS, 2.0),
        "c": dict.fromkeys(VERDICT_METRICS, 3.0),
    }
    out = compare(dict.fromkeys(VERDICT_METRICS, 2.0), ref)
    assert out["slav"] == {
        "own": 2.0,
        "best_policy": "a",
        "best": 1.0,
        "beats": 1,
        "ties": 1,
        "of": 3,
    }


def test_ram_watch_sees_a_host_over_its_ram() -> None:
    # four VMs of 1,500 MiB on one 4,096 MiB host: CloudSim's config does not stop it
    v = vms([[0.1] * 4] * 4, ram_mib=1500.0)

    def crowd(sim: Simulation) -> None:
        for vm in range(sim.n_vms):
            sim.place(vm, 0)

    watch = RamWatch()
    policy = ram_watched(Policy("crowd", crowd, None), watch)
    simulate(v, fleet(2), policy, config(1200.0, ram_checked_after_start=False))
    assert watch.n_over >= 1
    assert watch.max_ram_mib == 6000.0
    assert watch.first_over is not None and watch.first_over[1] == 0


def test_grid_covers_every_combination() -> None:
    points = grid_params(grid={"z": (0.5, 1.0), "max_drains_per_round": (2, 8, 32)})
    assert len(points) == 6
    assert {(p.z, p.max_drains_per_round) for p in points} == {
        (z, d) for z in (0.5, 1.0) for d in (2, 8, 32)
    }
    assert all(isinstance(p.max_drains_per_round, int) for p in points)


def test_fb_verdict_on_one_test_day_never_exceeds_host_ram() -> None:
    data = shared_or_skip("data", "planetlab")
    tune, test = split_days(data)
    assert len(tune) == N_TUNE_DAYS and test
    assert not set(tune) & set(test)
    day = test[0]
    figures = run_fb_verdict(
        data, default_fixture_dir(), days=[day], bitbrains=False, ram_emulation=False
    )
    assert figures["ram_violations"] == 0
    assert 0 < figures["max_host_ram_mib"] <= HOST_RAM_MIB
    entry = figures["per_day"][day]
    for name in FB_POLICIES:
        own = entry[name]["figures"]
        assert own["ram_violations"] == 0
        assert own["max_host_ram_mib"] <= HOST_RAM_MIB
        assert own["ram_checks"] > 280  # the start and two checks per round
        assert own["energy_kwh"] > 0
        if entry["cloudsim_policies"]:
            verdict = entry[name]["vs_cloudsim"]
            assert set(verdict) == set(VERDICT_METRICS)
            assert all(v["of"] == len(entry["cloudsim_policies"]) <= 20 for v in verdict.values())
            assert all(0 <= v["beats"] <= v["of"] for v in verdict.values())
    assert json.dumps(figures, allow_nan=False)


def test_fb_pabfd_starts_from_the_cloudsim_placement() -> None:
    data = shared_or_skip("data", "planetlab")
    from capplan.bench.cloudsim_diff import load_day
    from capplan.dynamic.compat import cloudsim_fleet
    from capplan.dynamic.forecast import FORECAST_POLICIES
    from capplan.dynamic.placement import place_pabfd

    _, test = split_days(data)
    v = load_day(data, test[0])
    f = cloudsim_fleet()
    cloudsim = Simulation(v, f, CLOUDSIM_CONFIG)
    place_pabfd(cloudsim)
    own = Simulation(v, f, CLOUDSIM_CONFIG)
    FORECAST_POLICIES["capplan-fb-pabfd"]().place_initial(own)
    assert np.array_equal(own.host_of, cloudsim.host_of)


def test_cli_fb_verdict_json_on_one_day() -> None:
    data = shared_or_skip("data", "planetlab")
    _, test = split_days(data)
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "cloudsim",
            "--fb-verdict",
            "--no-bitbrains",
            "--days",
            test[0],
            "--data",
            str(data),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["days"] == [test[0]]
    assert payload["ram_violations"] == 0
