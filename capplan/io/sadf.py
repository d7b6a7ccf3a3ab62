"""Linux sysstat ``sadf -d`` exports: one host's CPU, memory, network and block I/O over time.

``sadf -d`` prints sar data "in a format that can easily be ingested by a relational
database": semicolon-separated fields ``hostname;interval;timestamp;…``. Each activity is a
section that starts with a comment header naming its columns, for example::

    # hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle
    db1;600;2021-09-07 00:10:11 UTC;-1;0.10;0.00;0.08;0.02;0.00;99.80

Accepted layouts and their mapping (``vm_id`` = hostname; each host is one consolidation
candidate):

- **CPU** (``sadf -d``, ``-- -u [ALL]``, ``-P ALL``): ``cpu_demand_mhz = (100 − %idle) / 100 ×
  host capacity MHz``. The capacity comes from :mod:`capplan.io.hostinfo`
  (``extra['host_cpu_mhz']``, or cores × ``extra['core_mhz']``); when neither is set a
  documented default stands in and a problem says so. Rows with ``CPU`` = ``-1``/``all`` are
  the whole host; per-CPU rows give the core count (``n_vcpus``), and are averaged when no
  whole-host row exists. Without a header the CPU layout is assumed, with 9 fields
  (``hostname;interval;timestamp;%user;%nice;%system;%iowait;%steal;%idle``, as in the real
  sample) or 10 (with the ``CPU`` field).
  The kernel-mode share of busy CPU time, ``Σ (%system + %irq + %soft) / Σ (%user + %nice +
  %system + %irq + %soft)`` over the rows, becomes ``cpu_kernel_frac`` (what the
  virtualization modes' kernel-level overhead applies to).
- **Memory** (``-- -r``): ``mem_active_mib = kbactive / 1024`` (Linux "Active" memory, used
  recently and not reclaimed unless needed: the working-set analogue of VMware's active
  memory); without ``kbactive``, ``kbmemused`` (reported). The host's memory size,
  ``kbmemused × 100 / %memused``, becomes ``mem_provisioned_mib``.
- **Network** (``-- -n DEV``): ``net_rx_mbps``/``net_tx_mbps`` from ``rxkB/s``/``txkB/s``
  (sysstat's kB are 1024 bytes), summed over interfaces except ``lo``.
- **Block I/O** (``-- -b``): ``rtps``/``wtps`` → ``disk_read_iops``/``disk_write_iops``;
  ``bread/s``/``bwrtn/s`` are 512-byte blocks per second → ``disk_read_mib_s``/
  ``disk_write_mib_s``.
- ``-- -d`` (per block device) is not used: its rows list stacked devices (device-mapper over
  disks, md over partitions), so summing them double counts; use ``-b``. Other activities
  are skipped; both are reported.

``LINUX-RESTART`` and ``COM`` records are skipped (a restart's ``(N CPU)`` gives the core
count). Timestamps: sadf prints UTC unless ``-T``/``-t`` asks for local time (sadf(1): "-T
Display timestamp in local time instead of UTC"), and recent versions append `` UTC``. A
timestamp with `` UTC`` is UTC; one without is taken in ``ReadOptions.local_timezone``
(default ``UTC``, matching sadf's default); a Unix epoch (``-U``) is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.csvtools import parse_timestamps
from capplan.io.derived import require_finite_derived
from capplan.io.files import Member, decode_text, list_members
from capplan.io.hostinfo import checked_timezone, cpu_capacity
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import USAGE_METRICS
from capplan.units import (
    BYTES_PER_MIB,
    BYTES_PER_SECTOR,
    KIB_PER_MIB,
    MBPS_PER_KIB_S,
    PERCENT,
)

KEYS = ("hostname", "interval", "timestamp")
CPU_FIELDS_9 = (*KEYS, "%user", "%nice", "%system", "%iowait", "%steal", "%idle")
CPU_FIELDS_10 = (*KEYS[:3], "CPU", *CPU_FIELDS_9[3:])
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}( UTC)?$|^\d{9,11}$")
_RESTART = re.compile(r"^[^;]*;[^;]*;[^;]*;(LINUX-RESTART|COM )")
_N_CPU = re.compile(r"\((\d{1,5}) CPU\)")
#: %idle above this is a malformed row (sadf prints two decimals).
MAX_PERCENT = 100.005


@dataclass
class _Section:
    """Consecutive data lines under one header (or under none)."""

    names: list[str]
    header_line: int | None
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _HostFacts:
    n_cpus: dict[str, int] = field(default_factory=dict)
    mem_mib: dict[str, float] = field(default_factory=dict)
    #: Per host, Σ kernel-mode and Σ busy (user + nice + kernel) percent over the CPU rows.
    kernel_pct: dict[str, float] = field(default_factory=dict)
    busy_pct: dict[str, float] = field(default_factory=dict)

    def kernel_frac(self, host: str) -> float | None:
        """Share of the host's busy CPU time in kernel mode (None: no %user/%system)."""
        busy = self.busy_pct.get(host, 0.0)
        return self.kernel_pct[host] / busy if busy > 0 else None


#: CPU columns of user and of kernel time (``-u``: %user %nice %system; ``-u ALL``: %usr %nice
#: %sys %irq %soft). %guest (time this host ran its own guests) is left out of both, and
#: %iowait/%steal are not CPU work of the host.
USER_COLUMNS = ("%user", "%usr", "%nice")
KERNEL_COLUMNS = ("%system", "%sys", "%irq", "%soft")


def _count_kernel(rows: pl.DataFrame, facts: _HostFacts) -> None:
    """Add each host's kernel and busy percent of ``rows`` to ``facts``."""
    user = [c for c in USER_COLUMNS if c in rows.columns]
    kernel = [c for c in KERNEL_COLUMNS if c in rows.columns]
    if not user or not kernel:
        return
    sums = rows.group_by("vm_id").agg(
        pl.sum_horizontal(kernel).sum().alias("kernel"),
        pl.sum_horizontal([*user, *kernel]).sum().alias("busy"),
    )
    for host, k, b in sums.iter_rows():
        facts.kernel_pct[str(host)] = facts.kernel_pct.get(str(host), 0.0) + float(k or 0.0)
        facts.busy_pct[str(host)] = facts.busy_pct.get(str(host), 0.0) + float(b or 0.0)


def _first_lines(member: Member, n: int = 5) -> list[str]:
    text = member.head(8192).decode("utf-8", errors="replace")
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()][:n]


def _detect(members: list[Member]) -> float:
    if not members:
        return 0.0
    score = 0.95
    for member in members:
        lines = _first_lines(member)
        if not lines:
            return 0.0
        first = lines[0]
        if first.startswith("#"):
            names = [n.strip() for n in first.lstrip("#").split(";")]
            if tuple(names[:3]) != KEYS:
                return 0.0
            continue
        fields = first.split(";")
        if len(fields) < 4 or not fields[1].strip().lstrip("-").isdigit():
            return 0.0
        if not _TIMESTAMP.match(fields[2].strip()):
            return 0.0
        score = min(score, 0.85)
    return score


def _sections(text: str, label: str, facts: _HostFacts) -> tuple[list[_Section], int]:
    sections: list[_Section] = []
    current: _Section | None = None
    n_skipped = 0
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            names = [name.strip() for name in line.lstrip("#").split(";")]
            if tuple(names[:3]) != KEYS:
                raise TraceFormatError(
                    f"header starts {names[:3]}; expected '# hostname;interval;timestamp;…'",
                    path=label,
                    line=number,
                )
            current = _Section(names, number)
            sections.append(current)
            continue
        if _RESTART.match(line):
            n_skipped += 1
            cpus = _N_CPU.search(line)
            if cpus:
                facts.n_cpus[line.split(";", 1)[0]] = int(cpus.group(1))
            continue
        if current is None:
            width = line.count(";") + 1
            if width not in (len(CPU_FIELDS_9), len(CPU_FIELDS_10)):
                raise TraceFormatError(
                    f"found {width} fields and no '# hostname;interval;timestamp;…' header; "
                    f"expected the sadf -d CPU layout {';'.join(CPU_FIELDS_9)} (9 fields) or "
                    "with a CPU field (10)",
                    path=label,
                    line=number,
                )
            names = list(CPU_FIELDS_9 if width == len(CPU_FIELDS_9) else CPU_FIELDS_10)
            current = _Section(names, None)
            sections.append(current)
        current.lines.append((number, line))
    return sections, n_skipped


def _parse_section(
    section: _Section, label: str, zone: str, problems: list[Problem]
) -> tuple[pl.DataFrame, list[int]]:
    """Typed frame of one section: hostname, interval, timestamp (UTC) and numeric columns."""
    names = section.names
    numbers = [number for number, _ in section.lines]
    texts = pl.Series([line for _, line in section.lines], dtype=pl.String)
    widths = texts.str.count_matches(";") + 1
    bad = widths != len(names)
    if bad.any():
        row = int(bad.arg_max() or 0)
        raise TraceFormatError(
            f"found {widths[row]} fields, expected {len(names)} separated by ';' "
            f"({';'.join(names)})",
            path=label,
            line=numbers[row],
        )
    body = "\n".join(line for _, line in section.lines).encode("utf-8")
    try:
        raw = pl.read_csv(
            body,
            separator=";",
            has_header=False,
            infer_schema=False,
            quote_char=None,
            null_values=[""],
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise TraceFormatError(f"could not parse as sadf -d output ({exc})", path=label) from exc
    unique = [name if names.index(name) == i else f"{name}#{i}" for i, name in enumerate(names)]
    raw.columns = unique
    hosts = raw.get_column("hostname").str.strip_chars()
    missing = hosts.is_null() | (hosts == "")
    if missing.any():
        row = int(missing.arg_max() or 0)
        raise TraceFormatError(
            "hostname is empty", path=label, line=numbers[row], column="hostname"
        )
    stamp_text = raw.get_column("timestamp").str.strip_chars()
    utc_marked = stamp_text.str.ends_with(" UTC").fill_null(False)
    stamp_text = stamp_text.str.strip_suffix(" UTC")
    stamp_zone = "UTC" if bool(utc_marked.all()) else zone
    if bool(utc_marked.any()) and not bool(utc_marked.all()):
        problems.append(
            Problem(
                f"some timestamps end in ' UTC' and some do not; all taken as {stamp_zone}",
                path=label,
                line=section.header_line,
                column="timestamp",
            )
        )
    try:
        stamps = parse_timestamps(
            stamp_text,
            label=label,
            first_data_line=0,
            column="timestamp",
            time_zone=stamp_zone,
        )
    except TraceFormatError as exc:
        row = exc.line or 0
        raise TraceFormatError(
            exc.message, path=label, line=numbers[min(row, len(numbers) - 1)], column="timestamp"
        ) from exc
    columns: list[pl.Series] = [hosts.alias("vm_id"), stamps]
    for name in unique:
        if name in ("hostname", "timestamp") or name in ("CPU", "IFACE", "DEV"):
            if name in ("CPU", "IFACE", "DEV"):
                columns.append(raw.get_column(name).str.strip_chars())
            continue
        text = raw.get_column(name).str.strip_chars()
        values = text.cast(pl.Float64, strict=False)
        not_number = text.is_not_null() & values.is_null()
        if not_number.any():
            row = int(not_number.arg_max() or 0)
            raise TraceFormatError(
                f"value {text[row]!r} is not a number", path=label, line=numbers[row], column=name
            )
        invalid = (~values.is_finite() | (values < 0)).fill_null(False)
        if invalid.any():
            row = int(invalid.arg_max() or 0)
            raise TraceFormatError(
                f"value {text[row]!r} is not a finite, non-negative number",
                path=label,
                line=numbers[row],
                column=name,
            )
        columns.append(values.alias(name))
    return pl.DataFrame(columns), numbers


def _kind(names: list[str]) -> str:
    present = set(names)
    if "%idle" in present:
        return "cpu"
    if {"kbmemfree", "kbmemused"} & present:
        return "mem"
    if {"IFACE", "rxkB/s", "txkB/s"} <= present:
        return "net"
    if {"rtps", "wtps"} <= present:
        return "io"
    if {"DEV", "tps"} <= present:
        return "disk"
    return "other"


def _cpu_frame(
    frame: pl.DataFrame, numbers: list[int], label: str, facts: _HostFacts
) -> pl.DataFrame:
    idle = frame.get_column("%idle")
    over = (idle > MAX_PERCENT).fill_null(False)
    if over.any():
        row = int(over.arg_max() or 0)
        raise TraceFormatError(
            f"%idle {idle[row]} is above 100", path=label, line=numbers[row], column="%idle"
        )
    busy = (PERCENT - pl.col("%idle")).clip(lower_bound=0.0)
    if "CPU" not in frame.columns:
        _count_kernel(frame, facts)
        return frame.select("vm_id", "timestamp", busy.alias("busy_pct"), "interval")
    ids = frame.get_column("CPU").str.to_lowercase()
    valid = ids.is_in(["-1", "all"]) | ids.str.contains(r"^\d{1,5}$")
    if not bool(valid.fill_null(False).all()):
        row = int((~valid.fill_null(False)).arg_max() or 0)
        raise TraceFormatError(
            f"CPU {ids[row]!r} is not -1, 'all' or a CPU number",
            path=label,
            line=numbers[row],
            column="CPU",
        )
    whole = pl.col("CPU").str.to_lowercase().is_in(["-1", "all"])
    per_cpu = frame.filter(~whole)
    for host, count in per_cpu.group_by("vm_id").agg(pl.col("CPU").n_unique()).iter_rows():
        facts.n_cpus[str(host)] = int(count)
    totals = frame.filter(whole)
    _count_kernel(totals if totals.height else per_cpu, facts)
    if totals.height:
        return totals.select("vm_id", "timestamp", busy.alias("busy_pct"), "interval")
    return per_cpu.group_by(["vm_id", "timestamp"], maintain_order=True).agg(
        busy.mean().alias("busy_pct"), pl.col("interval").first()
    )


def _mem_frame(
    frame: pl.DataFrame, label: str, facts: _HostFacts, problems: list[Problem]
) -> pl.DataFrame:
    if "kbactive" in frame.columns:
        active = pl.col("kbactive") / KIB_PER_MIB
    elif "kbmemused" in frame.columns:
        active = pl.col("kbmemused") / KIB_PER_MIB
        problems.append(
            Problem(
                "memory section has no kbactive column; mem_active_mib = kbmemused (which "
                "includes buffers and page cache on sysstat before 11.x)",
                path=label,
                column="kbmemused",
            )
        )
    else:
        problems.append(
            Problem("memory section has neither kbactive nor kbmemused; skipped", path=label)
        )
        return frame.select("vm_id", "timestamp")
    if {"kbmemused", "%memused"} <= set(frame.columns):
        sizes = (
            frame.filter(pl.col("%memused") > 0)
            .group_by("vm_id")
            .agg((pl.col("kbmemused") * PERCENT / pl.col("%memused")).median().alias("kib"))
        )
        for host, kib in sizes.iter_rows():
            facts.mem_mib[str(host)] = float(kib) / KIB_PER_MIB
    return frame.select("vm_id", "timestamp", active.alias("mem_active_mib"))


def _net_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.filter(pl.col("IFACE") != "lo")
        .group_by(["vm_id", "timestamp"], maintain_order=True)
        .agg(
            (pl.col("rxkB/s").sum() * MBPS_PER_KIB_S).alias("net_rx_mbps"),
            (pl.col("txkB/s").sum() * MBPS_PER_KIB_S).alias("net_tx_mbps"),
        )
    )


def _io_frame(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = [pl.col("rtps").alias("disk_read_iops"), pl.col("wtps").alias("disk_write_iops")]
    scale = BYTES_PER_SECTOR / BYTES_PER_MIB
    if "bread/s" in frame.columns:
        exprs.append((pl.col("bread/s") * scale).alias("disk_read_mib_s"))
    if "bwrtn/s" in frame.columns:
        exprs.append((pl.col("bwrtn/s") * scale).alias("disk_write_mib_s"))
    return frame.select("vm_id", "timestamp", *exprs)


def _read_member(
    member: Member, options: ReadOptions, zone: str, facts: _HostFacts, problems: list[Problem]
) -> dict[str, list[pl.DataFrame]]:
    label = member.label
    data = member.read_bytes(options.max_expanded_bytes)
    if not data.strip():
        raise TraceFormatError("file is empty; expected sadf -d output", path=label)
    text = decode_text(data, label)
    sections, n_skipped = _sections(text, label, facts)
    if n_skipped:
        problems.append(
            Problem(f"{n_skipped} LINUX-RESTART/COM record(s) skipped", path=label, count=n_skipped)
        )
    frames: dict[str, list[pl.DataFrame]] = {}
    for section in sections:
        if not section.lines:
            continue
        kind = _kind(section.names)
        if kind in ("disk", "other"):
            reason = (
                "per-device rows double count stacked devices; export sadf -d -- -b instead"
                if kind == "disk"
                else "no capacity metric capplan maps"
            )
            problems.append(
                Problem(
                    f"section '{';'.join(section.names[3:8])}…' ({len(section.lines)} rows) "
                    f"skipped: {reason}",
                    path=label,
                    line=section.header_line,
                    count=len(section.lines),
                )
            )
            continue
        frame, numbers = _parse_section(section, label, zone, problems)
        if kind == "cpu":
            frames.setdefault("cpu", []).append(_cpu_frame(frame, numbers, label, facts))
        elif kind == "mem":
            frames.setdefault("mem", []).append(_mem_frame(frame, label, facts, problems))
        elif kind == "net":
            frames.setdefault("net", []).append(_net_frame(frame))
        else:
            frames.setdefault("io", []).append(_io_frame(frame))
    return frames


def _dedupe(frame: pl.DataFrame, kind: str, label: str, problems: list[Problem]) -> pl.DataFrame:
    repeated = frame.select(pl.struct("vm_id", "timestamp").is_duplicated()).to_series()
    n_repeated = int(repeated.sum())
    if n_repeated:
        problems.append(
            Problem(
                f"{n_repeated} {kind} row(s) repeat a host's timestamp; the first of each kept",
                path=label,
                column="timestamp",
                count=n_repeated,
            )
        )
        frame = frame.unique(subset=["vm_id", "timestamp"], keep="first", maintain_order=True)
    return frame


@register_reader(
    "sadf",
    detect=_detect,
    description="Linux sysstat sadf -d (CPU; also -r memory, -n DEV network, -b block I/O)",
    cpu_share=True,
)
def read_sadf(path: Path, options: ReadOptions) -> Trace:
    """Read one ``sadf -d`` file or a folder/zip of them (see the module docstring)."""
    zone = checked_timezone(options)
    members = list_members(path, options.max_expanded_bytes)
    facts = _HostFacts()
    problems: list[Problem] = []
    by_kind: dict[str, list[pl.DataFrame]] = {}
    for done, member in enumerate(members, start=1):
        for kind, frames in _read_member(member, options, zone, facts, problems).items():
            by_kind.setdefault(kind, []).extend(frames)
        if options.progress is not None:
            options.progress(done, len(members))
    if not by_kind:
        raise TraceFormatError(
            "no CPU, memory (-r), network (-n DEV) or block I/O (-b) rows found", path=path
        )
    merged: pl.DataFrame | None = None
    step_s: float | None = None
    for kind in ("cpu", "mem", "net", "io"):
        if kind not in by_kind:
            continue
        frame = _dedupe(pl.concat(by_kind[kind], how="diagonal_relaxed"), kind, str(path), problems)
        if kind == "cpu":
            intervals = frame.get_column("interval").filter(frame.get_column("interval") > 0)
            median = intervals.median() if not intervals.is_empty() else None
            step_s = float(median) if isinstance(median, int | float) else None
            frame = frame.drop("interval")
        if merged is None:
            merged = frame
        else:
            merged = merged.join(frame, on=["vm_id", "timestamp"], how="full", coalesce=True)
    assert merged is not None
    hosts = merged.get_column("vm_id").unique(maintain_order=True).to_list()
    inventory: list[dict[str, object]] = []
    capacity_mhz: dict[str, float] = {}
    for host in hosts:
        n_cpus = facts.n_cpus.get(host)
        row: dict[str, object] = {
            "vm_id": host,
            "n_vcpus": n_cpus,
            "mem_provisioned_mib": facts.mem_mib.get(host),
            "os_family": "linux",
            "powered_on": True,
            "cpu_kernel_frac": facts.kernel_frac(host),
        }
        if "busy_pct" in merged.columns:
            capacity = cpu_capacity(host, options, n_cores=n_cpus)
            capacity_mhz[host] = capacity.total_mhz
            row["cpu_capacity_mhz"] = capacity.total_mhz
            if capacity.defaulted:
                problems.append(Problem(capacity.problem_text(host), path=str(path), vm_id=host))
        inventory.append(row)
    if "busy_pct" in merged.columns:
        host_mhz = pl.col("vm_id").replace_strict(capacity_mhz, return_dtype=pl.Float64)
        merged = merged.with_columns(
            (pl.col("busy_pct") / PERCENT * host_mhz).alias("cpu_demand_mhz")
        ).drop("busy_pct")
    for name in USAGE_METRICS:
        if name not in merged.columns:
            merged = merged.with_columns(pl.lit(None, pl.Float64).alias(name))
    merged = merged.sort(["vm_id", "timestamp"], maintain_order=True)
    inventory_frame = pl.DataFrame(inventory, strict=False, infer_schema_length=None)
    require_finite_derived(merged, USAGE_METRICS, label=str(path))
    require_finite_derived(inventory_frame, ["mem_provisioned_mib"], label=str(path))
    return Trace.build(
        merged,
        inventory_frame,
        format="sadf",
        sources=[m.label for m in members],
        problems=problems,
        native_step_s=step_s,
    )
