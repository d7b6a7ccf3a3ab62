"""RVTools xlsx exports: the VM inventory of a vSphere estate (no usage over time).

Only the data sheets are read, when present: ``vInfo`` (required), ``vCPU``, ``vMemory``,
``vDisk``, ``vPartition``, ``vHost``, ``vNetwork``. Rows join on the VM name (``VM`` column →
``vm_id``). Column mapping:

================================  =========================================================
Canonical                         RVTools
================================  =========================================================
``n_vcpus``                       vInfo ``CPUs`` (else vCPU ``CPUs``)
``mem_provisioned_mib``           vInfo ``Memory`` (else vMemory ``Size MiB``/``Size MB``)
``cpu_capacity_mhz``              ``n_vcpus`` × vHost ``Speed`` (MHz per core) of the VM's
                                  host; matched by exact name, then by short name (before
                                  the first dot, case-insensitive), then by cluster (the
                                  slowest host of the VM's cluster: DRS may move the VM to
                                  any of them); else empty
``disk_provisioned_gib``          Σ vDisk ``Capacity MiB``/``MB``; else vInfo ``Total disk
                                  capacity MiB``; else vInfo ``Provisioned MiB``/``MB``
``disk_used_gib``                 Σ vPartition ``Consumed MiB``/``MB`` (guest file systems;
                                  needs VMware Tools); else vInfo ``In Use MiB``/``MB``
``os_family``                     :func:`capplan.schema.classify_os` of vInfo "OS according
                                  to the VMware Tools", else "… the configuration file"
``vlan_id``                       vNetwork ``Network`` (port group) of the VM's first row,
                                  when its name carries a VLAN number (``VLAN 120``,
                                  ``vlan-120``, ``VL120``); else empty
``current_host``                  vInfo ``Host``
``powered_on``                    vInfo ``Powerstate`` (``poweredOn`` → true; ``poweredOff``,
                                  ``suspended`` → false)
``created``                       vInfo ``Creation date`` (RVTools 4.x; an Excel date, or
                                  text in ISO 8601 or ``M/D/YYYY h:mm:ss AM``), as UTC
                                  (the export does not say the vCenter's zone)
================================  =========================================================

Templates (``Template`` true, stored as the text ``'True'`` in many exports) are not VMs that
run and are left out, reported with their count. ``Cluster`` is not a security zone and has no
canonical column, so it is not kept (a ``cluster`` inventory column would let placement respect
vSphere clusters; not added here because the schema is shared).

**Units.** RVTools labels its size columns "MB" up to 4.0 and "MiB" from 4.1 on; the values
were binary mebibytes all along (the rename was cosmetic). Evidence: vInfo ``Memory`` holds the
configured memory in MiB in every version (4096 for a 4 GiB VM; the real sample holds
512-131072, nearly all powers of two), and the store-predict project's ADR-017
("RVTools 'MB' Values Treated as MiB", fjacquet.github.io/store-predict) reports that
RVTools documentation confirms the values are base-2 and that cross-checks against LiveOptics
exports match without conversion. So both spellings are read as MiB, unconverted.

**Robustness.** The workbook is a zip archive: the zip-bomb guard of
:func:`capplan.io.files.check_zip_archive` runs before openpyxl opens it. openpyxl runs in
read-only, values-only mode (streaming). Exports carry thousands of empty formatted rows after
the last VM; rows without a VM name are skipped, and a sheet is abandoned after
:data:`MAX_EMPTY_RUN` consecutive empty rows (reported). Errors name the sheet, the Excel row and
the column: a workbook that is not xlsx, no vInfo sheet (listing the sheets found), a required
column missing (listing the names accepted), a cell that is not a number.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.derived import require_finite_derived
from capplan.io.files import Member, check_zip_archive, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import USAGE_SCHEMA, classify_os, to_utc
from capplan.units import MIB_PER_GIB

SHEETS = ("vInfo", "vCPU", "vMemory", "vDisk", "vPartition", "vHost", "vNetwork")
#: Largest vCPU count accepted (vSphere 8 allows 768 per VM; this only catches garbage).
MAX_VCPUS = 65_536
#: Consecutive empty rows after which a sheet is taken to have ended.
MAX_EMPTY_RUN = 10_000
_VLAN = re.compile(r"(?i)(?:^|[^a-z])(?:vlan|vl)[\s_\-#]*(\d{1,4})(?!\d)")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


@dataclass(frozen=True)
class _Column:
    """A logical column and the header spellings accepted for it."""

    key: str
    names: tuple[str, ...]


VINFO = {
    "vm": _Column("vm", ("VM",)),
    "powerstate": _Column("powerstate", ("Powerstate",)),
    "template": _Column("template", ("Template",)),
    "cpus": _Column("cpus", ("CPUs",)),
    "memory": _Column("memory", ("Memory", "Memory MiB", "Memory MB")),
    "provisioned": _Column("provisioned", ("Provisioned MiB", "Provisioned MB")),
    "in_use": _Column("in_use", ("In Use MiB", "In Use MB")),
    "total_disk": _Column("total_disk", ("Total disk capacity MiB", "Total disk capacity MB")),
    "host": _Column("host", ("Host",)),
    "cluster": _Column("cluster", ("Cluster",)),
    "os_config": _Column("os_config", ("OS according to the configuration file", "OS")),
    "os_tools": _Column("os_tools", ("OS according to the VMware Tools",)),
    "created": _Column("created", ("Creation date", "Creation Date")),
}
VCPU = {"vm": VINFO["vm"], "cpus": _Column("cpus", ("CPUs",))}
VMEMORY = {"vm": VINFO["vm"], "size": _Column("size", ("Size MiB", "Size MB"))}
VDISK = {"vm": VINFO["vm"], "capacity": _Column("capacity", ("Capacity MiB", "Capacity MB"))}
VPARTITION = {"vm": VINFO["vm"], "consumed": _Column("consumed", ("Consumed MiB", "Consumed MB"))}
VHOST = {
    "host": _Column("host", ("Host",)),
    "speed": _Column("speed", ("Speed",)),
    "cluster": _Column("cluster", ("Cluster",)),
}
VNETWORK = {
    "vm": VINFO["vm"],
    "network": _Column("network", ("Network",)),
    "nic": _Column("nic", ("NIC label",)),
}


def _detect(members: list[Member]) -> float:
    if len(members) != 1 or not members[0].name.lower().endswith((".xlsx", ".xlsm")):
        return 0.0
    member = members[0]
    if member.head(4) != b"PK\x03\x04":
        return 0.0
    path = member.disk_path
    if path is None:
        return 0.5
    try:
        check_zip_archive(path, member.label)
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml")[:1_000_000]
    except (TraceFormatError, KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return 0.3  # an .xlsx zip that is damaged or unsafe: reading it says exactly why
    return 0.95 if b'name="vInfo"' in workbook else 0.3


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Sheet:
    """Rows of one worksheet as dicts of the logical columns asked for."""

    def __init__(self, label: str, title: str, rows: Iterator[tuple[Any, ...]]) -> None:
        self.label = label
        self.title = title
        self._rows = rows
        header = next(rows, None)
        self.header = [str(c).strip() if c is not None else "" for c in (header or ())]
        self.truncated_at: int | None = None

    def find(self, column: _Column) -> int | None:
        for name in column.names:
            if name in self.header:
                return self.header.index(name)
        lowered = [h.lower() for h in self.header]
        for name in column.names:
            if name.lower() in lowered:
                return lowered.index(name.lower())
        return None

    def require(self, column: _Column) -> int:
        index = self.find(column)
        if index is None:
            accepted = " or ".join(repr(n) for n in column.names)
            raise TraceFormatError(
                f"sheet {self.title!r} has no column {column.names[0]!r}; accepted: {accepted}; "
                f"the header row holds {self.header}",
                path=self.label,
                line=1,
                column=column.names[0],
            )
        return index

    def records(self, wanted: dict[str, int | None], key: str = "vm") -> Iterator[dict[str, Any]]:
        """Yield ``{logical key: cell, "_row": excel row}`` for rows whose ``key`` cell is set."""
        key_index = wanted[key]
        empty_run = 0
        for row_number, row in enumerate(self._rows, start=2):
            cell = row[key_index] if key_index is not None and key_index < len(row) else None
            if _is_empty(cell):
                empty_run += 1
                if empty_run >= MAX_EMPTY_RUN:
                    self.truncated_at = row_number
                    return
                continue
            empty_run = 0
            record = {
                name: (row[index] if index is not None and index < len(row) else None)
                for name, index in wanted.items()
            }
            record["_row"] = row_number
            yield record


def _number(sheet: _Sheet, record: dict[str, Any], key: str, column: str) -> float | None:
    value = record.get(key)
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        number = float("nan")
    elif isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            number = float("nan")
    if not math.isfinite(number) or number < 0:
        raise TraceFormatError(
            f"sheet {sheet.title!r}: value {value!r} is not a finite, non-negative number",
            path=sheet.label,
            line=int(record["_row"]),
            column=column,
        )
    return number


def _text(value: object) -> str | None:
    if _is_empty(value):
        return None
    return str(value).strip()


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    lowered = text.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


#: Text forms of ``Creation date`` besides ISO 8601 (RVTools' US-locale rendering).
_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def _created(sheet: _Sheet, record: dict[str, Any], column: str) -> datetime | None:
    value = record.get("created")
    if _is_empty(value):
        return None
    try:
        return to_utc(value)
    except (ValueError, TypeError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise TraceFormatError(
        f"sheet {sheet.title!r}: {value!r} is not a date; expected an Excel date, ISO 8601 "
        "(2023-04-01 10:22:00) or M/D/YYYY h:mm:ss AM",
        path=sheet.label,
        line=int(record["_row"]),
        column=column,
    )


def _power(value: object) -> bool | None:
    text = (_text(value) or "").lower()
    if text == "poweredon":
        return True
    if text in ("poweredoff", "suspended"):
        return False
    return None


def vlan_from_network(name: str | None) -> int | None:
    """VLAN number a port-group name carries (``VLAN 120``, ``dvPG_vlan-120``), else None."""
    if not name:
        return None
    match = _VLAN.search(name)
    if not match:
        return None
    vlan = int(match.group(1))
    return vlan if 1 <= vlan <= 4094 else None


def _header_name(sheet: _Sheet, index: int) -> str:
    return sheet.header[index]


class _Workbook:
    """An opened workbook: its sheet titles and a way to stream one sheet."""

    def __init__(self, source: Path | IO[bytes], label: str, options: ReadOptions) -> None:
        import openpyxl  # deferred: only this reader needs it

        self.label = label
        check_zip_archive(source, label, options.max_expanded_bytes)
        if not isinstance(source, Path):
            source.seek(0)
        try:
            self._book = openpyxl.load_workbook(source, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many unrelated types on malformed files
            raise TraceFormatError(
                f"not a readable xlsx workbook ({type(exc).__name__}: {exc}); expected an "
                "RVTools export",
                path=label,
            ) from exc
        self.titles = list(self._book.sheetnames)

    def sheet(self, title: str) -> _Sheet | None:
        if title not in self.titles:
            return None
        try:
            rows = self._book[title].iter_rows(values_only=True)
            return _Sheet(self.label, title, _guarded(rows, self.label, title))
        except TraceFormatError:
            raise
        except Exception as exc:  # malformed sheet XML
            raise TraceFormatError(
                f"sheet {title!r} is not readable ({type(exc).__name__}: {exc})", path=self.label
            ) from exc

    def close(self) -> None:
        self._book.close()


def _guarded(rows: Iterator[tuple[Any, ...]], label: str, title: str) -> Iterator[tuple[Any, ...]]:
    """Re-raise any openpyxl failure while streaming a sheet as a TraceFormatError."""
    try:
        yield from rows
    except Exception as exc:  # malformed sheet XML surfaces lazily, as any type
        raise TraceFormatError(
            f"sheet {title!r} is not readable ({type(exc).__name__}: {exc})", path=label
        ) from exc


def _sum_per_vm(
    sheet: _Sheet | None, columns: dict[str, _Column], key: str, problems: list[Problem]
) -> tuple[dict[str, float], str | None]:
    """Σ of a size column per VM (MiB); also the header name used."""
    if sheet is None:
        return {}, None
    index = sheet.find(columns[key])
    vm_index = sheet.find(columns["vm"])
    if index is None or vm_index is None:
        missing = columns[key].names[0] if index is None else "VM"
        problems.append(
            Problem(
                f"sheet {sheet.title!r} has no {missing!r} column; not used",
                path=sheet.label,
                line=1,
            )
        )
        return {}, None
    name = _header_name(sheet, index)
    totals: dict[str, float] = {}
    for record in sheet.records({"vm": vm_index, key: index}):
        value = _number(sheet, record, key, name)
        if value is not None:
            vm = str(record["vm"]).strip()
            totals[vm] = totals.get(vm, 0.0) + value
    _note_truncation(sheet, problems)
    return totals, name


def _note_truncation(sheet: _Sheet, problems: list[Problem]) -> None:
    if sheet.truncated_at is not None:
        problems.append(
            Problem(
                f"sheet {sheet.title!r}: {MAX_EMPTY_RUN:,} empty rows in a row up to row "
                f"{sheet.truncated_at:,}; rows after it were not read",
                path=sheet.label,
                line=sheet.truncated_at,
            )
        )


def _first_per_vm(
    sheet: _Sheet | None, columns: dict[str, _Column], key: str, *, as_number: bool
) -> dict[str, Any]:
    if sheet is None:
        return {}
    index = sheet.find(columns[key])
    vm_index = sheet.find(columns["vm"])
    if index is None or vm_index is None:
        return {}
    name = _header_name(sheet, index)
    first: dict[str, Any] = {}
    for record in sheet.records({"vm": vm_index, key: index}):
        vm = str(record["vm"]).strip()
        if vm in first:
            continue
        first[vm] = _number(sheet, record, key, name) if as_number else _text(record[key])
    return first


def _host_speeds(
    sheet: _Sheet | None, problems: list[Problem]
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """MHz per core by host name, by short host name and by cluster (uniform clusters only)."""
    if sheet is None:
        return {}, {}, {}
    host_i, speed_i = sheet.find(VHOST["host"]), sheet.find(VHOST["speed"])
    if host_i is None or speed_i is None:
        problems.append(
            Problem("sheet 'vHost' has no 'Host' or 'Speed' column; not used", path=sheet.label)
        )
        return {}, {}, {}
    wanted = {"host": host_i, "speed": speed_i, "cluster": sheet.find(VHOST["cluster"])}
    by_name: dict[str, float] = {}
    by_short: dict[str, float] = {}
    clusters: dict[str, set[float]] = {}
    for record in sheet.records(wanted, key="host"):
        speed = _number(sheet, record, "speed", _header_name(sheet, speed_i))
        if speed is None or speed <= 0:
            continue
        host = str(record["host"]).strip()
        by_name[host] = speed
        by_short[host.split(".", 1)[0].lower()] = speed
        cluster = _text(record.get("cluster"))
        if cluster:
            clusters.setdefault(cluster, set()).add(speed)
    by_cluster = {name: min(speeds) for name, speeds in clusters.items()}
    mixed = sorted(name for name, speeds in clusters.items() if len(speeds) > 1)
    if mixed:
        problems.append(
            Problem(
                f"{len(mixed)} cluster(s) mix host CPU speeds ({', '.join(mixed[:5])}); a VM "
                "whose host is not in vHost gets the slowest speed of its cluster",
                path=sheet.label,
                count=len(mixed),
            )
        )
    return by_name, by_short, by_cluster


def _open(member: Member, options: ReadOptions) -> _Workbook:
    path = member.disk_path
    if path is not None:
        size = path.stat().st_size
        if size > options.max_expanded_bytes:
            raise TraceFormatError(
                f"file is {size:,} bytes, above the limit of {options.max_expanded_bytes:,}",
                path=member.label,
            )
        return _Workbook(path, member.label, options)
    data = member.read_bytes(options.max_expanded_bytes)
    return _Workbook(io.BytesIO(data), member.label, options)


def _vinfo_rows(
    book: _Workbook, problems: list[Problem]
) -> tuple[_Sheet, dict[str, int | None], list[dict[str, Any]]]:
    vinfo = book.sheet("vInfo")
    if vinfo is None:
        raise TraceFormatError(
            f"no 'vInfo' sheet; expected an RVTools export; the workbook has sheets {book.titles}",
            path=book.label,
        )
    wanted: dict[str, int | None] = {"vm": vinfo.require(VINFO["vm"])}
    for key, column in VINFO.items():
        if key != "vm":
            wanted[key] = vinfo.find(column)
    records = list(vinfo.records(wanted))
    _note_truncation(vinfo, problems)
    if not records:
        raise TraceFormatError("sheet 'vInfo' lists no VM", path=book.label, line=2)
    return vinfo, wanted, records


def _fallback_column(
    book: _Workbook,
    vinfo: _Sheet,
    key: str,
    other: str,
    other_columns: dict[str, _Column],
    other_key: str,
) -> dict[str, Any]:
    """Values of a required vInfo column missing from vInfo, taken from another sheet."""
    sheet = book.sheet(other)
    values = _first_per_vm(sheet, other_columns, other_key, as_number=True)
    if not values:
        column = VINFO[key]
        accepted = " or ".join(repr(n) for n in column.names)
        raise TraceFormatError(
            f"sheet 'vInfo' has no column {column.names[0]!r} (accepted: {accepted}) and no "
            f"{other!r} sheet supplies it; the vInfo header row holds {vinfo.header}",
            path=book.label,
            line=1,
            column=column.names[0],
        )
    return values


@register_reader(
    "rvtools",
    detect=_detect,
    description="RVTools xlsx export (vInfo, vCPU, vMemory, vDisk, vPartition, vHost, vNetwork)",
    inventory_only=True,
)
def read_rvtools(path: Path, options: ReadOptions) -> Trace:
    """Read an RVTools workbook into an inventory-only Trace (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    workbooks = [m for m in members if m.name.lower().endswith((".xlsx", ".xlsm"))]
    if len(members) != 1 or len(workbooks) != 1:
        raise TraceFormatError(
            f"expected one RVTools .xlsx workbook, found {len(members)} file(s)", path=path
        )
    member = workbooks[0]
    problems: list[Problem] = []
    book = _open(member, options)
    try:
        inventory = _read_book(book, problems)
    finally:
        book.close()
    if options.progress is not None:
        options.progress(1, 1)
    return Trace.build(
        pl.DataFrame(schema=USAGE_SCHEMA),
        inventory,
        format="rvtools",
        sources=[member.label],
        problems=problems,
    )


def _read_book(book: _Workbook, problems: list[Problem]) -> pl.DataFrame:
    vinfo, wanted, records = _vinfo_rows(book, problems)
    label = book.label
    cpu_fallback = (
        _fallback_column(book, vinfo, "cpus", "vCPU", VCPU, "cpus")
        if wanted["cpus"] is None
        else {}
    )
    mem_fallback = (
        _fallback_column(book, vinfo, "memory", "vMemory", VMEMORY, "size")
        if wanted["memory"] is None
        else {}
    )
    disks, disk_column = _sum_per_vm(book.sheet("vDisk"), VDISK, "capacity", problems)
    parts, part_column = _sum_per_vm(book.sheet("vPartition"), VPARTITION, "consumed", problems)
    networks = _first_per_vm(book.sheet("vNetwork"), VNETWORK, "network", as_number=False)
    by_name, by_short, by_cluster = _host_speeds(book.sheet("vHost"), problems)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    n_templates = n_duplicates = n_unknown_power = 0
    n_no_speed = n_by_short = n_by_cluster = 0
    sources: dict[str, dict[str, int]] = {"disk_provisioned": {}, "disk_used": {}}
    unnamed_networks: set[str] = set()
    n_networks = 0

    def column_name(key: str) -> str:
        index = wanted[key]
        return vinfo.header[index] if index is not None else VINFO[key].names[0]

    for record in records:
        vm = str(record["vm"]).strip()
        if _flag(record.get("template")):
            n_templates += 1
            continue
        if vm in seen:
            n_duplicates += 1
            continue
        seen.add(vm)
        cpus = (
            _number(vinfo, record, "cpus", column_name("cpus"))
            if wanted["cpus"] is not None
            else cpu_fallback.get(vm)
        )
        memory = (
            _number(vinfo, record, "memory", column_name("memory"))
            if wanted["memory"] is not None
            else mem_fallback.get(vm)
        )
        if cpus is not None and (cpus != int(cpus) or cpus > MAX_VCPUS):
            raise TraceFormatError(
                f"sheet 'vInfo': CPUs {cpus!r} is not a whole number of at most {MAX_VCPUS:,}",
                path=label,
                line=int(record["_row"]),
                column=column_name("cpus"),
            )
        provisioned, provisioned_from = _disk_value(
            vm, disks, disk_column, vinfo, record, wanted, ("total_disk", "provisioned")
        )
        used, used_from = _disk_value(vm, parts, part_column, vinfo, record, wanted, ("in_use",))
        for kind, origin in (("disk_provisioned", provisioned_from), ("disk_used", used_from)):
            if origin:
                sources[kind][origin] = sources[kind].get(origin, 0) + 1
        power = _power(record.get("powerstate"))
        if power is None and wanted["powerstate"] is not None:
            n_unknown_power += 1
        host = _text(record.get("host"))
        speed = None
        if host is not None:
            speed = by_name.get(host)
            if speed is None:
                speed = by_short.get(host.split(".", 1)[0].lower())
                n_by_short += speed is not None
            if speed is None:
                speed = by_cluster.get(_text(record.get("cluster")) or "")
                n_by_cluster += speed is not None
        if speed is None and by_name:
            n_no_speed += 1
        network = networks.get(vm)
        vlan = vlan_from_network(network)
        if network:
            n_networks += 1
            if vlan is None:
                unnamed_networks.add(network)
        os_text = _text(record.get("os_tools")) or _text(record.get("os_config"))
        rows.append(
            {
                "vm_id": vm,
                "n_vcpus": int(cpus) if cpus is not None else None,
                "cpu_capacity_mhz": cpus * speed if cpus is not None and speed else None,
                "mem_provisioned_mib": memory,
                "disk_provisioned_gib": None if provisioned is None else provisioned / MIB_PER_GIB,
                "disk_used_gib": None if used is None else used / MIB_PER_GIB,
                "os_family": classify_os(os_text),
                "vlan_id": vlan,
                "current_host": host,
                "powered_on": power,
                "created": _created(vinfo, record, column_name("created"))
                if wanted["created"] is not None
                else None,
            }
        )
    _summarize(
        problems,
        label,
        n_templates=n_templates,
        n_duplicates=n_duplicates,
        n_unknown_power=n_unknown_power,
        n_no_speed=n_no_speed,
        n_by_short=n_by_short,
        n_by_cluster=n_by_cluster,
        sources=sources,
        unnamed_networks=unnamed_networks,
        n_networks=n_networks,
        n_vms=len(rows),
        has_vnetwork="vNetwork" in book.titles,
    )
    if not rows:
        raise TraceFormatError(
            f"sheet 'vInfo' lists only templates ({n_templates}); no VM to plan", path=label
        )
    frame = pl.DataFrame(rows, strict=False, infer_schema_length=None)
    sizes = ["cpu_capacity_mhz", "mem_provisioned_mib", "disk_provisioned_gib", "disk_used_gib"]
    require_finite_derived(frame, sizes, label=label)
    return frame


def _disk_value(
    vm: str,
    per_vm: dict[str, float],
    per_vm_column: str | None,
    vinfo: _Sheet,
    record: dict[str, Any],
    wanted: dict[str, int | None],
    fallbacks: Sequence[str],
) -> tuple[float | None, str | None]:
    if vm in per_vm and per_vm_column is not None:
        return per_vm[vm], per_vm_column
    for key in fallbacks:
        index = wanted.get(key)
        if index is None:
            continue
        value = _number(vinfo, record, key, vinfo.header[index])
        if value is not None:
            return value, f"vInfo {vinfo.header[index]}"
    return None, None


def _summarize(problems: list[Problem], label: str, **facts: Any) -> None:
    def add(message: str, count: int) -> None:
        problems.append(Problem(message, path=label, count=count))

    if facts["n_templates"]:
        add(f"{facts['n_templates']} template(s) left out (Template = True)", facts["n_templates"])
    if facts["n_duplicates"]:
        add(
            f"{facts['n_duplicates']} vInfo row(s) repeat a VM name; the first of each kept "
            "(vDisk/vPartition rows of same-named VMs cannot be told apart and are summed)",
            facts["n_duplicates"],
        )
    if facts["n_unknown_power"]:
        add(
            f"{facts['n_unknown_power']} VM(s) with an unknown Powerstate; powered_on left empty",
            facts["n_unknown_power"],
        )
    if facts["n_by_short"]:
        add(
            f"{facts['n_by_short']} VM(s) matched to a vHost host by short name only",
            facts["n_by_short"],
        )
    if facts["n_by_cluster"]:
        add(
            f"{facts['n_by_cluster']} VM(s) run on a host missing from vHost; they got the "
            "CPU speed of their cluster's slowest host",
            facts["n_by_cluster"],
        )
    if facts["n_no_speed"]:
        add(
            f"{facts['n_no_speed']} VM(s) run on a host missing from vHost and from its "
            "clusters; cpu_capacity_mhz left empty",
            facts["n_no_speed"],
        )
    for kind, origins in facts["sources"].items():
        if len(origins) > 1:
            shares = ", ".join(f"{n} from {origin}" for origin, n in sorted(origins.items()))
            add(f"{kind.replace('_', ' ')} sizes: {shares}", sum(origins.values()))
    if facts["has_vnetwork"] and facts["n_networks"] < facts["n_vms"]:
        missing = facts["n_vms"] - facts["n_networks"]
        add(f"{missing} VM(s) have no port group in vNetwork; vlan_id left empty", missing)
    if facts["unnamed_networks"]:
        names = sorted(facts["unnamed_networks"])
        shown = ", ".join(repr(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
        add(
            f"{len(names)} port group name(s) carry no VLAN number ({shown}); their VMs' vlan_id "
            "left empty",
            len(names),
        )
