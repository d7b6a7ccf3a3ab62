"""The trace commands through the real console entry point (CliRunner, real files)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli import app

runner = CliRunner()
USAGE = (
    "vm_id,timestamp,cpu_demand_mhz\n"
    "a,2024-01-01T00:00:00Z,100\na,2024-01-01T00:05:00Z,120\nb,2024-01-01T00:00:00Z,50\n"
)


def test_inspect_json_has_required_keys(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(USAGE)
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in (
        "format",
        "n_vms",
        "n_steps",
        "step_s",
        "start",
        "end",
        "metrics",
        "quality_frac",
        "problems",
    ):
        assert key in payload
    assert payload["n_vms"] == 2 and payload["n_steps"] == 2 and payload["step_s"] == 300


def test_ingest_writes_parquet_that_inspects_the_same(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(USAGE)
    out = tmp_path / "t.parquet"
    result = runner.invoke(app, ["ingest", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_rows"] == 3
    again = runner.invoke(app, ["inspect", str(out), "--json"])
    assert json.loads(again.stdout)["n_vms"] == 2


def test_bad_input_is_one_clean_line(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(USAGE.replace("120", "abc"))
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "u.csv:3" in result.output and "not a number" in result.output
