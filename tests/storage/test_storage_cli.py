"""``capplan storage-plan`` through the real console app (CliRunner, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from capplan.cli import app

runner = CliRunner()
PRICES = [
    "--price",
    "nvme=0.9",
    "--price",
    "ssd=0.5",
    "--price",
    "hdd-15k=0.3",
    "--price",
    "hdd-10k=0.25",
    "--price",
    "nl-sas=0.08",
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A canonical usage CSV (3 days hourly, disk metrics) and an inventory CSV with disk sizes."""
    rng = np.random.default_rng(0)
    rows = ["vm_id,timestamp,disk_read_iops,disk_write_iops,disk_read_mib_s,disk_write_mib_s"]
    for vm in range(6):
        for hour in range(72):
            stamp = f"2024-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"
            read = rng.gamma(2, 40 * (vm + 1))
            write = read * 0.4
            rows.append(
                f"vm{vm},{stamp},{read:.2f},{write:.2f},{read * 0.03:.3f},{write * 0.03:.3f}"
            )
    usage = tmp_path / "usage.csv"
    usage.write_text("\n".join(rows) + "\n")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "vm_id,n_vcpus,disk_provisioned_gib,disk_used_gib\n"
        + "\n".join(f"vm{i},2,{200 + 100 * i},{50 + 40 * i}" for i in range(6))
        + "\n"
    )
    return usage, inventory


def run(files: tuple[Path, Path], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    usage, inventory = files
    result = runner.invoke(
        app,
        [
            "storage-plan",
            "--workload",
            str(usage),
            "--workload",
            str(inventory),
            *PRICES,
            "--time-limit",
            "10",
            "--json",
            *args,
        ],
    )
    payload = json.loads(result.stdout) if result.exit_code == 0 else {}
    return result.exit_code, payload | ({"_output": result.output} if result.exit_code else {})


def test_json_has_the_required_keys_and_out_round_trips(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "volumes.csv"
    code, payload = run(files, "--out", str(out))
    assert code == 0
    for key in ("status", "cost_usd", "pools", "moves", "bound", "gap_frac"):
        assert key in payload
    assert payload["status"] == "optimal" and payload["n_volumes"] == 6
    assert payload["bound"] <= payload["cost_usd"] + 1e-9
    for pool in payload["pools"]:
        for key in ("provisioned_gib", "used_now_gib", "forecast_used_gib", "p_run_out_frac"):
            assert key in pool
    layout = pl.read_csv(out)
    assert layout.height == 6 and set(layout.columns) >= {"volume_id", "pool", "tier"}
    # feeding the plan back as the current layout moves nothing
    code, again = run(files, "--current", str(out))
    assert code == 0 and again["n_moves"] == 0 and again["moves"] == []
    assert again["cost_usd"] == pytest.approx(payload["cost_usd"])


def test_move_limit_and_current_layout(files: tuple[Path, Path], tmp_path: Path) -> None:
    current = tmp_path / "current.csv"
    current.write_text("volume_id,pool\n" + "\n".join(f"vm{i},ssd" for i in range(6)) + "\n")
    code, free = run(files, "--current", str(current))
    assert code == 0 and free["n_moves"] > 0
    assert free["moved_gib"] == pytest.approx(sum(m["gib"] for m in free["moves"]))
    code, frozen = run(files, "--current", str(current), "--max-moved-gib", "0")
    assert code == 0 and frozen["n_moves"] == 0
    assert frozen["cost_usd"] >= free["cost_usd"] - 1e-6


def test_what_if_knobs(files: tuple[Path, Path]) -> None:
    _, base = run(files)
    code_m, mirrored = run(files, "--mirror", "all")
    assert code_m == 0 and mirrored["n_mirrored"] == 6
    # each copy set of a mirrored plan is itself a feasible single-copy plan: >= 2 x optimum
    assert base["status"] == mirrored["status"] == "optimal"
    assert mirrored["cost_usd"] >= 2 * base["cost_usd"] - 1e-6
    code_t, thick = run(files, "--provisioning", "thick")
    assert code_t == 0 and thick["thin"] is False and thick["cost_usd"] > base["cost_usd"]
    code_r, loose = run(files, "--ratio", "20")
    assert code_r == 0 and all(p["over_subscription_ratio"] == 20 for p in loose["pools"])
    code_a, appliance = run(files, "--appliance", "in-band", "--appliance-max-iops", "10")
    assert code_a == 0 and appliance["status"] == "infeasible"
    assert appliance["appliance"]["single_point_of_failure"] is True
    assert "in-band appliance" in appliance["reasons"][0]
    code_p, paging = run(files, "--paging-mib-s", "40")
    assert code_p == 0
    ssd = next(p for p in paging["pools"] if p["name"] == "ssd")
    assert ssd["paging_mib_s"] == 40.0 and ssd["paging_iops"] > 0
    code_s, snap = run(files, "--snapshot-policy", "ontap-default")
    assert code_s == 0 and snap["cost_usd"] == pytest.approx(base["cost_usd"] * 1.05, rel=1e-6)


def test_used_history_changes_the_basis(files: tuple[Path, Path], tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    rows = ["vm_id,timestamp,used_gib"]
    for vm in range(6):
        for day in range(30):
            rows.append(f"vm{vm},2023-12-{day + 1:02d},{40 + 40 * vm + 0.5 * day}")
    history.write_text("\n".join(rows) + "\n")
    code, payload = run(files, "--used-history", str(history), "--horizon-days", "10")
    assert code == 0
    assert payload["forecast_basis"] == "history"
    assert payload["history_window_days"] == pytest.approx(14.5)


def test_errors_are_one_clean_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    usage, inventory = files
    # A catalog tier without a published price (the bundled tiers all have one).
    unpriced = tmp_path / "unpriced"
    unpriced.mkdir()
    (unpriced / "tiers.toml").write_text(
        'extends = "bundled"\n[san_tiers.nl-sas]\nmedia = "nl-sas"\nusable_gib = 1000.0\n'
        "max_iops = 100.0\nmax_mib_s = 100.0\nbase_latency_ms = 10.0\nwrite_penalty = 4\n"
        'source = ["pool-assumption"]\n'
    )
    args = ["--workload", str(usage), "--workload", str(inventory), "--catalog", str(unpriced)]
    no_price = runner.invoke(app, ["storage-plan", *args])
    assert no_price.exit_code == 2 and "no price per GiB" in no_price.output
    assert "Traceback" not in no_price.output
    code, payload = run(files, "--ratio", "0.5")
    assert code == 2 and "--ratio" in payload["_output"]
    bare = tmp_path / "bare.csv"
    bare.write_text("vm_id,n_vcpus\n" + "\n".join(f"vm{i},2" for i in range(6)) + "\n")
    result = runner.invoke(
        app, ["storage-plan", "--workload", str(usage), "--workload", str(bare), *PRICES]
    )
    assert result.exit_code == 2 and "not available" in result.output
    bad_pools = tmp_path / "pools.toml"
    bad_pools.write_text('[pools.x]\ntier = "tape"\n')
    code, payload = run(files, "--pools", str(bad_pools))
    assert code == 2 and "pools.x.tier" in payload["_output"]


def test_human_output(files: tuple[Path, Path]) -> None:
    usage, inventory = files
    result = runner.invoke(
        app,
        [
            "storage-plan",
            "--workload",
            str(usage),
            "--workload",
            str(inventory),
            *PRICES,
            "--time-limit",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "storage plan" in result.output and "appliance" in result.output


@pytest.mark.shared_data
def test_rvtools_inventory_alone_plans_capacity(shared_path: type) -> None:
    workbook = shared_path("data", "rvtools-export") / "SizingWorkshop-RVTools.xlsx"
    result = runner.invoke(
        app,
        ["storage-plan", "--workload", str(workbook), *PRICES, "--time-limit", "20", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # 805 VMs less 10 templates; sizes from vDisk / vPartition
    assert payload["n_volumes"] == 795
    assert payload["status"] in ("optimal", "feasible")
    assert payload["io"]["available"] is False
    assert payload["tiering"]["available"] is False
    assert payload["gap_frac"] <= 0.02
    used = sum(p["used_now_gib"] for p in payload["pools"])
    assert used == pytest.approx(795 * 125.667958, rel=1e-4)


def test_the_plans_layout_routes_the_replays_io(files: tuple[Path, Path], tmp_path: Path) -> None:
    usage, inventory = files
    out = tmp_path / "volumes.csv"
    code, payload = run(files, "--out", str(out))
    assert code == 0 and payload["status"] == "optimal"
    placement = tmp_path / "placement.csv"
    placement.write_text(
        "vm_id,host_id,host_model\n"
        + "\n".join(f"vm{i},h{i % 2},ibm-x3550-m3-x5670" for i in range(6))
        + "\n"
    )
    args = ["emulate", "--workload", str(usage), "--workload", str(inventory)]
    args += ["--placement", str(placement), "--json"]
    routed = runner.invoke(app, [*args, "--storage-layout", str(out)])
    assert routed.exit_code == 0, routed.output
    storage = json.loads(routed.stdout)["storage"]
    layout = pl.read_csv(out)
    # One replay per pool the plan used, each holding its volumes' capacity.
    assert set(storage) == set(layout.get_column("pool").to_list())
    for pool, group in layout.group_by("pool"):
        assert storage[pool[0]]["provisioned_gib"] == pytest.approx(
            group.get_column("provisioned_gib").sum()
        )
    plain = json.loads(runner.invoke(app, args).stdout)["storage"]
    assert set(plain) == {"ssd"}  # without a layout: the SAN design's default tier

    bad = tmp_path / "bad.csv"
    bad.write_text("vm_id,pool,copy\nvm0,ssd,0\nvm1,floppy,0\n")
    result = runner.invoke(app, [*args, "--storage-layout", str(bad)])
    assert result.exit_code != 0
    assert "bad.csv:3, column 'pool'" in result.output and "floppy" in result.output
    bad.write_text("vm_id,pool,copy\nvm0,ssd,0\nvm0,nvme,0\n")
    result = runner.invoke(app, [*args, "--storage-layout", str(bad)])
    assert result.exit_code != 0 and "placed twice" in result.output
    bad.write_text("vm_id,pool,copy\nvm0,ssd,0\nvm0,ssd,1\n")
    result = runner.invoke(app, [*args, "--storage-layout", str(bad)])
    assert result.exit_code != 0 and "both copies on one pool" in result.output
    # A layout naming a VM the workload does not have: ignored, and the notes say so.
    extra = tmp_path / "extra.csv"
    extra.write_text("vm_id,pool\nvm0,ssd\nghost,nvme\n")
    notes = json.loads(runner.invoke(app, [*args, "--storage-layout", str(extra)]).stdout)["notes"]
    assert any("1 VM(s) of the storage routing" in n and "not in the workload" in n for n in notes)
    assert any("5 VM(s) the storage routing" in n for n in notes)
