"""Test helpers: small Workload objects built directly from numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import polars as pl

from capplan.demand.workload import Quality, Workload
from capplan.schema import conform_inventory


def make_workload(
    mean: Mapping[str, Sequence[Sequence[float]] | np.ndarray],
    *,
    inventory: Mapping[str, Sequence[object]] | None = None,
    step_s: int = 300,
    vm_ids: Sequence[str] | None = None,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
) -> Workload:
    """Build a Workload from per-metric ``(n_vms, n_steps)`` arrays and inventory columns."""
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in mean.items()}
    n_vms, n_steps = next(iter(arrays.values())).shape
    ids = list(vm_ids) if vm_ids is not None else [f"vm{i:03d}" for i in range(n_vms)]
    columns: dict[str, Sequence[object]] = {"vm_id": ids, **(inventory or {})}
    return Workload(
        vm_ids=np.asarray(ids, dtype=np.str_),
        inventory=conform_inventory(pl.DataFrame(columns, strict=False)),
        start=start,
        step_s=step_s,
        mean=arrays,
        observed=np.ones((n_vms, n_steps), dtype=bool),
        quality=Quality(np.ones(n_vms), 1.0),
        format="test",
    )
