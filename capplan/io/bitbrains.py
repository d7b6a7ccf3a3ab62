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
- Rows with 0 cores and 0 MHz provisioned mean "VM absent/off": every demand metric is 0 there
  and they do not count towards the inventory.
- Inventory (``n_vcpus``, ``cpu_capacity_mhz``, ``mem_provisioned_mib``) is the most common value
  of the VM's powered rows (capacity compared at 0.1 MHz, since it jitters in the 6th decimal);
  a change inside the trace is a Problem.
- CPU usage above capacity and memory usage above provisioned memory are kept, and reported.
- Exact duplicate rows are dropped and reported. To avoid hashing the whole frame, only the
  rows of VMs whose timestamps are not strictly increasing are hashed; duplicated timestamps
  with different values are kept (the Workload builder decides) and reported.
- Usage metrics stay Float64 (the canonical usage schema); the Workload builder stores float32.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.csvtools import read_csv_typed
from capplan.io.files import Member, list_members
from capplan.io.multifile import FILE_COLUMN, RowLocator, check_values, first_true
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import TIMESTAMP_DTYPE
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
_SCHEMA: dict[str, pl.DataType] = {
    short: (pl.Int64() if short == "ts" else pl.Float64()) for short in SHORT_NAMES
}
_METRICS = SHORT_NAMES[1:]
#: Timestamps above this are taken as milliseconds (10**11 s is the year 5138).
_MS_THRESHOLD = 10**11
#: Plausible epoch seconds: 1990-01-01 .. 2100-01-01.
_TS_MIN_S, _TS_MAX_S = 631_152_000, 4_102_444_800
#: Capacity values are compared at this resolution (MHz): they jitter in the 6th decimal.
_CAP_RESOLUTION_DECIMALS = 1


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
        dtypes={vendor: _SCHEMA[short] for vendor, short in HEADER_FIELDS},
        separator=";",
        has_header=True,
        quote_char=None,
    )
    return frame.rename(dict(zip(VENDOR_NAMES, SHORT_NAMES, strict=True))).with_columns(
        pl.lit(index, pl.UInt32).alias(FILE_COLUMN)
    )


def _parse_all(members: list[Member], options: ReadOptions) -> pl.DataFrame:
    """Parse every member into one frame with a ``_file`` index column, in member order."""
    fast = [m.disk_path is not None and not m.name.lower().endswith(".gz") for m in members]
    if all(fast):
        paths = [str(m.disk_path) for m in members]
        try:
            frame = (
                pl.scan_csv(
                    paths,
                    separator=";",
                    has_header=False,
                    skip_rows=1,
                    schema=_SCHEMA,
                    quote_char=None,
                    include_file_paths="_path",
                )
                .with_columns(
                    pl.col("_path")
                    .cast(pl.Enum(paths))
                    .to_physical()
                    .cast(pl.UInt32)
                    .alias(FILE_COLUMN)
                )
                .drop("_path")
                .collect()
            )
        except (pl.exceptions.PolarsError, OSError, ValueError):
            frame = None
        if frame is not None:
            return frame
    # Slow path: one parse per file, which also finds the first bad line of a bad file.
    frames = [_parse_one(m, i, options) for i, m in enumerate(members)]
    return pl.concat(frames, how="vertical")


def _problem_at(
    frame: pl.DataFrame,
    mask: pl.Series,
    locator: RowLocator,
    vm_labels: list[str],
    text: str,
    column: str | None = None,
) -> Problem | None:
    count = int(mask.fill_null(False).sum())
    row = first_true(mask)
    if row is None:
        return None
    file_index = int(frame.get_column(FILE_COLUMN)[row])
    label, line = locator.locate(file_index, row)
    return Problem(
        text.format(count=count),
        path=label,
        line=line,
        column=column,
        vm_id=vm_labels[file_index],
        count=count,
    )


def _timestamps(
    frame: pl.DataFrame, locator: RowLocator, problems: list[Problem], summary: dict[str, object]
) -> pl.Series:
    ts = frame.get_column("ts")
    low, high = int(summary["ts_min"]), int(summary["ts_max"])  # type: ignore[call-overload]
    if low > _MS_THRESHOLD:
        problems.append(
            Problem(
                "timestamps are in milliseconds (every value above 10^11); divided by 1000",
                count=len(ts),
                column=DISPLAY["ts"],
            )
        )
        ts = ts // int(MS_PER_S)
        low, high = low // int(MS_PER_S), high // int(MS_PER_S)
    if low < _TS_MIN_S or high >= _TS_MAX_S:
        out_of_range = (ts < _TS_MIN_S) | (ts >= _TS_MAX_S)
        row = first_true(out_of_range)
        assert row is not None
        label, line = locator.locate(int(frame.get_column(FILE_COLUMN)[row]), row)
        raise TraceFormatError(
            f"timestamp {ts[row]} is not Unix epoch seconds between 1990 and 2100",
            path=label,
            line=line,
            column=DISPLAY["ts"],
        )
    return ts


def _file_ranges(ts: pl.Series, locator: RowLocator) -> tuple[np.ndarray, np.ndarray]:
    """Per file index: (first, last) timestamp; files without rows hold (-1, -1)."""
    values = ts.to_numpy()
    starts = locator.starts
    has_rows = starts >= 0
    order = np.flatnonzero(has_rows)
    first = np.full(len(starts), -1, dtype=np.int64)
    last = np.full(len(starts), -1, dtype=np.int64)
    if len(order):
        offsets = starts[order]
        sort = np.argsort(offsets)
        offsets_sorted = offsets[sort]
        first[order[sort]] = np.minimum.reduceat(values, offsets_sorted)
        last[order[sort]] = np.maximum.reduceat(values, offsets_sorted)
    return first, last


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
    frame: pl.DataFrame, vm_code: pl.Series, ts: pl.Series, suspect_vms: set[int]
) -> tuple[pl.Series, pl.Series]:
    """Find exact duplicate rows (to drop) and repeated (VM, timestamp) pairs.

    Only the rows of ``suspect_vms`` (VMs whose timestamps are not strictly increasing inside
    a file, or whose files overlap in time) are hashed. Both masks mark every occurrence
    after the first.
    """
    n = frame.height

    def falses() -> pl.Series:
        # A fresh series each time: Series.scatter writes in place.
        return pl.repeat(False, n, eager=True, dtype=pl.Boolean)

    exact, repeated_all, group_mask = falses(), falses(), falses()
    if not suspect_vms:
        return exact, repeated_all
    in_suspect = vm_code.is_in(pl.Series(sorted(suspect_vms), dtype=pl.UInt32).implode())
    # One Int64 key per (VM, timestamp): timestamps are < 2**33 s after the range check.
    key = (vm_code.cast(pl.Int64) * (1 << 33) + ts).filter(in_suspect)
    positions = in_suspect.arg_true()
    repeated = ~key.is_first_distinct()
    in_group = key.is_duplicated()
    repeated_all = repeated_all.scatter(positions, repeated)
    # Exact duplicates can only be among rows whose (VM, timestamp) occurs more than once.
    group_positions = positions.filter(in_group)
    group_mask = group_mask.scatter(group_positions, True)
    candidates = (
        frame.lazy()
        .select(SHORT_NAMES[1:])
        .with_columns(vm_code.alias("_vm"), ts.alias("_ts"))
        .filter(group_mask)
        .select(~pl.struct(pl.all()).is_first_distinct())
        .collect()
        .to_series()
    )
    exact = exact.scatter(group_positions, candidates)
    return exact, repeated_all


def _modes_by_runs(vm_code: pl.Series, off: pl.Series, value: pl.Series) -> pl.DataFrame:
    """Most common value and number of distinct values per VM, over powered rows.

    Works on runs of equal consecutive (VM, off, value): the values change rarely, so the
    group-by runs on a few rows instead of the whole frame.
    """
    change = (
        (vm_code != vm_code.shift(1)).fill_null(True)
        | (off != off.shift(1)).fill_null(True)
        | (value != value.shift(1)).fill_null(True)
    )
    starts = change.arg_true().to_numpy().astype(np.int64)
    lengths = np.diff(np.append(starts, len(value)))
    runs = pl.DataFrame(
        {
            "_vm": vm_code.gather(starts),
            "off": off.gather(starts),
            "value": value.gather(starts),
            "n": lengths,
        }
    ).filter(~pl.col("off"))
    per_value = runs.group_by("_vm", "value").agg(pl.col("n").sum())
    return (
        per_value.sort(["_vm", "n", "value"], descending=[False, True, False])
        .group_by("_vm", maintain_order=True)
        .agg(
            pl.col("value").first().alias("mode"),
            pl.len().alias("n_unique"),
            pl.col("value").min().alias("min"),
            pl.col("value").max().alias("max"),
        )
    )


def _inventory(
    frame: pl.DataFrame, vm_code: pl.Series, off: pl.Series, vm_names: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Inventory per VM from powered rows; also per-VM counts of distinct provisioned values."""
    joined = pl.DataFrame({"_vm": np.arange(len(vm_names), dtype=np.uint32)})
    sources = {
        "cores": frame.get_column("cores"),
        "cap": frame.get_column("cap_mhz").round(_CAP_RESOLUTION_DECIMALS),
        "mem": frame.get_column("mem_prov_kib"),
    }
    for name, series in sources.items():
        modes = _modes_by_runs(vm_code, off, series).rename(
            {"mode": name, "n_unique": f"n_{name}", "min": f"{name}_min", "max": f"{name}_max"}
        )
        joined = joined.join(
            modes.with_columns(pl.col("_vm").cast(pl.UInt32)), on="_vm", how="left"
        )
    inventory = pl.DataFrame(
        {
            "vm_id": pl.Series("vm_id", vm_names, dtype=pl.String),
            "n_vcpus": joined.get_column("cores").round(0).cast(pl.Int32),
            "cpu_capacity_mhz": joined.get_column("cap"),
            "mem_provisioned_mib": joined.get_column("mem") / KIB_PER_MIB,
        }
    )
    return inventory, joined


def _inventory_problems(
    joined: pl.DataFrame, vm_names: list[str], first_label: dict[int, str]
) -> list[Problem]:
    problems: list[Problem] = []
    checks = (
        ("n_cores", "CPU cores", "cores"),
        ("n_cap", "CPU capacity provisioned [MHZ]", "CPU capacity"),
        ("n_mem", "Memory capacity provisioned [KB]", "provisioned memory"),
    )
    for column, vendor, words in checks:
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


_OFF = (pl.col("cores") == 0) & (pl.col("cap_mhz") == 0)
_OVER_CPU = ~_OFF & (pl.col("cpu_mhz") > pl.col("cap_mhz"))
_OVER_MEM = ~_OFF & (pl.col("mem_kib") > pl.col("mem_prov_kib"))
_SAME_FILE = (pl.col(FILE_COLUMN) == pl.col(FILE_COLUMN).shift(1)).fill_null(False)
_NOT_INCREASING = _SAME_FILE & (pl.col("ts").diff().fill_null(1) <= 0)
_BACKWARDS = _SAME_FILE & (pl.col("ts").diff().fill_null(0) < 0)


#: Columns whose values feed the trace (``CPU usage [%]`` is redundant and unused).
_CHECKED = tuple(name for name in SHORT_NAMES if name != "cpu_pct")


def summary_has(mask: pl.Series) -> bool:
    """Whether a boolean mask holds anywhere."""
    return bool(mask.any())


def _summary(frame: pl.DataFrame) -> dict[str, object]:
    """One parallel pass over the frame: value ranges per column, counts, first rows, times.

    Column validity is judged from reductions (``nan_min`` is NaN when a NaN is present) so
    that no per-row mask is materialised unless something is wrong.
    """
    ranges = []
    for name in _CHECKED:
        ranges.append(pl.col(name).null_count().alias(f"nulls_{name}"))
        if _SCHEMA[name].is_float():
            ranges.append(pl.col(name).nan_min().alias(f"min_{name}"))
            ranges.append(pl.col(name).max().alias(f"max_{name}"))
        else:
            ranges.append(pl.col(name).min().alias(f"min_{name}"))
    counts = []
    for key, mask in (("off", _OFF), ("over_cpu", _OVER_CPU), ("over_mem", _OVER_MEM)):
        counts.append(mask.sum().alias(f"n_{key}"))
        # Not mask.arg_max(): in a lazy select polars 2.1 returns a wrong row for booleans.
        counts.append(pl.arg_where(mask).first().alias(f"first_{key}"))
    counts += [
        _NOT_INCREASING.sum().alias("n_not_increasing"),
        _BACKWARDS.sum().alias("n_backwards"),
        pl.col("ts").min().alias("ts_min"),
        pl.col("ts").max().alias("ts_max"),
    ]
    return frame.lazy().select(*ranges, *counts).collect().row(0, named=True)


def _values_ok(summary: dict[str, object]) -> bool:
    for name in _CHECKED:
        if summary[f"nulls_{name}"]:
            return False
        low = summary[f"min_{name}"]
        if not isinstance(low, int | float) or math.isnan(low) or low < 0:
            return False
        high = summary.get(f"max_{name}")
        if isinstance(high, float) and math.isinf(high):
            return False
    return True


@register_reader(
    "bitbrains",
    detect=detect,
    description="Bitbrains GWA-T-12 per-VM files (';'+TAB separated), a file, folder or zip",
)
def read_bitbrains(path: Path, options: ReadOptions) -> Trace:
    """Read Bitbrains GWA-T-12 per-VM files into a canonical Trace (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    _check_headers(members)
    labels = [m.label for m in members]
    vm_of_file = [vm_id_of(m) for m in members]
    vm_names = sorted(set(vm_of_file))
    code_of_name = {name: i for i, name in enumerate(vm_names)}
    file_to_vm = pl.Series([code_of_name[v] for v in vm_of_file], dtype=pl.UInt32)

    frame = _parse_all(members, options)
    if frame.is_empty():
        raise TraceFormatError(
            "no data rows in any file; expected rows after the header", path=path
        )
    locator = RowLocator.build(frame.get_column(FILE_COLUMN), labels, first_data_line=2)
    problems: list[Problem] = []
    summary = _summary(frame)
    if not _values_ok(summary):
        check_values(frame, _CHECKED, locator, display=DISPLAY)
    ts = _timestamps(frame, locator, problems, summary)
    file_index = frame.get_column(FILE_COLUMN)
    vm_code = file_to_vm.gather(file_index)

    def report(key: str, text: str, column: str | None = None) -> None:
        count = int(summary[f"n_{key}"])  # type: ignore[call-overload]
        if not count:
            return
        row = int(summary[f"first_{key}"])  # type: ignore[call-overload]
        file_index = int(frame.get_column(FILE_COLUMN)[row])
        label, line = locator.locate(file_index, row)
        problems.append(
            Problem(
                text.format(count=count),
                path=label,
                line=line,
                column=column,
                vm_id=vm_of_file[file_index],
                count=count,
            )
        )

    report(
        "off",
        "{count:,} rows with 0 cores and 0 MHz provisioned (VM off/absent): demand set to 0 "
        "and excluded from the inventory",
    )
    report(
        "over_cpu",
        "{count:,} rows with CPU usage above the provisioned capacity (kept)",
        DISPLAY["cpu_mhz"],
    )
    report(
        "over_mem",
        "{count:,} rows with memory usage above the provisioned memory (kept)",
        DISPLAY["mem_kib"],
    )

    first_ts, last_ts = _file_ranges(ts, locator)
    overlapping = _overlapping_vms(file_to_vm.to_list(), first_ts, last_ts)
    suspects = set(overlapping)
    if summary["n_not_increasing"]:
        suspects |= set(
            vm_code.filter(frame.select(_NOT_INCREASING).to_series()).unique().to_list()
        )
    exact, repeated = _duplicates(frame, vm_code, ts, suspects)
    found = _problem_at(frame, exact, locator, vm_of_file, "{count:,} exact duplicate rows dropped")
    if found:
        problems.append(found)
    found = _problem_at(
        frame,
        repeated & ~exact,
        locator,
        vm_of_file,
        "{count:,} rows repeat a timestamp of the same VM with different values (kept; the "
        "Workload builder keeps one per timestamp)",
        DISPLAY["ts"],
    )
    if found:
        problems.append(found)
    unordered = (
        bool(summary["n_backwards"])
        or bool(overlapping)
        or _files_out_of_order(file_to_vm.to_list(), first_ts)
    )
    if summary["n_backwards"]:
        found = _problem_at(
            frame,
            frame.select(_BACKWARDS).to_series(),
            locator,
            vm_of_file,
            "timestamps go backwards {count:,} times inside files; rows sorted by VM and time",
            DISPLAY["ts"],
        )
        if found:
            problems.append(found)
    off = frame.select(_OFF).to_series()

    first_label: dict[int, str] = {}
    for label, vm in zip(labels, vm_of_file, strict=True):
        first_label.setdefault(code_of_name[vm], label)
    inventory, joined = _inventory(frame, vm_code, off, vm_names)
    problems.extend(_inventory_problems(joined, vm_names, first_label))
    empty_files = [labels[i] for i, start in enumerate(locator.starts) if start < 0]
    if empty_files:
        problems.append(
            Problem(
                f"{len(empty_files)} file(s) hold a header and no rows",
                path=empty_files[0],
                count=len(empty_files),
            )
        )
    counts = Counter(vm_of_file)
    multi = [vm for vm, n in counts.items() if n > 1]
    if multi:
        problems.append(
            Problem(
                f"{len(multi)} VM id(s) appear in several files (e.g. {multi[0]!r}: "
                f"{counts[multi[0]]} files); their rows are joined as one VM",
                vm_id=multi[0],
                count=len(multi),
            )
        )

    zero = pl.lit(0.0)
    usage = frame.lazy().with_columns(
        pl.Series("vm_id", vm_names, dtype=pl.String).gather(vm_code),
        (ts * 1_000_000).cast(TIMESTAMP_DTYPE).alias("timestamp"),
        _OFF.alias("_off"),
    )
    if summary_has(exact):
        usage = usage.filter(~exact)
    usage = usage.select(
        "vm_id",
        "timestamp",
        pl.when("_off").then(zero).otherwise(pl.col("cpu_mhz")).alias("cpu_demand_mhz"),
        pl.when("_off")
        .then(zero)
        .otherwise(pl.col("mem_kib") / KIB_PER_MIB)
        .alias("mem_active_mib"),
        pl.when("_off")
        .then(zero)
        .otherwise(pl.col("disk_r_kib_s") / KIB_PER_MIB)
        .alias("disk_read_mib_s"),
        pl.when("_off")
        .then(zero)
        .otherwise(pl.col("disk_w_kib_s") / KIB_PER_MIB)
        .alias("disk_write_mib_s"),
        pl.when("_off")
        .then(zero)
        .otherwise(pl.col("net_rx_kib_s") * MBPS_PER_KIB_S)
        .alias("net_rx_mbps"),
        pl.when("_off")
        .then(zero)
        .otherwise(pl.col("net_tx_kib_s") * MBPS_PER_KIB_S)
        .alias("net_tx_mbps"),
    )
    if unordered:
        usage = usage.sort("vm_id", "timestamp", maintain_order=True)
    return Trace.build(
        usage.collect(),
        inventory,
        format="bitbrains",
        sources=labels,
        problems=problems,
        native_step_s=300.0,
    )
