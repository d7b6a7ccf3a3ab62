"""``capplan dynamic`` and ``capplan bench cloudsim`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_or_skip
from helpers import make_workload
from typer.testing import CliRunner

from capplan.cli import app
from capplan.dynamic import run_dynamic
from capplan.errors import CapplanError

runner = CliRunner()


def _usage_csv(
    path: Path, n_vms: int = 4, n_steps: int = 12, low: int = 0, high: int = 900
) -> Path:
    rng = np.random.default_rng(7)
    lines = ["vm_id,timestamp,cpu_demand_mhz"]
    for vm in range(n_vms):
        for step in range(n_steps):
            minutes = 5 * step
            stamp = f"2024-01-01T{minutes // 60:02d}:{minutes % 60:02d}:00Z"
            lines.append(f"vm{vm},{stamp},{rng.integers(low, high)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_dynamic_default_mode_json(tmp_path: Path) -> None:
    path = _usage_csv(tmp_path / "u.csv")
    result = runner.invoke(
        app,
        [
            "dynamic",
            "--workload",
            str(path),
            "--policy",
            "lr-mmt",
            "--hosts",
            "hp-proliant-ml110-g5:4",
            "--json",
            "--series",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in (
        "energy_kwh",
        "n_migrations",
        "slatah_frac",
        "pdm_frac",
        "slav",
        "n_host_shutdowns",
        "wall_s",
    ):
        assert key in payload
    assert payload["mode"] == "default"
    assert payload["n_vms"] == 4 and payload["n_vms_vanished"] == 0
    assert len(payload["series"]["active_hosts"]) == 11  # rounds at 5 .. 55 min
    assert payload["energy_kwh"] > 0


def test_dynamic_human_output(tmp_path: Path) -> None:
    path = _usage_csv(tmp_path / "u.csv")
    result = runner.invoke(
        app,
        [
            "dynamic",
            "--workload",
            str(path),
            "--policy",
            "capplan-fb",
            "--hosts",
            "hp-proliant-ml110-g5:4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "energy" in result.stdout and "SLAV" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "best"], "unknown policy 'best'; valid: npa, dvfs, thr-mmt"),
        (["--policy", "thr-mmt-x"], "is not a non-negative number"),
        (["--compat", "ns3"], "unknown compat mode 'ns3'; valid: cloudsim"),
        (["--compat", "cloudsim", "--hosts", "x:1"], "--hosts cannot be combined"),
        (["--hosts", "nope:3"], "host model 'nope' is not in the catalog"),
        (["--hosts", "hp-proliant-ml110-g5"], "is not MODEL:N"),
        (["--hosts", "hp-proliant-ml110-g5:1"], "fits on no host"),
    ],
)
def test_dynamic_bad_input_is_a_one_line_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = _usage_csv(tmp_path / "u.csv", n_vms=6, low=2000, high=2600)
    result = runner.invoke(app, ["dynamic", "--workload", str(path), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_compat_needs_300_s_steps() -> None:
    workload = make_workload({"cpu_demand_mhz": [[100.0, 200.0]]}, step_s=60)
    with pytest.raises(CapplanError, match="needs samples every 300 s"):
        run_dynamic(workload, "lr-mmt", compat="cloudsim")


def test_dynamic_compat_on_planetlab_json() -> None:
    day = shared_or_skip("data", "planetlab", "20110306")
    result = runner.invoke(
        app,
        [
            "dynamic",
            "--workload",
            f"planetlab:{day}",
            "--policy",
            "dvfs",
            "--compat",
            "cloudsim",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_vms"] == 898 and payload["n_hosts"] == 800
    assert payload["mode"] == "cloudsim" and payload["n_migrations"] == 0


def test_bench_cloudsim_on_one_day() -> None:
    shared_or_skip("data", "planetlab", "20110306")
    result = runner.invoke(
        app,
        [
            "bench",
            "cloudsim",
            "--days",
            "20110306",
            "--policies",
            "dvfs,capplan-fb",
            "--no-speed",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["days"] == ["20110306"]
    assert set(payload["means"]) == {"dvfs", "capplan-fb"}
    assert payload["verdict"] is None  # no CloudSim policy in the run
    assert payload["means"]["capplan-fb"]["energy_kwh"] < payload["means"]["dvfs"]["energy_kwh"]


def test_bench_cloudsim_rejects_unknown_day_and_policy() -> None:
    shared_or_skip("data", "planetlab", "20110306")
    bad_day = runner.invoke(app, ["bench", "cloudsim", "--days", "19990101", "--no-speed"])
    assert bad_day.exit_code == 2 and "unknown day(s) 19990101" in bad_day.output
    bad_policy = runner.invoke(
        app, ["bench", "cloudsim", "--days", "20110306", "--policies", "zzz", "--no-speed"]
    )
    assert bad_policy.exit_code == 2 and "unknown policy 'zzz'" in bad_policy.output


def test_bench_worker_errors_come_back_as_plain_capplan_errors(tmp_path: Path) -> None:
    import pickle

    from dynamic.scenarios import fleet

    from capplan.bench.cloudsim import _run_day

    with pytest.raises(CapplanError) as caught:
        _run_day((str(tmp_path / "missing-day"), ("dvfs",), fleet(2), 42, False))
    assert type(caught.value) is CapplanError
    assert "missing-day" in str(caught.value)
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


def _big_vm_workload(ram_mib: float) -> object:
    """Two 4-vCPU VMs of 2,600 MHz a core (one with ``ram_mib``) and a small one."""
    demand = np.full((3, 12), 3000.0)
    return make_workload(
        {"cpu_demand_mhz": demand},
        inventory={
            "cpu_capacity_mhz": [10_400.0, 10_400.0, 2_000.0],
            "n_vcpus": [4, 4, 1],
            "mem_provisioned_mib": [ram_mib, 8192.0, 1024.0],
        },
    )


def test_default_fleet_fits_the_workload() -> None:
    from capplan.dynamic.fleet import vms_from_workload
    from capplan.dynamic.run import DEFAULT_HOST_MODEL, default_hosts_spec

    small = make_workload({"cpu_demand_mhz": np.full((9, 4), 500.0)})
    spec = default_hosts_spec(vms_from_workload(small, default_bw_mbps=100.0))
    assert spec == f"{DEFAULT_HOST_MODEL}:3"  # the reference server, one per four VMs
    big = vms_from_workload(_big_vm_workload(16_384.0), default_bw_mbps=100.0)
    model, count = default_hosts_spec(big).split(":")
    assert model != DEFAULT_HOST_MODEL and count == "2"
    from capplan.spec.catalog import load_catalog

    chosen = load_catalog().hosts[model]
    assert chosen.ram_mib >= 16_384 and chosen.n_cores >= 4
    result = run_dynamic(_big_vm_workload(16_384.0), "lr-mmt")
    assert result.n_hosts == 2 and result.energy_kwh > 0


def test_no_model_for_the_largest_vm_is_a_clear_error() -> None:
    with pytest.raises(CapplanError, match=r"no catalog host model holds the largest VM.*4 PE"):
        run_dynamic(_big_vm_workload(64 * 2**20), "lr-mmt")
    with pytest.raises(CapplanError, match=r"VM 'vm000' \(10400 MIPS over 4 PE"):
        run_dynamic(_big_vm_workload(16_384.0), "lr-mmt", hosts="hp-proliant-ml110-g5:4")


def _shipped_order_row(policy: str) -> dict[str, str]:
    import csv

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "cloudsim"
    with (fixture / "summary_shipped_order.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["policy"] == policy]
    assert len(rows) == 1 and rows[0]["day"] == "20110303"
    return rows[0]


@pytest.mark.shared_data
def test_dynamic_compat_in_shipped_trace_order_matches_cloudsim() -> None:
    """CloudSim's run in the as-shipped file order (cloudsim-order/20110303.tsv)."""
    day = shared_or_skip("data", "planetlab", "20110303")
    order = shared_or_skip("data", "planetlab", "cloudsim-order", "20110303.tsv")
    result = runner.invoke(
        app,
        [
            "dynamic",
            "--workload",
            f"planetlab:{day}",
            "--compat",
            "cloudsim",
            "--policy",
            "mad-mmt",
            "--trace-order",
            str(order),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = _shipped_order_row("mad-mmt")
    assert payload["n_vms"] == int(expected["vms"])
    assert payload["energy_kwh"] == pytest.approx(float(expected["energy_kWh"]), rel=1e-6)
    assert payload["n_migrations"] == int(expected["vm_migrations"])


def test_dynamic_trace_order_refusals(tmp_path: Path) -> None:
    day = tmp_path / "20110303"
    day.mkdir()
    for name in ("a", "b"):
        (day / name).write_text("5\n" * 288)
    order = tmp_path / "order.txt"
    order.write_text("b\nc\n")
    spec = ["dynamic", "--workload", f"planetlab:{day}", "--compat", "cloudsim", "--json"]
    bad = runner.invoke(app, [*spec, "--trace-order", str(order)])
    assert bad.exit_code != 0
    assert f"{order}:2" in bad.output and "'c' is not a trace file" in bad.output
    csv_path = _usage_csv(tmp_path / "u.csv")
    order.write_text("vm0\n")
    other = runner.invoke(
        app,
        ["dynamic", "--workload", str(csv_path), "--trace-order", str(order), "--json"],
    )
    assert other.exit_code != 0 and "--trace-order orders the files of a PlanetLab" in other.output
