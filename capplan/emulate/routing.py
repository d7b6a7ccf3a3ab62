"""Where each VM's I/O goes: the pools a storage plan (or the user's layout) chose.

Without a routing every VM's I/O lands on the SAN design's default tier. With one, each VM's
disk is a volume with one or two copies (:mod:`capplan.storage`: one volume per VM). The
replay sends a volume's reads to its first copy and its writes to every copy (a mirror writes
both sides and reads from one; the planner reserves each copy's full demand, since after the
other side fails one copy serves every read); hypervisor paging is shared among the pools the
plan put it on. A VM without a copy stays on the default tier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.errors import CapplanError
from capplan.spec.catalog import SanTier

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class StorageRouting:
    """The pool of each copy of each VM's volume.

    Attributes
    ----------
    vm_ids
        ``(n_vms,)`` the VMs the rows of ``copies`` describe (matched to the workload by id).
    pool_names
        ``(n_pools,)`` pool names (the keys of the replay's per-pool results).
    pool_tiers
        ``(n_pools,)`` each pool's tier, sized to the pool.
    copies
        int64 ``(n_vms, 2)``: pool index of each copy, ``-1`` for none; copy 0 serves reads.
    paging_share
        float64 ``(n_pools,)``: share of the hypervisor paging each pool takes (all 0: paging
        goes to the catalog's swap tier).
    source
        What the routing came from ("storage plan", a layout file's path).
    """

    vm_ids: npt.NDArray[np.str_]
    pool_names: tuple[str, ...]
    pool_tiers: tuple[SanTier, ...]
    copies: I64
    paging_share: F64
    source: str

    def __post_init__(self) -> None:
        n_pools = len(self.pool_names)
        if len(self.pool_tiers) != n_pools or self.paging_share.shape != (n_pools,):
            raise CapplanError("storage routing: one tier and one paging share per pool needed")
        if self.copies.shape != (len(self.vm_ids), 2):
            raise CapplanError("storage routing: copies must be (n_vms, 2)")
        if ((self.copies < -1) | (self.copies >= n_pools)).any():
            raise CapplanError("storage routing: a copy names a pool index out of range")

    def aligned_to(self, vm_ids: npt.NDArray[np.str_]) -> I64:
        """``copies`` in the order of ``vm_ids``; VMs the routing does not name get ``-1``."""
        index = {str(v): i for i, v in enumerate(self.vm_ids.tolist())}
        rows = np.array([index.get(str(v), -1) for v in vm_ids.tolist()], dtype=np.int64)
        out = np.full((len(vm_ids), 2), -1, dtype=np.int64)
        known = rows >= 0
        out[known] = self.copies[rows[known]]
        return out


def group_weights(copies: I64, n_groups: int) -> tuple[npt.NDArray[np.float32], ...]:
    """Read and write weights ``(n_groups, n_vms)``: 1 where a VM reads from / writes to a
    group (reads: copy 0; writes: every copy)."""
    n_vms = copies.shape[0]
    reads = np.zeros((n_groups, n_vms), dtype=np.float32)
    writes = np.zeros((n_groups, n_vms), dtype=np.float32)
    vms = np.arange(n_vms)
    first = copies[:, 0]
    reads[first[first >= 0], vms[first >= 0]] = 1.0
    for slot in range(copies.shape[1]):
        pool = copies[:, slot]
        writes[pool[pool >= 0], vms[pool >= 0]] = 1.0
    return reads, writes


def _group_sums(
    values: npt.NDArray[np.float32] | None,
    weights: npt.NDArray[np.float32],
    given: F64 | None,
    n_steps: int,
) -> F64:
    """``weights @ values`` in float64 (a copy of ``given`` when the caller has it; zeros
    without the metric)."""
    if values is None:
        return np.zeros((weights.shape[0], n_steps))
    if given is not None:
        return given.copy()
    return np.dot(weights, values).astype(np.float64)


def routed_path_iops(
    read_iops: npt.NDArray[np.float32] | None,
    write_iops: npt.NDArray[np.float32] | None,
    ceiling_iops: float,
    read_weights: npt.NDArray[np.float32],
    write_weights: npt.NDArray[np.float32],
    *,
    sums: tuple[F64 | None, F64 | None] | None = None,
    peaks: F64 | None = None,
) -> tuple[F64, F64, F64]:
    """Reads and writes the VMs' I/O paths pass, summed per group and step, and the rest.

    Each VM's ``reads + writes`` above ``ceiling_iops`` in a step is cut, reads and writes in
    proportion; the cut I/O is counted on the VM's read group. Only VMs whose read and write
    peaks add up above the ceiling are looked at row by row; the others pass whole (one
    matrix product per metric, no copy of the arrays).

    Parameters
    ----------
    read_iops, write_iops
        Per VM ``(n_vms, n_steps)`` float32, or None when the trace lacks the metric.
    ceiling_iops
        The most IOPS one VM's path passes.
    read_weights, write_weights
        ``(n_groups, n_vms)`` (:func:`group_weights`).
    sums, peaks
        The weighted sums of reads and writes ``(n_groups, n_steps)`` and each VM's peak of
        reads + writes ``(n_vms,)`` when the caller has them already (then the arrays are
        read only for the VMs above the ceiling).

    Returns
    -------
    reads, writes, unserved
        float64 ``(n_groups, n_steps)`` each.
    """
    arrays = [a for a in (read_iops, write_iops) if a is not None]
    n_groups = read_weights.shape[0]
    if not arrays:
        empty = np.zeros((n_groups, 0))
        return empty, empty, empty
    n_steps = arrays[0].shape[1]
    given = sums if sums is not None else (None, None)
    reads = _group_sums(read_iops, read_weights, given[0], n_steps)
    writes = _group_sums(write_iops, write_weights, given[1], n_steps)
    unserved = np.zeros((n_groups, n_steps))
    peak = (
        peaks
        if peaks is not None
        else sum(a.max(axis=1, initial=0.0).astype(np.float64) for a in arrays)
    )
    for vm in np.flatnonzero(peak > ceiling_iops).tolist():
        r = read_iops[vm].astype(np.float64) if read_iops is not None else np.zeros(n_steps)
        w = write_iops[vm].astype(np.float64) if write_iops is not None else np.zeros(n_steps)
        total = r + w
        excess = np.maximum(total - ceiling_iops, 0.0)
        if not excess.any():
            continue
        share = np.where(total > 0, excess / np.maximum(total, 1e-300), 0.0)
        if read_iops is not None:
            reads -= read_weights[:, vm, None] * (r * share)
        if write_iops is not None:
            writes -= write_weights[:, vm, None] * (w * share)
        unserved += read_weights[:, vm, None] * excess
    return reads, writes, unserved
