"""Bitbrains GWA-T-12 per-VM performance traces (reader ``"bitbrains"``).

**Input**: one file, a folder of per-VM files (month sub-folders such as ``rnd/2013-7/1.csv``
are searched), or a zip of them. Each file is one VM: a header line, then one row per sample,
fields separated by the two characters ``;`` + TAB.

**Units and decisions** (GWA-T-12 page; Shen, van Beek, Iosup, CCGrid 2015,
DOI 10.1109/CCGrid.2015.60; facts checked on the real files):

- ``Timestamp [ms]`` holds Unix epoch **seconds** despite its header (OpenDC's reader parses it
  with ``Instant.ofEpochSecond``). A file whose every timestamp is above 10**11 is taken to be in
  milliseconds, with a Problem.
- The VM id is the file stem: the same stem in different month folders is the same VM.
- ``KB`` means KiB: memory KiB → MiB; disk KiB/s → MiB/s; network KiB/s → Mbit/s
  (:data:`capplan.units.MBPS_PER_KIB_S`). Disk IOPS are not in the format (left null).
  ``CPU usage [%]`` is redundant with ``CPU usage [MHZ]`` and is not read.
- Rows with 0 cores and 0 MHz provisioned mean "VM absent/off": every demand metric is 0 there
  and they do not count towards the inventory.
- Inventory (``n_vcpus``, ``cpu_capacity_mhz``, ``mem_provisioned_mib``) is the most common value
  of the VM's powered rows (capacity compared at 0.1 MHz, since it jitters in the 6th decimal);
  a change inside the trace is a Problem.
- CPU usage above capacity and memory usage above provisioned memory are kept, and reported.
- Exact duplicate rows are dropped and reported. To avoid hashing every row, only the rows of
  VMs whose timestamps are not strictly increasing inside a file, or whose files overlap in
  time, are hashed; the disk and network values are compared at float32 (the precision both
  forms of the rows share). Duplicated timestamps with different values are kept (the
  Workload builder decides) and reported.
- Values are parsed as float64 and converted in float64; ``Trace.usage`` keeps that precision.
  The compact batches round the converted metrics to float32.

**How it reads** (a 1 GB set holds 10 M rows): files are grouped into batches of whole VMs
(every file of a VM in one batch, VMs in id order), each batch parsed by one polars scan and
checked and converted with numpy. Each batch leaves a compact frame (VM code, epoch seconds,
metrics rounded to float32, the Workload's precision; 32 bytes a row) in the Trace's
:class:`~capplan.io.trace.UsageBatches`, which the Workload builder consumes directly.
``Trace.usage`` is the same rows in canonical form at full precision: collecting it parses the
files again (it is not needed to build a Workload). Rows come out sorted by VM and time.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.csvtools import read_csv_typed
from capplan.io.files import Member, list_members
from capplan.io.multifile import FILE_COLUMN, RowLocator, check_values
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import BATCH_TIME_COLUMN, BATCH_VM_COLUMN, Problem, Trace, UsageBatches
from capplan.units import KIB_PER_MIB, MBPS_PER_KIB_S, MS_PER_S

#: Header fields of a GWA-T-12 file, in order, and the short names used inside this module.
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("Timestamp [ms]", "ts"),
    ("CPU cores", "cores"),
    ("CPU capacity provisioned [MHZ]", "cap_mhz"),
    ("CPU usage [MHZ]", "cpu_mhz"),
    ("CPU usage [%]", "cpu_pct"),
    ("Memory capacity provisioned [KB]", "mem_prov_kib"),
    ("Memory usage [KB]", "mem_kib"),
    ("Disk read throughput [KB/s]", "disk_r_kib_s"),
    ("Disk write throughput [KB/s]", "disk_w_kib_s"),
    ("Network received throughput [KB/s]", "net_rx_kib_s"),
    ("Network transmitted throughput [KB/s]", "net_tx_kib_s"),
)
VENDOR_NAMES = tuple(vendor for vendor, _ in HEADER_FIELDS)
SHORT_NAMES = tuple(short for _, short in HEADER_FIELDS)
DISPLAY = dict(zip(SHORT_NAMES, VENDOR_NAMES, strict=True))
#: Canonical metric ← (file column, factor into the canonical unit).
_METRICS: tuple[tuple[str, str, float], ...] = (
    ("cpu_demand_mhz", "cpu_mhz", 1.0),
    ("mem_active_mib", "mem_kib", 1.0 / KIB_PER_MIB),
    ("disk_read_mib_s", "disk_r_kib_s", 1.0 / KIB_PER_MIB),
    ("disk_write_mib_s", "disk_w_kib_s", 1.0 / KIB_PER_MIB),
    ("net_rx_mbps", "net_rx_kib_s", MBPS_PER_KIB_S),
    ("net_tx_mbps", "net_tx_kib_s", MBPS_PER_KIB_S),
)
_SCHEMA: dict[str, pl.DataType] = {
    short: (pl.Int64() if short == "ts" else pl.Float64()) for short in SHORT_NAMES
}
#: Columns that are read and checked (``CPU usage [%]`` is redundant and unused).
_CHECKED = tuple(name for name in SHORT_NAMES if name != "cpu_pct")
#: File columns kept as parsed (for the checks, the inventory and the timestamps); the disk
#: and network columns are kept only converted into canonical metrics.
_NUMPY_COLUMNS = ("ts", "cores", "cap_mhz", "cpu_mhz", "mem_prov_kib", "mem_kib")
#: Timestamps above this are taken as milliseconds (10**11 s is the year 5138).
_MS_THRESHOLD = 10**11
#: Plausible epoch seconds: 1990-01-01 .. 2100-01-01.
_TS_MIN_S, _TS_MAX_S = 631_152_000, 4_102_444_800
#: Capacity values are compared at this resolution (MHz): they jitter in the 6th decimal.
_CAP_RESOLUTION_DECIMALS = 1
#: Batches per read (files are grouped into about this many), and bounds on a batch's bytes.
#: Fewer, larger batches cost less per row; smaller ones hold less memory at a time (two are
#: in flight). Measured on a 1 GB set: 32 MB batches peaked near 1.95× the Workload's arrays
#: over read and build, 16 MB batches near 1.85×, at about the same speed.
_N_BATCHES = 32
_BATCH_MIN_BYTES, _BATCH_MAX_BYTES = 4 * 1024**2, 32 * 1024**2
#: Size assumed for a file whose size is not known without decompressing it.
_UNKNOWN_FILE_BYTES = 1024**2

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _header_names(member: Member) -> list[str] | None:
    head = member.head(4096)
    if not head:
        return None
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    return [cell.strip() for cell in first.split(";")]


def _is_header(names: list[str] | None) -> bool:
    return names is not None and [n.lower() for n in names] == [v.lower() for v in VENDOR_NAMES]


def detect(members: list[Member]) -> float:
    """Score members as Bitbrains files: the share of sampled files with the GWA-T-12 header."""
    if not members:
        return 0.0
    sample = members[:: max(1, len(members) // 20)][:20]
    hits = sum(_is_header(_header_names(member)) for member in sample)
    return 0.95 * hits / len(sample)


def vm_id_of(member: Member) -> str:
    """The VM id of a file: its name without ``.csv`` / ``.csv.gz``."""
    name = member.name
    for suffix in (".csv.gz", ".gz", ".csv", ".txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return PurePosixPath(name).stem or name


def _check_headers(members: list[Member]) -> None:
    for member in members:
        names = _header_names(member)
        if names is None or names == [""]:
            raise TraceFormatError(
                "file is empty; expected a Bitbrains header line", path=member.label, line=1
            )
        if not _is_header(names):
            raise TraceFormatError(
                f"header is {names[:4]}{'...' if len(names) > 4 else ''}; expected the GWA-T-12 "
                f"header {list(VENDOR_NAMES[:3])}... separated by ';' + TAB",
                path=member.label,
                line=1,
            )


def _parse_one(member: Member, index: int, options: ReadOptions) -> pl.DataFrame:
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=VENDOR_NAMES,
        dtypes={DISPLAY[short]: _SCHEMA[short] for short in _CHECKED},
        separator=";",
        has_header=True,
        quote_char=None,
    )
    return frame.select(
        *(pl.col(DISPLAY[short]).alias(short) for short in _CHECKED),
        pl.lit(index, pl.UInt32).alias(FILE_COLUMN),
    )


def _converted(full: bool) -> list[pl.Expr]:
    """Canonical metrics from the file columns: float64 (``full``) or rounded to float32."""
    dtype = pl.Float64 if full else pl.Float32
    return [
        (pl.col(column) * factor if factor != 1.0 else pl.col(column)).cast(dtype).alias(name)
        for name, column, factor in _METRICS
    ]


def _parse_batch(
    members: Sequence[Member], options: ReadOptions, *, full: bool, raw: bool = False
) -> pl.DataFrame:
    """Parse files into one frame: file columns, the canonical metrics and ``_file``.

    The file columns are those of :data:`_NUMPY_COLUMNS`, or every checked one when ``raw``
    (to name a bad value). ``_file`` is the file's position in ``members``. One polars scan
    for files on disk; one parse per file otherwise, or when the scan fails (that parse names
    the first bad line).
    """
    outputs: list[str | pl.Expr] = [*(_CHECKED if raw else _NUMPY_COLUMNS), *_converted(full)]
    if all(m.disk_path is not None and not m.name.lower().endswith(".gz") for m in members):
        paths = [str(m.disk_path) for m in members]
        try:
            return (
                pl.scan_csv(
                    paths,
                    separator=";",
                    has_header=False,
                    skip_rows=1,
                    schema=_SCHEMA,
                    quote_char=None,
                    include_file_paths="_path",
                )
                .select(
                    *outputs,
                    pl.col("_path")
                    .cast(pl.Enum(paths))
                    .to_physical()
                    .cast(pl.UInt32)
                    .alias(FILE_COLUMN),
                )
                .collect()
            )
        except (pl.exceptions.PolarsError, OSError, ValueError):
            pass  # the slow path below finds the first bad line
    else:
        joined = _parse_joined(members, options, outputs)
        if joined is not None:
            return joined
    frames = [_parse_one(m, i, options) for i, m in enumerate(members)]
    return pl.concat(frames, how="vertical").select(*outputs, FILE_COLUMN)


def _parse_joined(
    members: Sequence[Member], options: ReadOptions, outputs: list[str | pl.Expr]
) -> pl.DataFrame | None:
    """Parse files that are not plain files on disk (zip members, gzip) in one polars read.

    Their bodies (header line dropped; every header was checked when the files were listed)
    are joined into one buffer, and ``_file`` comes from each body's line count. Parsing
    thousands of small files one by one cost about 1 ms each. Returns None when the joined
    parse fails or its row count disagrees, so that the file-by-file parse names the first
    bad line.
    """
    bodies: list[bytes] = []
    rows: list[int] = []
    for member in members:
        data = member.read_bytes(options.max_expanded_bytes)
        _, _, body = data.partition(b"\n")
        body = body.rstrip(b"\r\n")
        if body:
            body += b"\n"
        if b"\n\n" in body or body.startswith((b"\n", b"\r")):
            return None  # blank lines: let the careful parse decide
        bodies.append(body)
        rows.append(body.count(b"\n"))
    if not sum(rows):
        return None
    try:
        frame = pl.read_csv(
            io.BytesIO(b"".join(bodies)),
            separator=";",
            has_header=False,
            schema=_SCHEMA,
            quote_char=None,
        )
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    if frame.height != sum(rows):
        return None
    file_index = np.repeat(np.arange(len(members), dtype=np.uint32), rows)
    return frame.with_columns(pl.Series(FILE_COLUMN, file_index, dtype=pl.UInt32)).select(
        *outputs, FILE_COLUMN
    )


#: Bit patterns (as unsigned integers) from which on a float is not finite or is negative:
#: the sign bit sorts negative numbers above every non-negative one, and the all-ones
#: exponent of infinity and NaN above every finite one.
_NOT_FINITE_OR_NEGATIVE = {
    np.dtype(np.float64): (np.uint64, 0x7FF0_0000_0000_0000),
    np.dtype(np.float32): (np.uint32, 0x7F80_0000),
    np.dtype(np.int64): (np.uint64, 1 << 63),
}


def _columns(frame: pl.DataFrame) -> dict[str, npt.NDArray[Any]]:
    """The columns the checks need and the canonical metrics, as numpy arrays.

    A scan's columns come in many chunks, which polars joins for numpy. The metric arrays,
    which the compact batches keep, are then copied into numpy's own memory: polars' allocator
    returns freed memory to the system only after a delay, and the Workload builder frees
    these arrays one metric at a time while it fills the dense ones.
    """
    columns = {name: frame.get_column(name).to_numpy() for name in _NUMPY_COLUMNS}
    for name, _, _ in _METRICS:
        columns[name] = frame.get_column(name).to_numpy().copy()
    return columns


def _values_ok(frame: pl.DataFrame, columns: dict[str, npt.NDArray[Any]]) -> bool:
    """Whether every value is present, finite and non-negative (one reduction per column).

    The disk and network columns are judged by their converted values (a positive factor
    keeps NaN, infinity and sign); when something is wrong, :func:`check_values` on the file
    columns names it.
    """
    for name in columns:
        if frame.get_column(name).null_count():
            return False
    for values in columns.values():
        limit = _NOT_FINITE_OR_NEGATIVE.get(values.dtype)
        if limit is None:
            return False  # only a null turns a column into objects
        if values.size and values.view(limit[0]).max() >= limit[1]:
            return False
    return True


def _overlapping_vms(file_to_vm: list[int], first: np.ndarray, last: np.ndarray) -> set[int]:
    """VM codes having two files whose time ranges overlap."""
    by_vm: dict[int, list[tuple[int, int]]] = {}
    for index, vm in enumerate(file_to_vm):
        if first[index] >= 0:
            by_vm.setdefault(vm, []).append((int(first[index]), int(last[index])))
    overlapping: set[int] = set()
    for vm, ranges in by_vm.items():
        ranges.sort()
        if any(nxt[0] <= prev[1] for prev, nxt in itertools.pairwise(ranges)):
            overlapping.add(vm)
    return overlapping


def _files_out_of_order(file_to_vm: list[int], first: np.ndarray) -> bool:
    """Whether some VM's files, in member order, do not start in time order."""
    latest: dict[int, int] = {}
    for index, vm in enumerate(file_to_vm):
        if first[index] < 0:
            continue
        if first[index] < latest.get(vm, -1):
            return True
        latest[vm] = int(first[index])
    return False


def _duplicates(
    frame: pl.DataFrame, vm_row: npt.NDArray[np.uint32], ts: IntArray, suspects: set[int]
) -> tuple[BoolArray, BoolArray]:
    """Find exact duplicate rows (to drop) and repeated (VM, timestamp) pairs.

    Only the rows of ``suspects`` (VMs whose timestamps are not strictly increasing inside a
    file, or whose files overlap in time) are hashed. Rows are compared on their file columns
    and their canonical metrics at float32 (so both forms of the batches agree). Both masks
    mark every occurrence after the first.
    """
    n = frame.height
    exact = np.zeros(n, dtype=bool)
    repeated = np.zeros(n, dtype=bool)
    positions = np.flatnonzero(np.isin(vm_row, np.fromiter(suspects, dtype=np.uint32)))
    # One Int64 key per (VM, timestamp): timestamps are < 2**33 s after the range check.
    key = pl.Series(vm_row[positions].astype(np.int64) * (1 << 33) + ts[positions])
    repeated[positions] = (~key.is_first_distinct()).to_numpy()
    # Exact duplicates can only be among rows whose (VM, timestamp) occurs more than once.
    group = positions[key.is_duplicated().to_numpy()]
    if len(group):
        values = [*_NUMPY_COLUMNS[1:], *(pl.col(n).cast(pl.Float32) for n, _, _ in _METRICS)]
        rows = (
            frame[group]
            .select(values)
            .with_columns(pl.Series("_vm", vm_row[group]), pl.Series("_ts", ts[group]))
        )
        exact[group] = (
            ~rows.select(pl.struct(pl.all()).is_first_distinct()).to_series()
        ).to_numpy()
    return exact, repeated


#: Provisioned sizes the inventory is taken from: inventory name ← file column.
_SIZES = {"cores": "cores", "cap": "cap_mhz", "mem": "mem_prov_kib"}


def _size_runs(
    vm_row: npt.NDArray[np.uint32],
    off: BoolArray,
    sizes: dict[str, npt.NDArray[np.float64]],
    file_starts: IntArray,
) -> pl.DataFrame:
    """Runs of rows of one file with equal (cores, capacity, memory), with their lengths.

    The sizes change rarely, so the inventory's group-bys run on a few runs per VM instead of
    on every row. A change of the off state changes cores or capacity, so it starts a run too.
    """
    n = len(vm_row)
    cuts = [file_starts[1:] - 1, *(np.flatnonzero(v[1:] != v[:-1]) for v in sizes.values())]
    starts = np.union1d(np.concatenate(cuts) + 1, [0]).astype(np.int64)
    return pl.DataFrame(
        {
            "_vm": vm_row[starts],
            "off": off[starts],
            "n": np.diff(np.append(starts, n)),
            **{name: values[starts] for name, values in sizes.items()},
        }
    )


def _modes(runs: pl.DataFrame) -> pl.DataFrame:
    """Per VM with powered rows: most common value, distinct count, min and max of its sizes."""
    powered = runs.filter(~pl.col("off")).with_columns(
        pl.col("cap").round(_CAP_RESOLUTION_DECIMALS)
    )
    result = powered.select("_vm").unique(maintain_order=True)
    for name in _SIZES:
        per_value = powered.group_by("_vm", name).agg(pl.col("n").sum())
        modes = (
            per_value.sort(["_vm", "n", name], descending=[False, True, False])
            .group_by("_vm", maintain_order=True)
            .agg(
                pl.col(name).first(),
                pl.len().alias(f"n_{name}"),
                pl.col(name).min().alias(f"{name}_min"),
                pl.col(name).max().alias(f"{name}_max"),
            )
        )
        result = result.join(modes, on="_vm", how="left")
    return result


@dataclass
class _Finding:
    """Count of rows with one kind of finding, and where the first one is."""

    count: int = 0
    where: tuple[str, int, str] | None = None


@dataclass
class _Findings:
    """What the batches found, gathered for the problem list and the inventory."""

    kinds: dict[str, _Finding] = field(default_factory=dict)
    ms_rows: int = 0
    ms_files: list[str] = field(default_factory=list)
    empty_files: list[int] = field(default_factory=list)
    runs: list[pl.DataFrame] = field(default_factory=list)
    n_rows: int = 0

    def add(self, kind: str, count: int, where: tuple[str, int, str] | None) -> None:
        if not count:
            return
        found = self.kinds.setdefault(kind, _Finding())
        found.count += count
        if found.where is None:
            found.where = where

    @classmethod
    def merge(cls, parts: Sequence[_Findings]) -> _Findings:
        """What one read of all files finds, from reads of disjoint groups of whole VMs.

        ``parts`` are in VM order (each holds the VMs after those of the one before), as one
        read processes them; file indices and VM codes are those of the whole file list.
        """
        if len(parts) == 1:
            return parts[0]
        out = cls()
        for part in parts:
            for kind, found in part.kinds.items():
                out.add(kind, found.count, found.where)
            out.ms_rows += part.ms_rows
            out.ms_files += part.ms_files
            out.empty_files += part.empty_files
            out.runs += part.runs
            out.n_rows += part.n_rows
        return out


#: What reading some VMs' files found: row findings, inventory runs (merge with ``merge``).
BitbrainsFindings = _Findings


@dataclass(frozen=True)
class _Context:
    """The files of one read and how they map to VMs and batches."""

    members: tuple[Member, ...]
    vm_names: tuple[str, ...]
    file_vm: npt.NDArray[np.uint32]
    plan: tuple[tuple[int, ...], ...]
    options: ReadOptions


def _file_bytes(member: Member) -> int:
    path = member.disk_path
    return path.stat().st_size if path is not None else _UNKNOWN_FILE_BYTES


def _plan(
    members: Sequence[Member], file_vm: npt.NDArray[np.uint32], n_vms: int
) -> list[tuple[int, ...]]:
    """Group file indices into batches of whole VMs, VMs in code order."""
    by_vm: list[list[int]] = [[] for _ in range(n_vms)]
    for index, code in enumerate(file_vm.tolist()):
        by_vm[code].append(index)
    sizes = [_file_bytes(m) for m in members]
    target = min(max(sum(sizes) // _N_BATCHES, _BATCH_MIN_BYTES), _BATCH_MAX_BYTES)
    batches: list[tuple[int, ...]] = []
    current: list[int] = []
    current_bytes = 0
    for files in by_vm:
        current += files
        current_bytes += sum(sizes[i] for i in files)
        if current_bytes >= target:
            batches.append(tuple(current))
            current, current_bytes = [], 0
    if current:
        batches.append(tuple(current))
    return batches


def _process(
    context: _Context,
    files: tuple[int, ...],
    frame: pl.DataFrame,
    findings: _Findings | None,
) -> pl.DataFrame:
    """Check one parsed batch, note its findings, and return its rows (sorted by VM, time).

    The metrics keep the dtype ``frame`` has them in. ``findings`` is None when the files are
    parsed again (their findings are known).
    """
    labels = [context.members[i].label for i in files]
    names = [context.vm_names[context.file_vm[i]] for i in files]
    n = frame.height
    locator = RowLocator.build(frame.get_column(FILE_COLUMN), labels, first_data_line=2)
    has_rows = locator.starts >= 0
    if findings is not None:
        findings.empty_files += [f for f, ok in zip(files, has_rows, strict=True) if not ok]
        findings.n_rows += n
    if n == 0:
        return _compact(np.zeros(0, np.uint32), np.zeros(0, np.int64), _columns(frame))
    columns = _columns(frame)
    if not _values_ok(frame, columns):
        members = [context.members[i] for i in files]
        raw = _parse_batch(members, context.options, full=True, raw=True)
        check_values(raw, _CHECKED, locator, display=DISPLAY)
        # Only a finite value too large for float32 gets here; it stays infinite.
    with_rows = np.flatnonzero(has_rows)
    seg = locator.starts[with_rows]
    lengths = np.diff(np.append(seg, n))
    file_col = frame.get_column(FILE_COLUMN)

    def where(row: int) -> tuple[str, int, str]:
        index = int(file_col[row])
        label, line = locator.locate(index, row)
        return label, line, names[index]

    def note(kind: str, mask: BoolArray) -> None:
        if findings is not None:
            count = int(np.count_nonzero(mask))
            findings.add(kind, count, where(int(np.argmax(mask))) if count else None)

    # timestamps: milliseconds per file, then the plausible range
    ts = columns["ts"]
    first_ts = np.minimum.reduceat(ts, seg)
    last_ts = np.maximum.reduceat(ts, seg)
    in_ms = first_ts > _MS_THRESHOLD
    if in_ms.any():
        ts = ts.copy()
        for k in np.flatnonzero(in_ms):
            ts[seg[k] : seg[k] + lengths[k]] //= int(MS_PER_S)
        first_ts[in_ms] //= int(MS_PER_S)
        last_ts[in_ms] //= int(MS_PER_S)
        if findings is not None:
            findings.ms_rows += int(lengths[in_ms].sum())
            findings.ms_files += [labels[with_rows[k]] for k in np.flatnonzero(in_ms)]
    if first_ts.min() < _TS_MIN_S or last_ts.max() >= _TS_MAX_S:
        row = int(np.argmax((ts < _TS_MIN_S) | (ts >= _TS_MAX_S)))
        label, line, _ = where(row)
        raise TraceFormatError(
            f"timestamp {ts[row]} is not Unix epoch seconds between 1990 and 2100",
            path=label,
            line=line,
            column=DISPLAY["ts"],
        )

    # off rows and values above the provisioned sizes
    sizes = {name: columns[column] for name, column in _SIZES.items()}
    off = (sizes["cores"] == 0) & (sizes["cap"] == 0)
    n_off = int(np.count_nonzero(off))
    if findings is not None:
        note("off", off)
        for kind, used, provisioned in (
            ("over_cpu", "cpu_mhz", "cap"),
            ("over_mem", "mem_kib", "mem"),
        ):
            over = columns[used] > sizes[provisioned]
            if n_off:
                over &= ~off
            note(kind, over)

    # order inside files, overlapping files, duplicates
    vm_row = np.repeat(context.file_vm[np.asarray(files)[with_rows]], lengths)
    if findings is not None:
        findings.runs.append(_size_runs(vm_row, off, sizes, seg))
    not_increasing = ts[1:] <= ts[:-1]
    not_increasing[seg[1:] - 1] = False  # across two files
    backwards = False
    suspects: set[int] = set()
    if not_increasing.any():
        suspects = set(np.unique(vm_row[1:][not_increasing]).tolist())
        back = ts[1:] < ts[:-1]
        back[seg[1:] - 1] = False
        backwards = bool(back.any())
        if backwards:
            note("backwards", np.r_[False, back])
    file_vms = context.file_vm[np.asarray(files)].tolist()
    first_all = np.full(len(files), -1, dtype=np.int64)
    last_all = np.full(len(files), -1, dtype=np.int64)
    first_all[with_rows], last_all[with_rows] = first_ts, last_ts
    overlapping = _overlapping_vms(file_vms, first_all, last_all)
    suspects |= overlapping
    keep: npt.NDArray[np.intp] | None = None
    if suspects:
        exact, repeated = _duplicates(frame, vm_row, ts, suspects)
        note("exact", exact)
        note("repeated", repeated & ~exact)
        if exact.any():
            keep = np.flatnonzero(~exact)
    if backwards or overlapping or _files_out_of_order(file_vms, first_all):
        kept_vm = vm_row if keep is None else vm_row[keep]
        kept_ts = ts if keep is None else ts[keep]
        order = np.lexsort((kept_ts, kept_vm))
        keep = order if keep is None else keep[order]
    zero = np.flatnonzero(off) if n_off else None
    if keep is not None:
        vm_row, ts = vm_row[keep], ts[keep]
    return _compact(vm_row, ts, columns, keep=keep, zero=zero)


def _compact(
    vm_row: npt.NDArray[np.uint32],
    ts: IntArray,
    columns: dict[str, npt.NDArray[Any]],
    *,
    keep: npt.NDArray[np.intp] | None = None,
    zero: npt.NDArray[np.intp] | None = None,
) -> pl.DataFrame:
    """The batch frame for :class:`UsageBatches`: VM codes, times and the canonical metrics.

    ``zero``: rows (of ``columns``) whose metrics are set to 0; ``keep``: rows kept, in order.
    """
    series = [
        pl.Series(BATCH_VM_COLUMN, vm_row, dtype=pl.UInt32),
        pl.Series(BATCH_TIME_COLUMN, ts.astype(np.uint32), dtype=pl.UInt32),
    ]
    for name, _, _ in _METRICS:
        values = columns[name]
        if zero is not None:
            if not values.flags.writeable:
                values = values.copy()
            values[zero] = 0.0
        if keep is not None:
            values = values[keep]
        series.append(pl.Series(name, values))
    return pl.DataFrame(series)


def _stat(member: Member, path: Path) -> tuple[int, int]:
    """Size and modification time of a member's file (the archive for a zip member)."""
    stat = os.stat(member.disk_path or path)
    return stat.st_size, stat.st_mtime_ns


def _inventory(findings: _Findings, vm_names: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Inventory per VM from powered rows; also per-VM counts of distinct provisioned values."""
    joined = pl.DataFrame({"_vm": np.arange(len(vm_names), dtype=np.uint32)})
    modes = _modes(pl.concat(findings.runs, how="vertical")) if findings.runs else None
    if modes is not None and modes.height:
        joined = joined.join(
            modes.with_columns(pl.col("_vm").cast(pl.UInt32)), on="_vm", how="left"
        )
    else:
        joined = joined.with_columns(
            pl.lit(None, pl.Float64).alias(name) for name in ("cores", "cap", "mem")
        )
    inventory = pl.DataFrame(
        {
            "vm_id": pl.Series("vm_id", list(vm_names), dtype=pl.String),
            "n_vcpus": joined.get_column("cores").round(0).cast(pl.Int32),
            "cpu_capacity_mhz": joined.get_column("cap"),
            "mem_provisioned_mib": joined.get_column("mem") / KIB_PER_MIB,
        }
    )
    return inventory, joined


def _inventory_problems(
    joined: pl.DataFrame, vm_names: Sequence[str], first_label: dict[int, str]
) -> list[Problem]:
    problems: list[Problem] = []
    checks = (
        ("n_cores", "CPU cores", "cores"),
        ("n_cap", "CPU capacity provisioned [MHZ]", "CPU capacity"),
        ("n_mem", "Memory capacity provisioned [KB]", "provisioned memory"),
    )
    for column, vendor, words in checks:
        if column not in joined.columns:
            continue
        changed = joined.filter(pl.col(column) > 1)
        if changed.is_empty():
            continue
        first = changed.row(0, named=True)
        vm = int(first["_vm"])
        detail = f"{first[column]} values"
        if column == "n_mem":
            detail += (
                f", {first['mem_min'] / KIB_PER_MIB:,.0f}–{first['mem_max'] / KIB_PER_MIB:,.0f} MiB"
            )
        problems.append(
            Problem(
                f"{words} changes inside the trace for {changed.height} VM(s) (e.g. "
                f"{vm_names[vm]}: {detail}); the inventory uses the most common value",
                path=first_label.get(vm),
                column=vendor,
                vm_id=vm_names[vm],
                count=changed.height,
            )
        )
    never = joined.filter(pl.col("cores").is_null())
    if not never.is_empty():
        vm = int(never.get_column("_vm")[0])
        problems.append(
            Problem(
                f"{never.height} VM(s) have no powered row (0 cores / 0 MHz everywhere, or no "
                f"rows); their inventory sizes are unknown (e.g. {vm_names[vm]})",
                path=first_label.get(vm),
                vm_id=vm_names[vm],
                count=never.height,
            )
        )
    return problems


#: Row findings reported as problems, in report order: (kind, message, column).
_ROW_PROBLEMS = (
    (
        "off",
        "{count:,} rows with 0 cores and 0 MHz provisioned (VM off/absent): demand set to 0 "
        "and excluded from the inventory",
        None,
    ),
    (
        "over_cpu",
        "{count:,} rows with CPU usage above the provisioned capacity (kept)",
        DISPLAY["cpu_mhz"],
    ),
    (
        "over_mem",
        "{count:,} rows with memory usage above the provisioned memory (kept)",
        DISPLAY["mem_kib"],
    ),
    ("exact", "{count:,} exact duplicate rows dropped", None),
    (
        "repeated",
        "{count:,} rows repeat a timestamp of the same VM with different values (kept; the "
        "Workload builder keeps one per timestamp)",
        DISPLAY["ts"],
    ),
    (
        "backwards",
        "timestamps go backwards {count:,} times inside files; rows sorted by VM and time",
        DISPLAY["ts"],
    ),
)


def _problems(findings: _Findings, context: _Context, joined: pl.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    if findings.ms_rows:
        problems.append(
            Problem(
                f"{findings.ms_rows:,} rows in {len(findings.ms_files)} file(s) have timestamps "
                "in milliseconds (every value above 10^11); divided by 1000",
                path=findings.ms_files[0],
                column=DISPLAY["ts"],
                count=findings.ms_rows,
            )
        )
    for kind, text, column in _ROW_PROBLEMS:
        found = findings.kinds.get(kind)
        if found is None or found.where is None:
            continue
        label, line, vm = found.where
        problems.append(
            Problem(
                text.format(count=found.count),
                path=label,
                line=line,
                column=column,
                vm_id=vm,
                count=found.count,
            )
        )
    first_label: dict[int, str] = {}
    for member, code in zip(context.members, context.file_vm.tolist(), strict=True):
        first_label.setdefault(code, member.label)
    problems.extend(_inventory_problems(joined, context.vm_names, first_label))
    if findings.empty_files:
        empty = sorted(findings.empty_files)
        problems.append(
            Problem(
                f"{len(empty)} file(s) hold a header and no rows",
                path=context.members[empty[0]].label,
                count=len(empty),
            )
        )
    counts = Counter(context.file_vm.tolist())
    multi = [code for code, n in counts.items() if n > 1]
    if multi:
        name = context.vm_names[multi[0]]
        problems.append(
            Problem(
                f"{len(multi)} VM id(s) appear in several files (e.g. {name!r}: "
                f"{counts[multi[0]]} files); their rows are joined as one VM",
                vm_id=name,
                count=len(multi),
            )
        )
    return problems


def _parsed(context: _Context, *, full: bool) -> Iterator[tuple[tuple[int, ...], pl.DataFrame]]:
    """Parse the batches in plan order; the next one is parsed in a background thread while
    the caller checks the current one (polars and numpy both release the GIL)."""
    plan = context.plan

    def parse(files: tuple[int, ...]) -> pl.DataFrame:
        return _parse_batch([context.members[i] for i in files], context.options, full=full)

    if not plan:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(parse, plan[0])
        for k, files in enumerate(plan):
            frame = pending.result()
            if k + 1 < len(plan):
                pending = pool.submit(parse, plan[k + 1])
            yield files, frame


def _parse_again(
    context: _Context, path: Path, stats: Mapping[int, tuple[int, int]], *, full: bool
) -> Iterator[pl.DataFrame]:
    """Parse the files again (``full``: float64 metrics), refusing files that changed."""
    for files, frame in _parsed(context, full=full):
        for index in files:
            member = context.members[index]
            try:
                unchanged = _stat(member, path) == stats[index]
            except OSError:
                unchanged = False
            if not unchanged:
                raise TraceFormatError(
                    "file changed or vanished since the trace was read; read it again",
                    path=member.label,
                )
        yield _process(context, files, frame, None)


@dataclass(frozen=True)
class BitbrainsFiles:
    """The checked files of a Bitbrains trace, the VM of each, and the batches a read parses.

    Attributes
    ----------
    path
        The file, folder or zip that was listed.
    members
        Its files, sorted by label.
    vm_names
        VM ids, sorted: VM code ``i`` is ``vm_names[i]``.
    file_vm
        VM code of each file, shape ``(n_files,)``.
    batches
        File indices of each batch: whole VMs, batches in VM code order. A read of a range of
        batches parses, checks and reports exactly as the read of all files does for them.
    """

    path: Path
    members: tuple[Member, ...]
    vm_names: tuple[str, ...]
    file_vm: npt.NDArray[np.uint32]
    batches: tuple[tuple[int, ...], ...]

    def batch_bytes(self) -> list[int]:
        """Stored bytes of each batch's files (a file inside a zip counts as 1 MiB)."""
        sizes = [_file_bytes(m) for m in self.members]
        return [sum(sizes[i] for i in files) for files in self.batches]


def list_bitbrains_files(path: Path, options: ReadOptions) -> BitbrainsFiles:
    """List a Bitbrains trace's files, check every header, number the VMs and batch the files.

    Raises
    ------
    TraceFormatError
        At the first file that is empty or whose header is not the GWA-T-12 header.
    """
    members = list_members(path, options.max_expanded_bytes)
    _check_headers(members)
    vm_of_file = [vm_id_of(m) for m in members]
    vm_names = sorted(set(vm_of_file))
    code_of_name = {name: i for i, name in enumerate(vm_names)}
    file_vm = np.asarray([code_of_name[v] for v in vm_of_file], dtype=np.uint32)
    batches = tuple(_plan(members, file_vm, len(vm_names)))
    return BitbrainsFiles(path, tuple(members), tuple(vm_names), file_vm, batches)


def read_bitbrains_batches(
    files: BitbrainsFiles, batches: range | None, options: ReadOptions
) -> tuple[Trace, BitbrainsFindings]:
    """Read a range of the batches of ``files`` (all when ``batches`` is None).

    Returns the Trace of their VMs without the reader's problems (its inventory holds those
    VMs) and what the read found; :func:`bitbrains_problems` turns the findings of one or
    several such reads into the problems.
    """
    members, path = files.members, files.path
    plan = files.batches if batches is None else files.batches[batches.start : batches.stop]
    selected = sorted(index for batch in plan for index in batch)
    stats = {index: _stat(members[index], path) for index in selected}
    context = _Context(members, files.vm_names, files.file_vm, plan, options)
    findings = _Findings()
    parsed: list[pl.DataFrame] = []
    done = 0
    for batch_files, frame in _parsed(context, full=False):
        parsed.append(_process(context, batch_files, frame, findings))
        del frame
        done += len(batch_files)
        if options.progress is not None:
            options.progress(done, len(selected))
    inventory, _ = _inventory(findings, files.vm_names)
    if batches is not None:
        inventory = inventory[np.unique(files.file_vm[selected]).tolist()]
    usage = UsageBatches(
        files.vm_names,
        [name for name, _, _ in _METRICS],
        parsed,
        reparse=lambda: _parse_again(context, path, stats, full=False),
        full=lambda: _parse_again(context, path, stats, full=True),
    )
    trace = Trace.from_batches(
        usage,
        inventory,
        format="bitbrains",
        sources=[members[index].label for index in selected],
        native_step_s=300.0,
    )
    return trace, findings


def bitbrains_problems(
    files: BitbrainsFiles, findings: Sequence[BitbrainsFindings], options: ReadOptions
) -> list[Problem]:
    """The reader's problems from the findings of reads of disjoint VMs (in VM order).

    Raises
    ------
    TraceFormatError
        When no file holds a data row.
    """
    merged = _Findings.merge(findings)
    if merged.n_rows == 0:
        raise TraceFormatError(
            "no data rows in any file; expected rows after the header", path=files.path
        )
    _, joined = _inventory(merged, files.vm_names)
    context = _Context(files.members, files.vm_names, files.file_vm, (), options)
    return _problems(merged, context, joined)


@register_reader(
    "bitbrains",
    detect=detect,
    description="Bitbrains GWA-T-12 per-VM files (';'+TAB separated), a file, folder or zip",
)
def read_bitbrains(path: Path, options: ReadOptions) -> Trace:
    """Read Bitbrains GWA-T-12 per-VM files into a canonical Trace (see the module docstring)."""
    files = list_bitbrains_files(path, options)
    trace, findings = read_bitbrains_batches(files, None, options)
    problems = bitbrains_problems(files, [findings], options)
    return dataclasses.replace(trace, problems=tuple(problems))
