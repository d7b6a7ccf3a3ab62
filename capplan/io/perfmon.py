r"""Windows Performance Monitor logs in PDH-CSV 4.0 (typeperf, relog, Data Collector Sets).

One file (or a folder of files) holds one column per counter; see :mod:`capplan.io.pdh` for
the layout, the encodings and the time zone. Each computer named in the counter paths becomes
one consolidation candidate (``vm_id`` = computer name). The classic capacity counters map as:

=============================================  =================================================
Counter (English / German)                     Canonical metric
=============================================  =================================================
``\Processor(_Total)\% Processor Time``        ``cpu_demand_mhz`` = % / 100 × host capacity MHz
``\Prozessor(_Total)\Prozessorzeit (%)``       (capacity: :mod:`capplan.io.hostinfo`; per-CPU
                                               instances ``Processor(0..n)`` give ``n_vcpus``)
``…\% Privileged Time``, ``…\% User Time``     ``cpu_kernel_frac`` = Σ privileged / Σ (privileged
``…\Privilegierte Zeit (%)``, ``Benutzerzeit`` + user) over the ``_Total`` samples
``\Memory\Available MBytes``                   ``mem_active_mib`` = host MiB − available, when
``\Arbeitsspeicher\Verfügbare MB``             ``extra['host_mem_mib']`` gives the host's MiB
``\Memory\Committed Bytes``                    otherwise ``mem_active_mib`` = committed / 2^20
``\Arbeitsspeicher\Zugesicherte Bytes``        (commit charge, an upper bound of active memory)
``\PhysicalDisk(_Total)\Disk Reads/sec``       ``disk_read_iops`` (``Lesevorgänge/s``)
``…\Disk Writes/sec``                          ``disk_write_iops`` (``Schreibvorgänge/s``)
``…\Disk Read Bytes/sec``                      ``disk_read_mib_s`` = bytes / 2^20
``…\Disk Write Bytes/sec``                     ``disk_write_mib_s``
``\Network Interface(*)\Bytes Received/sec``   ``net_rx_mbps`` = bytes × 8 / 10^6, summed over
``\Network Interface(*)\Bytes Sent/sec``       NIC instances (``Netzwerkschnittstelle``;
                                               ``Network Adapter`` when no ``Network Interface``)
=============================================  =================================================

Windows' "MBytes" counters are binary (``Available MBytes`` = available bytes / 1,048,576).
German names follow the localised names seen in public scripts (``Prozessorzeit (%)``,
``Verfügbare MB``, ``Zugesicherte Bytes``, ``Lesevorgänge/s``, ``Bytes geschrieben/s``,
``Empfangene Bytes/s``); "/Sek." is accepted for "/s". Counters capplan does not map are named
in one problem per file, with their count. A file (or folder) without any capacity counter is
refused with a :class:`~capplan.errors.TraceFormatError` that lists the counters it does hold:
a Trace without metrics would only fail later, further from the cause.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.derived import require_finite_derived
from capplan.io.files import Member, list_members
from capplan.io.hostinfo import cpu_capacity, host_mem_mib
from capplan.io.pdh import (
    ESXTOP_OBJECTS,
    Counter,
    PdhTable,
    header_counters,
    looks_like_pdh,
    median_step_s,
    null_sum,
    read_pdh,
    summarize_families,
)
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import USAGE_METRICS
from capplan.units import BYTES_PER_MIB, MBPS_PER_BYTES_S, PERCENT

_OBJECT_KIND: dict[str, str] = {
    "processor": "cpu",
    "prozessor": "cpu",
    "memory": "mem",
    "arbeitsspeicher": "mem",
    "physicaldisk": "disk",
    "physikalischer datenträger": "disk",
    "network interface": "nic",
    "netzwerkschnittstelle": "nic",
    "network adapter": "nic_adapter",
    "netzwerkadapter": "nic_adapter",
}

_COUNTER_ROLE: dict[tuple[str, str], str] = {
    ("cpu", "% processor time"): "cpu_pct",
    ("cpu", "prozessorzeit (%)"): "cpu_pct",
    ("cpu", "% privileged time"): "cpu_kernel_pct",
    ("cpu", "privilegierte zeit (%)"): "cpu_kernel_pct",
    ("cpu", "% user time"): "cpu_user_pct",
    ("cpu", "benutzerzeit (%)"): "cpu_user_pct",
    ("mem", "available mbytes"): "mem_available_mib",
    ("mem", "verfügbare mb"): "mem_available_mib",
    ("mem", "committed bytes"): "mem_committed_bytes",
    ("mem", "zugesicherte bytes"): "mem_committed_bytes",
    ("disk", "disk reads/sec"): "disk_read_iops",
    ("disk", "lesevorgänge/s"): "disk_read_iops",
    ("disk", "disk writes/sec"): "disk_write_iops",
    ("disk", "schreibvorgänge/s"): "disk_write_iops",
    ("disk", "disk read bytes/sec"): "disk_read_bytes_s",
    ("disk", "bytes gelesen/s"): "disk_read_bytes_s",
    ("disk", "byte gelesen/s"): "disk_read_bytes_s",
    ("disk", "disk write bytes/sec"): "disk_write_bytes_s",
    ("disk", "bytes geschrieben/s"): "disk_write_bytes_s",
    ("disk", "byte geschrieben/s"): "disk_write_bytes_s",
    ("nic", "bytes received/sec"): "net_rx_bytes_s",
    ("nic", "empfangene bytes/s"): "net_rx_bytes_s",
    ("nic", "bytes empfangen/s"): "net_rx_bytes_s",
    ("nic", "bytes sent/sec"): "net_tx_bytes_s",
    ("nic", "gesendete bytes/s"): "net_tx_bytes_s",
    ("nic", "bytes gesendet/s"): "net_tx_bytes_s",
}

TOTAL = "_Total"
CLASSIC_COUNTERS = (
    "\\Processor(_Total)\\% Processor Time, \\Memory\\Available MBytes, \\Memory\\Committed "
    "Bytes, \\PhysicalDisk(_Total)\\Disk Reads/sec|Disk Writes/sec|Disk Read Bytes/sec|Disk "
    "Write Bytes/sec, \\Network Interface(*)\\Bytes Received/sec|Bytes Sent/sec"
)


def _norm(text: str) -> str:
    lowered = " ".join(text.lower().split())
    return lowered.replace("/sek.", "/s").replace("/sek", "/s")


def counter_role(counter: Counter) -> tuple[str, str] | None:
    """Return ``(object kind, role)`` for a counter capplan maps, else None."""
    kind = _OBJECT_KIND.get(_norm(counter.object))
    if kind is None:
        return None
    role = _COUNTER_ROLE.get(("nic" if kind == "nic_adapter" else kind, _norm(counter.name)))
    if role is None:
        return None
    if kind == "cpu" and counter.instance != TOTAL and not (counter.instance or "").isdigit():
        return None
    return kind, role


def _detect(members: list[Member]) -> float:
    if not members:
        return 0.0
    for member in members:
        head = member.head()
        if not looks_like_pdh(head):
            return 0.0
        if any(counter.object in ESXTOP_OBJECTS for counter in header_counters(head)):
            return 0.2
    return 0.9


def _instance_total(
    table: PdhTable, counters: list[Counter], unused: list[Counter]
) -> pl.Expr | None:
    """The ``_Total`` instance when present, else the sum of the other instances.

    Counters left out (single instances beside ``_Total``) are appended to ``unused``.
    """
    if not counters:
        return None
    totals = [c for c in counters if c.instance == TOTAL]
    chosen = totals[:1] or [c for c in counters if c.instance != TOTAL]
    unused.extend(c for c in counters if c not in chosen)
    return null_sum([table.column(c) for c in chosen])


class _HostFrames:
    """Accumulates one host's usage frame, inventory row and problems."""

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.usage: list[pl.DataFrame] = []
        self.inventory: list[dict[str, object]] = []
        self.problems: list[Problem] = []
        self.unused: list[Counter] = []

    def add_host(self, table: PdhTable, host: str, by_role: dict[str, list[Counter]]) -> None:
        exprs: dict[str, pl.Expr] = {}
        label = table.label
        cpu = by_role.get("cpu_pct", [])
        cores = [c for c in cpu if (c.instance or "").isdigit()]
        n_cores = len(cores) or None
        capacity = cpu_capacity(host, self.options, n_cores=n_cores)
        totals = [c for c in cpu if c.instance == TOTAL]
        if totals or cores:
            pct = (
                pl.col(table.column(totals[0]))
                if totals
                else pl.mean_horizontal([table.column(c) for c in cores])
            )
            exprs["cpu_demand_mhz"] = pct / PERCENT * capacity.total_mhz
            if capacity.defaulted:
                self.problems.append(Problem(capacity.problem_text(host), path=label, vm_id=host))
        provisioned = host_mem_mib(host, self.options)
        available = by_role.get("mem_available_mib", [])
        committed = by_role.get("mem_committed_bytes", [])
        if available and provisioned is not None:
            active = provisioned - pl.col(table.column(available[0]))
            negative = table.frame.select((active < 0).sum()).item()
            if negative:
                self.problems.append(
                    Problem(
                        f"host {host!r}: Available MBytes exceeds the host memory "
                        f"{provisioned:,.0f} MiB in {negative} row(s); active memory set to 0 "
                        "there (check extra['host_mem_mib'])",
                        path=label,
                        vm_id=host,
                        count=int(negative),
                    )
                )
            exprs["mem_active_mib"] = active.clip(lower_bound=0.0)
            self.unused.extend(committed)
        elif committed:
            exprs["mem_active_mib"] = pl.col(table.column(committed[0])) / BYTES_PER_MIB
            if available:
                self.unused.extend(available)
                self.problems.append(
                    Problem(
                        f"host {host!r}: host memory size unknown, so mem_active_mib comes from "
                        "\\Memory\\Committed Bytes (commit charge, an upper bound); set "
                        "ReadOptions.extra['host_mem_mib'] to use Available MBytes instead",
                        path=label,
                        vm_id=host,
                    )
                )
        elif available:
            self.unused.extend(available)
            self.problems.append(
                Problem(
                    f"host {host!r}: \\Memory\\Available MBytes found but the host memory size "
                    "is unknown, so mem_active_mib stays empty; set "
                    "ReadOptions.extra['host_mem_mib']",
                    path=label,
                    vm_id=host,
                )
            )
        for role, metric, scale in (
            ("disk_read_iops", "disk_read_iops", 1.0),
            ("disk_write_iops", "disk_write_iops", 1.0),
            ("disk_read_bytes_s", "disk_read_mib_s", 1.0 / BYTES_PER_MIB),
            ("disk_write_bytes_s", "disk_write_mib_s", 1.0 / BYTES_PER_MIB),
        ):
            expr = _instance_total(table, by_role.get(role, []), self.unused)
            if expr is not None:
                exprs[metric] = expr * scale
        for role, metric in (("net_rx_bytes_s", "net_rx_mbps"), ("net_tx_bytes_s", "net_tx_mbps")):
            nics = by_role.get(role, [])
            interface = [c for c in nics if _OBJECT_KIND[_norm(c.object)] == "nic"]
            chosen = interface or nics
            self.unused.extend(c for c in nics if c not in chosen)
            expr = _instance_total(table, chosen, self.unused)
            if expr is not None:
                exprs[metric] = expr * MBPS_PER_BYTES_S
        if not exprs:
            return
        frame = table.frame.select(
            pl.lit(host, pl.String).alias("vm_id"),
            "timestamp",
            *(expr.cast(pl.Float64).alias(name) for name, expr in exprs.items()),
        )
        metrics = list(exprs)
        empty = frame.select(pl.all_horizontal([pl.col(m).is_null() for m in metrics])).to_series()
        n_empty = int(empty.sum())
        if n_empty:
            frame = frame.filter(~empty)
            self.problems.append(
                Problem(
                    f"host {host!r}: {n_empty} row(s) hold no value for any mapped counter "
                    "(' ' cells, e.g. the first sample of rate counters); dropped",
                    path=label,
                    vm_id=host,
                    count=n_empty,
                )
            )
        self.usage.append(frame)
        self.inventory.append(
            {
                "vm_id": host,
                "n_vcpus": n_cores,
                "cpu_capacity_mhz": capacity.total_mhz if "cpu_demand_mhz" in exprs else None,
                "mem_provisioned_mib": provisioned,
                "os_family": "windows",
                "powered_on": True,
                "cpu_kernel_frac": _kernel_frac(table, by_role),
            }
        )


def _kernel_frac(table: PdhTable, by_role: dict[str, list[Counter]]) -> float | None:
    """Σ % Privileged Time / Σ (% Privileged Time + % User Time) of ``_Total`` (None without
    both counters or without busy time)."""
    kernel = [c for c in by_role.get("cpu_kernel_pct", []) if c.instance == TOTAL]
    user = [c for c in by_role.get("cpu_user_pct", []) if c.instance == TOTAL]
    if not kernel or not user:
        return None
    k_col, u_col = pl.col(table.column(kernel[0])), pl.col(table.column(user[0]))
    both = k_col.is_not_null() & u_col.is_not_null()
    k, busy = table.frame.select(
        k_col.filter(both).sum().alias("kernel"), (k_col + u_col).filter(both).sum().alias("busy")
    ).row(0)
    return float(k) / float(busy) if busy else None


@register_reader(
    "perfmon",
    detect=_detect,
    description="Windows Performance Monitor PDH-CSV 4.0 (typeperf, relog, Data Collector Set)",
    cpu_share=True,
)
def read_perfmon(path: Path, options: ReadOptions) -> Trace:
    """Read one PDH-CSV file or a folder/zip of them (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    hosts = _HostFrames(options)
    problems: list[Problem] = []
    found: list[Counter] = []
    for done, member in enumerate(members, start=1):
        table = read_pdh(member, options, lambda c: counter_role(c) is not None)
        problems.extend(table.problems)
        found.extend(table.counters)
        by_host: dict[str, dict[str, list[Counter]]] = {}
        for counter in table.selected:
            role = counter_role(counter)
            assert role is not None
            by_host.setdefault(counter.host, {}).setdefault(role[1], []).append(counter)
        n_problems = len(hosts.problems)
        hosts.unused = []
        for host, by_role in by_host.items():
            hosts.add_host(table, host, by_role)
        problems.extend(hosts.problems[n_problems:])
        selected = {c.index for c in table.selected}
        ignored = [c for c in table.counters if c.index not in selected] + hosts.unused
        if ignored:
            problems.append(
                Problem(
                    f"{len(ignored)} counter column(s) not mapped to a capacity metric and "
                    f"ignored: {summarize_families(ignored)}",
                    path=member.label,
                    line=1,
                    count=len(ignored),
                )
            )
        if options.progress is not None:
            options.progress(done, len(members))
    if not hosts.usage:
        raise TraceFormatError(
            f"no capacity counters found in {len(members)} PDH-CSV file(s); expected any of "
            f"{CLASSIC_COUNTERS}; the file(s) hold {summarize_families(found) or 'no counters'}",
            path=path,
        )
    usage = pl.concat(hosts.usage, how="diagonal_relaxed")
    for name in USAGE_METRICS:
        if name not in usage.columns:
            usage = usage.with_columns(pl.lit(None, pl.Float64).alias(name))
    inventory = pl.DataFrame(hosts.inventory, strict=False, infer_schema_length=None)
    inventory = inventory.unique(subset="vm_id", keep="first", maintain_order=True)
    require_finite_derived(usage, USAGE_METRICS, label=str(path))
    return Trace.build(
        usage,
        inventory,
        format="perfmon",
        sources=[m.label for m in members],
        problems=problems,
        native_step_s=median_step_s(hosts.usage),
    )
