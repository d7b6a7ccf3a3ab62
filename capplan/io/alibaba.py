"""Alibaba cluster-trace-v2018 machine usage (reader ``"alibaba"``).

**Input**: ``machine_usage.csv`` alone, or a folder (or zip) with it and ``machine_meta.csv``.
Comma separated, no header; files are told apart by content (9 fields: usage, 7: meta).
Schema: alibaba/clusterdata ``cluster-trace-v2018/schema.md``.

Physical servers are the consolidation candidates: ``vm_id`` is ``machine_id``.

**Decisions**:

- CPU: ``cpu_util_percent / 100 × cpu_num × per-core MHz``. ``cpu_num`` (96 for every machine in
  the trace) counts hyper-threads (maintainer's answer in alibaba/clusterdata issue #35). The
  trace gives no clock; the default :data:`ALIBABA_DEFAULT_CORE_MHZ` (2.5 GHz) is the Xeon
  Platinum 8163 of Alibaba's 96-vCPU bare-metal servers of 2018 (``ecs.ebmg5.24xlarge``: 96 vCPU
  @ 2.5 GHz, 384 GB; listed in ayeks/SGX-hardware issue #50). Override with
  ``ReadOptions.extra["alibaba_core_mhz"]``.
- Memory: ``mem_size`` is normalised to 100 (schema.md). It is scaled so that 100 =
  :data:`ALIBABA_DEFAULT_MEM_GIB_AT_100` GiB (384, the same server's memory; not published for the
  trace, see alibaba/clusterdata issues #35 and #95); override with
  ``ReadOptions.extra["alibaba_mem_gib_at_100"]``. ``mem_active_mib = mem_util_percent / 100 ×
  mem_size / 100 × that``. A Problem states the assumption on every read.
- ``disk_io_percent``: -1 and 101 are the documented abnormal values; they become null and are
  reported. Disk I/O percent, ``net_in``/``net_out`` (normalised 0–100), ``mem_gps`` and ``mkpi``
  have no canonical column (no absolute scale is published): they are validated, not kept.
- Empty fields are nulls. Time: seconds from the (undated) trace start, placed at
  1970-01-01 00:00 UTC unless ``ReadOptions.extra["alibaba_start"]`` gives an ISO date.
  Intervals are irregular; the Workload builder resamples.
- machine_meta has several rows per machine (status over time): the latest row gives
  ``cpu_num``/``mem_size``; ``powered_on`` is True when that status is ``USING``.
  ``failure_domain_1``/``_2`` describe where the server sits, not a constraint between
  workloads, so they map to no canonical column (kept out of ``security_zone``/``ha_group``).
- Without machine_meta, every machine gets ``cpu_num`` 96 and ``mem_size`` 100 (the only values
  in the published meta table) with a Problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.csvtools import read_csv_typed
from capplan.io.files import Member, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import TIMESTAMP_DTYPE
from capplan.units import MIB_PER_GIB, PERCENT, US_PER_S

ALIBABA_DEFAULT_CORE_MHZ: Final = 2500.0
ALIBABA_DEFAULT_MEM_GIB_AT_100: Final = 384.0
#: cpu_num and mem_size of every machine in the published machine_meta table.
ALIBABA_DEFAULT_CPU_NUM: Final = 96
ALIBABA_DEFAULT_MEM_SIZE: Final = 100.0
#: Documented abnormal values of disk_io_percent (schema.md).
ABNORMAL_DISK_IO: Final = (-1.0, 101.0)

USAGE_COLUMNS: Final = (
    "machine_id",
    "time_stamp",
    "cpu_util_percent",
    "mem_util_percent",
    "mem_gps",
    "mkpi",
    "net_in",
    "net_out",
    "disk_io_percent",
)
META_COLUMNS: Final = (
    "machine_id",
    "time_stamp",
    "failure_domain_1",
    "failure_domain_2",
    "cpu_num",
    "mem_size",
    "status",
)
_USAGE_NUMERIC = USAGE_COLUMNS[1:]
#: Ten years of seconds: offsets beyond it are not "seconds from trace start".
_MAX_OFFSET_S = 10 * 365 * 86_400


def _kind(member: Member) -> str | None:
    first = member.head(8192).split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    cells = first.split(",")
    if not cells[0].strip():
        return None
    try:
        if len(cells) == len(USAGE_COLUMNS):
            float(cells[1])
            [float(c) for c in cells[2:] if c.strip()]
            return "usage"
        if len(cells) == len(META_COLUMNS):
            float(cells[1]), float(cells[4]), float(cells[5])
            return "meta" if not cells[6].strip().replace(".", "").isdigit() else None
    except ValueError:
        return None
    return None


def detect(members: list[Member]) -> float:
    """Score members as Alibaba machine files: 9-field usage rows (and 7-field meta rows)."""
    if not 1 <= len(members) <= 4:
        return 0.0
    kinds = [_kind(m) for m in members]
    if None in kinds or kinds.count("usage") != 1:
        return 0.0
    return 0.9 if "meta" in kinds else 0.7


def _setting(options: ReadOptions, key: str, default: float) -> float:
    raw = options.extra.get(key, default)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise TraceFormatError(f"ReadOptions.extra[{key!r}] is {raw!r}; expected a positive number")
    return value


def _start_us(options: ReadOptions) -> tuple[int, bool]:
    raw = options.extra.get("alibaba_start")
    if raw is None:
        return 0, False
    try:
        start = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise TraceFormatError(
            f"ReadOptions.extra['alibaba_start'] is {raw!r}; expected an ISO 8601 date"
        ) from exc
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    return int(start.timestamp() * US_PER_S), True


def _first_bad(series: pl.Series, bad: pl.Series) -> int | None:
    bad = bad.fill_null(False)
    return int(bad.arg_true()[0]) if bad.any() else None


def _read_usage(member: Member, options: ReadOptions) -> pl.DataFrame:
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=USAGE_COLUMNS,
        dtypes={name: pl.Float64() for name in _USAGE_NUMERIC},
        has_header=False,
    )
    ids = frame.get_column("machine_id")
    row = _first_bad(ids, ids.is_null())
    if row is not None:
        raise TraceFormatError(
            "machine_id is empty", path=member.label, line=row + 1, column="machine_id"
        )
    for name in _USAGE_NUMERIC:
        series = frame.get_column(name)
        floor = -1.0 if name == "disk_io_percent" else 0.0
        row = _first_bad(series, ~series.is_finite() | (series < floor))
        if row is not None:
            raise TraceFormatError(
                f"value {series[row]!r} is not a finite number ≥ {floor:g}",
                path=member.label,
                line=row + 1,
                column=name,
            )
    ts = frame.get_column("time_stamp")
    row = _first_bad(ts, ts.is_null() | (ts > _MAX_OFFSET_S))
    if row is not None:
        raise TraceFormatError(
            "time_stamp is missing or beyond ten years; expected seconds from the trace start",
            path=member.label,
            line=row + 1,
            column="time_stamp",
        )
    return frame


def _read_meta(member: Member, options: ReadOptions) -> pl.DataFrame:
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=META_COLUMNS,
        dtypes={"time_stamp": pl.Float64(), "cpu_num": pl.Float64(), "mem_size": pl.Float64()},
        has_header=False,
    )
    for name in ("time_stamp", "cpu_num", "mem_size"):
        series = frame.get_column(name)
        row = _first_bad(series, series.is_null() | ~series.is_finite() | (series < 0))
        if row is not None:
            raise TraceFormatError(
                f"value {series[row]!r} is not a finite, non-negative number",
                path=member.label,
                line=row + 1,
                column=name,
            )
    return frame


@register_reader(
    "alibaba",
    detect=detect,
    description="Alibaba cluster-trace-v2018 machine_usage.csv (+ machine_meta.csv): servers",
    cpu_share=True,
)
def read_alibaba(path: Path, options: ReadOptions) -> Trace:
    """Read Alibaba v2018 machine usage (and meta) into a Trace (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    kinds = {m.label: _kind(m) for m in members}
    unknown = [label for label, kind in kinds.items() if kind is None]
    if unknown:
        raise TraceFormatError(
            "not an Alibaba v2018 machine_usage (9 fields) or machine_meta (7 fields) file",
            path=unknown[0],
            line=1,
        )
    usage_members = [m for m in members if kinds[m.label] == "usage"]
    meta_members = [m for m in members if kinds[m.label] == "meta"]
    if len(usage_members) != 1 or len(meta_members) > 1:
        raise TraceFormatError(
            f"expected one machine_usage file and at most one machine_meta file; found "
            f"{len(usage_members)} and {len(meta_members)}",
            path=path,
        )
    core_mhz = _setting(options, "alibaba_core_mhz", ALIBABA_DEFAULT_CORE_MHZ)
    gib_at_100 = _setting(options, "alibaba_mem_gib_at_100", ALIBABA_DEFAULT_MEM_GIB_AT_100)
    start_us, dated = _start_us(options)
    label = usage_members[0].label
    raw = _read_usage(usage_members[0], options)
    problems: list[Problem] = [
        Problem(
            f"mem_size is normalised (100 = largest); taken as 100 = {gib_at_100:g} GiB and "
            f"CPU at {core_mhz:,.0f} MHz per core (not published for the trace; set "
            "ReadOptions.extra['alibaba_mem_gib_at_100'] / ['alibaba_core_mhz'])",
        ),
        Problem(
            "disk_io_percent, net_in, net_out, mem_gps and mkpi are normalised without a "
            "published scale: validated, not kept",
            path=label,
        ),
    ]
    if not dated:
        problems.append(
            Problem(
                "time_stamp counts seconds from an undated trace start; placed at "
                "1970-01-01 00:00 UTC (set ReadOptions.extra['alibaba_start'])",
                path=label,
            )
        )
    disk = raw.get_column("disk_io_percent")
    abnormal = disk.is_in(list(ABNORMAL_DISK_IO))
    if abnormal.any():
        row = int(abnormal.arg_true()[0])
        counts = {v: int((disk == v).sum()) for v in ABNORMAL_DISK_IO}
        problems.append(
            Problem(
                f"{int(abnormal.sum())} disk_io_percent values are the documented abnormal "
                f"values (-1: {counts[-1.0]}, 101: {counts[101.0]}); set to null",
                path=label,
                line=row + 1,
                column="disk_io_percent",
                count=int(abnormal.sum()),
            )
        )
    out_of_range = (disk > PERCENT) & ~abnormal
    if out_of_range.fill_null(False).any():
        row = int(out_of_range.fill_null(False).arg_true()[0])
        problems.append(
            Problem(
                f"{int(out_of_range.sum())} disk_io_percent values above 100 besides 101",
                path=label,
                line=row + 1,
                column="disk_io_percent",
                count=int(out_of_range.sum()),
            )
        )
    for name in ("cpu_util_percent", "mem_util_percent"):
        series = raw.get_column(name)
        missing = int(series.null_count())
        if missing:
            row = int(series.is_null().arg_true()[0])
            problems.append(
                Problem(
                    f"{missing:,} empty {name} fields (null)",
                    path=label,
                    line=row + 1,
                    column=name,
                    count=missing,
                )
            )
        above = (series > PERCENT).fill_null(False)
        if above.any():
            row = int(above.arg_true()[0])
            problems.append(
                Problem(
                    f"{int(above.sum()):,} {name} values above 100 (kept)",
                    path=label,
                    line=row + 1,
                    column=name,
                    count=int(above.sum()),
                )
            )
    repeated = raw.select(pl.struct("machine_id", "time_stamp").is_duplicated()).to_series()
    if repeated.any():
        row = int(repeated.arg_true()[0])
        problems.append(
            Problem(
                f"{int(repeated.sum()):,} rows share a machine and time_stamp",
                path=label,
                line=row + 1,
                column="time_stamp",
                count=int(repeated.sum()),
            )
        )

    machines = raw.get_column("machine_id").unique(maintain_order=True)
    if meta_members:
        meta = _read_meta(meta_members[0], options)
        latest = (
            meta.with_row_index("_row")
            .sort("time_stamp", "_row")
            .group_by("machine_id", maintain_order=True)
            .last()
            .select(
                "machine_id",
                pl.col("cpu_num").alias("_cpu_num"),
                pl.col("mem_size").alias("_mem_size"),
                (pl.col("status").str.strip_chars() == "USING").alias("powered_on"),
            )
        )
        sizes = pl.DataFrame({"machine_id": machines}).join(latest, on="machine_id", how="left")
        unmatched = int(sizes.get_column("_cpu_num").null_count())
        if unmatched:
            problems.append(
                Problem(
                    f"{unmatched} machine(s) with usage have no machine_meta row; they get "
                    f"cpu_num {ALIBABA_DEFAULT_CPU_NUM} and mem_size 100",
                    path=meta_members[0].label,
                    count=unmatched,
                )
            )
    else:
        sizes = pl.DataFrame({"machine_id": machines}).with_columns(
            pl.lit(None, pl.Float64).alias("_cpu_num"),
            pl.lit(None, pl.Float64).alias("_mem_size"),
            pl.lit(None, pl.Boolean).alias("powered_on"),
        )
        problems.append(
            Problem(
                f"no machine_meta file: every machine gets cpu_num {ALIBABA_DEFAULT_CPU_NUM} "
                "and mem_size 100 (the only values in the published meta table)",
                path=label,
            )
        )
    sizes = sizes.with_columns(
        pl.col("_cpu_num").fill_null(float(ALIBABA_DEFAULT_CPU_NUM)),
        pl.col("_mem_size").fill_null(ALIBABA_DEFAULT_MEM_SIZE),
    ).with_columns(
        (pl.col("_cpu_num") * core_mhz).alias("cpu_capacity_mhz"),
        (pl.col("_mem_size") / PERCENT * gib_at_100 * MIB_PER_GIB).alias("mem_provisioned_mib"),
    )
    usage = (
        raw.lazy()
        .join(sizes.lazy(), on="machine_id", how="left")
        .select(
            pl.col("machine_id").alias("vm_id"),
            (pl.lit(start_us) + (pl.col("time_stamp") * US_PER_S).round().cast(pl.Int64))
            .cast(TIMESTAMP_DTYPE)
            .alias("timestamp"),
            (pl.col("cpu_util_percent") / PERCENT * pl.col("cpu_capacity_mhz")).alias(
                "cpu_demand_mhz"
            ),
            (pl.col("mem_util_percent") / PERCENT * pl.col("mem_provisioned_mib")).alias(
                "mem_active_mib"
            ),
        )
        .collect()
    )
    inventory = sizes.select(
        pl.col("machine_id").alias("vm_id"),
        pl.col("_cpu_num").round(0).cast(pl.Int32).alias("n_vcpus"),
        "cpu_capacity_mhz",
        "mem_provisioned_mib",
        "powered_on",
    )
    return Trace.build(
        usage,
        inventory,
        format="alibaba",
        sources=[m.label for m in members],
        problems=problems,
    )
