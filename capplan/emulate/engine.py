"""The replay engine: the chain cpu → memory → storage → network → power.

:func:`emulate` takes a :class:`~capplan.demand.workload.Workload` (per-VM demand), a
:class:`~capplan.placement.Placement` (host of each VM) and a catalog, and replays every step
on the hosts, vectorized over hosts and steps (no Python loop over time). The result,
:class:`Emulation`, holds ``(n_hosts, n_steps)`` arrays per metric, per-tier and per-rack
series, and computes KPIs and the per-VM share of demand served on request. Each stage is a
``replay_*`` function of its own module, reading a shared :class:`~capplan.emulate.context.
Replay`; the memory stalls are charged once the storage stage has the swap tier's latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.emulate import kpis as kpi_mod
from capplan.emulate.aggregate import HostMap, served_share
from capplan.emulate.context import DISK_METRICS, NET_METRICS, HostParams, Replay, vm_vcpus
from capplan.emulate.cpu import CpuResult, ready_frac, ready_wall_frac, replay_cpu
from capplan.emulate.gaps import fill_interior_gaps
from capplan.emulate.memory import MemoryResult, has_hypervisor, replay_memory, with_stalls
from capplan.emulate.modes import CompatReport, check_compat
from capplan.emulate.network import NetworkResult, replay_network
from capplan.emulate.power import replay_power
from capplan.emulate.routing import StorageRouting
from capplan.emulate.storage import TierResult, failover_multiplier, replay_storage
from capplan.outcomes import EmulationKpis
from capplan.placement import Placement
from capplan.spec.catalog import Catalog, VirtMode

F32 = npt.NDArray[np.float32]

#: Every metric a stage replays (a missing one is listed in ``Emulation.missing_metrics``).
ALL_METRICS = ("cpu_demand_mhz", "mem_active_mib", *DISK_METRICS, *NET_METRICS)


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

    @property
    def peak_paging_mib_s(self) -> float:
        """The largest hypervisor paging of all hosts together in one step, MiB/s (what the
        swap pools must carry; 0 without memory data)."""
        if self.memory is None or not len(self.memory.paging_rows):
            return 0.0
        rows = self.memory.paging_rows
        return float(self.memory.paging_mib_s[rows].sum(axis=0, dtype=np.float64).max())

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

    def vm_cpu_ready_frac(self, percentile: float = 100.0) -> npt.NDArray[np.float64]:
        """Per VM, the CPU ready (%RDY, share of wall time) its host reaches at the host's
        ``percentile`` of utilization over the replay (100: its peak); ready rises with
        utilization, so this is the host's ``percentile`` of ready. 0 without CPU data."""
        if self.cpu is None or self.n_steps == 0:
            return np.zeros(self.n_vms, dtype=np.float64)
        util = np.percentile(self.cpu.util_frac, percentile, axis=1).astype(np.float32)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        host = ready_wall_frac(util[:, None], self.params.n_cores, vcpus)[:, 0]
        return np.asarray(host[self._host_map.group_of_vm], dtype=np.float64)

    def _vcpus(self) -> npt.NDArray[np.float64]:
        return vm_vcpus(self._workload)

    def kpis(self, *, per_vm: bool = False) -> EmulationKpis:
        """Key figures of the replay (see :mod:`capplan.emulate.kpis` for definitions)."""
        return kpi_mod.compute(self, per_vm=per_vm)


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
    storage_routing: StorageRouting | None = None,
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
    storage_routing
        The pool of each VM's disk (a storage plan's, or the user's layout); None: every VM's
        I/O on the SAN design's default tier.

    Returns
    -------
    Emulation

    Raises
    ------
    CapplanError
        Unknown mode or host model, or VMs of the workload missing from the placement.
    """
    virt = catalog.mode(mode)
    workload, n_filled = fill_interior_gaps(workload)
    placed = _aligned(placement, workload)
    ctx = Replay(
        workload=workload,
        placed=placed,
        params=HostParams.resolve(placed.host_models, catalog),
        host_map=HostMap(placed.host_of_vm, placed.n_hosts),
        virt=virt,
        catalog=catalog,
        workers=workers,
        routing=storage_routing,
    )
    if n_filled:
        ctx.notes.append(
            f"{n_filled:,} VM-step(s) without data inside a VM's observed life replayed at the "
            "VM's observed mean (not as zero demand)"
        )
    vms_per_host = ctx.host_map.counts()
    host_on = vms_per_host > 0 if switch_off_empty else np.ones(ctx.n_hosts, dtype=bool)
    compat = check_compat(
        virt,
        vm_ids=workload.vm_ids,
        os_family=workload.inventory.get_column("os_family").to_list(),
        host_of_vm=placed.host_of_vm,
        host_ids=placed.host_ids,
    )

    cpu = replay_cpu(ctx)
    memory, configured = replay_memory(ctx)
    paging = (
        memory.paging_mib_s[memory.paging_rows].sum(axis=0, dtype=np.float64)
        if memory is not None and len(memory.paging_rows)
        else ctx.zeros()
    )
    # A hypervisor keeps a swap file per VM, as large as its configured memory; bare metal
    # and containers have none.
    storage = replay_storage(ctx, paging, configured if has_hypervisor(virt) else None)
    if memory is not None and len(memory.paging_rows):
        memory = with_stalls(ctx, memory, storage.swap, cpu)
    network = replay_network(ctx)
    power = replay_power(ctx, cpu.util_frac if cpu is not None else None, host_on)

    return Emulation(
        mode=virt,
        host_ids=placed.host_ids,
        host_models=placed.host_models,
        vm_ids=workload.vm_ids,
        step_s=int(workload.step_s),
        n_steps=ctx.n_steps,
        host_on=host_on,
        vms_per_host=vms_per_host,
        params=ctx.params,
        cpu=cpu,
        memory=memory,
        power_w=power,
        tiers=storage.tiers,
        host_storage_mib_s=storage.host_mib_s,
        path_util_frac=storage.path_util_frac,
        path_failover_multiplier=failover_multiplier(catalog.san),
        network=network,
        compat=compat,
        missing_metrics=tuple(m for m in ALL_METRICS if m not in workload.mean),
        notes=tuple(ctx.notes),
        n_vlans_usable=catalog.fabric.n_vlans_usable,
        _workload=workload,
        _host_map=ctx.host_map,
    )
