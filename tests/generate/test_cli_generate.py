"""``capplan generate`` through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli import app
from capplan.io import read_trace

runner = CliRunner()


def test_generate_canonical_parquet_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    args = [
        "generate",
        "--vms",
        "7",
        "--days",
        "1",
        "--step",
        "600",
        "--seed",
        "3",
        "--out",
        str(out),
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_vms"] == 7 and payload["n_steps"] == 144 and payload["n_files"] == 1
    trace = read_trace(out)
    assert trace.format == "parquet"
    assert trace.inventory.height == 7
    assert trace.inventory["current_host"].null_count() == 0
    assert trace.usage.collect().height == 7 * 144
    again = tmp_path / "again.parquet"
    runner.invoke(app, [*args[:-3], "--out", str(again)])
    assert read_trace(again).usage.collect().equals(trace.usage.collect())


def test_generate_bitbrains_folder(tmp_path: Path) -> None:
    out = tmp_path / "bb"
    result = runner.invoke(
        app,
        ["generate", "--vms", "3", "--days", "0.5", "--out", str(out), "--format", "bitbrains"],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["vm-0001.csv", "vm-0002.csv", "vm-0003.csv"]
    assert read_trace(out).format == "bitbrains"


def test_generate_bad_input_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", "--vms", "0", "--days", "-1", "--out", str(tmp_path / "x.parquet")]
    )
    assert result.exit_code == 2
    assert "--vms" in result.output and "--days" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["generate", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and ".parquet" in result.output
    result = runner.invoke(
        app, ["generate", "--out", str(tmp_path / "x.parquet"), "--format", "excel"]
    )
    assert result.exit_code == 2 and "bitbrains" in result.output
    result = runner.invoke(
        app, ["generate", "--out", str(tmp_path / "x.parquet"), "--start", "yesterday"]
    )
    assert result.exit_code == 2 and "--start" in result.output


def test_streamed_canonical_file_equals_in_memory_trace(tmp_path: Path) -> None:
    from capplan.generate import GeneratorParams, generate
    from capplan.generate.canonical import write_canonical_set

    params = GeneratorParams(n_vms=130, days=0.25)  # two blocks of VMs
    out = write_canonical_set(params, 5, tmp_path / "w.parquet")
    trace = read_trace(out)
    work = generate(params, 5)
    assert trace.usage.collect().equals(work.usage_frame())
    assert trace.inventory.equals(work.inventory)


def test_in_memory_generation_refuses_huge_grids() -> None:
    import pytest

    from capplan.errors import SpecError
    from capplan.generate import GeneratorParams, generate

    with pytest.raises(SpecError, match="block by block"):
        generate(GeneratorParams(n_vms=100_000, days=30), 1)
