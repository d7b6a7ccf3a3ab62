"""Memory: the reclamation ladder of an over-committed host and what it costs the VMs.

Units: MiB, MiB/s, seconds. Per host ``h`` and step ``t`` (``s`` = page-sharing savings of
the mode, 0 when it does not share pages):

- resident need  ``D = A·(1 − s) + O``   (active memory of the VMs plus per-VM overhead ``O``)
- consumed       ``C = max(K·(1 − s) + O, D)``  (``K`` = configured memory: a guest
  eventually touches all the memory it was given)
- usable RAM     ``U = R − F(R)``        (``F`` = the hypervisor's free-memory target, ESXi's
  ``Mem.MinFree`` sliding scale; 0 for modes without a hypervisor)
- to reclaim     ``X = max(C − U, 0)``
- ballooned      ``B = min(X, b·K·(1 − s), C − D)``  (the balloon driver takes idle guest pages
  only, at most ``b`` of each VM's memory: ESX ``Mem.CtlMaxPercent``)
- compressed     ``Z = min(r·(X − B), z·K·(1 − s))``  (pages compressed ``r``:1 into a cache of
  at most ``z`` of the VMs' memory free ``Z·(1 − 1/r)``)
- swapped        ``W = X − B − Z·(1 − 1/r)``  (the hypervisor swaps the rest)
- The hypervisor does not know which pages the guests use, so compression and swapping hit
  the non-ballooned pages at random: active pages compressed ``E_z = A'·Z / P`` and swapped
  ``E_w = max(A'·W / P, D − U − Z/r)``, with ``A' = A·(1 − s)`` and ``P = C − B − O``.
- paging rate    ``2·E_w / τ``  (each non-resident active page is faulted in once per
  active-memory sampling window ``τ`` and another page evicted: page-in + page-out)

The cost (:func:`stall_slowdown`) is the time the VMs wait for those faults: per second,
``S = n_w·L_w + n_z·L_z`` with ``n`` the faults per second (pages ``E / τ``), ``L_w`` the
swap device's response time and ``L_z`` the decompression time. Work that needs ``V`` busy
cores per second then completes ``V / (V + S)`` of the time: the slowdown is
``S / (S + V)``. A fault to disk costs 10³–10⁵ × a DRAM access, so a few hundred MiB of a
working set on a hard disk stalls a host almost entirely, on flash much less: checked
against Kumar 2009 (SQL Server, swap on SSD / FC / SATA) in ``docs/validation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from capplan.emulate.aggregate import aggregate
from capplan.emulate.blocks import map_row_blocks
from capplan.emulate.context import Replay, vm_vcpus
from capplan.emulate.memory_kernels import (
    BALLOON,
    BALLOON_CAP,
    COMPRESSED,
    CONSUMED_BASE,
    N_PLANES,
    OVERHEAD,
    PAGING,
    SWAPPED,
    SWAPPED_ACTIVE,
    USABLE,
    ZIP_ACTIVE,
    ZIP_CAP,
    reclaim_rows,
    stall_rows,
)
from capplan.spec.catalog import VirtMode, guest_kernel_saved_mib
from capplan.units import KIB_PER_MIB, MIB_PER_GIB

if TYPE_CHECKING:
    from capplan.emulate.cpu import CpuResult
    from capplan.emulate.storage import TierResult

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

#: Upper ends of the bands of the ``Mem.MinFree`` sliding scale, GiB (the last is open).
MIN_FREE_BANDS_GIB = (4.0, 12.0, 28.0)


def min_free_mib(ram_mib: npt.ArrayLike, fracs: tuple[float, float, float, float]) -> F64:
    """The hypervisor's free-memory target per host: ``fracs`` applied band by band.

    >>> float(min_free_mib([100 * 1024], (0.06, 0.04, 0.02, 0.01))[0])  # 100 GiB host
    1638.4
    """
    ram = np.asarray(ram_mib, dtype=np.float64)
    total = np.zeros_like(ram)
    low = 0.0
    for frac, high_gib in zip(fracs, (*MIN_FREE_BANDS_GIB, np.inf), strict=True):
        high = high_gib * MIB_PER_GIB
        total += frac * np.clip(ram - low, 0.0, high - low)
        low = high
    return total


@dataclass(frozen=True)
class MemoryResult:
    """Memory replay of every host; arrays are float32 ``(n_hosts, n_steps)``.

    Attributes
    ----------
    demand_mib
        Resident need ``D`` (active memory after page sharing, plus overhead).
    balloon_mib
        Memory reclaimed by ballooning ``B``.
    compressed_mib
        Guest memory held compressed ``Z`` (it occupies ``Z / r``).
    swapped_mib
        Memory swapped by the hypervisor ``W``.
    swapped_active_mib, compressed_active_mib
        Active pages among them, ``E_w`` and ``E_z``: these are faulted back.
    paging_mib_s
        Swap traffic (page-in + page-out) ``2·E_w / τ``.
    slowdown_frac
        Share of the VMs' time spent waiting for faults (0 until :func:`stall_slowdown`).
    ram_mib
        Host RAM, float64 ``(n_hosts,)``.
    usable_mib
        RAM less the hypervisor's free-memory target, float64 ``(n_hosts,)``.
    reclaim_rows
        Hosts that reclaim memory in some step (all other rows of the reclaim arrays are 0).
    paging_rows
        Hosts with active pages compressed or swapped in some step (a subset of
        ``reclaim_rows``); only they slow down.
    """

    demand_mib: F32
    balloon_mib: F32
    compressed_mib: F32
    swapped_mib: F32
    swapped_active_mib: F32
    compressed_active_mib: F32
    paging_mib_s: F32
    slowdown_frac: F32
    ram_mib: F64
    usable_mib: F64
    reclaim_rows: npt.NDArray[np.intp]
    paging_rows: npt.NDArray[np.intp]

    @cached_property
    def used_mib(self) -> F32:
        """Resident memory in use: ``min(D, U)``."""
        return np.minimum(self.demand_mib, self.usable_mib.astype(np.float32)[:, None])


def memory_replay(
    host_active_mib: F32,
    *,
    ram_mib: npt.ArrayLike,
    overhead_mib: npt.ArrayLike,
    configured_mib: npt.ArrayLike,
    sharing_savings_frac: float = 0.0,
    balloon_max_frac: float = 0.65,
    active_window_s: float = 60.0,
    reserve_mib: npt.ArrayLike = 0.0,
    compression_cache_frac: float = 0.0,
    compression_ratio: float = 2.0,
    workers: int | None = None,
) -> MemoryResult:
    """Replay memory demand on hosts (formulas in the module docstring).

    Parameters
    ----------
    host_active_mib
        Active memory summed per host, float32 ``(n_hosts, n_steps)``; turned **in place**
        into the resident need ``D``.
    ram_mib
        Host RAM, ``(n_hosts,)``.
    overhead_mib
        Sum of the per-VM overheads of each host, ``(n_hosts,)``.
    configured_mib
        Sum of the configured memory of each host's VMs, ``(n_hosts,)``.
    sharing_savings_frac
        Page-sharing savings ``s`` (0 when the mode does not share pages).
    balloon_max_frac
        Largest share of a VM's memory the balloon may take ``b``.
    active_window_s
        Active-memory sampling window ``τ``, s.
    reserve_mib
        The hypervisor's free-memory target ``F(R)`` per host (:func:`min_free_mib`).
    compression_cache_frac
        Largest share of the VMs' memory held compressed ``z`` (0: no compression).
    compression_ratio
        Compression ratio ``r`` of a cached page.
    workers
        Threads for the row blocks (:mod:`capplan.emulate.blocks`).

    Returns
    -------
    MemoryResult
    """
    ram = np.asarray(ram_mib, dtype=np.float64)
    usable = ram - np.broadcast_to(np.asarray(reserve_mib, dtype=np.float64), ram.shape)
    overhead = np.asarray(overhead_mib, dtype=np.float64)
    configured = np.asarray(configured_mib, dtype=np.float64)
    keep = 1.0 - sharing_savings_frac
    demand = host_active_mib
    n_hosts, n_steps = demand.shape
    overhead32 = overhead.astype(np.float32)[:, None]
    peak = np.zeros(n_hosts, dtype=np.float32)

    def resident(block: slice) -> None:
        d = demand[block]
        if keep != 1.0:
            d *= np.float32(keep)
        d += overhead32[block]
        if n_steps:
            peak[block] = d.max(axis=1)

    map_row_blocks(resident, n_hosts, n_steps, workers=workers)
    consumed_base = configured * keep + overhead
    shape = (n_hosts, n_steps)
    rows = np.flatnonzero((consumed_base > usable) | (peak > usable)).astype(np.intp)
    host = np.empty((5, n_hosts), dtype=np.float32)
    host[USABLE] = usable
    host[OVERHEAD] = overhead
    host[CONSUMED_BASE] = consumed_base
    host[BALLOON_CAP] = balloon_max_frac * configured * keep
    host[ZIP_CAP] = compression_cache_frac * configured * keep
    reclaims = np.zeros(n_hosts, dtype=bool)
    reclaims[rows] = True
    out = np.empty((N_PLANES, *shape), dtype=np.float32)
    pages = np.zeros(n_hosts, dtype=bool)
    hosts = np.arange(n_hosts, dtype=np.intp)

    def reclaim(block: slice) -> None:
        reclaim_rows(
            demand,
            hosts[block],
            reclaims,
            host,
            compression_ratio,
            2.0 / active_window_s,
            out,
            pages,
        )

    # Every host in one threaded pass: the ladder where a host reclaims, zeros elsewhere.
    map_row_blocks(reclaim, n_hosts, n_steps, workers=workers)
    return MemoryResult(
        demand_mib=demand,
        balloon_mib=out[BALLOON],
        compressed_mib=out[COMPRESSED],
        swapped_mib=out[SWAPPED],
        swapped_active_mib=out[SWAPPED_ACTIVE],
        compressed_active_mib=out[ZIP_ACTIVE],
        paging_mib_s=out[PAGING],
        slowdown_frac=np.zeros(shape, dtype=np.float32),
        ram_mib=ram,
        usable_mib=usable,
        reclaim_rows=rows,
        paging_rows=np.flatnonzero(pages).astype(np.intp),
    )


def stall_slowdown(
    memory: MemoryResult,
    *,
    swap_latency_ms: npt.ArrayLike,
    decompress_ms: float,
    busy_cores: npt.ArrayLike | None = None,
    cpu_demand_mhz: F32 | None = None,
    core_mhz: npt.ArrayLike | None = None,
    active_window_s: float,
    page_size_kib: float,
    workers: int | None = None,
) -> MemoryResult:
    """``memory`` with ``slowdown_frac`` set from the time spent waiting for faults.

    Parameters
    ----------
    memory
        The replay of :func:`memory_replay`.
    swap_latency_ms
        Response time of the swap device per step, ``(n_steps,)`` (or a scalar).
    decompress_ms
        Time to fault in one compressed page.
    busy_cores
        Cores' worth of CPU work per step of each host of :attr:`MemoryResult.paging_rows`,
        broadcastable to ``(len(paging_rows), n_steps)``; at least one core is counted (a
        waiting VM holds a vCPU).
    cpu_demand_mhz, core_mhz
        Instead of ``busy_cores``: every host's CPU demand ``(n_hosts, n_steps)`` and the
        MHz of one core of each host of ``paging_rows``; busy cores are their ratio.
    active_window_s, page_size_kib
        As in :func:`memory_replay` and the catalog.
    workers
        Threads for the row blocks (:mod:`capplan.emulate.blocks`).

    Returns
    -------
    MemoryResult
        Slowdown ``S / (S + V)`` on :attr:`MemoryResult.paging_rows`, 0 elsewhere.
    """
    rows = memory.paging_rows
    if not len(rows):
        return replace(memory, slowdown_frac=np.zeros_like(memory.slowdown_frac))
    n_hosts, n_steps = memory.slowdown_frac.shape
    faults_per_mib_s = KIB_PER_MIB / page_size_kib / active_window_s
    swap_s = np.broadcast_to(np.asarray(swap_latency_ms, dtype=np.float64), (n_steps,))
    busy_row = np.zeros(n_hosts, dtype=np.intp)
    unit = np.ones(n_hosts)
    if cpu_demand_mhz is not None and core_mhz is not None:
        source = cpu_demand_mhz
        busy_row[rows] = rows
        unit[rows] = np.asarray(core_mhz, dtype=np.float64)
    elif busy_cores is not None:
        source = np.ascontiguousarray(
            np.broadcast_to(np.asarray(busy_cores, dtype=np.float32), (len(rows), n_steps))
        )
        busy_row[rows] = np.arange(len(rows))
    else:
        raise ValueError("stall_slowdown needs busy_cores, or cpu_demand_mhz and core_mhz")
    pages = np.zeros(n_hosts, dtype=bool)
    pages[rows] = True
    swap_s_per_mib = (swap_s * (faults_per_mib_s / 1e3)).astype(np.float32)
    zip_s_per_mib = faults_per_mib_s * decompress_ms / 1e3
    hosts = np.arange(n_hosts, dtype=np.intp)
    slowdown = np.empty((n_hosts, n_steps), dtype=np.float32)

    def block(part: slice) -> None:
        stall_rows(
            memory.swapped_active_mib,
            memory.compressed_active_mib,
            hosts[part],
            pages,
            source,
            busy_row,
            unit,
            swap_s_per_mib,
            zip_s_per_mib,
            slowdown,
        )

    # Every host in one threaded pass: the stalls where a host pages, zeros elsewhere.
    map_row_blocks(block, n_hosts, n_steps, workers=workers)
    return replace(memory, slowdown_frac=slowdown)


# ----------------------------------------------------------------------- the stage
def configured_mib(ctx: Replay) -> npt.NDArray[np.float64]:
    """Configured memory per VM; a missing value falls back to the VM's peak active memory."""
    workload = ctx.workload
    configured = workload.inventory_column("mem_provisioned_mib")
    missing = ~np.isfinite(configured)
    if missing.any():
        rows = np.flatnonzero(missing)
        peak = workload.mean["mem_active_mib"][rows].max(axis=1).astype(np.float64)
        configured = configured.copy()
        configured[rows] = peak
        ctx.notes.append(
            f"{len(rows)} VM(s) without mem_provisioned_mib: their peak active memory is used "
            "as configured memory"
        )
    return configured


def has_hypervisor(virt: VirtMode) -> bool:
    """A mode with a hypervisor that reclaims memory (not bare metal, not containers)."""
    return not (virt.one_guest_per_host or virt.same_os_kernel)


def replay_memory(ctx: Replay) -> tuple[MemoryResult | None, npt.NDArray[np.float64] | None]:
    """The memory stage: active memory, overhead and the reclamation ladder per host.

    Returns the replay and each VM's configured memory (None, None without
    ``mem_active_mib``).
    """
    if "mem_active_mib" not in ctx.metrics:
        return None, None
    workload, virt, params, host_map = ctx.workload, ctx.virt, ctx.params, ctx.host_map
    vcpus = vm_vcpus(workload)
    n_default = int(np.count_nonzero(~np.isfinite(workload.inventory_column("n_vcpus"))))
    if n_default:
        ctx.notes.append(f"{n_default} VM(s) without n_vcpus: 1 vCPU assumed for overhead")
    configured = configured_mib(ctx)
    saved = guest_kernel_saved_mib(virt, ctx.catalog.guest, configured)
    if saved.any():
        # The traced guests ran their own kernel; on the host's kernel they do not need it.
        configured = np.maximum(configured - saved, 0.0)
        ctx.notes.append(
            f"mode {virt.name!r} shares the host's kernel: each guest's own kernel memory "
            f"(up to {float(saved.sum()) / MIB_PER_GIB:,.1f} GiB in all) is taken off its "
            "memory use and configured memory, none below 0"
        )
    overhead = virt.mem_overhead_mib(vcpus, configured)
    mem_host = aggregate(
        ctx.metrics["mem_active_mib"],
        host_map,
        workers=ctx.workers,
        less=saved.astype(np.float32) if saved.any() else None,
    )
    reclaim = ctx.catalog.memory
    hypervisor = has_hypervisor(virt)
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
        workers=ctx.workers,
    )
    return memory, configured


def with_stalls(
    ctx: Replay,
    memory: MemoryResult,
    swap: TierResult | None,
    cpu: CpuResult | None,
) -> MemoryResult:
    """The memory replay with its fault stalls: swap faults at the response time of the pool
    the paging lands on (``swap``, its load including the paging; the catalog's swap tier
    unloaded when None), compressed pages at the decompression time."""
    catalog, params = ctx.catalog, ctx.params
    swap_tier = catalog.tier(catalog.san.swap_tier)
    replayed = swap
    latency_ms = replayed.latency_ms if replayed is not None else swap_tier.base_latency_ms
    rows = memory.paging_rows
    core_mhz = params.capacity_mhz[rows] / np.maximum(params.n_cores[rows], 1.0)
    return stall_slowdown(
        memory,
        swap_latency_ms=latency_ms,
        decompress_ms=catalog.memory.decompress_vs_swap_frac * swap_tier.base_latency_ms,
        # Without CPU data each vCPU counts as a busy core.
        busy_cores=(
            ctx.host_map.sum_per_group(vm_vcpus(ctx.workload))[rows, None] if cpu is None else None
        ),
        cpu_demand_mhz=cpu.demand_mhz if cpu is not None else None,
        core_mhz=core_mhz,
        active_window_s=catalog.memory.active_window_s,
        page_size_kib=catalog.memory.page_size_kib,
        workers=ctx.workers,
    )
