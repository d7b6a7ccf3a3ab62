"""The replay's storage routing from a storage plan, or from a layout CSV the user gives.

A layout CSV is what ``capplan storage --out`` writes (one row per volume copy: ``vm_id``,
``copy``, ``pool``, …) or any CSV with at least ``vm_id`` and ``pool`` (and ``copy`` for
mirrored volumes, 0 or 1). Pools are looked up in the storage spec: an unknown pool, a VM
named twice for one copy, or a bad copy number is refused with the file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from capplan.emulate.routing import StorageRouting
from capplan.errors import TraceFormatError
from capplan.storage.planner import StoragePlanResult
from capplan.storage.spec import StorageSpec


def routing_from_plan(plan: StoragePlanResult) -> StorageRouting | None:
    """The pools a storage plan put each VM's volume on (None when it found no plan)."""
    if not plan.solution.has_plan:
        return None
    spec = plan.spec
    names = tuple(p.name for p in spec.pools)
    paging = np.array([float(plan.settings.paging_mib_s.get(n, 0.0)) for n in names])
    total = paging.sum()
    return StorageRouting(
        vm_ids=np.asarray(plan.volumes.vm_ids),
        pool_names=names,
        pool_tiers=tuple(p.tier for p in spec.pools),
        copies=np.asarray(plan.solution.assign, dtype=np.int64),
        paging_share=paging / total if total > 0 else np.zeros(len(names)),
        source="storage plan",
    )


def _place(entry: list[int], slot: int, pool: int, vm: str, where: tuple[str, int]) -> None:
    """Put copy ``slot`` of a VM's volume on ``pool``; a copy placed twice, or both copies on
    one pool, is refused at the file's line."""
    label, line = where
    if entry[slot] >= 0:
        raise TraceFormatError(
            f"{vm} copy {slot} is placed twice", path=label, line=line, column="copy"
        )
    if entry[1 - slot] == pool:
        raise TraceFormatError(
            f"{vm} has both copies on one pool; expected a mirror's copies on two pools",
            path=label,
            line=line,
            column="pool",
        )
    entry[slot] = pool


def read_layout(path: Path, spec: StorageSpec) -> StorageRouting:
    """Read a layout CSV (see the module docstring) against ``spec``'s pools.

    Raises
    ------
    TraceFormatError
        Missing column, unknown pool, bad copy number or a copy named twice, with the line
        and column.
    """
    label = str(path)
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise TraceFormatError(f"not a readable CSV ({exc})", path=label) from exc
    for column in ("vm_id", "pool"):
        if column not in frame.columns:
            raise TraceFormatError(
                f"missing column {column!r}; expected vm_id, pool and optionally copy",
                path=label,
                line=1,
            )
    index = spec.pool_index()
    vm_ids: dict[str, int] = {}
    copies: list[list[int]] = []
    has_copy = "copy" in frame.columns
    for row, values in enumerate(frame.iter_rows(named=True)):
        line = row + 2
        vm, pool = values["vm_id"], values["pool"]
        if not vm:
            raise TraceFormatError("vm_id is empty", path=label, line=line, column="vm_id")
        if pool not in index:
            raise TraceFormatError(
                f"unknown pool {pool!r}; expected one of {', '.join(index)}",
                path=label,
                line=line,
                column="pool",
            )
        copy_text = values["copy"] if has_copy else "0"
        if copy_text not in ("0", "1"):
            raise TraceFormatError(
                f"copy {copy_text!r}; expected 0 or 1", path=label, line=line, column="copy"
            )
        if vm not in vm_ids:
            vm_ids[vm] = len(copies)
            copies.append([-1, -1])
        _place(copies[vm_ids[vm]], int(copy_text), index[pool], f"VM {vm!r}", (label, line))
    array = np.array(copies, dtype=np.int64).reshape(-1, 2)
    only_second = (array[:, 0] < 0) & (array[:, 1] >= 0)
    array[only_second] = array[only_second][:, ::-1]  # a lone copy serves the reads
    return StorageRouting(
        vm_ids=np.array(list(vm_ids), dtype=np.str_),
        pool_names=tuple(index),
        pool_tiers=tuple(p.tier for p in spec.pools),
        copies=array,
        paging_share=np.zeros(len(index)),
        source=label,
    )
