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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.emulate.aggregate import HostMap
from capplan.emulate.context import DISK_METRICS, NET_METRICS, HostParams, Replay
from capplan.emulate.cpu import replay_cpu
from capplan.emulate.gaps import fill_interior_gaps
from capplan.emulate.kpis import compute as compute_kpis
from capplan.emulate.memory import has_hypervisor, replay_memory, with_stalls
from capplan.emulate.modes import check_compat
from capplan.emulate.network import replay_network
from capplan.emulate.power import replay_power
from capplan.emulate.replayed import Replayed
from capplan.emulate.routing import StorageRouting
from capplan.emulate.storage import failover_multiplier, replay_storage
from capplan.outcomes import EmulationKpis
from capplan.placement import Placement
from capplan.spec.catalog import Catalog

F32 = npt.NDArray[np.float32]

#: Every metric a stage replays (a missing one is listed in ``Emulation.missing_metrics``).
ALL_METRICS = ("cpu_demand_mhz", "mem_active_mib", *DISK_METRICS, *NET_METRICS)


@dataclass(frozen=True)
class Emulation(Replayed):
    """The replay of a workload on a placement (:class:`~capplan.emulate.replayed.Replayed`),
    with its key figures."""

    def kpis(self, *, per_vm: bool = False) -> EmulationKpis:
        """Key figures of the replay (see :mod:`capplan.emulate.kpis` for definitions)."""
        return compute_kpis(self, per_vm=per_vm)


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
