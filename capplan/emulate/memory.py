"""Memory: active memory plus overhead against RAM; ballooning, swapping and paging.

Units: MiB, MiB/s, seconds. Model (per host ``h`` and step ``t``; ``s`` = page-sharing
savings share of the mode, 0 when it does not share pages):

- resident need  ``D = A·(1 − s) + O``    (active memory of the VMs plus per-VM overhead ``O``)
- consumed       ``C = max(K·(1 − s) + O, D)``  (``K`` = configured memory of the VMs: a
  guest eventually touches all the memory it was given)
- to reclaim     ``X = max(C − R, 0)``    (``R`` = host RAM)
- ballooned      ``B = min(X, b·K·(1 − s), C − D)``  (the balloon driver takes idle guest
  pages only, at most ``b`` of each VM's memory: ESX ``Mem.CtlMaxPercent``)
- swapped        ``W = X − B``            (the hypervisor swaps the rest)
- active excess  ``E = max(D − R, 0)``    (active pages that cannot be resident)
- paging rate    ``P = 2·E / τ``           (each non-resident active page is faulted in once per
  active-memory sampling window ``τ`` and another page is evicted: page-in + page-out)
- slowdown       ``E / D``                (share of the working set served from disk)

``W ≥ E`` always holds, so active pages are only ever evicted by hypervisor swapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from capplan.emulate.blocks import map_row_blocks

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class MemoryResult:
    """Memory replay of every host; arrays are float32 ``(n_hosts, n_steps)``.

    Attributes
    ----------
    demand_mib
        Resident need ``D`` (active memory after page sharing, plus overhead).
    balloon_mib
        Memory reclaimed by ballooning ``B``.
    swapped_mib
        Memory swapped by the hypervisor ``W``.
    paging_mib_s
        Swap traffic (page-in + page-out) ``P``.
    slowdown_frac
        Share of the active working set not resident ``E / D``.
    ram_mib
        Host RAM, float64 ``(n_hosts,)``.
    reclaim_rows
        Hosts that reclaim memory in some step (all other rows of ``balloon_mib``,
        ``swapped_mib``, ``paging_mib_s`` and ``slowdown_frac`` are 0).
    paging_rows
        Hosts that page in some step (a subset of ``reclaim_rows``).
    """

    demand_mib: F32
    balloon_mib: F32
    swapped_mib: F32
    paging_mib_s: F32
    slowdown_frac: F32
    ram_mib: npt.NDArray[np.float64]
    reclaim_rows: npt.NDArray[np.intp]
    paging_rows: npt.NDArray[np.intp]

    @cached_property
    def used_mib(self) -> F32:
        """Resident memory in use: ``min(D, R)``."""
        return np.minimum(self.demand_mib, self.ram_mib.astype(np.float32)[:, None])


def memory_replay(
    host_active_mib: F32,
    *,
    ram_mib: npt.ArrayLike,
    overhead_mib: npt.ArrayLike,
    configured_mib: npt.ArrayLike,
    sharing_savings_frac: float = 0.0,
    balloon_max_frac: float = 0.65,
    active_window_s: float = 60.0,
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
    workers
        Threads for the row blocks (:mod:`capplan.emulate.blocks`).

    Returns
    -------
    MemoryResult
    """
    ram = np.asarray(ram_mib, dtype=np.float64)
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
    balloon = np.zeros((n_hosts, n_steps), dtype=np.float32)
    swapped = np.zeros((n_hosts, n_steps), dtype=np.float32)
    paging = np.zeros((n_hosts, n_steps), dtype=np.float32)
    slowdown = np.zeros((n_hosts, n_steps), dtype=np.float32)
    rows = np.flatnonzero((consumed_base > ram) | (peak > ram)).astype(np.intp)
    ram32 = ram.astype(np.float32)[:, None]
    base32 = consumed_base.astype(np.float32)[:, None]
    cap32 = (balloon_max_frac * configured * keep).astype(np.float32)[:, None]
    paging_per_mib = np.float32(2.0 / active_window_s)

    def reclaim(block: slice) -> None:
        sel = rows[block]
        d = demand[sel]
        r = ram32[sel]
        consumed = np.maximum(base32[sel], d)
        work = np.subtract(consumed, d)  # idle (configured but not active) memory
        consumed -= r
        np.maximum(consumed, np.float32(0.0), out=consumed)  # X: memory to reclaim
        b = np.minimum(consumed, cap32[sel])
        np.minimum(b, work, out=b)
        balloon[sel] = b
        consumed -= b
        swapped[sel] = consumed
        np.subtract(d, r, out=work)
        np.maximum(work, np.float32(0.0), out=work)  # E: active pages not resident
        pages[block] = np.any(work > 0, axis=1)
        paging[sel] = work * paging_per_mib
        positive = d > 0
        np.divide(work, d, out=work, where=positive)
        work[~positive] = 0.0
        slowdown[sel] = work

    pages = np.zeros(len(rows), dtype=bool)
    map_row_blocks(reclaim, len(rows), n_steps, workers=workers)
    return MemoryResult(demand, balloon, swapped, paging, slowdown, ram, rows, rows[pages])
