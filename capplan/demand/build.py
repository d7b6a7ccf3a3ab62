"""Build a :class:`Workload` from a :class:`Trace`: resample onto a grid, fill short gaps, pivot.

Steps, all vectorized:

1. Sort rows by (VM, time) when they are not already; drop rows that repeat a VM's timestamp
   (kept: the first), reported as a problem.
2. Choose the step: the user's, else the median interval between a VM's consecutive samples,
   rounded to whole seconds.
3. Each sample goes to the *nearest* grid point (bucket ``round((t - start) / step)``), so
   jittered samples (299 s, 301 s) stay on their own step. Where several samples share a step
   (finer source), the step keeps their mean and, separately, their peak. Samples are taken at
   float32, the stored precision, before they are averaged (the sum runs in float64).
4. Missing steps inside a VM's life are filled by linear interpolation when the gap is at most
   ``max_gap_steps`` long; longer gaps stay 0 and unobserved (``Workload.observed``).
5. Quality per VM: share of the steps between its first and last sample that hold a real,
   non-suspicious sample.

Two inputs, one result. A trace with compact batches (:attr:`Trace.batches`, large
Bitbrains sets) is read batch by batch into compact numpy columns (VM code, time, float32
metrics); the dense arrays are then allocated one metric at a time while each batch's column
is released as soon as it has been scattered, so the peak stays near the size of the rows plus
one metric array. Any other trace goes through its canonical ``usage`` table, as one batch.
Both paths run the same steps above and give identical arrays for the same rows.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.demand.workload import Quality, Workload
from capplan.errors import WorkloadError
from capplan.io.trace import BATCH_TIME_COLUMN, BATCH_VM_COLUMN, Problem, Trace, UsageBatches
from capplan.schema import SUSPICIOUS_OVER_CAPACITY_RATIO, USAGE_METRICS, conform_inventory
from capplan.units import US_PER_S

#: Default longest gap (in steps) that is filled by interpolation: 3 steps (15 min at 300 s).
DEFAULT_MAX_GAP_STEPS = 3
#: Row blocks for the gap filler, to bound its temporaries.
_FILL_BLOCK_ROWS = 2048
#: Largest grid accepted (cells = n_vms × n_steps) before refusing with a clear message.
MAX_GRID_CELLS = 2_000_000_000
#: Intervals below this many time units are counted in a histogram for the median step.
_MEDIAN_HISTOGRAM_SIZE = 1 << 16
_US_PER_S = int(US_PER_S)
#: Rows per contiguous stretch of cells (on average) from which a chunk keeps stretches
#: instead of one cell index per row.
_RUN_MIN_ROWS = 64

IntArray = npt.NDArray[np.integer]
NumArray = npt.NDArray[np.floating]


@dataclass
class _Chunk:
    """Rows of one batch as numpy columns.

    Once the grid is known, ``vm`` and ``t`` give way to the rows' cells: ``runs`` (first
    cell, first row, row count) when the rows fill few contiguous stretches of cells (a clean
    trace: one stretch per VM or fewer), else ``flat``, one cell index per row.
    """

    vm: IntArray | None
    t: IntArray | None
    values: dict[str, NumArray]
    flat: npt.NDArray[np.int64] | None = None
    runs: list[tuple[int, int, int]] | None = None
    n: int = 0

    def __post_init__(self) -> None:
        self.n = 0 if self.vm is None else len(self.vm)

    def put(self, dense: npt.NDArray[Any], values: NumArray) -> None:
        """Write this chunk's ``values`` (one per row) into their cells of ``dense``."""
        if self.runs is None:
            dense[self.flat] = values
            return
        for cell, row, count in self.runs:
            dense[cell : cell + count] = values[row : row + count]

    def mark(self, observed: npt.NDArray[np.bool_]) -> None:
        """Set this chunk's cells of ``observed``."""
        if self.runs is None:
            observed[self.flat] = True
            return
        for cell, _, count in self.runs:
            observed[cell : cell + count] = True

    def cells(self) -> npt.NDArray[np.int64]:
        """The cell of every row."""
        if self.runs is None:
            assert self.flat is not None
            return self.flat
        out = np.empty(self.n, dtype=np.int64)
        for cell, row, count in self.runs:
            out[row : row + count] = np.arange(cell, cell + count)
        return out


@dataclass
class _Median:
    """Exact median of many non-negative integer intervals without keeping the small ones."""

    counts: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(_MEDIAN_HISTOGRAM_SIZE, dtype=np.int64)
    )
    large: list[IntArray] = field(default_factory=list)

    def add(self, deltas: IntArray) -> None:
        if not deltas.size:
            return
        small = deltas < _MEDIAN_HISTOGRAM_SIZE
        if small.all():
            self.counts += np.bincount(deltas, minlength=_MEDIAN_HISTOGRAM_SIZE)
            return
        self.counts += np.bincount(deltas[small], minlength=_MEDIAN_HISTOGRAM_SIZE)
        self.large.append(deltas[~small].astype(np.int64))

    def value(self) -> float | None:
        n_small = int(self.counts.sum())
        large = np.concatenate(self.large) if self.large else np.zeros(0, dtype=np.int64)
        n = n_small + len(large)
        if n == 0:
            return None
        cumulative = np.cumsum(self.counts)
        middle = ((n - 1) // 2, n // 2)  # the same position when n is odd
        beyond = [k - n_small for k in middle if k >= n_small]
        ordered = np.partition(large, beyond) if beyond else large

        def at(k: int) -> float:
            if k < n_small:
                return float(np.searchsorted(cumulative, k, side="right"))
            return float(ordered[k - n_small])

        return (at(middle[0]) + at(middle[1])) / 2


def _release_freed_memory() -> None:
    """Hand memory freed by numpy back to the operating system (glibc only; else nothing).

    glibc keeps freed blocks below its mmap threshold in the heap; the batches' columns,
    released while the dense arrays fill, would otherwise stay resident next to them.
    """
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


@contextmanager
def _small_pages() -> Iterator[None]:
    """Allocate without numpy's request for transparent huge pages, then restore it.

    numpy advises the kernel to back arrays of 4 MiB and more with huge pages. Where the kernel
    honours that only on request (``transparent_hugepage=madvise``, common) it may compact
    memory synchronously on the first write, which made filling the dense arrays five times
    slower than the copy itself (measured here, 2026: 0.55 s against 0.12 s for 262 MB). The
    arrays are written once and read sequentially, so ordinary pages cost nothing later.
    Honours ``NUMPY_MADVISE_HUGEPAGE`` (numpy's own switch) when it is set.
    """
    core = getattr(np, "_core", None)
    setter = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if setter is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    previous = setter(False)
    try:
        yield
    finally:
        setter(previous)


def _present_metrics(frame: pl.DataFrame) -> list[str]:
    return [name for name in USAGE_METRICS if frame.get_column(name).null_count() < frame.height]


def _vm_order(usage_ids: pl.Series, inventory: pl.DataFrame) -> pl.Series:
    """The inventory's order for VMs that have usage, then any others in order of appearance."""
    inv_ids = inventory.get_column("vm_id")
    ordered = pl.concat([inv_ids.filter(inv_ids.is_in(usage_ids.implode())), usage_ids])
    return ordered.unique(maintain_order=True)


def _no_usage(trace: Trace) -> WorkloadError:
    return WorkloadError(
        "the trace has no usage rows (an inventory alone cannot be replayed); "
        f"sources: {', '.join(trace.sources) or 'none'}"
    )


def _zero_nan(values: NumArray) -> NumArray:
    """Replace NaN (a null metric value) by 0; cheap when there is none (one sum)."""
    if values.size and np.isnan(values.sum()):
        return np.nan_to_num(values, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return values


def _chunks_from_usage(trace: Trace) -> tuple[pl.Series, list[_Chunk], list[str], int]:
    """The canonical usage table as one chunk; time in microseconds."""
    frame = trace.usage.collect()
    if frame.height == 0:
        raise _no_usage(trace)
    metrics = _present_metrics(frame)
    if not metrics:
        raise WorkloadError("the trace has usage rows but no metric values at all")
    vm_ids = _vm_order(frame.get_column("vm_id").unique(maintain_order=True), trace.inventory)
    enum = pl.Enum(vm_ids.to_list())
    vm_idx = frame.get_column("vm_id").cast(enum).to_physical().to_numpy().astype(np.uint32)
    ts_us = frame.get_column("timestamp").dt.epoch("us").to_numpy()
    values: dict[str, NumArray] = {}
    for name in metrics:
        column = frame.get_column(name)
        array = (column.fill_null(np.nan) if column.null_count() else column).to_numpy()
        values[name] = array.astype(np.float32)
    return vm_ids, [_Chunk(vm_idx, ts_us, values)], metrics, 1


def _chunks_from_batches(
    trace: Trace, batches: UsageBatches
) -> tuple[pl.Series, list[_Chunk], list[str], int]:
    """Compact batches as chunks (VM codes remapped to the Workload's order); time in seconds."""
    metrics = list(batches.metrics)
    if not metrics:
        raise WorkloadError("the trace has usage rows but no metric values at all")
    n_codes = len(batches.vm_ids)
    chunks: list[_Chunk] = []
    run_codes: list[IntArray] = []
    for frame in batches:
        if frame.height == 0:
            continue
        missing = [c for c in (BATCH_VM_COLUMN, BATCH_TIME_COLUMN, *metrics) if c not in frame]
        if missing:
            raise WorkloadError(
                f"a usage batch lacks the columns {missing}; expected {list(batches.schema)}"
            )
        if (
            frame.get_column(BATCH_VM_COLUMN).has_nulls()
            or frame.get_column(BATCH_TIME_COLUMN).has_nulls()
        ):
            raise WorkloadError("a usage batch has null VM codes or times")
        vm = frame.get_column(BATCH_VM_COLUMN).to_numpy()
        t = frame.get_column(BATCH_TIME_COLUMN).to_numpy()
        if not (np.issubdtype(vm.dtype, np.integer) and np.issubdtype(t.dtype, np.integer)):
            raise WorkloadError(
                f"a usage batch holds {vm.dtype} VM codes and {t.dtype} times; expected integers"
            )
        if int(vm.min()) < 0 or int(vm.max()) >= n_codes:
            raise WorkloadError(f"a usage batch holds VM codes outside 0..{n_codes - 1}")
        values = {name: frame.get_column(name).to_numpy() for name in metrics}
        values = {  # float32 already, from a conforming reader: no copy
            name: array.astype(np.float32, copy=False) for name, array in values.items()
        }
        del frame
        run_codes.append(vm[np.r_[0, np.flatnonzero(vm[1:] != vm[:-1]) + 1]])
        chunks.append(_Chunk(vm, t, values))
    if not chunks:
        raise _no_usage(trace)
    seen = np.concatenate(run_codes)
    codes, first = np.unique(seen, return_index=True)
    appearance = codes[np.argsort(first, kind="stable")]
    names = pl.Series("vm_id", batches.vm_ids, dtype=pl.String)
    vm_ids = _vm_order(names.gather(appearance), trace.inventory)
    position = {name: i for i, name in enumerate(vm_ids.to_list())}
    remap = np.full(n_codes, n_codes, dtype=np.uint32)
    remap[appearance] = [position[name] for name in names.gather(appearance).to_list()]
    if not np.array_equal(remap[appearance], appearance):
        for chunk in chunks:
            assert chunk.vm is not None
            chunk.vm = remap[chunk.vm]
    return vm_ids, chunks, metrics, _US_PER_S


def _sort_rows(chunks: list[_Chunk], metrics: list[str]) -> list[_Chunk]:
    """One chunk holding every row, stably sorted by (VM, time)."""
    vm = np.concatenate([c.vm for c in chunks if c.vm is not None])
    t = np.concatenate([c.t for c in chunks if c.t is not None])
    order = np.lexsort((t, vm))
    values = {}
    for name in metrics:
        values[name] = np.concatenate([c.values.pop(name) for c in chunks])[order]
    return [_Chunk(vm[order], t[order], values)]


def _drop_repeats(chunks: list[_Chunk], median: _Median) -> tuple[bool, list[_Chunk], int]:
    """One pass over rows sorted by (VM, time): drop the rows repeating their VM's previous
    timestamp (the first is kept) and feed the intervals between a VM's samples to ``median``.

    Stops as soon as rows turn out not to be in (VM, time) order. Returns whether they were,
    the chunks (none empty; the chunks checked so far have lost their repeats) and the number
    of rows dropped.
    """
    n_dup = 0
    kept: list[_Chunk] = []
    last: tuple[int, int] | None = None  # (VM, time) of the last row kept
    for index, chunk in enumerate(chunks):
        vm, t = chunk.vm, chunk.t
        assert vm is not None and t is not None
        if last is not None and (int(vm[0]), int(t[0])) < last:
            return False, kept + chunks[index:], n_dup
        if not bool((vm[1:] >= vm[:-1]).all()):
            return False, kept + chunks[index:], n_dup
        same = vm[1:] == vm[:-1]
        deltas = np.subtract(t[1:], t[:-1], dtype=np.int64)[same]
        shortest = int(deltas.min()) if deltas.size else 1
        if shortest < 0:
            return False, kept + chunks[index:], n_dup
        head_repeats = last is not None and (int(vm[0]), int(t[0])) == last
        if head_repeats or shortest == 0:
            dup = np.zeros(len(t), dtype=bool)
            dup[1:] = same & (t[1:] == t[:-1])
            dup[0] = head_repeats
            keep = ~dup
            n_dup += len(t) - int(keep.sum())
            vm, t = vm[keep], t[keep]
            chunk.vm, chunk.t, chunk.n = vm, t, len(vm)
            chunk.values = {name: array[keep] for name, array in chunk.values.items()}
            if not chunk.n:
                continue
            deltas = np.subtract(t[1:], t[:-1], dtype=np.int64)[vm[1:] == vm[:-1]]
        if last is not None and int(vm[0]) == last[0]:
            median.add(np.asarray([int(t[0]) - last[1]], dtype=np.int64))
        median.add(deltas)
        last = (int(vm[-1]), int(t[-1]))
        kept.append(chunk)
    return True, kept, n_dup


def _cell_index(chunks: list[_Chunk], start: int, step_units: int, n_steps: int) -> bool:
    """Replace each chunk's (VM, time) by the cells its rows go to (nearest grid point).

    Returns whether some cell receives more than one row (rows are sorted, so such rows are
    adjacent, possibly across two chunks).
    """
    shared = False
    previous = -1
    for chunk in chunks:
        assert chunk.vm is not None and chunk.t is not None
        # float64 holds these integers exactly (< 2**53): the same quotient as in integers
        cell = np.subtract(chunk.t, start, dtype=np.float64)
        cell /= step_units
        np.rint(cell, out=cell)
        cell += chunk.vm * float(n_steps)
        flat = cell.astype(np.int64)
        del cell
        chunk.vm = chunk.t = None
        firsts = np.flatnonzero(np.diff(flat) != 1) + 1
        shared = (
            shared or int(flat[0]) == previous or bool((flat[firsts] == flat[firsts - 1]).any())
        )
        previous = int(flat[-1])
        if (len(firsts) + 1) * _RUN_MIN_ROWS <= len(flat):
            rows = np.r_[0, firsts]
            counts = np.diff(np.r_[rows, len(flat)])
            chunk.runs = list(zip(flat[rows].tolist(), rows.tolist(), counts.tolist(), strict=True))
        else:
            chunk.flat = flat
    return shared


def _scatter(
    chunks: list[_Chunk], metrics: list[str], n_vms: int, n_steps: int, shared: bool
) -> tuple[
    dict[str, npt.NDArray[np.float32]], dict[str, npt.NDArray[np.float32]], npt.NDArray[np.bool_]
]:
    """Dense mean (and peak where steps are shared) per metric, and the observed mask.

    Each chunk's metric column is released once scattered, so only one dense array is
    allocated beyond what the chunks still hold.
    """
    n_cells = n_vms * n_steps
    observed = np.zeros(n_cells, dtype=bool)
    mean: dict[str, npt.NDArray[np.float32]] = {}
    peak: dict[str, npt.NDArray[np.float32]] = {}
    if not shared:
        for chunk in chunks:
            chunk.mark(observed)
        for name in metrics:
            dense = np.zeros(n_cells, dtype=np.float32)
            for chunk in chunks:
                chunk.put(dense, _zero_nan(chunk.values.pop(name)))
            mean[name] = dense.reshape(n_vms, n_steps)
            _release_freed_memory()
        return mean, peak, observed.reshape(n_vms, n_steps)
    flat = np.concatenate([c.cells() for c in chunks])
    for chunk in chunks:
        chunk.flat = chunk.runs = None
    observed[flat] = True
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    counts = np.diff(np.r_[starts, len(flat)])
    cells = flat[starts]
    del flat
    for name in metrics:
        values = np.concatenate([_zero_nan(c.values.pop(name)) for c in chunks])
        dense = np.zeros(n_cells, dtype=np.float32)
        dense[cells] = np.add.reduceat(values, starts, dtype=np.float64) / counts
        top = np.zeros(n_cells, dtype=np.float32)
        top[cells] = np.maximum.reduceat(values, starts)
        mean[name] = dense.reshape(n_vms, n_steps)
        peak[name] = top.reshape(n_vms, n_steps)
    return mean, peak, observed.reshape(n_vms, n_steps)


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
                    f"{SUSPICIOUS_OVER_CAPACITY_RATIO:.0%} of {capacity_col}; "
                    "counted as suspicious",
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
        A canonical trace (from :func:`capplan.io.read_traces`). When it carries compact
        batches (:attr:`Trace.batches`) they are read instead of its ``usage`` table.
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
    if trace.batches is not None:
        vm_ids, chunks, metrics, unit_us = _chunks_from_batches(trace, trace.batches)
    else:
        vm_ids, chunks, metrics, unit_us = _chunks_from_usage(trace)
    units_per_s = _US_PER_S // unit_us
    problems = list(trace.problems)

    # 1. order and duplicates
    n_rows = sum(c.n for c in chunks)
    median = _Median()
    in_order, chunks, n_dup = _drop_repeats(chunks, median)
    if not in_order:
        chunks = _sort_rows(chunks, metrics)
        problems.append(Problem("rows were not in time order per VM; sorted", count=n_rows))
        median = _Median()
        in_order, chunks, n_more = _drop_repeats(chunks, median)
        assert in_order
        n_dup += n_more
    if n_dup:
        problems.append(
            Problem(f"{n_dup} row(s) repeat a VM's timestamp; kept the first", count=n_dup)
        )

    # 2. grid
    if step_s is None:
        middle = median.value()
        if middle is None:
            raise WorkloadError(
                "cannot infer the step: no VM has two samples at different times; pass step_s"
            )
        step_s = max(round(middle / units_per_s), 1)
    step_units = step_s * units_per_s
    start = min(int(c.t.min()) for c in chunks if c.t is not None)
    end = max(int(c.t.max()) for c in chunks if c.t is not None)
    n_steps = round((end - start) / step_units) + 1
    n_vms = len(vm_ids)
    if n_vms * n_steps > MAX_GRID_CELLS:
        raise WorkloadError(
            f"{n_vms} VMs × {n_steps} steps of {step_s} s is too large a grid; choose a longer step"
        )

    # 3. bucket to the nearest grid point, scatter
    shared = _cell_index(chunks, start, step_units, n_steps)
    with _small_pages():
        mean, peak, observed_2d = _scatter(chunks, metrics, n_vms, n_steps, shared)
        del chunks
        real = observed_2d.copy()

        # 4. fill short gaps
        filled = _fill_gaps(mean, observed_2d, max_gap_steps)
        if peak:
            _fill_gaps(peak, real.copy(), max_gap_steps)
    observed_2d |= filled
    n_filled = int(filled.sum())
    del filled
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
    del real
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
    start_us = start * unit_us
    return Workload(
        vm_ids=np.asarray(vm_ids.to_list(), dtype=np.str_),
        inventory=inventory,
        start=datetime.fromtimestamp(start_us / 1e6, tz=UTC),
        step_s=step_s,
        mean=mean,
        peak=peak,
        observed=observed_2d,
        quality=Quality(vm_frac, overall, tuple(problems)),
        format=trace.format,
        sources=trace.sources,
    )
