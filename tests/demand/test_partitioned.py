"""Partitioned ingest on a real 2-process LocalCluster equals the serial ``load_workload``.

Real traces are read in place from ../shared (or a few files copied into tmp_path when a test
damages them); every comparison is exact: arrays, mask, inventory, quality, problems, errors.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import shared_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.demand import load_workload
from capplan.demand.build import _Median
from capplan.demand.dask_ingest import load_workload_on_dask
from capplan.demand.partitioned import plan_ingest, split_weights
from capplan.demand.workload import Workload
from capplan.errors import CapplanError, TraceFormatError

BITBRAINS = ("data", "bitbrains-gwa-t-12")
PLANETLAB = ("data", "planetlab")
BB_SEP = ";\t"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def assert_same(serial: Workload, parts: Workload) -> None:
    """Every figure of the two workloads is identical (no tolerance)."""
    assert parts.vm_ids.tolist() == serial.vm_ids.tolist()
    assert parts.vm_ids.dtype == serial.vm_ids.dtype
    assert (parts.start, parts.step_s, parts.n_steps) == (
        serial.start,
        serial.step_s,
        serial.n_steps,
    )
    assert list(parts.mean) == list(serial.mean)
    assert list(parts.peak) == list(serial.peak)
    for name in serial.mean:
        assert parts.mean[name].dtype == np.float32
        assert np.array_equal(parts.mean[name], serial.mean[name]), name
    for name in serial.peak:
        assert np.array_equal(parts.peak[name], serial.peak[name]), name
    assert np.array_equal(parts.observed, serial.observed)
    assert parts.inventory.schema == serial.inventory.schema
    assert parts.inventory.equals(serial.inventory)
    assert np.array_equal(parts.quality.vm_frac, serial.quality.vm_frac)
    assert parts.quality.overall_frac == serial.quality.overall_frac
    assert parts.quality.problems == serial.quality.problems
    assert (parts.format, parts.sources) == (serial.format, serial.sources)
    assert parts.summary() == serial.summary()


def ingest(client: Any, spec: Any, n_parts: int) -> tuple[Workload, list[str]]:
    labels: list[str] = []
    workload = load_workload_on_dask(
        client, spec, n_parts=n_parts, progress=lambda label, frac: labels.append(label)
    )
    return workload, labels


def same_error(client: Any, spec: Any, n_parts: int) -> str:
    """Both reads fail with the same error type and message; return the message."""
    with pytest.raises(CapplanError) as serial:
        load_workload(spec)
    with pytest.raises(CapplanError) as parts:
        load_workload_on_dask(client, spec, n_parts=n_parts)
    assert type(parts.value) is type(serial.value)
    assert str(parts.value) == str(serial.value)
    return str(serial.value)


def damage_bitbrains(path: Path, line: int, column: int, value: str) -> None:
    """Replace one cell of a Bitbrains file (``line`` 1-based, the header is line 1)."""
    lines = path.read_text().split("\n")
    cells = lines[line - 1].split(BB_SEP)
    cells[column] = value
    lines[line - 1] = BB_SEP.join(cells)
    path.write_text("\n".join(lines))


# --------------------------------------------------------------------------- planning
def test_split_weights_by_hand() -> None:
    assert split_weights([1, 1, 1, 1], 2) == [(0, 2), (2, 4)]
    assert split_weights([5, 1, 1, 1, 1, 1], 2) == [(0, 1), (1, 6)]
    assert split_weights([1, 1, 1], 5) == [(0, 1), (1, 2), (2, 3)]
    assert split_weights([10, 10, 10, 10], 4, min_bytes=15) == [(0, 2), (2, 4)]
    assert split_weights([3, 3], 2, min_bytes=100) == [(0, 2)]
    assert split_weights([], 3) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=12),
)
def test_split_weights_cover_every_unit_in_order(weights: list[int], n_parts: int) -> None:
    parts = split_weights(weights, n_parts)
    assert parts[0][0] == 0 and parts[-1][1] == len(weights)
    assert all(lo < hi for lo, hi in parts)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert len(parts) <= min(n_parts, len(weights))
    if sum(weights) > 0 and n_parts <= len(weights):
        # no part is heavier than an even share plus its heaviest unit
        share = sum(weights) / len(parts)
        assert all(sum(weights[lo:hi]) <= share + max(weights[lo:hi]) for lo, hi in parts)


def test_median_pickles_compactly_and_merges_exactly() -> None:
    rng = np.random.default_rng(3)
    halves = [rng.integers(0, 200_000, 5_000), rng.integers(250, 350, 7_000)]
    medians = []
    for deltas in halves:
        median = _Median()
        median.add(deltas.astype(np.int64))
        medians.append(pickle.loads(pickle.dumps(median)))
    whole = np.concatenate(halves)
    assert _Median.merged(medians).value() == float(np.median(whole))
    assert len(pickle.dumps(medians[1])) < 10_000  # 7,000 intervals in 101 distinct bins


def test_unsplittable_specs_are_read_whole(tmp_path: Path) -> None:
    single = shared_or_skip(*BITBRAINS, "fastStorage", "bitbrains.csv")
    assert plan_ingest(single, n_parts=4).kind == "whole"  # one VM
    assert plan_ingest(tmp_path / "missing", n_parts=4).kind == "whole"  # serial names the error
    demo = Path(__file__).resolve().parents[2] / "workloads" / "demo"
    assert plan_ingest(demo, n_parts=4).kind == "whole"
    folder = shared_or_skip(*BITBRAINS, "rnd")
    assert plan_ingest(folder, n_parts=1).kind == "whole"
    plan = plan_ingest(folder, n_parts=3)
    assert (plan.kind, plan.n_parts) == ("bitbrains", 3)


# --------------------------------------------------------------------------- equal to serial
@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(("parts", "n_parts"), [(("rnd",), 2), ((), 3)])
def test_bitbrains_parts_equal_serial(client: Any, parts: Sequence[str], n_parts: int) -> None:
    """The real sample (month folders, one VM in three files, duplicates, off rows)."""
    folder = shared_or_skip(*BITBRAINS, *parts)
    serial = load_workload(folder)
    partitioned, labels = ingest(client, folder, n_parts)
    assert f"{n_parts} of {n_parts} parts on the grid" in labels
    assert serial.peak  # duplicated timestamps: several samples share a step
    assert len(serial.quality.problems) > 5
    assert_same(serial, partitioned)


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("n_parts", [1, 3])
def test_the_workload_can_stay_on_the_cluster(client: Any, n_parts: int) -> None:
    """The future variant assembles on a worker (whole read or stacked parts); the workload
    it holds is the serial one, and it lives on a worker, not in the client."""
    from dask.distributed import Future

    from capplan.demand.dask_ingest import load_workload_future_on_dask

    folder = shared_or_skip(*BITBRAINS, "rnd")
    future = load_workload_future_on_dask(client, folder, n_parts=n_parts)
    assert isinstance(future, Future) and future.status == "finished"
    assert client.who_has([future])[future.key]  # held by a worker
    assert_same(load_workload(folder), future.result())


@pytest.mark.slow
@pytest.mark.shared_data
def test_planetlab_day_parts_equal_serial(client: Any) -> None:
    """A whole real day: 1,052 files, CloudSim VM types by index among all of them."""
    day = shared_or_skip(*PLANETLAB, "20110303")
    serial = load_workload(day)
    partitioned, labels = ingest(client, day, 4)
    assert "4 of 4 parts read" in labels
    assert len(set(serial.inventory["cpu_capacity_mhz"].to_list())) == 4
    assert_same(serial, partitioned)


@pytest.mark.slow
@pytest.mark.shared_data
def test_planetlab_day_folders_parts_equal_serial(client: Any, tmp_path: Path) -> None:
    """Two day folders: VMs span days, the files interleave VMs (serial sorts and says so)."""
    days = tmp_path / "days"
    for day in ("20110303", "20110306"):
        source = shared_or_skip(*PLANETLAB, day)
        (days / day).mkdir(parents=True)
        for path in sorted(source.iterdir())[:25]:
            shutil.copy(path, days / day / path.name)
    serial = load_workload(days)
    assert serial.quality.problems[0].message == "rows were not in time order per VM; sorted"
    for n_parts in (3, 40):  # 40: one VM per part, each part in order on its own
        partitioned, _ = ingest(client, days, n_parts)
        assert_same(serial, partitioned)
    archive = tmp_path / "days.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(days.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(days).as_posix())
    partitioned, labels = ingest(client, archive, 3)
    assert "3 of 3 parts on the grid" in labels
    assert_same(load_workload(archive), partitioned)


def _canonical_set(folder: Path, steps_s: Sequence[int] = (300,) * 6) -> list[Path]:
    """Canonical usage CSVs, one per step, 4 VMs each, rows in time order (VMs interleaved);
    even files also carry memory. Times jitter by up to ±2 s."""
    rng = np.random.default_rng(7)
    paths = []
    for index, step_s in enumerate(steps_s):
        memory = index % 2 == 0
        lines = ["vm_id,timestamp,cpu_demand_mhz" + (",mem_active_mib" if memory else "")]
        for step in range(60):
            for vm in range(4):
                t = 1_700_000_000 + step * step_s + int(rng.integers(-2, 3))
                row = f"f{index}-vm{vm},{t},{rng.uniform(0, 3000):.3f}"
                lines.append(row + (f",{rng.uniform(0, 900):.2f}" if memory else ""))
        path = folder / f"usage_{index}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


@pytest.mark.slow
def test_canonical_csv_paths_parts_equal_serial(client: Any, tmp_path: Path) -> None:
    # half the files sampled every 200 s, half every 400 s: no part has the median of all
    paths = [str(p) for p in _canonical_set(tmp_path, (200, 200, 200, 400, 400, 400))]
    serial = load_workload(paths)
    assert serial.format == "canonical-csv"
    assert 250 <= serial.step_s <= 350
    assert serial.peak  # 200 s samples share 300 s steps (400 s ones do not)
    assert serial.quality.problems[0].message.startswith("rows were not in time order")
    partitioned, labels = ingest(client, paths, 3)
    assert "3 of 3 parts on the grid" in labels
    assert_same(serial, partitioned)

    # one VM in two files: the parts are not independent, the spec is read whole
    (tmp_path / "more.csv").write_text(
        "vm_id,timestamp,cpu_demand_mhz\nf0-vm1,1700100000,5\nf0-vm1,1700100300,6\n"
    )
    spec = [*paths, str(tmp_path / "more.csv")]
    partitioned, labels = ingest(client, spec, 3)
    assert any(label.startswith("reading whole: a VM appears in several parts") for label in labels)
    assert_same(load_workload(spec), partitioned)


# --------------------------------------------------------------------------- same errors
@pytest.mark.slow
def test_bad_row_in_one_canonical_csv_same_error(client: Any, tmp_path: Path) -> None:
    paths = _canonical_set(tmp_path)
    lines = paths[4].read_text().split("\n")
    lines[40] = "f4-vm0,1700003000,abc,12"
    paths[4].write_text("\n".join(lines))
    message = same_error(client, [str(p) for p in paths], 3)
    assert message.startswith(f"{paths[4]}:41, column 'cpu_demand_mhz'")


@pytest.mark.slow
@pytest.mark.shared_data
def test_bad_bitbrains_files_same_error(client: Any, tmp_path: Path) -> None:
    folder = tmp_path / "rnd"
    shutil.copytree(shared_or_skip(*BITBRAINS, "rnd"), folder)
    damage_bitbrains(folder / "2013-8" / "420.csv", 8, 0, "12")  # VM 420: the middle part
    message = same_error(client, folder, 3)
    assert message.startswith(f"{folder / '2013-8' / '420.csv'}:8, column 'Timestamp [ms]'")
    damage_bitbrains(folder / "2013-7" / "166.csv", 50, 3, "-5")  # an earlier part fails too
    message = same_error(client, folder, 3)
    assert message.startswith(f"{folder / '2013-7' / '166.csv'}:50, column 'CPU usage [MHZ]'")
    (folder / "2013-9" / "1.csv").write_text("Timestamp;CPU\n1;2\n")  # headers are checked first
    message = same_error(client, folder, 3)
    assert "header is" in message and message.startswith(f"{folder / '2013-9' / '1.csv'}:1")


@pytest.mark.slow
@pytest.mark.shared_data
def test_bad_planetlab_files_same_error(client: Any, tmp_path: Path) -> None:
    source = shared_or_skip(*PLANETLAB, "20110303")
    day = tmp_path / "20110303"
    day.mkdir()
    files = sorted(source.iterdir())[:40]
    for path in files:
        shutil.copy(path, day / path.name)
    (day / files[30].name).write_text("12\n7\n-3\n")  # a negative value, in the last part
    message = same_error(client, day, 4)
    assert message.startswith(f"{day / files[30].name}:3")
    (day / files[5].name).write_text("12\nx\n")  # not a number, in the first part
    message = same_error(client, day, 4)
    assert message.startswith(f"{day / files[5].name}:2")
    (day / files[20].name).write_text("")  # an empty file is found before any parse
    message = same_error(client, day, 4)
    assert message.startswith(f"{day / files[20].name}:1: file is empty")


@pytest.mark.slow
def test_cancel_stops_the_ingest(client: Any, tmp_path: Path) -> None:
    paths = [str(p) for p in _canonical_set(tmp_path, (300,) * 4)]

    def cancelled() -> None:
        raise TraceFormatError("stop here")

    with pytest.raises(TraceFormatError, match="stop here"):
        load_workload_on_dask(client, paths, n_parts=2, check_cancel=cancelled)
