"""The replay engine: one function composing the CPU, memory, storage, network and power models.

:func:`emulate` takes a :class:`~capplan.demand.workload.Workload` (per-VM demand), a
:class:`~capplan.placement.Placement` (host of each VM) and a catalog, and replays every step
on the hosts, vectorized over hosts and steps (no Python loop over time). The result,
:class:`Emulation`, holds ``(n_hosts, n_steps)`` arrays per metric, per-tier and per-rack
series, and computes KPIs and the per-VM share of demand served on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.emulate import kpis as kpi_mod
from capplan.emulate.aggregate import HostMap, aggregate, served_share
from capplan.emulate.cpu import CpuResult, cpu_replay, ready_frac, ready_wall_frac
from capplan.emulate.gaps import fill_interior_gaps
from capplan.emulate.memory import MemoryResult, memory_replay, min_free_mib, stall_slowdown
from capplan.emulate.modes import CompatReport, check_compat
from capplan.emulate.network import (
    NetworkResult,
    link_load_ratio,
    local_shares,
    rack_of_host,
    rack_sum,
    traffic_weights,
    vlans_per_trunk,
    vpn_mbps,
)
from capplan.emulate.power import power_rows_w
from capplan.emulate.storage import (
    TierResult,
    allocated_capacity_gib,
    failover_multiplier,
    path_util_frac,
    tier_replay,
)
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.catalog import Catalog, HostModel, VirtMode
from capplan.units import MIB_PER_GIB

F32 = npt.NDArray[np.float32]

DISK_METRICS = ("disk_read_iops", "disk_write_iops", "disk_read_mib_s", "disk_write_mib_s")
NET_METRICS = ("net_tx_mbps", "net_rx_mbps")


@dataclass(frozen=True)
class HostParams:
    """Per-host hardware figures resolved from the catalog; all arrays are ``(n_hosts,)``."""

    models: tuple[HostModel, ...]
    model_of_host: npt.NDArray[np.intp]
    capacity_mhz: npt.NDArray[np.float64]
    n_cores: npt.NDArray[np.float64]
    ram_mib: npt.NDArray[np.float64]
    nic_capacity_mbps: npt.NDArray[np.float64]
    curves_w: npt.NDArray[np.float64]

    @classmethod
    def resolve(cls, host_models: npt.NDArray[np.str_], catalog: Catalog) -> HostParams:
        """Look up every distinct model once; unknown names raise one error listing them all."""
        names, inverse = np.unique(np.asarray(host_models, dtype=np.str_), return_inverse=True)
        unknown = [str(n) for n in names if str(n) not in catalog.hosts]
        if unknown:
            raise CapplanError(
                f"host model(s) not in the catalog: {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(catalog.hosts))}",
                path=catalog.directory or None,
            )
        models = tuple(catalog.hosts[str(n)] for n in names)
        idx = inverse.ravel().astype(np.intp)

        def per_host(attr: str) -> npt.NDArray[np.float64]:
            return np.array([float(getattr(m, attr)) for m in models], dtype=np.float64)[idx]

        return cls(
            models=models,
            model_of_host=idx,
            capacity_mhz=per_host("cpu_capacity_mhz"),
            n_cores=per_host("n_cores"),
            ram_mib=per_host("ram_mib"),
            nic_capacity_mbps=per_host("nic_capacity_mbps"),
            curves_w=np.array([m.power_w for m in models], dtype=np.float64),
        )


@dataclass(frozen=True)
class Emulation:
    """The replay of a workload on a placement.

    Attributes
    ----------
    mode
        The virtualization mode used.
    host_ids, host_models
        ``(n_hosts,)`` names, in placement order.
    vm_ids
        ``(n_vms,)`` in workload order.
    step_s
        Seconds per step.
    n_steps
        Steps replayed.
    host_on
        Bool ``(n_hosts,)``: hosts drawing power (all hosts with a VM; empty hosts too unless
        ``switch_off_empty``).
    vms_per_host
        ``(n_hosts,)``.
    params
        Hardware figures per host.
    cpu, memory
        CPU and memory replays (None when the workload lacks the metric).
    power_w
        Wall power per host and step, float32 ``(n_hosts, n_steps)``.
    tiers
        Storage replay per tier used (default tier; swap tier when paging occurs).
    host_storage_mib_s, path_util_frac
        Storage throughput and path utilization per host (None without disk MiB/s data).
    network
        Network replay (None without network data).
    compat
        Guests that cannot run as placed under the mode.
    missing_metrics
        Canonical metrics the workload lacks (their subsystems are not replayed).
    notes
        Assumptions made for missing inventory values.
    """

    mode: VirtMode
    host_ids: npt.NDArray[np.str_]
    host_models: npt.NDArray[np.str_]
    vm_ids: npt.NDArray[np.str_]
    step_s: int
    n_steps: int
    host_on: npt.NDArray[np.bool_]
    vms_per_host: npt.NDArray[np.int64]
    params: HostParams
    cpu: CpuResult | None
    memory: MemoryResult | None
    power_w: F32
    tiers: dict[str, TierResult]
    host_storage_mib_s: F32 | None
    path_util_frac: F32 | None
    path_failover_multiplier: float
    network: NetworkResult | None
    compat: CompatReport
    missing_metrics: tuple[str, ...]
    notes: tuple[str, ...]
    n_vlans_usable: int
    _workload: Workload = field(repr=False, compare=False)
    _host_map: HostMap = field(repr=False, compare=False)

    @property
    def n_hosts(self) -> int:
        """Hosts in the placement."""
        return len(self.host_ids)

    @property
    def n_vms(self) -> int:
        """VMs replayed."""
        return len(self.vm_ids)

    def host_arrays(self) -> dict[str, F32]:
        """Every ``(n_hosts, n_steps)`` output by canonical name."""
        out: dict[str, F32] = {"power_w": self.power_w}
        if self.cpu is not None:
            out |= {
                "cpu_demand_mhz": self.cpu.demand_mhz,
                "cpu_util_frac": self.cpu.util_frac,
                "cpu_unmet_mhz": self.cpu.unmet_mhz,
            }
        if self.memory is not None:
            out |= {
                "mem_demand_mib": self.memory.demand_mib,
                "mem_used_mib": self.memory.used_mib,
                "mem_balloon_mib": self.memory.balloon_mib,
                "mem_compressed_mib": self.memory.compressed_mib,
                "mem_swapped_mib": self.memory.swapped_mib,
                "paging_mib_s": self.memory.paging_mib_s,
                "mem_slowdown_frac": self.memory.slowdown_frac,
            }
        if self.host_storage_mib_s is not None and self.path_util_frac is not None:
            out |= {
                "disk_mib_s": self.host_storage_mib_s,
                "path_util_frac": self.path_util_frac,
            }
        if self.network is not None:
            out |= {
                "nic_tx_mbps": self.network.nic_tx_mbps,
                "nic_rx_mbps": self.network.nic_rx_mbps,
                "nic_load_ratio": self.network.nic_load_ratio,
            }
        return out

    def served_frac(self) -> F32:
        """Share of CPU demand served per host and step: CPU contention × memory slowdown."""
        if self.cpu is None:
            return np.ones((self.n_hosts, self.n_steps), dtype=np.float32)
        frac = self.cpu.served_frac()
        if self.memory is not None:
            rows = self.memory.paging_rows
            if len(rows):
                frac[rows] *= 1.0 - self.memory.slowdown_frac[rows]
        return frac

    @cached_property
    def vm_served_frac(self) -> npt.NDArray[np.float64]:
        """Per VM, the share of its CPU demand served over the run, ``(n_vms,)``."""
        if self.cpu is None:
            return np.ones(self.n_vms, dtype=np.float64)
        demand = self._workload.mean["cpu_demand_mhz"]
        return served_share(demand, self._host_map, self.served_frac())

    def cpu_ready_frac(self) -> npt.NDArray[np.float64]:
        """CPU-ready estimate per host and step (see :func:`capplan.emulate.cpu.ready_frac`)."""
        if self.cpu is None:
            return np.zeros((self.n_hosts, self.n_steps), dtype=np.float64)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        ratio = vcpus / np.maximum(self.params.n_cores, 1.0)
        return ready_frac(self.cpu.util_frac, self.params.n_cores, ratio)

    def cpu_ready_wall_frac(self) -> F32:
        """CPU ready per host and step as a share of wall time per vCPU (VMware's %RDY; see
        :func:`capplan.emulate.cpu.ready_wall_frac`); a VM sees its host's value."""
        if self.cpu is None:
            return np.zeros((self.n_hosts, self.n_steps), dtype=np.float32)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        return ready_wall_frac(self.cpu.util_frac, self.params.n_cores, vcpus)

    def _vcpus(self) -> npt.NDArray[np.float64]:
        return _vm_vcpus(self._workload)

    def kpis(self, *, per_vm: bool = False) -> dict[str, Any]:
        """Key figures of the replay (see :mod:`capplan.emulate.kpis` for definitions)."""
        return kpi_mod.compute(self, per_vm=per_vm)


def _vm_vcpus(workload: Workload) -> npt.NDArray[np.float64]:
    vcpus = workload.inventory_column("n_vcpus")
    return np.where(np.isfinite(vcpus) & (vcpus > 0), vcpus, 1.0)


def _configured_mib(workload: Workload, notes: list[str]) -> npt.NDArray[np.float64]:
    """Configured memory per VM; a missing value falls back to the VM's peak active memory."""
    configured = workload.inventory_column("mem_provisioned_mib")
    missing = ~np.isfinite(configured)
    if missing.any():
        rows = np.flatnonzero(missing)
        peak = workload.mean["mem_active_mib"][rows].max(axis=1).astype(np.float64)
        configured = configured.copy()
        configured[rows] = peak
        notes.append(
            f"{len(rows)} VM(s) without mem_provisioned_mib: their peak active memory is used "
            "as configured memory"
        )
    return configured


def _has_hypervisor(virt: VirtMode) -> bool:
    """A mode with a hypervisor that reclaims memory (not bare metal, not containers)."""
    return not (virt.one_guest_per_host or virt.same_os_kernel)


def _with_stalls(
    memory: MemoryResult,
    tiers: dict[str, TierResult],
    catalog: Catalog,
    cpu: CpuResult | None,
    params: HostParams,
    host_map: HostMap,
    workload: Workload,
) -> MemoryResult:
    """The memory replay with its fault stalls: swap faults at the swap tier's response time
    (its load includes the paging), compressed pages at the decompression time."""
    swap_tier = catalog.tier(catalog.san.swap_tier)
    replayed = tiers.get(swap_tier.name)
    latency_ms = replayed.latency_ms if replayed is not None else swap_tier.base_latency_ms
    rows = memory.paging_rows
    if cpu is not None:
        core_mhz = params.capacity_mhz[rows] / np.maximum(params.n_cores[rows], 1.0)
        busy = cpu.demand_mhz[rows] / core_mhz[:, None]
    else:
        vcpus = host_map.sum_per_group(_vm_vcpus(workload))[rows]
        busy = np.broadcast_to(vcpus[:, None], (len(rows), memory.demand_mib.shape[1]))
    return stall_slowdown(
        memory,
        swap_latency_ms=latency_ms,
        decompress_ms=catalog.memory.decompress_vs_swap_frac * swap_tier.base_latency_ms,
        busy_cores=busy,
        active_window_s=catalog.memory.active_window_s,
        page_size_kib=catalog.memory.page_size_kib,
    )


def _aligned(placement: Placement, workload: Workload) -> Placement:
    if placement.n_vms == workload.n_vms and np.array_equal(placement.vm_ids, workload.vm_ids):
        return placement
    return placement.aligned_to(workload.vm_ids, label="placement")


def emulate(
    workload: Workload,
    placement: Placement,
    catalog: Catalog,
    mode: str = "hw-assisted",
    *,
    switch_off_empty: bool = True,
    workers: int | None = None,
) -> Emulation:
    """Replay a workload's demand on the hosts of a placement.

    Parameters
    ----------
    workload
        Per-VM demand ``(n_vms, n_steps)`` per metric plus inventory. Any metric may be
        absent; its subsystem is then not replayed (listed in ``missing_metrics``).
    placement
        Host of each VM and the model of each host; VMs are matched by id.
    catalog
        Host models, virtualization modes, SAN tiers and design, fabric.
    mode
        Virtualization mode name (``bare-metal``, ``full-bt``, ``hw-assisted``,
        ``paravirt``, ``containers`` in the bundled catalog).
    switch_off_empty
        True: hosts without a VM are off and draw 0 W. False: they idle at their 0 % power.
    workers
        Threads for the VM → host aggregation (``None``: ``CAPPLAN_THREADS`` or 2).

    Returns
    -------
    Emulation

    Raises
    ------
    CapplanError
        Unknown mode or host model, or VMs of the workload missing from the placement.
    """
    virt = catalog.mode(mode)
    notes: list[str] = []
    workload, n_filled = fill_interior_gaps(workload)
    if n_filled:
        notes.append(
            f"{n_filled:,} VM-step(s) without data inside a VM's observed life replayed at the "
            "VM's observed mean (not as zero demand)"
        )
    placed = _aligned(placement, workload)
    params = HostParams.resolve(placed.host_models, catalog)
    n_hosts = placed.n_hosts
    host_map = HostMap(placed.host_of_vm, n_hosts)
    vms_per_host = host_map.counts()
    host_on = vms_per_host > 0 if switch_off_empty else np.ones(n_hosts, dtype=bool)
    n_steps = workload.n_steps
    metrics = workload.mean
    missing = tuple(
        m
        for m in ("cpu_demand_mhz", "mem_active_mib", *DISK_METRICS, *NET_METRICS)
        if m not in metrics
    )

    os_family = workload.inventory.get_column("os_family").to_list()
    compat = check_compat(
        virt,
        vm_ids=workload.vm_ids,
        os_family=os_family,
        host_of_vm=placed.host_of_vm,
        host_ids=placed.host_ids,
    )

    # --- CPU --------------------------------------------------------------------------
    cpu: CpuResult | None = None
    if "cpu_demand_mhz" in metrics:
        if not np.all(np.isfinite(params.capacity_mhz) & (params.capacity_mhz > 0)):
            raise CapplanError("a host model has no CPU capacity (cores × clock × perf_factor)")
        cpu_host = aggregate(
            metrics["cpu_demand_mhz"],
            host_map,
            scale=virt.cpu_demand_multiplier,
            workers=workers,
        )
        cpu = cpu_replay(cpu_host, params.capacity_mhz, workers=workers)

    # --- memory -----------------------------------------------------------------------
    memory: MemoryResult | None = None
    configured: npt.NDArray[np.float64] | None = None
    if "mem_active_mib" in metrics:
        vcpus = _vm_vcpus(workload)
        n_default = int(np.count_nonzero(~np.isfinite(workload.inventory_column("n_vcpus"))))
        if n_default:
            notes.append(f"{n_default} VM(s) without n_vcpus: 1 vCPU assumed for overhead")
        configured = _configured_mib(workload, notes)
        overhead = virt.mem_overhead_mib(vcpus, configured)
        mem_host = aggregate(metrics["mem_active_mib"], host_map, workers=workers)
        reclaim = catalog.memory
        hypervisor = _has_hypervisor(virt)
        memory = memory_replay(
            mem_host,
            ram_mib=params.ram_mib,
            overhead_mib=host_map.sum_per_group(overhead),
            configured_mib=host_map.sum_per_group(configured),
            sharing_savings_frac=virt.page_sharing_savings_frac if virt.page_sharing else 0.0,
            balloon_max_frac=reclaim.balloon_max_frac,
            active_window_s=reclaim.active_window_s,
            reserve_mib=min_free_mib(params.ram_mib, reclaim.min_free_fracs) if hypervisor else 0.0,
            compression_cache_frac=reclaim.compression_cache_frac if hypervisor else 0.0,
            compression_ratio=reclaim.compression_ratio,
            workers=workers,
        )

    # --- storage ----------------------------------------------------------------------
    san = catalog.san
    tiers: dict[str, TierResult] = {}
    host_mib: F32 | None = None
    paths: F32 | None = None
    zeros = np.zeros(n_steps, dtype=np.float64)

    ones_vm = np.ones(workload.n_vms, dtype=np.float32)

    def total(metric: str) -> npt.NDArray[np.float64]:
        """Σ over all VMs per step (a BLAS product reads the array once, fastest here)."""
        if metric not in metrics:
            return zeros
        return np.dot(ones_vm, metrics[metric]).astype(np.float64)

    mib_parts: dict[str, F32] = {}
    for metric in ("disk_read_mib_s", "disk_write_mib_s"):
        if metric in metrics:
            mib_parts[metric] = aggregate(metrics[metric], host_map, workers=workers)
    mib_totals = {m: v.sum(axis=0, dtype=np.float64) for m, v in mib_parts.items()}
    for part in mib_parts.values():
        host_mib = part if host_mib is None else np.add(host_mib, part, out=host_mib)
    mib_parts.clear()
    if host_mib is not None:
        paths = path_util_frac(host_mib, san)
    paging_total = (
        memory.paging_mib_s[memory.paging_rows].sum(axis=0, dtype=np.float64)
        if memory is not None and len(memory.paging_rows)
        else zeros
    )
    has_disk = any(m in metrics for m in DISK_METRICS)
    if has_disk or paging_total.any():
        allocated, provisioned = allocated_capacity_gib(
            workload.inventory_column("disk_used_gib"),
            workload.inventory_column("disk_provisioned_gib"),
            san,
        )
        swap_gib = float(configured.sum()) / MIB_PER_GIB if configured is not None else 0.0
        default = catalog.tier(san.default_tier)
        same_tier = san.swap_tier == san.default_tier
        tiers[default.name] = tier_replay(
            default,
            san,
            read_iops=total("disk_read_iops"),
            write_iops=total("disk_write_iops"),
            read_mib_s=mib_totals.get("disk_read_mib_s", zeros),
            write_mib_s=mib_totals.get("disk_write_mib_s", zeros),
            paging_mib_s=paging_total if same_tier else zeros,
            page_size_kib=catalog.memory.page_size_kib,
            io_iops_factor=virt.io_iops_factor,
            allocated_gib=allocated + (swap_gib if same_tier else 0.0),
            provisioned_gib=provisioned,
        )
        if not same_tier and (paging_total.any() or swap_gib > 0):
            swap = catalog.tier(san.swap_tier)
            tiers[swap.name] = tier_replay(
                swap,
                san,
                read_iops=zeros,
                write_iops=zeros,
                read_mib_s=zeros,
                write_mib_s=zeros,
                paging_mib_s=paging_total,
                page_size_kib=catalog.memory.page_size_kib,
                io_iops_factor=virt.io_iops_factor,
                allocated_gib=swap_gib,
                provisioned_gib=swap_gib,
            )

    if memory is not None and len(memory.paging_rows):
        memory = _with_stalls(memory, tiers, catalog, cpu, params, host_map, workload)

    # --- network ----------------------------------------------------------------------
    network: NetworkResult | None = None
    fabric = catalog.fabric
    if any(m in metrics for m in NET_METRICS):
        vlan_raw = workload.inventory_column("vlan_id")
        tagged = bool(np.isfinite(vlan_raw).any())
        vlan = np.where(np.isfinite(vlan_raw), vlan_raw, -1).astype(np.int64)
        racks = rack_of_host(n_hosts, fabric.hosts_per_tor)
        vm_rack = racks[placed.host_of_vm]
        host_share, rack_share = local_shares(vlan, placed.host_of_vm, vm_rack)
        weights = traffic_weights(host_share, rack_share, fabric.east_west_frac)
        wire = fabric.wire_factor_tagged if tagged else fabric.wire_factor_untagged
        parts: dict[str, F32] = {}
        for metric in NET_METRICS:
            if metric in metrics:
                both = aggregate(metrics[metric], host_map, weights=weights, workers=workers)
                parts[metric] = both[0]
                parts[metric + ":uplink"] = rack_sum(both[1], fabric.hosts_per_tor)
                del both
        n_racks = int(racks.max()) + 1 if n_hosts else 0
        tx = parts.get("net_tx_mbps")
        rx = parts.get("net_rx_mbps")
        up_tx = parts.get("net_tx_mbps:uplink")
        up_rx = parts.get("net_rx_mbps:uplink")
        north_south = (
            (1.0 - fabric.east_west_frac) * (total("net_tx_mbps") + total("net_rx_mbps"))
            if fabric.vpn_frac > 0
            else zeros
        )
        network = NetworkResult(
            nic_tx_mbps=tx if tx is not None else np.zeros((n_hosts, n_steps), np.float32),
            nic_rx_mbps=rx if rx is not None else np.zeros((n_hosts, n_steps), np.float32),
            nic_load_ratio=link_load_ratio(
                tx,
                rx,
                params.nic_capacity_mbps,
                wire_factor=wire,
                throughput_factor=virt.net_throughput_factor,
            ),
            uplink_load_ratio=link_load_ratio(
                up_tx,
                up_rx,
                np.full(n_racks, fabric.uplink_capacity_mbps),
                wire_factor=wire,
            ),
            vpn_mbps=vpn_mbps(north_south, fabric),
            vlans_per_host=vlans_per_trunk(vlan, placed.host_of_vm, n_hosts),
            vlans_per_rack=vlans_per_trunk(vlan, vm_rack, n_racks),
            wire_factor=wire,
        )

    # --- power ------------------------------------------------------------------------
    util = cpu.util_frac if cpu is not None else np.zeros((n_hosts, n_steps), dtype=np.float32)
    if cpu is None:
        notes.append("no cpu_demand_mhz: hosts replayed at 0 % CPU (idle power)")
    power = power_rows_w(util, params.model_of_host, params.curves_w, workers=workers)
    off = np.flatnonzero(~host_on)
    if len(off):
        power[off] = 0.0

    return Emulation(
        mode=virt,
        host_ids=placed.host_ids,
        host_models=placed.host_models,
        vm_ids=workload.vm_ids,
        step_s=int(workload.step_s),
        n_steps=n_steps,
        host_on=host_on,
        vms_per_host=vms_per_host,
        params=params,
        cpu=cpu,
        memory=memory,
        power_w=power,
        tiers=tiers,
        host_storage_mib_s=host_mib,
        path_util_frac=paths,
        path_failover_multiplier=failover_multiplier(san),
        network=network,
        compat=compat,
        missing_metrics=missing,
        notes=tuple(notes),
        n_vlans_usable=fabric.n_vlans_usable,
        _workload=workload,
        _host_map=host_map,
    )
