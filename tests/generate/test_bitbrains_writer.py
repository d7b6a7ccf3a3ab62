"""Bitbrains writer: the real format's quirks, and a round trip through the bitbrains reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from capplan.demand import build_workload
from capplan.generate import GeneratorParams, generate
from capplan.generate.bitbrains import HEADER, write_bitbrains, write_bitbrains_set
from capplan.io import read_trace
from capplan.units import KIB_PER_MIB, MBPS_PER_KIB_S

PARAMS = GeneratorParams(n_vms=6, days=1.0)
ROUND_TRIP = (
    "cpu_demand_mhz",
    "mem_active_mib",
    "disk_read_mib_s",
    "disk_write_mib_s",
    "net_rx_mbps",
    "net_tx_mbps",
)
#: Values are written with 5 decimals of the file unit (MHz, KiB, KiB/s).
TOLERANCE = {
    "cpu_demand_mhz": 1e-5,
    "mem_active_mib": 1e-5 / KIB_PER_MIB,
    "disk_read_mib_s": 1e-5 / KIB_PER_MIB,
    "disk_write_mib_s": 1e-5 / KIB_PER_MIB,
    "net_rx_mbps": 1e-5 * MBPS_PER_KIB_S,
    "net_tx_mbps": 1e-5 * MBPS_PER_KIB_S,
}


def test_files_have_the_real_header_and_quirks(tmp_path: Path) -> None:
    work = generate(PARAMS, 4)
    paths = write_bitbrains(work, tmp_path)
    assert [p.name for p in paths] == [f"{vm}.csv" for vm in work.population.vm_ids]
    lines = paths[0].read_text().splitlines()
    assert lines[0] == ";\t".join(HEADER)
    assert lines[0].startswith("Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ]")
    assert len(lines) == 1 + PARAMS.n_steps
    first = lines[1].split(";\t")
    assert len(first) == 11
    assert int(first[0]) == int(work.epoch_s[0])  # epoch seconds despite the [ms] header
    assert int(first[1]) == work.inventory["n_vcpus"][0]
    mem_kib = float(first[5])
    assert mem_kib == work.inventory["mem_provisioned_mib"][0] * KIB_PER_MIB
    assert float(first[4]) == pytest.approx(float(first[3]) / float(first[2]) * 100, abs=1e-4)
    assert all("e" not in cell.lower() for line in lines[1:50] for cell in line.split(";\t"))


def test_round_trip_through_the_bitbrains_reader(tmp_path: Path) -> None:
    work = generate(PARAMS, 4)
    write_bitbrains(work, tmp_path)
    trace = read_trace(f"bitbrains:{tmp_path}")
    assert trace.problems == ()
    got = trace.usage.collect().sort("vm_id", "timestamp")
    expected = work.usage_frame().sort("vm_id", "timestamp")
    assert got["vm_id"].to_list() == expected["vm_id"].to_list()
    assert got["timestamp"].to_list() == expected["timestamp"].to_list()
    for name in ROUND_TRIP:
        np.testing.assert_allclose(
            got[name].to_numpy(),
            expected[name].to_numpy(),
            rtol=0,
            atol=TOLERANCE[name] * 1.01,
            err_msg=name,
        )
    # Disk IOPS are not part of the format.
    assert got["disk_read_iops"].null_count() == got.height
    inv = trace.inventory.sort("vm_id")
    want = work.inventory.sort("vm_id")
    assert inv["n_vcpus"].to_list() == want["n_vcpus"].to_list()
    np.testing.assert_allclose(inv["cpu_capacity_mhz"], want["cpu_capacity_mhz"], atol=0.1)
    np.testing.assert_allclose(inv["mem_provisioned_mib"], want["mem_provisioned_mib"])


def test_jitter_and_duplicates_are_cleaned_by_reader_and_builder(tmp_path: Path) -> None:
    paths = write_bitbrains_set(PARAMS, 4, tmp_path, jitter_s=1, duplicate_frac=0.02)
    n_rows = sum(len(p.read_text().splitlines()) - 1 for p in paths)
    assert n_rows > PARAMS.n_vms * PARAMS.n_steps  # duplicates were written
    trace = read_trace(f"bitbrains:{tmp_path}")
    assert any("duplicate" in p.message for p in trace.problems)
    workload = build_workload(trace, step_s=300)
    assert workload.n_vms == PARAMS.n_vms
    assert workload.n_steps in (PARAMS.n_steps, PARAMS.n_steps + 1)
    clean = generate(PARAMS, 4)
    order = np.argsort(clean.population.vm_ids)
    cpu = clean.arrays["cpu_demand_mhz"][order][:, : PARAMS.n_steps - 1]
    got = workload.mean["cpu_demand_mhz"][:, : PARAMS.n_steps - 1]
    # Jitter of ±1 s keeps every sample on its own step: the grid holds the generated values.
    np.testing.assert_allclose(got, cpu, rtol=1e-5, atol=1e-4)


def test_set_writer_matches_whole_workload(tmp_path: Path) -> None:
    write_bitbrains_set(PARAMS, 8, tmp_path / "a")
    write_bitbrains(generate(PARAMS, 8), tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_bad_quirk_settings_are_refused(tmp_path: Path) -> None:
    from capplan.errors import CapplanError

    with pytest.raises(CapplanError, match="duplicate_frac"):
        write_bitbrains_set(PARAMS, 1, tmp_path, duplicate_frac=1.5)


def test_reader_sees_bitbrains_format(tmp_path: Path) -> None:
    write_bitbrains(generate(GeneratorParams(n_vms=2, days=0.1), 1), tmp_path)
    trace = read_trace(tmp_path)
    assert trace.format == "bitbrains"
    assert trace.usage.select(pl.len()).collect().item() == 2 * 29
