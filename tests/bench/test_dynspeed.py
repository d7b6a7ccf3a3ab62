"""``capplan bench dynamic-speed``: its parts on small inputs (no timing is asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from capplan.bench.cloudsim_diff import default_fixture_dir
from capplan.bench.dynspeed import cloudsim_pinned, run_process, scale_row
from capplan.errors import CapplanError


def test_pinned_cloudsim_run_is_read_from_the_fixture() -> None:
    pinned = cloudsim_pinned(default_fixture_dir())
    assert pinned["wall_s"] == pytest.approx(48.65)
    assert pinned["peak_rss_bytes"] == 336200 * 1024
    assert pinned["source"] == "speed.csv line 2"


def test_a_bad_speed_file_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "speed.csv").write_text(
        "day,policy,jvm_wall_s,jvm_peak_rss_kB,jvm_cpu_percent,pinned\n"
        "20110303,mad-mmt,fast,1,2,yes\n",
        encoding="utf-8",
    )
    with pytest.raises(CapplanError) as err:
        cloudsim_pinned(tmp_path)
    assert err.value.line == 2
    assert "speed.csv" in str(err.value)
    (tmp_path / "speed.csv").write_text("day,policy\n", encoding="utf-8")
    with pytest.raises(CapplanError, match="no row for 20110303 mad-mmt"):
        cloudsim_pinned(tmp_path)


def test_run_process_measures_the_child_and_reports_failures() -> None:
    # the child holds ~50 MB: its own peak RSS must show it, not the parent's
    figures = run_process(
        [sys.executable, "-c", "b = bytearray(50_000_000); b[::4096] = b'x' * len(b[::4096])"],
        {},
    )
    assert figures["wall_s"] > 0
    assert figures["peak_rss_bytes"] >= 50_000_000
    with pytest.raises(CapplanError, match="failed \\(3\\)"):
        run_process([sys.executable, "-c", "import sys; sys.exit(3)"], {})


def _day(folder: Path, n_vms: int, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for v in range(n_vms):
        values = rng.integers(0, 101, 288)
        (folder / f"vm{v:02d}").write_text("\n".join(map(str, values)) + "\n", encoding="utf-8")


def test_scale_row_puts_every_day_side_by_side(tmp_path: Path) -> None:
    _day(tmp_path / "20110101", 6, 1)
    _day(tmp_path / "20110102", 4, 2)
    row = scale_row(tmp_path, ["20110101", "20110102"])
    assert row["n_vms"] == 10
    assert row["n_hosts"] == 8000
    assert row["energy_kwh"] > 0
