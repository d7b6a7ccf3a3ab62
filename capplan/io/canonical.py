"""capplan's own documented formats: canonical CSV (usage or inventory) and canonical Parquet.

**Usage CSV**: a header row with ``vm_id``, ``timestamp`` (ISO 8601; naive means UTC; or Unix
epoch seconds) and any of the metric columns of :data:`capplan.schema.USAGE_METRICS`.
**Inventory CSV**: a header row with ``vm_id`` and any of the inventory columns.
**Parquet**: the same usage columns; ``capplan ingest`` also stores the inventory as JSON in the
file's key-value metadata under ``capplan.inventory``, so one file is a whole trace.
See ``docs/formats.md``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from capplan.errors import TraceFormatError
from capplan.io.csvtools import parse_timestamps, read_csv_typed, require_finite
from capplan.io.files import Member, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import (
    INVENTORY_SCHEMA,
    USAGE_METRICS,
    USAGE_SCHEMA,
    conform_inventory,
    parse_created,
)

INVENTORY_METADATA_KEY = b"capplan.inventory"
#: Reader findings of the original trace, kept so an ingested file still shows them.
PROBLEMS_METADATA_KEY = b"capplan.problems"
_KNOWN = set(USAGE_SCHEMA) | set(INVENTORY_SCHEMA)


def _header(member: Member) -> list[str]:
    first = member.head(8192).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return [cell.strip().strip('"') for cell in first.strip().split(",")]


def _detect_usage_csv(members: list[Member]) -> float:
    if len(members) != 1 or not members[0].name.lower().endswith((".csv", ".csv.gz")):
        return 0.0
    header = _header(members[0])
    return 0.95 if {"vm_id", "timestamp"} <= set(header) else 0.0


def _detect_inventory_csv(members: list[Member]) -> float:
    if len(members) != 1 or not members[0].name.lower().endswith((".csv", ".csv.gz")):
        return 0.0
    header = set(_header(members[0]))
    if "vm_id" in header and "timestamp" not in header and header <= _KNOWN:
        return 0.9
    return 0.0


def _detect_parquet(members: list[Member]) -> float:
    if len(members) != 1 or members[0].head(4) != b"PAR1":
        return 0.0
    path = members[0].disk_path
    if path is None:
        return 0.0
    try:
        names = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError):
        return 0.0
    return 0.95 if {"vm_id", "timestamp"} <= names else 0.0


def _check_columns(header: list[str], allowed: set[str], required: set[str], label: str) -> None:
    missing = required - set(header)
    if missing:
        raise TraceFormatError(
            f"missing required column(s) {sorted(missing)}; header is {header}",
            path=label,
            line=1,
        )
    unknown = [name for name in header if name not in allowed]
    if unknown:
        raise TraceFormatError(
            f"unknown column(s) {unknown}; expected only {sorted(allowed)}", path=label, line=1
        )
    dupes = {name for name in header if header.count(name) > 1}
    if dupes:
        raise TraceFormatError(f"duplicate column(s) {sorted(dupes)}", path=label, line=1)


def _single(path: Path, options: ReadOptions) -> Member:
    members = list_members(path, options.max_expanded_bytes)
    if len(members) != 1:
        raise TraceFormatError(
            f"expected one canonical file, found {len(members)} files", path=path
        )
    return members[0]


@register_reader(
    "canonical-csv",
    detect=_detect_usage_csv,
    description="capplan usage CSV: vm_id, timestamp and metric columns with units in names",
)
def read_canonical_csv(path: Path, options: ReadOptions) -> Trace:
    """Read a canonical usage CSV (see the module docstring)."""
    member = _single(path, options)
    header = _header(member)
    allowed = {"vm_id", "timestamp", *USAGE_METRICS}
    _check_columns(header, allowed, {"vm_id", "timestamp"}, member.label)
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=header,
        dtypes={name: pl.Float64() for name in USAGE_METRICS},
    )
    metrics = [name for name in header if name in USAGE_METRICS]
    require_finite(frame, metrics, label=member.label, first_data_line=2)
    missing_id = frame.get_column("vm_id").is_null()
    if missing_id.any():
        raise TraceFormatError(
            "vm_id is empty",
            path=member.label,
            line=2 + int(missing_id.arg_max() or 0),
            column="vm_id",
        )
    timestamps = parse_timestamps(
        frame.get_column("timestamp"), label=member.label, first_data_line=2, column="timestamp"
    )
    frame = frame.with_columns(timestamps)
    inventory = frame.select(pl.col("vm_id").unique(maintain_order=True))
    return Trace.build(frame, inventory, format="canonical-csv", sources=[member.label])


@register_reader(
    "canonical-inventory",
    detect=_detect_inventory_csv,
    description="capplan inventory CSV: one row per VM, vm_id and inventory columns",
    inventory_only=True,
)
def read_canonical_inventory(path: Path, options: ReadOptions) -> Trace:
    """Read a canonical inventory CSV (one row per VM)."""
    member = _single(path, options)
    header = _header(member)
    _check_columns(header, set(INVENTORY_SCHEMA), {"vm_id"}, member.label)
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=header,
        dtypes={
            name: INVENTORY_SCHEMA[name] for name in header if name not in ("powered_on", "created")
        },
    )
    numeric = [name for name in header if INVENTORY_SCHEMA[name].is_numeric()]
    require_finite(frame, numeric, label=member.label, first_data_line=2)
    if "cpu_kernel_frac" in header:
        share = frame.get_column("cpu_kernel_frac")
        outside = ((share < 0) | (share > 1)).fill_null(False)
        if outside.any():
            row = int(outside.arg_max() or 0)
            raise TraceFormatError(
                f"cpu_kernel_frac {share[row]} is outside [0, 1]; expected the share of CPU time "
                "in kernel mode",
                path=member.label,
                line=2 + row,
                column="cpu_kernel_frac",
            )
    ids = frame.get_column("vm_id")
    if ids.is_null().any():
        raise TraceFormatError(
            "vm_id is empty",
            path=member.label,
            line=2 + int(ids.is_null().arg_max() or 0),
            column="vm_id",
        )
    duplicated = ~ids.is_first_distinct()
    if duplicated.any():
        row = int(duplicated.arg_max() or 0)
        raise TraceFormatError(
            f"vm_id {ids[row]!r} appears more than once; expected one row per VM",
            path=member.label,
            line=2 + row,
            column="vm_id",
        )
    if "created" in header:
        frame = frame.with_columns(
            parse_created(frame.get_column("created"), label=member.label, first_data_line=2)
        )
    if "powered_on" in header:
        text = frame.get_column("powered_on").str.to_lowercase()
        mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        frame = frame.with_columns(text.replace_strict(mapping, default=None).alias("powered_on"))
    return Trace.build(
        pl.DataFrame(schema=USAGE_SCHEMA),
        frame,
        format="canonical-inventory",
        sources=[member.label],
    )


@register_reader(
    "parquet",
    detect=_detect_parquet,
    description="capplan canonical Parquet (as written by `capplan ingest`)",
)
def read_canonical_parquet(path: Path, options: ReadOptions) -> Trace:
    """Read a canonical Parquet file, with its embedded inventory when present."""
    member = _single(path, options)
    data = member.disk_path or io.BytesIO(member.read_bytes(options.max_expanded_bytes))
    try:
        schema = pq.read_schema(data)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TraceFormatError(f"not a readable Parquet file ({exc})", path=member.label) from exc
    names = schema.names
    allowed = {"vm_id", "timestamp", *USAGE_METRICS}
    _check_columns(names, allowed, {"vm_id", "timestamp"}, member.label)
    problems: list[Problem] = []
    metadata_problems = (schema.metadata or {}).get(PROBLEMS_METADATA_KEY)
    if metadata_problems:
        try:
            problems = [Problem(**item) for item in json.loads(metadata_problems)]
        except (ValueError, TypeError) as exc:
            raise TraceFormatError(
                f"embedded problems metadata is malformed ({exc})", path=member.label
            ) from exc
    metadata = schema.metadata or {}
    if INVENTORY_METADATA_KEY in metadata:
        try:
            rows = json.loads(metadata[INVENTORY_METADATA_KEY])
            text_schema = {**INVENTORY_SCHEMA, "created": pl.String()}
            names = list(INVENTORY_SCHEMA)[: len(rows[0])] if rows else list(INVENTORY_SCHEMA)
            raw = pl.DataFrame(rows, schema={n: text_schema[n] for n in names}, orient="row")
            if "created" in raw.columns:
                raw = raw.with_columns(parse_created(raw.get_column("created"), label=member.label))
            inventory = conform_inventory(raw)
        except (ValueError, TypeError, pl.exceptions.PolarsError) as exc:
            raise TraceFormatError(
                f"embedded inventory metadata is malformed ({exc})", path=member.label
            ) from exc
    else:
        inventory = None
    try:
        frame = pl.read_parquet(data)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TraceFormatError(f"not a readable Parquet file ({exc})", path=member.label) from exc
    if frame.get_column("timestamp").dtype != pl.Datetime("us", "UTC"):
        ts = frame.get_column("timestamp")
        if isinstance(ts.dtype, pl.Datetime):
            ts = ts.dt.replace_time_zone("UTC") if ts.dtype.time_zone is None else ts
            frame = frame.with_columns(
                ts.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))
            )
        else:
            frame = frame.with_columns(
                parse_timestamps(ts, label=member.label, first_data_line=1, column="timestamp")
            )
    for name in names:
        if name in USAGE_METRICS:
            if not frame.get_column(name).dtype.is_numeric():
                raise TraceFormatError(
                    f"expected a numeric column, found {frame.get_column(name).dtype}",
                    path=member.label,
                    column=name,
                )
            frame = frame.with_columns(pl.col(name).cast(pl.Float64))
    require_finite(
        frame, [n for n in names if n in USAGE_METRICS], label=member.label, first_data_line=1
    )
    if inventory is None:
        inventory = frame.select(pl.col("vm_id").unique(maintain_order=True))
    return Trace.build(
        frame, inventory, format="parquet", sources=[member.label], problems=problems
    )


def write_canonical_parquet(trace: Trace, out: Path) -> Path:
    """Write a trace as one canonical Parquet file (usage rows, inventory in metadata).

    The file is written to a temporary name and renamed, so a failure leaves no partial file.
    """
    usage = trace.usage.collect()
    table = usage.to_arrow()
    inventory_rows = trace.inventory.rows()
    metadata = dict(table.schema.metadata or {})
    metadata[INVENTORY_METADATA_KEY] = json.dumps(inventory_rows, default=_iso).encode()
    metadata[PROBLEMS_METADATA_KEY] = json.dumps([p.to_dict() for p in trace.problems]).encode()
    table = table.replace_schema_metadata(metadata)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(out)
    return out


def _iso(value: object) -> str:
    """JSON form of a value json cannot write (datetimes as ISO 8601)."""
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)
