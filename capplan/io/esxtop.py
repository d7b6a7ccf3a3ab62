r"""VMware ``esxtop -b`` batch-mode CSV: per-VM (or host-level) usage of one ESXi host.

The file is PDH-CSV 4.0 (see :mod:`capplan.io.pdh`): header cell 1 ``(PDH-CSV 4.0) (UTC)(0)``,
counter paths ``\\host\Object(instance)\Counter``, quoted local timestamps
``MM/DD/YYYY HH:MM:SS``. Mapping, per VM (``vm_id`` = VM name as esxtop writes it):

===================================================  ========================================
Counter                                              Canonical
===================================================  ========================================
``Group Cpu(<gid>:<vm>)\% Used``                     ``cpu_demand_mhz`` = % / 100 × core MHz
                                                     (% of one physical core; a 4-vCPU VM can
                                                     reach 400 %)
``Group Memory(<gid>:<vm>)\Touched MBytes``          ``mem_active_mib`` (esxtop's active
                                                     estimate, TCHD)
``Group Memory(<gid>:<vm>)\Memory Size MBytes``      inventory ``mem_provisioned_mib`` (max)
``Virtual Disk(<vm>)\Reads/sec``, ``Writes/sec``     ``disk_read_iops``, ``disk_write_iops``
``Virtual Disk(<vm>)\MBytes Read/sec``,              ``disk_read_mib_s``, ``disk_write_mib_s``
``MBytes Written/sec``
``Network Port(<switch>:<port>:<world>:<vm>)\``      ``net_rx_mbps``, ``net_tx_mbps``, summed
``MBits Received/sec``, ``MBits Transmitted/sec``    over the VM's ports
===================================================  ========================================

esxtop's "MBytes" are binary (``Memory Size MBytes`` equals a VM's configured MiB), so they map
to MiB unchanged; "MBits" map to Mbit/s unchanged. A VM-level ``Virtual Disk(<vm>)`` roll-up
is used when present, else the VM's per-disk instances (``<vm>:scsi0:0``) are summed.

Groups that are not VMs (``system``, ``idle``, ``helper``, ``drivers``, ``ft``, ``vmotion``,
``host``, ``vim``, ``user`` and user-world processes like ``hostd.2098``) are left out.

**No per-VM columns** (host-level export, such as the real sample): one row per timestamp for
the host itself (``vm_id`` = host name): ``Physical Cpu(_Total)\% Util Time`` (else the mean
of the per-CPU instances; else ``% Processor Time``) × number of physical CPUs × core MHz, and
``Memory\Kernel MBytes + NonKernel MBytes`` (machine memory in use) as ``mem_active_mib``,
``Memory\Machine MBytes`` as its provisioned memory.

Core MHz comes from :mod:`capplan.io.hostinfo` (``extra['core_mhz']`` or
``extra['host_cpu_mhz']`` / physical CPUs, else the documented default, reported).

Several rows with one timestamp (files re-saved with minute precision) are spread across the
minute in file order (:func:`capplan.io.pdh._spread_duplicates`): every sample is kept, so the
Workload builder still sees each sample's value for its means and peaks.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.derived import require_finite_derived
from capplan.io.files import Member, list_members
from capplan.io.hostinfo import cpu_capacity
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
from capplan.units import PERCENT

#: Scheduler groups of ESXi itself, never VMs.
SYSTEM_GROUPS = frozenset(
    {"idle", "system", "helper", "drivers", "ft", "vmotion", "host", "vim", "user", "init"}
)
_PROCESS_GROUP = re.compile(r"^[A-Za-z][\w\-]*\.\d+$")
_DISK_SUFFIX = re.compile(r"^(?P<vm>.+?):(?:scsi|ide|sata|nvme)\d+:\d+$")
_UUID_SUFFIX = re.compile(r"\s*\([0-9a-fA-F\-]{32,36}\)$")
_NIC_SUFFIX = re.compile(r"\.eth\d+$")

_VM_COUNTERS: dict[tuple[str, str], str] = {
    ("Group Cpu", "% Used"): "cpu_pct",
    ("Group Memory", "Touched MBytes"): "mem_active_mib",
    ("Group Memory", "Memory Size MBytes"): "mem_size_mib",
    ("Virtual Disk", "Reads/sec"): "disk_read_iops",
    ("Virtual Disk", "Writes/sec"): "disk_write_iops",
    ("Virtual Disk", "MBytes Read/sec"): "disk_read_mib_s",
    ("Virtual Disk", "MBytes Written/sec"): "disk_write_mib_s",
    ("Network Port", "MBits Received/sec"): "net_rx_mbps",
    ("Network Port", "MBits Transmitted/sec"): "net_tx_mbps",
}
_DISK_ROLES = ("disk_read_iops", "disk_write_iops", "disk_read_mib_s", "disk_write_mib_s")
_HOST_COUNTERS: dict[tuple[str, str], str] = {
    ("Physical Cpu", "% Util Time"): "util_pct",
    ("Physical Cpu", "% Processor Time"): "proc_pct",
    ("Memory", "Kernel MBytes"): "kernel_mib",
    ("Memory", "NonKernel MBytes"): "nonkernel_mib",
    ("Memory", "Machine MBytes"): "machine_mib",
}


def is_vm_group(name: str) -> bool:
    """True when a ``Group Cpu``/``Group Memory`` name is a VM, not an ESXi group."""
    return bool(name) and name.lower() not in SYSTEM_GROUPS and not _PROCESS_GROUP.match(name)


def _group_name(instance: str | None) -> str | None:
    if instance is None:
        return None
    gid, sep, name = instance.partition(":")
    return name if sep and gid.strip().isdigit() else None


def _wanted(counter: Counter) -> bool:
    key = (counter.object, counter.name)
    if key in _HOST_COUNTERS:
        return True
    if key not in _VM_COUNTERS:
        return False
    if counter.object in ("Group Cpu", "Group Memory"):
        name = _group_name(counter.instance)
        return name is not None and is_vm_group(name)
    return counter.instance is not None


def _detect(members: list[Member]) -> float:
    if not members:
        return 0.0
    for member in members:
        head = member.head()
        if not looks_like_pdh(head):
            return 0.0
        if not any(counter.object in ESXTOP_OBJECTS for counter in header_counters(head)):
            return 0.0
    return 0.9


def _match_vm(name: str, vms: set[str]) -> str | None:
    if name in vms:
        return name
    for pattern in (_UUID_SUFFIX, _NIC_SUFFIX):
        stripped = pattern.sub("", name)
        if stripped in vms:
            return stripped
    return None


class _FileReader:
    """Turns one esxtop table into usage frames, inventory rows and problems."""

    def __init__(self, table: PdhTable, options: ReadOptions) -> None:
        self.table = table
        self.options = options
        self.problems: list[Problem] = []
        self.used: set[int] = set()
        self.frames: list[pl.DataFrame] = []
        self.inventory: list[dict[str, object]] = []

    def _frame(self, vm_id: str, exprs: dict[str, pl.Expr]) -> pl.DataFrame:
        return self.table.frame.select(
            pl.lit(vm_id, pl.String).alias("vm_id"),
            "timestamp",
            *(expr.cast(pl.Float64).alias(name) for name, expr in exprs.items()),
        )

    def _capacity_core_mhz(self, host: str, n_pcpus: int | None) -> float:
        capacity = cpu_capacity(host, self.options, n_cores=n_pcpus)
        if capacity.core_assumed:
            self.problems.append(
                Problem(
                    f"host {host!r}: one core taken as {capacity.core_mhz:,.0f} MHz to turn "
                    f"Group Cpu % Used into MHz ({capacity.source}); set "
                    "ReadOptions.extra['core_mhz'] for the host's real core speed",
                    path=self.table.label,
                    vm_id=host,
                )
            )
        return capacity.core_mhz

    def read_vms(self, host: str, counters: list[Counter], n_pcpus: int | None) -> None:
        by_vm: dict[str, dict[str, list[Counter]]] = {}
        for counter in counters:
            role = _VM_COUNTERS.get((counter.object, counter.name))
            name = _group_name(counter.instance)
            if role is not None and name is not None and counter.object == "Group Cpu":
                by_vm.setdefault(name, {}).setdefault(role, []).append(counter)
        vms = set(by_vm)
        if not vms:
            return
        disks: dict[str, dict[str, list[Counter]]] = {}
        for counter in counters:
            role = _VM_COUNTERS.get((counter.object, counter.name))
            if role is None or counter.instance is None or counter.object == "Group Cpu":
                continue
            if counter.object == "Group Memory":
                name = _match_vm(_group_name(counter.instance) or "", vms)
            elif counter.object == "Network Port":
                parts = counter.instance.split(":", 3)
                name = _match_vm(parts[3], vms) if len(parts) == 4 else None
            else:
                per_disk = _DISK_SUFFIX.match(counter.instance)
                vm_part = per_disk["vm"] if per_disk else counter.instance
                name = _match_vm(vm_part, vms)
                if name is not None:
                    kind = "disk_part" if per_disk else "disk_rollup"
                    disks.setdefault(name, {}).setdefault(f"{kind}:{role}", []).append(counter)
                    continue
            if name is not None:
                by_vm[name].setdefault(role, []).append(counter)
        core_mhz = self._capacity_core_mhz(host, n_pcpus)
        for vm, roles in disks.items():
            for role in _DISK_ROLES:
                chosen = roles.get(f"disk_rollup:{role}") or roles.get(f"disk_part:{role}") or []
                if chosen:
                    by_vm[vm].setdefault(role, []).extend(chosen)
        col = self.table.column
        per_vm: dict[str, dict[str, pl.Expr]] = {}
        sizes: dict[str, pl.Expr] = {}
        for vm in sorted(vms):
            roles = by_vm[vm]
            exprs: dict[str, pl.Expr] = {}
            for role, chosen in roles.items():
                self.used.update(c.index for c in chosen)
                if role == "cpu_pct":
                    exprs["cpu_demand_mhz"] = (
                        null_sum([col(c) for c in chosen]) / PERCENT * core_mhz
                    )
                elif role != "mem_size_mib":
                    exprs[role] = null_sum([col(c) for c in chosen])
            size = roles.get("mem_size_mib", [])
            if size:
                sizes[vm] = pl.max_horizontal([col(c) for c in size]).max()
            per_vm[vm] = exprs
        provisioned = self.table.frame.select(**sizes).row(0, named=True) if sizes else {}
        self.frames.append(self._long_frame(per_vm))
        self.inventory.extend(
            {
                "vm_id": vm,
                "mem_provisioned_mib": provisioned.get(vm),
                "current_host": host,
                "powered_on": True,
            }
            for vm in per_vm
        )

    def _long_frame(self, per_vm: dict[str, dict[str, pl.Expr]]) -> pl.DataFrame:
        """One long table (vm_id, timestamp, metrics) for many VMs, from two vectorized passes.

        All expressions are evaluated in one ``select`` over the wide table; each metric is then
        unpivoted (VM-major, the same VM order for every metric) and the value columns stacked
        side by side.
        """
        vms = list(per_vm)
        metrics = [m for m in USAGE_METRICS if any(m in exprs for exprs in per_vm.values())]
        missing = pl.lit(None, pl.Float64)
        wide = self.table.frame.select(
            "timestamp",
            *(
                per_vm[vm].get(metric, missing).cast(pl.Float64).alias(f"{metric}\x1f{vm}")
                for metric in metrics
                for vm in vms
            ),
        )
        parts: list[pl.DataFrame] = []
        for metric in metrics:
            part = wide.select(
                "timestamp", *(pl.col(f"{metric}\x1f{vm}").alias(vm) for vm in vms)
            ).unpivot(index="timestamp", variable_name="vm_id", value_name=metric)
            if parts:
                if not part.get_column("vm_id").equals(parts[0].get_column("vm_id")):
                    raise AssertionError("unpivot changed the VM order between metrics")
                part = part.select(metric)
            parts.append(part)
        if not parts:
            return pl.DataFrame(schema={"vm_id": pl.String, "timestamp": pl.Datetime("us", "UTC")})
        return pl.concat(parts, how="horizontal").select("vm_id", "timestamp", *metrics)

    def read_host(self, host: str, counters: list[Counter]) -> None:
        roles: dict[str, list[Counter]] = {}
        for counter in counters:
            role = _HOST_COUNTERS.get((counter.object, counter.name))
            if role is not None:
                roles.setdefault(role, []).append(counter)
        cpus = roles.get("util_pct") or roles.get("proc_pct") or []
        n_pcpus = len({c.instance for c in cpus if (c.instance or "").isdigit()}) or None
        col = self.table.column
        exprs: dict[str, pl.Expr] = {}
        if cpus:
            total = [c for c in cpus if c.instance == "_Total"]
            chosen = total[:1] or [c for c in cpus if (c.instance or "").isdigit()]
            if chosen:
                capacity = cpu_capacity(host, self.options, n_cores=n_pcpus)
                if capacity.defaulted:
                    self.problems.append(
                        Problem(capacity.problem_text(host), path=self.table.label, vm_id=host)
                    )
                pct = pl.mean_horizontal([col(c) for c in chosen])
                exprs["cpu_demand_mhz"] = pct / PERCENT * capacity.total_mhz
                self.used.update(c.index for c in chosen)
        used_memory = roles.get("kernel_mib", []) + roles.get("nonkernel_mib", [])
        if used_memory:
            exprs["mem_active_mib"] = null_sum([col(c) for c in used_memory])
            self.used.update(c.index for c in used_memory)
        if not exprs:
            return
        machine = roles.get("machine_mib", [])
        self.used.update(c.index for c in machine)
        provisioned = (
            self.table.frame.select(pl.col(col(machine[0])).max()).item() if machine else None
        )
        self.frames.append(self._frame(host, exprs))
        self.inventory.append(
            {
                "vm_id": host,
                "n_vcpus": n_pcpus,
                "cpu_capacity_mhz": (
                    cpu_capacity(host, self.options, n_cores=n_pcpus).total_mhz
                    if "cpu_demand_mhz" in exprs
                    else None
                ),
                "mem_provisioned_mib": provisioned,
                "powered_on": True,
            }
        )
        self.problems.append(
            Problem(
                f"no per-VM columns (Group Cpu(<id>:<vm>)) for host {host!r}; the host itself "
                "is one row per timestamp (vm_id = host name)",
                path=self.table.label,
                vm_id=host,
            )
        )

    def read(self) -> None:
        by_host: dict[str, list[Counter]] = {}
        for counter in self.table.selected:
            by_host.setdefault(counter.host, []).append(counter)
        for host, counters in by_host.items():
            cpus = [c for c in counters if c.object == "Physical Cpu"]
            n_pcpus = len({c.instance for c in cpus if (c.instance or "").isdigit()}) or None
            before = len(self.frames)
            self.read_vms(host, counters, n_pcpus)
            if len(self.frames) == before:
                self.read_host(host, counters)
        ignored = [c for c in self.table.counters if c.index not in self.used]
        if ignored:
            self.problems.append(
                Problem(
                    f"{len(ignored)} counter column(s) not mapped to a capacity metric and "
                    f"ignored: {summarize_families(ignored)}",
                    path=self.table.label,
                    line=1,
                    count=len(ignored),
                )
            )


@register_reader(
    "esxtop",
    detect=_detect,
    description="VMware esxtop batch-mode CSV (esxtop -b): per-VM or host CPU, memory, disk, net",
)
def read_esxtop(path: Path, options: ReadOptions) -> Trace:
    """Read one ``esxtop -b`` CSV file or a folder/zip of them (see the module docstring)."""
    members = list_members(path, options.max_expanded_bytes)
    frames: list[pl.DataFrame] = []
    inventory: list[dict[str, object]] = []
    problems: list[Problem] = []
    found: list[Counter] = []
    for done, member in enumerate(members, start=1):
        table = read_pdh(member, options, _wanted)
        problems.extend(table.problems)
        found.extend(table.counters)
        reader = _FileReader(table, options)
        reader.read()
        problems.extend(reader.problems)
        frames.extend(reader.frames)
        inventory.extend(reader.inventory)
        if options.progress is not None:
            options.progress(done, len(members))
    if not frames:
        raise TraceFormatError(
            "no usable esxtop counters: expected Group Cpu(<id>:<vm>)\\% Used (per VM) or "
            "Physical Cpu(...)\\% Util Time and Memory\\Kernel MBytes (host); the file(s) hold "
            f"{summarize_families(found) or 'no counters'}",
            path=path,
        )
    usage = pl.concat(frames, how="diagonal_relaxed")
    for name in USAGE_METRICS:
        if name not in usage.columns:
            usage = usage.with_columns(pl.lit(None, pl.Float64).alias(name))
    inv = pl.DataFrame(inventory, strict=False, infer_schema_length=None)
    inv = inv.unique(subset="vm_id", keep="first", maintain_order=True)
    require_finite_derived(usage, USAGE_METRICS, label=str(path))
    require_finite_derived(inv, ["mem_provisioned_mib"], label=str(path))
    return Trace.build(
        usage,
        inv,
        format="esxtop",
        sources=[m.label for m in members],
        problems=problems,
        native_step_s=median_step_s(frames),
    )
