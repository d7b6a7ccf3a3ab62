"""``capplan economics`` through the real console entry point on files written to a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from capplan.cli import app

runner = CliRunner()
HOST = "hpe-dl380-gen11"


def _write_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A tiny canonical usage CSV (12 VMs, 2 hours at 5 min), inventory and placement."""
    rng = np.random.default_rng(1)
    usage = ["vm_id,timestamp,cpu_demand_mhz,mem_active_mib"]
    for v in range(12):
        for t in range(24):
            ts = f"2024-01-01T{(t * 5) // 60:02d}:{(t * 5) % 60:02d}:00Z"
            cpu = 2_000 + 1_000 * np.sin(t / 5 + v) + rng.uniform(0, 200)
            usage.append(f"vm{v:02d},{ts},{cpu:.1f},{1024 + 64 * v}")
    inventory = ["vm_id,os_family,ha_group,current_host,disk_used_gib,n_vcpus,mem_provisioned_mib"]
    for v in range(12):
        os_family = "windows" if v % 3 == 0 else "linux"
        group = "web" if v < 4 else ""
        current = f"old{v // 2}" if v < 8 else ""
        inventory.append(f"vm{v:02d},{os_family},{group},{current},{40 + v},2,4096")
    placement = ["vm_id,host_id,host_model"]
    placement += [f"vm{v:02d},h{v % 2},{HOST}" for v in range(12)]
    paths = (tmp_path / "usage.csv", tmp_path / "inventory.csv", tmp_path / "placement.csv")
    for path, lines in zip(paths, (usage, inventory, placement), strict=True):
        path.write_text("\n".join(lines) + "\n")
    return paths


def test_economics_json_has_required_keys(tmp_path: Path) -> None:
    usage, inventory, placement = _write_inputs(tmp_path)
    args = ["economics", "--workload", str(usage), "--workload", str(inventory)]
    args += ["--placement", str(placement), "--mc-runs", "4", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in (
        "energy_kwh_per_year",
        "power_w_mean",
        "tco_usd",
        "tco_breakdown",
        "availability_frac_min",
        "downtime_min_per_year_max",
    ):
        assert payload[key] is not None, key
    assert payload["n_vms"] == 12 and payload["n_hosts"] == 3
    assert 0.0 < payload["availability_frac_min"] < 1.0
    assert payload["energy_kwh_per_year"] > 0 and payload["tco_usd"] > 0
    assert "current host" in payload["comparison"]["baseline_rule"]
    assert payload["availability"]["monte_carlo"]["runs"] == 4
    assert "Uptime Institute" in payload["sources"]["energy.pue_ratio"]


def test_economics_human_output_and_same_seed_same_answer(tmp_path: Path) -> None:
    usage, inventory, placement = _write_inputs(tmp_path)
    args = ["economics", "--workload", str(usage), "--workload", str(inventory)]
    args += ["--placement", str(placement), "--mc-runs", "3"]
    first = runner.invoke(app, [*args, "--json"])
    second = runner.invoke(app, [*args, "--json"])
    assert json.loads(first.stdout) == json.loads(second.stdout)
    human = runner.invoke(app, args)
    assert human.exit_code == 0, human.output
    assert "TCO (USD)" in human.output and "today" in human.output


def test_economics_bad_inputs_are_one_clean_line(tmp_path: Path) -> None:
    usage, inventory, placement = _write_inputs(tmp_path)
    base = ["economics", "--workload", str(usage), "--workload", str(inventory)]
    bad_model = tmp_path / "bad.csv"
    bad_model.write_text(placement.read_text().replace(HOST, "no-such-server"))
    result = runner.invoke(app, [*base, "--placement", str(bad_model), "--json"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "no-such-server" in result.output
    settings = tmp_path / "settings.toml"
    settings.write_text('extends = "bundled"\n[energy]\npue_ratio = 0.5\n')
    result = runner.invoke(
        app, [*base, "--placement", str(placement), "--settings", str(settings), "--json"]
    )
    assert result.exit_code == 2
    assert "settings.toml" in result.output and "energy.pue_ratio" in result.output
    result = runner.invoke(
        app, [*base, "--placement", str(placement), "--mode", "warp-drive", "--json"]
    )
    assert result.exit_code == 2 and "warp-drive" in result.output
    memory_only = tmp_path / "memory.csv"
    memory_only.write_text(
        "\n".join(
            ",".join(row.split(",")[:2] + row.split(",")[3:])
            for row in usage.read_text().splitlines()
        )
        + "\n"
    )
    result = runner.invoke(
        app,
        ["economics", "--workload", str(memory_only), "--placement", str(placement), "--json"],
    )
    assert result.exit_code == 2 and "cpu_demand_mhz" in result.output
