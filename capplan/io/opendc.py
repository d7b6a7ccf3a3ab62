"""OpenDC workload Parquet pair ``tasks.parquet`` + ``fragments.parquet`` (reader ``"opendc"``).

**Input**: a folder (or zip) holding both files, as in OpenDC's ``bitbrains-small`` workload.

- ``tasks``: ``id``, ``submission_time`` (epoch ms), ``duration`` (ms), ``cpu_count``,
  ``cpu_capacity`` (MHz), ``mem_capacity``.
- ``fragments``: ``id``, ``duration`` (ms since the previous sample), ``cpu_usage`` (MHz); rows in
  time order per task, no timestamp column. A fragment's timestamp is the task's
  ``submission_time`` plus the durations of the task's earlier fragments (its start).
- ``mem_capacity`` units: OpenDC's documentation says MB, but the observed values (181,352 for a
  1-vCPU Bitbrains VM; 130,457,600 for the largest) are only plausible as the KiB that Bitbrains
  writes ("Memory capacity provisioned [KB]"), from which OpenDC converted. capplan reads them as
  KiB by default; ``ReadOptions.extra["opendc_mem_unit"] = "MB"`` reads them as documented.
  Either way a Problem states the choice.
- Fragments lasting a multiple ``k`` of the most common duration (OpenDC merges equal
  consecutive samples) are expanded back into ``k`` samples, one per step.
- Only CPU usage is in the format; memory, disk and network usage stay null.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from capplan.errors import TraceFormatError
from capplan.io.files import Member, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import TIMESTAMP_DTYPE
from capplan.units import KIB_PER_MIB, MIB_PER_MB, US_PER_S

_TASK_COLUMNS = {"id", "submission_time", "duration", "cpu_count", "cpu_capacity", "mem_capacity"}
_FRAGMENT_COLUMNS = {"id", "duration", "cpu_usage"}
_US_PER_MS = int(US_PER_S) // 1000
_MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01
_MAX_SPAN_MS = 100 * 365 * 86_400_000
#: At most this many samples are made from one merged fragment (a year of 5-minute steps).
_MAX_REPEAT = 105_120


def _columns(member: Member) -> set[str] | None:
    if member.head(4) != b"PAR1":
        return None
    try:
        source = member.disk_path or io.BytesIO(member.read_bytes())
        return set(pq.read_schema(source).names)
    except (pa.ArrowInvalid, OSError, TraceFormatError):
        return None


def _find(members: list[Member]) -> tuple[Member | None, Member | None]:
    tasks = fragments = None
    for member in members:
        names = _columns(member)
        if names is None:
            continue
        if names >= _TASK_COLUMNS:
            tasks = member
        elif names >= _FRAGMENT_COLUMNS:
            fragments = member
    return tasks, fragments


def detect(members: list[Member]) -> float:
    """Score members as an OpenDC pair: two Parquet files with the task and fragment columns."""
    if not 2 <= len(members) <= 8 or sum(m.head(4) == b"PAR1" for m in members) < 2:
        return 0.0
    tasks, fragments = _find(members)
    return 0.95 if tasks is not None and fragments is not None else 0.0


def _read(member: Member, options: ReadOptions) -> pl.DataFrame:
    source = member.disk_path or io.BytesIO(member.read_bytes(options.max_expanded_bytes))
    try:
        return pl.read_parquet(source)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TraceFormatError(f"not a readable Parquet file ({exc})", path=member.label) from exc


def _require_numeric(frame: pl.DataFrame, columns: list[str], label: str) -> pl.DataFrame:
    for name in columns:
        series = frame.get_column(name)
        if not series.dtype.is_numeric():
            raise TraceFormatError(
                f"expected a numeric column, found {series.dtype}", path=label, column=name
            )
        bad = series.is_null() | (series.cast(pl.Float64) < 0)
        if series.dtype.is_float():
            bad = bad | ~series.is_finite()
        if bad.fill_null(True).any():
            row = int(bad.fill_null(True).arg_true()[0])
            raise TraceFormatError(
                f"row {row}: value {series[row]!r} is not a finite, non-negative number",
                path=label,
                column=name,
            )
    return frame


@register_reader(
    "opendc",
    detect=detect,
    description="OpenDC workload Parquet pair: tasks.parquet + fragments.parquet (folder)",
)
def read_opendc(path: Path, options: ReadOptions) -> Trace:
    """Read an OpenDC tasks/fragments Parquet pair into a Trace (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    tasks_member, fragments_member = _find(members)
    if tasks_member is None or fragments_member is None:
        raise TraceFormatError(
            "expected two Parquet files: tasks (columns "
            f"{sorted(_TASK_COLUMNS)}) and fragments (columns {sorted(_FRAGMENT_COLUMNS)})",
            path=path,
        )
    tasks = _require_numeric(
        _read(tasks_member, options),
        ["submission_time", "duration", "cpu_count", "cpu_capacity", "mem_capacity"],
        tasks_member.label,
    )
    fragments = _require_numeric(
        _read(fragments_member, options), ["duration", "cpu_usage"], fragments_member.label
    )
    problems: list[Problem] = []
    tasks = tasks.with_columns(pl.col("id").cast(pl.String))
    fragments = fragments.with_columns(pl.col("id").cast(pl.String))
    if tasks.get_column("id").is_duplicated().any():
        raise TraceFormatError(
            "task ids repeat; expected one row per task", path=tasks_member.label, column="id"
        )
    unit = str(options.extra.get("opendc_mem_unit", "KiB"))
    if unit.lower() == "mb":
        mem_mib = pl.col("mem_capacity").cast(pl.Float64) * MIB_PER_MB
    elif unit.lower() == "kib":
        mem_mib = pl.col("mem_capacity").cast(pl.Float64) / KIB_PER_MIB
    else:
        raise TraceFormatError(
            f"ReadOptions.extra['opendc_mem_unit'] is {unit!r}; expected 'KiB' or 'MB'"
        )
    problems.append(
        Problem(
            f"mem_capacity read as {unit} (OpenDC documents MB; the Bitbrains-derived values fit "
            "KiB); set ReadOptions.extra['opendc_mem_unit'] to change",
            path=tasks_member.label,
            column="mem_capacity",
            count=tasks.height,
        )
    )
    known = set(tasks.get_column("id").to_list())
    orphan = fragments.filter(~pl.col("id").is_in(list(known)))
    if orphan.height:
        problems.append(
            Problem(
                f"{orphan.height:,} fragment rows belong to no task; dropped",
                path=fragments_member.label,
                column="id",
                count=orphan.height,
            )
        )
        fragments = fragments.filter(pl.col("id").is_in(list(known)))
    latest = tasks.get_column("submission_time").max()
    if latest is not None and int(latest) > _MAX_EPOCH_MS:  # type: ignore[arg-type]
        raise TraceFormatError(
            f"submission_time {latest!r} is after 2100; expected Unix epoch milliseconds",
            path=tasks_member.label,
            column="submission_time",
        )
    total = fragments.get_column("duration").cast(pl.Float64).sum()
    if total > _MAX_SPAN_MS:
        raise TraceFormatError(
            f"fragment durations add up to {total:,.0f} ms (over 100 years); expected ms",
            path=fragments_member.label,
            column="duration",
        )
    starts = tasks.select("id", pl.col("submission_time").cast(pl.Int64).alias("_t0"))
    durations = fragments.get_column("duration").cast(pl.Int64)
    step_ms = int(durations.mode().min() or 0) if len(durations) else 0  # type: ignore[arg-type]
    usage = (
        fragments.lazy()
        .with_columns(pl.col("duration").cast(pl.Int64))
        .with_columns(
            (pl.col("duration").cum_sum().over("id") - pl.col("duration")).alias("_offset_ms")
        )
        # A fragment spanning k steps (merged equal samples) becomes k samples, one per step.
        .with_columns(
            pl.when((step_ms > 0) & (pl.col("duration") % max(step_ms, 1) == 0))
            .then(pl.col("duration") // max(step_ms, 1))
            .otherwise(1)
            .clip(1, _MAX_REPEAT)
            .alias("_k")
        )
        .with_columns(pl.int_ranges(0, pl.col("_k")).alias("_i"))
        .explode("_i")
        .with_columns(pl.col("_offset_ms") + pl.col("_i") * step_ms)
        .join(starts.lazy(), on="id", how="left")
        .select(
            pl.col("id").alias("vm_id"),
            ((pl.col("_t0") + pl.col("_offset_ms")) * _US_PER_MS)
            .cast(TIMESTAMP_DTYPE)
            .alias("timestamp"),
            pl.col("cpu_usage").cast(pl.Float64).alias("cpu_demand_mhz"),
        )
        .collect()
    )
    inventory = tasks.select(
        pl.col("id").alias("vm_id"),
        pl.col("cpu_count").cast(pl.Int32).alias("n_vcpus"),
        pl.col("cpu_capacity").cast(pl.Float64).alias("cpu_capacity_mhz"),
        mem_mib.alias("mem_provisioned_mib"),
    )
    return Trace.build(
        usage,
        inventory,
        format="opendc",
        sources=[tasks_member.label, fragments_member.label],
        problems=problems,
        native_step_s=300.0,
    )
