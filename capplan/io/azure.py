"""Azure Public Dataset V1/V2 VM traces (reader ``"azure"``).

**Input**: a folder (or zip) holding ``vmtable`` and optional ``vm_cpu_readings`` files, gzip or
plain, comma separated, no header. Files are told apart by content (11 fields: vmtable; 5 fields:
readings), not by name. Columns (AzurePublicDatasetV1.md / V2.md, Azure/AzurePublicDataset):

- vmtable: vmid, subscriptionid, deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu,
  p95maxcpu, vmcategory, vmcorecount, vmmemory (GB).
- readings: timestamp (s from trace start, every 5 minutes), vmid, mincpu, maxcpu, avgcpu (%).

**Decisions**:

- ``cpu_demand_mhz = avgcpu / 100 × cores × per-core MHz``. The canonical usage has one CPU
  column; the 5-minute average is the demand, the max is not kept (a Problem says so). The
  per-core clock is ``ReadOptions.extra["azure_core_mhz"]``, default
  :data:`AZURE_DEFAULT_CORE_MHZ`.
- Memory ``GB`` is taken as GiB (Azure's VM sizes list 0.75 / 1.75 GB = 768 / 1,792 MiB).
- V2 writes size *buckets* (``2``, ``4``, ``>24``, ``>64``): a bucket ``N`` is taken as ``N``
  (its upper bound, the conservative size); ``>N`` as ``N`` with a Problem (no upper bound).
- vmcategory (Delay-insensitive / Interactive / Unknown) is a workload class, not an OS: it is
  kept out of ``os_family`` and reported as a Problem with the counts.
- Trace start: Microsoft deliberately does not publish the calendar date (maintainer's answer in
  Azure/AzurePublicDataset issue #2; the SOSP'17 paper's full data set spans 2016-11-16 to
  2017-02-16, but the public 30-day trace is not dated). capplan uses 1970-01-01 00:00 UTC plus
  the offsets, with a Problem, unless ``ReadOptions.extra["azure_start"]`` gives an ISO date.
- VMs with readings but no vmtable row get ``ReadOptions.default_vm_cpu_mhz`` as capacity (their
  demand is avgcpu % of it); vmtable rows without readings stay in the inventory. Both are
  Problems, not errors (the published sample's two files share no VM).
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

#: Per-core clock used to turn CPU % into MHz: 2.4 GHz, the base clock of the Intel Xeon
#: E5-2673 v3 (Haswell) that Microsoft lists for its general-purpose Av2/Dv2 sizes of that era
#: (MicrosoftDocs/azure-docs, articles/virtual-machines/av2-series.md). The trace itself does
#: not say which hardware ran each VM.
AZURE_DEFAULT_CORE_MHZ: Final = 2400.0

VMTABLE_COLUMNS: Final = (
    "vmid",
    "subscriptionid",
    "deploymentid",
    "vmcreated",
    "vmdeleted",
    "maxcpu",
    "avgcpu",
    "p95maxcpu",
    "vmcategory",
    "vmcorecount",
    "vmmemory",
)
READING_COLUMNS: Final = ("timestamp", "vmid", "mincpu", "maxcpu", "avgcpu")


def _first_line(member: Member) -> str:
    head = member.head(8192)
    return head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")


def _kind(member: Member) -> str | None:
    """``"vmtable"``, ``"readings"`` or None, from the first line's shape."""
    cells = _first_line(member).split(",")
    try:
        if len(cells) == len(READING_COLUMNS):
            float(cells[0]), float(cells[2]), float(cells[3]), float(cells[4])
            return "readings" if cells[1] else None
        if len(cells) == len(VMTABLE_COLUMNS):
            float(cells[3]), float(cells[4]), float(cells[5]), float(cells[6])
            return "vmtable" if cells[0] and not cells[8].replace("-", "").isdigit() else None
    except ValueError:
        return None
    return None


def detect(members: list[Member]) -> float:
    """Score members as Azure files: every file a vmtable or readings table, one vmtable."""
    kinds = [_kind(m) for m in members[:50]]
    if not kinds or None in kinds:
        return 0.0
    return 0.9 if "vmtable" in kinds else 0.6


def _bucket(series: pl.Series) -> tuple[pl.Series, int]:
    text = series.cast(pl.String).str.strip_chars()
    open_ended = text.str.starts_with(">")
    value = text.str.strip_chars_start(">").cast(pl.Float64, strict=False)
    return value, int(open_ended.sum())


def _start(options: ReadOptions) -> tuple[datetime, bool]:
    raw = options.extra.get("azure_start")
    if raw is None:
        return datetime(1970, 1, 1, tzinfo=UTC), False
    try:
        start = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise TraceFormatError(
            f"ReadOptions.extra['azure_start'] is {raw!r}; expected an ISO 8601 date"
        ) from exc
    return (start if start.tzinfo else start.replace(tzinfo=UTC)), True


def _read_vmtable(member: Member, options: ReadOptions) -> pl.DataFrame:
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=VMTABLE_COLUMNS,
        dtypes={
            "vmcreated": pl.Float64(),
            "vmdeleted": pl.Float64(),
            "maxcpu": pl.Float64(),
            "avgcpu": pl.Float64(),
            "p95maxcpu": pl.Float64(),
        },
        has_header=False,
    )
    return frame.with_columns(pl.lit(member.label).alias("_label"))


def _read_readings(member: Member, options: ReadOptions) -> pl.DataFrame:
    frame = read_csv_typed(
        member.read_bytes(options.max_expanded_bytes),
        label=member.label,
        columns=READING_COLUMNS,
        dtypes={
            "timestamp": pl.Float64(),
            "mincpu": pl.Float64(),
            "maxcpu": pl.Float64(),
            "avgcpu": pl.Float64(),
        },
        has_header=False,
    )
    for name in ("timestamp", "avgcpu"):
        series = frame.get_column(name)
        bad = series.is_null() | ~series.is_finite() | (series < 0)
        if bad.any():
            row = int(bad.arg_true()[0])
            raise TraceFormatError(
                f"value {series[row]!r} is not a finite, non-negative number",
                path=member.label,
                line=row + 1,
                column=name,
            )
    ids = frame.get_column("vmid")
    if ids.is_null().any():
        row = int(ids.is_null().arg_true()[0])
        raise TraceFormatError("vmid is empty", path=member.label, line=row + 1, column="vmid")
    if (frame.get_column("timestamp") > 10 * 365 * 86_400).any():
        row = int((frame.get_column("timestamp") > 10 * 365 * 86_400).arg_true()[0])
        raise TraceFormatError(
            "timestamp is more than 10 years after the trace start; expected seconds from start",
            path=member.label,
            line=row + 1,
            column="timestamp",
        )
    return frame


def _inventory(vmtable: pl.DataFrame, label: str, problems: list[Problem]) -> pl.DataFrame:
    ids = vmtable.get_column("vmid")
    if ids.is_null().any():
        row = int(ids.is_null().arg_true()[0])
        raise TraceFormatError("vmid is empty", path=label, line=row + 1, column="vmid")
    cores, open_cores = _bucket(vmtable.get_column("vmcorecount"))
    memory, open_memory = _bucket(vmtable.get_column("vmmemory"))
    for series, column in ((cores, "vmcorecount"), (memory, "vmmemory")):
        bad = series.is_null() | ~series.is_finite() | (series <= 0)
        if bad.any():
            row = int(bad.arg_true()[0])
            raise TraceFormatError(
                f"value {vmtable.get_column(column)[row]!r} is not a positive size or bucket",
                path=label,
                line=row + 1,
                column=column,
            )
    if open_cores or open_memory:
        problems.append(
            Problem(
                f"{open_cores + open_memory} open-ended size bucket(s) ('>N') taken as N "
                "(a lower bound)",
                path=label,
                count=open_cores + open_memory,
            )
        )
    categories = vmtable.get_column("vmcategory").value_counts(sort=True)
    described = ", ".join(f"{row[0]} {row[1]}" for row in categories.iter_rows())
    problems.append(
        Problem(
            f"vmcategory is a workload class, not an OS: kept out of os_family ({described})",
            path=label,
            column="vmcategory",
            count=vmtable.height,
        )
    )
    duplicated = vmtable.get_column("vmid").is_duplicated()
    if duplicated.any():
        row = int(duplicated.arg_true()[0])
        raise TraceFormatError(
            f"vmid {vmtable.get_column('vmid')[row]!r} appears more than once; expected one row "
            "per VM",
            path=label,
            line=row + 1,
            column="vmid",
        )
    return pl.DataFrame(
        {
            "vm_id": vmtable.get_column("vmid"),
            "n_vcpus": cores.round(0).cast(pl.Int32),
            "mem_provisioned_mib": memory * MIB_PER_GIB,
        }
    )


@register_reader(
    "azure",
    detect=detect,
    description="Azure Public Dataset V1/V2: vmtable (+ vm_cpu_readings), gzip or plain",
    cpu_share=True,
)
def read_azure(path: Path, options: ReadOptions) -> Trace:
    """Read Azure Public Dataset VM files into a Trace (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    kinds = {m.label: _kind(m) for m in members}
    unknown = [label for label, kind in kinds.items() if kind is None]
    if unknown:
        raise TraceFormatError(
            "not an Azure vmtable (11 comma-separated fields) or vm_cpu_readings file "
            "(5 fields: timestamp, vmid, min, max, avg)",
            path=unknown[0],
            line=1,
        )
    tables = [m for m in members if kinds[m.label] == "vmtable"]
    readings_members = [m for m in members if kinds[m.label] == "readings"]
    if len(tables) > 1:
        raise TraceFormatError(
            f"found {len(tables)} vmtable files; expected one", path=tables[1].label
        )
    problems: list[Problem] = []
    core_mhz = float(options.extra.get("azure_core_mhz", AZURE_DEFAULT_CORE_MHZ))  # type: ignore[arg-type]
    if tables:
        inventory = _inventory(_read_vmtable(tables[0], options), tables[0].label, problems)
    else:
        inventory = pl.DataFrame(
            schema={"vm_id": pl.String, "n_vcpus": pl.Int32, "mem_provisioned_mib": pl.Float64}
        )
        problems.append(Problem("no vmtable file: VM sizes are unknown"))
    inventory = inventory.with_columns(
        (pl.col("n_vcpus").cast(pl.Float64) * core_mhz).alias("cpu_capacity_mhz")
    )
    start, dated = _start(options)
    if not dated:
        problems.append(
            Problem(
                "the Azure trace is not dated (Microsoft withholds the start date); timestamps "
                "are offsets from 1970-01-01 00:00 UTC. Set ReadOptions.extra['azure_start']"
            )
        )
    readings = (
        pl.concat([_read_readings(m, options) for m in readings_members], how="vertical")
        if readings_members
        else pl.DataFrame(
            schema={name: pl.Float64 for name in READING_COLUMNS} | {"vmid": pl.String}
        )
    )
    sizes = inventory.select("vm_id", "cpu_capacity_mhz")
    with_usage = set(readings.get_column("vmid").unique().to_list())
    listed = set(inventory.get_column("vm_id").to_list())
    missing = with_usage - listed
    if missing:
        problems.append(
            Problem(
                f"{len(missing):,} VM(s) have CPU readings but no vmtable row; their CPU % is "
                f"scaled by the default capacity {options.default_vm_cpu_mhz:,.0f} MHz",
                count=len(missing),
                vm_id=sorted(missing)[0],
            )
        )
        extra = pl.DataFrame(
            {
                "vm_id": sorted(missing),
                "cpu_capacity_mhz": [options.default_vm_cpu_mhz] * len(missing),
            }
        )
        sizes = pl.concat([sizes, extra], how="vertical")
        inventory = pl.concat([inventory, extra], how="diagonal")
    idle = listed - with_usage
    if idle and readings_members:
        problems.append(
            Problem(
                f"{len(idle):,} vmtable VM(s) have no CPU readings",
                count=len(idle),
                vm_id=sorted(idle)[0],
            )
        )
    if readings.height:
        problems.append(
            Problem(
                "only the 5-minute average CPU is used as demand; the per-interval max is "
                "not kept (one CPU column in the canonical usage)",
                column="maxcpu",
            )
        )
        over = readings.get_column("avgcpu") > PERCENT
        if over.any():
            problems.append(
                Problem(
                    f"{int(over.sum()):,} readings above 100 % (kept)",
                    column="avgcpu",
                    count=int(over.sum()),
                )
            )
    start_us = int(start.timestamp() * US_PER_S)
    usage = (
        readings.lazy()
        .join(sizes.lazy(), left_on="vmid", right_on="vm_id", how="left")
        .select(
            pl.col("vmid").alias("vm_id"),
            (pl.lit(start_us) + (pl.col("timestamp") * US_PER_S).round().cast(pl.Int64))
            .cast(TIMESTAMP_DTYPE)
            .alias("timestamp"),
            (pl.col("avgcpu") / PERCENT * pl.col("cpu_capacity_mhz")).alias("cpu_demand_mhz"),
        )
        .collect()
    )
    return Trace.build(
        usage,
        inventory,
        format="azure",
        sources=[m.label for m in members],
        problems=problems,
        native_step_s=300.0,
    )
