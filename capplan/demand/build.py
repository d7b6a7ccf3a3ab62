"""Build a :class:`Workload` from a :class:`Trace`: resample onto a grid, fill short gaps, pivot.

Steps, all vectorized:

1. Sort rows by (VM, time) when they are not already; drop rows that repeat a VM's timestamp
   (kept: the first), reported as a problem.
2. Choose the step: the user's, else the median interval between a VM's consecutive samples,
   rounded to whole seconds.
3. Each sample goes to the *nearest* grid point (bucket ``round((t - start) / step)``), so
   jittered samples (299 s, 301 s) stay on their own step. Where several samples share a step
   (finer source), the step keeps their mean and, separately, their peak.
4. Missing steps inside a VM's life are filled by linear interpolation when the gap is at most
   ``max_gap_steps`` long; longer gaps stay 0 and unobserved (``Workload.observed``).
5. Quality per VM: share of the steps between its first and last sample that hold a real,
   non-suspicious sample.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.demand.workload import Quality, Workload
from capplan.errors import WorkloadError
from capplan.io.trace import Problem, Trace
from capplan.schema import SUSPICIOUS_OVER_CAPACITY_RATIO, USAGE_METRICS, conform_inventory

#: Default longest gap (in steps) that is filled by interpolation: 3 steps (15 min at 300 s).
DEFAULT_MAX_GAP_STEPS = 3
#: Row blocks for the gap filler, to bound its temporaries.
_FILL_BLOCK_ROWS = 2048
#: Largest grid accepted (cells = n_vms × n_steps) before refusing with a clear message.
MAX_GRID_CELLS = 2_000_000_000


def _present_metrics(frame: pl.DataFrame) -> list[str]:
    return [name for name in USAGE_METRICS if frame.get_column(name).null_count() < frame.height]


def _median_step_s(vm_idx: npt.NDArray[np.uint32], ts_us: npt.NDArray[np.int64]) -> int:
    same_vm = vm_idx[1:] == vm_idx[:-1]
    deltas = np.diff(ts_us)[same_vm]
    deltas = deltas[deltas > 0]
    if deltas.size == 0:
        raise WorkloadError(
            "cannot infer the step: no VM has two samples at different times; pass step_s"
        )
    return max(int(round(float(np.median(deltas)) / 1e6)), 1)


def _fill_gaps(
    values: dict[str, npt.NDArray[np.float32]],
    observed: npt.NDArray[np.bool_],
    max_gap_steps: int,
) -> npt.NDArray[np.bool_]:
    """Interpolate gaps of at most ``max_gap_steps`` in place; return the mask of filled cells."""
    n_vms, n_steps = observed.shape
    filled = np.zeros_like(observed)
    if max_gap_steps <= 0 or n_steps < 3:
        return filled
    steps = np.arange(n_steps, dtype=np.int32)
    for lo in range(0, n_vms, _FILL_BLOCK_ROWS):
        obs = observed[lo : lo + _FILL_BLOCK_ROWS]
        if obs.all():
            continue
        prev = np.where(obs, steps, -1)
        np.maximum.accumulate(prev, axis=1, out=prev)
        nxt = np.where(obs, steps, n_steps)
        nxt = np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1]
        gap = nxt - prev - 1
        fill = (~obs) & (prev >= 0) & (nxt < n_steps) & (gap <= max_gap_steps)
        if not fill.any():
            continue
        rows, cols = np.nonzero(fill)
        p, q = prev[rows, cols], nxt[rows, cols]
        weight = ((cols - p) / (q - p)).astype(np.float32)
        for array in values.values():
            block = array[lo : lo + _FILL_BLOCK_ROWS]
            left, right = block[rows, p], block[rows, q]
            block[rows, cols] = left + (right - left) * weight
        filled[lo : lo + _FILL_BLOCK_ROWS] = fill
    return filled


def _suspicious_counts(
    mean: dict[str, npt.NDArray[np.float32]], inventory: pl.DataFrame
) -> tuple[npt.NDArray[np.int64], list[Problem]]:
    """Per VM, steps whose demand exceeds the provisioned capacity by the suspicious margin."""
    n_vms = inventory.height
    counts = np.zeros(n_vms, dtype=np.int64)
    problems: list[Problem] = []
    checks = (("cpu_demand_mhz", "cpu_capacity_mhz"), ("mem_active_mib", "mem_provisioned_mib"))
    for metric, capacity_col in checks:
        if metric not in mean:
            continue
        capacity = inventory.get_column(capacity_col).cast(pl.Float64).to_numpy()
        limit = np.where(np.isfinite(capacity) & (capacity > 0), capacity, np.inf)
        limit = (limit * SUSPICIOUS_OVER_CAPACITY_RATIO).astype(np.float32)
        over = (mean[metric] > limit[:, None]).sum(axis=1)
        counts += over
        n_over = int(over.sum())
        if n_over:
            problems.append(
                Problem(
                    f"{n_over} step(s) in {int((over > 0).sum())} VM(s) have {metric} above "
                    f"{SUSPICIOUS_OVER_CAPACITY_RATIO:.0%} of {capacity_col}; counted as suspicious",
                    column=metric,
                    count=n_over,
                )
            )
    return counts, problems


def build_workload(
    trace: Trace,
    *,
    step_s: int | None = None,
    max_gap_steps: int = DEFAULT_MAX_GAP_STEPS,
) -> Workload:
    """Resample a trace onto a regular grid and pivot it into dense float32 arrays.

    Parameters
    ----------
    trace
        A canonical trace (from :func:`capplan.io.read_traces`).
    step_s
        Grid step in seconds; default: the median native interval.
    max_gap_steps
        Longest run of missing steps filled by linear interpolation; longer gaps stay 0 and
        are marked unobserved.

    Returns
    -------
    Workload
        Arrays ``(n_vms, n_steps)`` per metric present in the trace.

    Raises
    ------
    WorkloadError
        When the trace has no usage rows, or the grid would be unreasonably large.
    """
    if step_s is not None and step_s <= 0:
        raise WorkloadError(f"step_s must be a positive number of seconds, got {step_s}")
    frame = trace.usage.collect()
    if frame.height == 0:
        raise WorkloadError(
            "the trace has no usage rows (an inventory alone cannot be replayed); "
            f"sources: {', '.join(trace.sources) or 'none'}"
        )
    problems = list(trace.problems)
    metrics = _present_metrics(frame)
    if not metrics:
        raise WorkloadError("the trace has usage rows but no metric values at all")

    # VM order: the inventory's order for VMs that have usage, then any others.
    usage_ids = frame.get_column("vm_id").unique(maintain_order=True)
    inv_ids = trace.inventory.get_column("vm_id")
    ordered = pl.concat([inv_ids.filter(inv_ids.is_in(usage_ids.implode())), usage_ids])
    vm_ids = ordered.unique(maintain_order=True)
    enum = pl.Enum(vm_ids.to_list())
    vm_idx = frame.get_column("vm_id").cast(enum).to_physical().to_numpy().astype(np.uint32)
    ts_us = frame.get_column("timestamp").dt.epoch("us").to_numpy()
    frame = frame.select(metrics)

    # 1. order and duplicates
    key_sorted = bool(
        np.all((vm_idx[1:] > vm_idx[:-1]) | ((vm_idx[1:] == vm_idx[:-1]) & (ts_us[1:] >= ts_us[:-1])))
    )
    if not key_sorted:
        order = np.lexsort((ts_us, vm_idx))
        vm_idx, ts_us = vm_idx[order], ts_us[order]
        problems.append(Problem("rows were not in time order per VM; sorted", count=len(order)))
    else:
        order = None
    dup = np.zeros(len(ts_us), dtype=bool)
    dup[1:] = (vm_idx[1:] == vm_idx[:-1]) & (ts_us[1:] == ts_us[:-1])
    n_dup = int(dup.sum())
    keep = ~dup if n_dup else None
    if n_dup:
        problems.append(
            Problem(f"{n_dup} row(s) repeat a VM's timestamp; kept the first", count=n_dup)
        )
        vm_idx, ts_us = vm_idx[~dup], ts_us[~dup]

    # 2. grid
    step = step_s or _median_step_s(vm_idx, ts_us)
    step_us = step * 1_000_000
    start_us = int(ts_us.min())
    n_steps = int(round((int(ts_us.max()) - start_us) / step_us)) + 1
    n_vms = len(vm_ids)
    if n_vms * n_steps > MAX_GRID_CELLS:
        raise WorkloadError(
            f"{n_vms} VMs × {n_steps} steps of {step} s is too large a grid; choose a longer step"
        )

    # 3. bucket to the nearest grid point
    bucket = np.rint((ts_us - start_us) / step_us).astype(np.int64)
    flat = vm_idx.astype(np.int64) * n_steps + bucket
    del bucket
    shared_step = bool(np.any(flat[1:] == flat[:-1]))  # sorted, so collisions are adjacent
    n_cells = n_vms * n_steps
    observed = np.zeros(n_cells, dtype=bool)
    observed[flat] = True
    mean: dict[str, npt.NDArray[np.float32]] = {}
    peak: dict[str, npt.NDArray[np.float32]] = {}
    if shared_step:
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
        counts = np.diff(np.r_[starts, len(flat)])
        cells = flat[starts]
    for name in metrics:
        column = frame.get_column(name)
        frame = frame.drop(name)
        values = column.fill_null(np.nan).to_numpy()
        del column
        if order is not None:
            values = values[order]
        if keep is not None:
            values = values[keep]
        values = np.nan_to_num(values, nan=0.0)
        dense = np.zeros(n_cells, dtype=np.float32)
        if shared_step:
            sums = np.add.reduceat(values, starts)
            dense[cells] = sums / counts
            top = np.zeros(n_cells, dtype=np.float32)
            top[cells] = np.maximum.reduceat(values, starts)
            peak[name] = top.reshape(n_vms, n_steps)
        else:
            dense[flat] = values
        del values
        mean[name] = dense.reshape(n_vms, n_steps)
    del flat
    observed_2d = observed.reshape(n_vms, n_steps)
    real = observed_2d.copy()

    # 4. fill short gaps
    filled = _fill_gaps(mean, observed_2d, max_gap_steps)
    if peak:
        _fill_gaps(peak, real.copy(), max_gap_steps)
    observed_2d |= filled
    n_filled = int(filled.sum())
    if n_filled:
        problems.append(
            Problem(
                f"{n_filled} missing step(s) in gaps of at most {max_gap_steps} steps filled by "
                "linear interpolation",
                count=n_filled,
            )
        )

    # 5. inventory and quality
    inventory = conform_inventory(
        pl.DataFrame({"vm_id": vm_ids}).join(trace.inventory, on="vm_id", how="left")
    )
    steps_idx = np.arange(n_steps)
    any_real = real.any(axis=1)
    first = np.where(any_real, real.argmax(axis=1), 0)
    last = np.where(any_real, n_steps - 1 - real[:, ::-1].argmax(axis=1), -1)
    expected = np.maximum(last - first + 1, 0)
    present = real.sum(axis=1)
    suspicious, suspicious_problems = _suspicious_counts(mean, inventory)
    problems.extend(suspicious_problems)
    good = np.clip(present - suspicious, 0, None)
    vm_frac = np.where(expected > 0, good / np.maximum(expected, 1), 0.0).astype(np.float64)
    overall = float(good.sum() / expected.sum()) if expected.sum() else 0.0
    unfilled = (~observed_2d) & (steps_idx >= first[:, None]) & (steps_idx <= last[:, None])
    n_unfilled = int(unfilled.sum())
    if n_unfilled:
        problems.append(
            Problem(
                f"{n_unfilled} step(s) in {int(unfilled.any(axis=1).sum())} VM(s) lie in gaps "
                f"longer than {max_gap_steps} steps; left at 0 and marked unobserved",
                count=n_unfilled,
            )
        )
    return Workload(
        vm_ids=np.asarray(vm_ids.to_list(), dtype=np.str_),
        inventory=inventory,
        start=datetime.fromtimestamp(start_us / 1e6, tz=UTC),
        step_s=step,
        mean=mean,
        peak=peak,
        observed=observed_2d,
        quality=Quality(vm_frac, overall, tuple(problems)),
        format=trace.format,
        sources=trace.sources,
    )
