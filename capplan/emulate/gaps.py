"""Unobserved steps inside a VM's life: demand the replay must not take as zero.

A workload holds 0 where a VM has no sample: before its first and after its last observed
step (it did not run; 0 is right) and in gaps longer than the ingest fill limit (it ran, but
nothing was recorded). Sizing and the storage planner mask unobserved steps; replaying such a
gap at 0 demand would make its host look emptier than it was. The replay therefore fills each
interior gap with the VM's mean over its observed steps, per metric, and says how many
VM-steps it filled.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload

BoolArray = npt.NDArray[np.bool_]


def interior_gaps(observed: BoolArray) -> BoolArray:
    """Unobserved steps between each VM's first and last observed step, ``(n_vms, n_steps)``."""
    gaps = np.zeros_like(observed)
    n_steps = observed.shape[1]
    if n_steps == 0 or observed.all():
        return gaps
    rows = np.flatnonzero(~observed.all(axis=1))  # only partly observed VMs can have gaps
    part = observed[rows]
    seen = np.asarray(part.any(axis=1))
    first = np.argmax(part, axis=1)
    last = n_steps - 1 - np.argmax(part[:, ::-1], axis=1)
    steps = np.arange(n_steps)
    inside = (steps[None, :] >= first[:, None]) & (steps[None, :] <= last[:, None])
    gaps[rows] = ~part & inside & seen[:, None]
    return gaps


def fill_interior_gaps(workload: Workload) -> tuple[Workload, int]:
    """``workload`` with interior gaps filled by each VM's observed mean; the VM-steps filled.

    The workload is returned unchanged (same object) when it has no interior gap.
    """
    if workload.observed.all():
        return workload, 0
    gaps = interior_gaps(workload.observed)
    n_filled = int(np.count_nonzero(gaps))
    if n_filled == 0:
        return workload, 0
    rows = np.flatnonzero(gaps.any(axis=1))
    observed = workload.observed[rows]
    counts = np.maximum(observed.sum(axis=1), 1)
    filled: dict[str, npt.NDArray[np.float32]] = {}
    for name, values in workload.mean.items():
        out = values.copy()
        part = out[rows]
        mean = np.where(observed, part, 0.0).sum(axis=1, dtype=np.float64) / counts
        part[gaps[rows]] = np.repeat(mean, gaps[rows].sum(axis=1)).astype(part.dtype)
        out[rows] = part
        filled[name] = out
    return replace(workload, mean=filled), n_filled
