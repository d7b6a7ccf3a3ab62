"""Canonical column schemas of a trace.

A trace has two tables. The **inventory** has one row per VM (or physical server that is a
consolidation candidate); the **usage** table has one row per VM and timestamp. Every column
name carries its unit (see ``docs/nomenclature.md``). Metric columns are nullable: a format
that lacks a metric leaves it null, and nothing downstream invents it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

import polars as pl

TIMESTAMP_DTYPE: Final = pl.Datetime("us", "UTC")

#: Inventory columns, in canonical order.
INVENTORY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "vm_id": pl.String(),
    "n_vcpus": pl.Int32(),
    "cpu_capacity_mhz": pl.Float64(),
    "mem_provisioned_mib": pl.Float64(),
    "disk_provisioned_gib": pl.Float64(),
    "disk_used_gib": pl.Float64(),
    "os_family": pl.String(),
    "security_zone": pl.String(),
    "vlan_id": pl.Int32(),
    "ha_group": pl.String(),
    "current_host": pl.String(),
    "powered_on": pl.Boolean(),
    "created": pl.Datetime("us", "UTC"),
    # Appended last: files that embed the inventory as positional rows stay readable.
    "cpu_kernel_frac": pl.Float64(),
}

#: Usage metric columns (all float64 in the usage table, float32 once pivoted).
USAGE_METRICS: Final[tuple[str, ...]] = (
    "cpu_demand_mhz",
    "mem_active_mib",
    "disk_read_iops",
    "disk_write_iops",
    "disk_read_mib_s",
    "disk_write_mib_s",
    "net_rx_mbps",
    "net_tx_mbps",
)

#: Usage columns, in canonical order.
USAGE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "vm_id": pl.String(),
    "timestamp": TIMESTAMP_DTYPE,
    **{name: pl.Float64() for name in USAGE_METRICS},
}

#: Values in a metric above this multiple of a VM's provisioned capacity are "suspicious".
SUSPICIOUS_OVER_CAPACITY_RATIO: Final = 1.1

#: OS families the inventory uses. "legacy" guests need full virtualization (binary translation).
OS_FAMILIES: Final[tuple[str, ...]] = ("linux", "windows", "legacy", "other")


def empty_inventory() -> pl.DataFrame:
    """Return an inventory table with no rows and every canonical column."""
    return pl.DataFrame(schema=INVENTORY_SCHEMA)


def empty_usage() -> pl.DataFrame:
    """Return a usage table with no rows and every canonical column."""
    return pl.DataFrame(schema=USAGE_SCHEMA)


def conform_inventory(frame: pl.DataFrame) -> pl.DataFrame:
    """Add missing canonical inventory columns as nulls, cast, and order them canonically.

    Extra (non-canonical) columns are dropped.
    """
    exprs = [
        (pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)).alias(name)
        for name, dtype in INVENTORY_SCHEMA.items()
    ]
    return frame.select(exprs)


def to_utc(value: object) -> datetime | None:
    """A creation time as a UTC datetime: a datetime (naive = UTC) or ISO 8601 text (``/`` may
    separate the date's parts); None for an empty value; raises ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if not text:
            return None
        moment = datetime.fromisoformat(text.replace("/", "-"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_created(
    values: pl.Series, *, label: str, first_data_line: int | None = None
) -> pl.Series:
    """VM creation times from text: ISO 8601 dates or date-times, UTC unless an offset is given.

    Raises
    ------
    TraceFormatError
        Naming the first value that is not such a date (and its line when
        ``first_data_line`` is given: the line of the first value).
    """
    from capplan.errors import TraceFormatError

    parsed: list[datetime | None] = []
    for row, value in enumerate(values.to_list()):
        try:
            parsed.append(to_utc(value))
        except (ValueError, TypeError):
            raise TraceFormatError(
                f"created {value!r} is not a date; expected ISO 8601, e.g. 2023-04-01 or "
                "2023-04-01T10:22:00Z",
                path=label,
                line=None if first_data_line is None else first_data_line + row,
                column="created",
            ) from None
    return pl.Series("created", parsed, dtype=INVENTORY_SCHEMA["created"])


def conform_usage(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add missing canonical usage columns as nulls, cast, and order them canonically."""
    names = frame.collect_schema().names()
    exprs = [
        (pl.col(name).cast(dtype) if name in names else pl.lit(None, dtype)).alias(name)
        for name, dtype in USAGE_SCHEMA.items()
    ]
    return frame.select(exprs)


def classify_os(text: str | None) -> str | None:
    """Map a free-text OS description (RVTools, Azure, inventories) onto :data:`OS_FAMILIES`.

    Windows NT 4 / 2000 / 2003 and very old Linux kernels (2.4) count as ``legacy``: they need
    full virtualization with binary translation.
    """
    if text is None:
        return None
    lowered = text.strip().lower()
    if not lowered:
        return None
    legacy_marks = ("nt 4", "nt4", "windows 2000", "server 2003", "windows xp", "2.4.x", "dos")
    if any(mark in lowered for mark in legacy_marks):
        return "legacy"
    if "windows" in lowered or "microsoft" in lowered:
        return "windows"
    if "solaris" in lowered or "bsd" in lowered:
        return "other"
    linux_marks = ("linux", "centos", "red hat", "rhel", "ubuntu", "debian", "suse", "sles")
    if any(mark in lowered for mark in linux_marks) or "oracle" in lowered:
        return "linux"
    return "other"
