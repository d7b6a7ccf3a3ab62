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

The steps run as three phases: :func:`collect_rows` (step 1), :func:`choose_grid` (step 2)
and :func:`fill_grid` (steps 3-5). ``build_workload`` runs them once on the whole trace; a
partitioned ingest (:mod:`capplan.demand.partitioned`) runs steps 1 and 3-5 per part of the
VMs and step 2 once over every part's statistics, so the parts share one grid and stack into
the same Workload.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Sequence
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

    @classmethod
    def merged(cls, medians: Sequence[_Median]) -> _Median:
        """The median of the union of several sets of intervals (one set: itself)."""
        if len(medians) == 1:
            return medians[0]
        out = cls()
        for median in medians:
            out.counts += median.counts
            out.large.extend(median.large)
        return out

    def __getstate__(self) -> dict[str, npt.NDArray[np.int64]]:
        """Pickle compactly (partitions ship their intervals to the client): the histogram's
        non-zero bins, and the distinct large intervals with their counts."""
        bins = np.flatnonzero(self.counts)
        large = np.concatenate(self.large) if self.large else np.zeros(0, dtype=np.int64)
        values, counts = np.unique(large, return_counts=True)
        return {
            "bins": bins,
            "bin_counts": self.counts[bins],
            "large": values.astype(np.int64),
            "large_counts": counts.astype(np.int64),
        }

    def __setstate__(self, state: dict[str, npt.NDArray[np.int64]]) -> None:
        self.counts = np.zeros(_MEDIAN_HISTOGRAM_SIZE, dtype=np.int64)
        self.counts[state["bins"]] = state["bin_counts"]
        large = np.repeat(state["large"], state["large_counts"])
        self.large = [large] if large.size else []


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
def small_pages() -> Iterator[None]:
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


def vm_order(usage_ids: pl.Series, inventory_ids: pl.Series) -> pl.Series:
    """The inventory's order for VMs that have usage, then any others in order of appearance."""
    ordered = pl.concat([inventory_ids.filter(inventory_ids.is_in(usage_ids.implode())), usage_ids])
    return ordered.unique(maintain_order=True)


def _no_usage(trace: Trace) -> WorkloadError:
    return _no_usage_in(trace.sources)


def _no_usage_in(sources: Sequence[str]) -> WorkloadError:
    return WorkloadError(
        "the trace has no usage rows (an inventory alone cannot be replayed); "
        f"sources: {', '.join(sources) or 'none'}"
    )


def _no_metrics() -> WorkloadError:
    return WorkloadError("the trace has usage rows but no metric values at all")


def _zero_nan(values: NumArray) -> NumArray:
    """Replace NaN (a null metric value) by 0; cheap when there is none (one sum)."""
    if values.size and np.isnan(values.sum()):
        return np.nan_to_num(values, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return values


_Chunks = tuple[pl.Series, pl.Series, list[_Chunk], list[str], int]


def _empty_chunks(metrics: list[str], unit_us: int) -> _Chunks:
    empty = pl.Series("vm_id", [], dtype=pl.String)
    return empty, empty, [], metrics, unit_us


def _chunks_from_usage(trace: Trace, allow_empty: bool) -> _Chunks:
    """The canonical usage table as one chunk; time in microseconds.

    Returns the VMs in Workload order, the VMs in order of appearance, the chunks, the metrics
    and the time unit in microseconds.
    """
    frame = trace.usage.collect()
    if frame.height == 0:
        if allow_empty:
            return _empty_chunks([], 1)
        raise _no_usage(trace)
    metrics = _present_metrics(frame)
    if not metrics and not allow_empty:
        raise _no_metrics()
    seen = frame.get_column("vm_id").unique(maintain_order=True)
    vm_ids = vm_order(seen, trace.inventory.get_column("vm_id"))
    enum = pl.Enum(vm_ids.to_list())
    vm_idx = frame.get_column("vm_id").cast(enum).to_physical().to_numpy().astype(np.uint32)
    ts_us = frame.get_column("timestamp").dt.epoch("us").to_numpy()
    values: dict[str, NumArray] = {}
    for name in metrics:
        column = frame.get_column(name)
        array = (column.fill_null(np.nan) if column.null_count() else column).to_numpy()
        values[name] = array.astype(np.float32)
    return vm_ids, seen, [_Chunk(vm_idx, ts_us, values)], metrics, 1


def _chunks_from_batches(trace: Trace, batches: UsageBatches, allow_empty: bool) -> _Chunks:
    """Compact batches as chunks (VM codes remapped to the Workload's order); time in seconds."""
    metrics = list(batches.metrics)
    if not metrics:
        raise _no_metrics()
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
        if allow_empty:
            return _empty_chunks(metrics, _US_PER_S)
        raise _no_usage(trace)
    seen_codes = np.concatenate(run_codes)
    codes, first = np.unique(seen_codes, return_index=True)
    appearance = codes[np.argsort(first, kind="stable")]
    names = pl.Series("vm_id", batches.vm_ids, dtype=pl.String)
    seen = names.gather(appearance)
    vm_ids = vm_order(seen, trace.inventory.get_column("vm_id"))
    position = {name: i for i, name in enumerate(vm_ids.to_list())}
    remap = np.full(n_codes, n_codes, dtype=np.uint32)
    remap[appearance] = [position[name] for name in seen.to_list()]
    if not np.array_equal(remap[appearance], appearance):
        for chunk in chunks:
            assert chunk.vm is not None
            chunk.vm = remap[chunk.vm]
    return vm_ids, seen, chunks, metrics, _US_PER_S


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


#: Demand checked against provisioned capacity: (metric, inventory capacity column).
_SUSPICIOUS_CHECKS = (
    ("cpu_demand_mhz", "cpu_capacity_mhz"),
    ("mem_active_mib", "mem_provisioned_mib"),
)


def _suspicious_counts(
    mean: dict[str, npt.NDArray[np.float32]], inventory: pl.DataFrame
) -> tuple[npt.NDArray[np.int64], dict[str, tuple[int, int]]]:
    """Per VM, steps whose demand exceeds the provisioned capacity by the suspicious margin;
    per metric checked, the number of such steps and of VMs having one."""
    n_vms = inventory.height
    counts = np.zeros(n_vms, dtype=np.int64)
    tallies: dict[str, tuple[int, int]] = {}
    for metric, capacity_col in _SUSPICIOUS_CHECKS:
        if metric not in mean:
            continue
        capacity = inventory.get_column(capacity_col).cast(pl.Float64).to_numpy()
        limit = np.where(np.isfinite(capacity) & (capacity > 0), capacity, np.inf)
        limit = (limit * SUSPICIOUS_OVER_CAPACITY_RATIO).astype(np.float32)
        over = (mean[metric] > limit[:, None]).sum(axis=1)
        counts += over
        tallies[metric] = (int(over.sum()), int((over > 0).sum()))
    return counts, tallies


# --------------------------------------------------------------------------- phases
# build_workload runs three phases: collect_rows (step 1), choose_grid (step 2), fill_grid
# (steps 3-5). A partitioned ingest (capplan.demand.partitioned) runs collect_rows and
# fill_grid per partition of the VMs, and choose_grid once over all partitions' statistics.


@dataclass
class Rows:
    """A trace's usage rows after step 1: numpy columns in (VM, time) order, repeats dropped.

    Attributes
    ----------
    vm_ids
        The rows' VMs in Workload order (the inventory's order, then order of appearance).
    seen_ids
        The same VMs in order of first appearance in the rows.
    inventory
        The trace's inventory.
    chunks
        The rows (none when the trace had no usage rows and that was allowed).
    metrics
        Metrics with at least one value, canonical order.
    unit_us
        Time unit of the rows in microseconds (1 or 1,000,000).
    n_rows
        Rows before repeats were dropped.
    resorted
        Whether the rows were not in (VM, time) order and had to be sorted.
    n_dup
        Rows dropped because they repeat their VM's previous timestamp.
    median
        The intervals between a VM's consecutive samples (for the step).
    t_min, t_max
        First and last time, in ``unit_us``; None without rows.
    """

    vm_ids: pl.Series
    seen_ids: pl.Series
    inventory: pl.DataFrame
    chunks: list[_Chunk]
    metrics: list[str]
    unit_us: int
    n_rows: int
    resorted: bool
    n_dup: int
    median: _Median
    t_min: int | None
    t_max: int | None

    def stats(self) -> RowStats:
        """What choosing the grid and reporting problems need (small; no rows)."""
        return RowStats(
            vm_ids=self.vm_ids,
            seen_ids=self.seen_ids,
            inventory_ids=self.inventory.get_column("vm_id"),
            metrics=tuple(self.metrics),
            unit_us=self.unit_us,
            n_rows=self.n_rows,
            resorted=self.resorted,
            n_dup=self.n_dup,
            median=self.median,
            t_min=self.t_min,
            t_max=self.t_max,
        )


@dataclass(frozen=True)
class RowStats:
    """Statistics of :class:`Rows` (see there), without the rows; ``inventory_ids``: the VMs of
    the trace's inventory, in order."""

    vm_ids: pl.Series
    seen_ids: pl.Series
    inventory_ids: pl.Series
    metrics: tuple[str, ...]
    unit_us: int
    n_rows: int
    resorted: bool
    n_dup: int
    median: _Median
    t_min: int | None
    t_max: int | None

    @property
    def n_vms(self) -> int:
        """VMs with rows."""
        return len(self.vm_ids)


def collect_rows(trace: Trace, *, allow_empty: bool = False) -> Rows:
    """Step 1: a trace's rows as numpy columns, sorted by (VM, time), repeated timestamps dropped.

    Parameters
    ----------
    trace
        The trace; its compact batches are read when it has them, else its usage table.
    allow_empty
        Return empty rows (instead of raising) when the trace has no usage rows or no metric
        values: one partition of a trace may have none while the others do.

    Raises
    ------
    WorkloadError
        When the trace has no usage rows or no metric values (unless ``allow_empty``).
    """
    if trace.batches is not None:
        vm_ids, seen, chunks, metrics, unit_us = _chunks_from_batches(
            trace, trace.batches, allow_empty
        )
    else:
        vm_ids, seen, chunks, metrics, unit_us = _chunks_from_usage(trace, allow_empty)
    n_rows = sum(c.n for c in chunks)
    median = _Median()
    in_order, chunks, n_dup = _drop_repeats(chunks, median)
    resorted = not in_order
    if resorted:
        chunks = _sort_rows(chunks, metrics)
        median = _Median()
        in_order, chunks, n_more = _drop_repeats(chunks, median)
        assert in_order
        n_dup += n_more
    times = [c.t for c in chunks if c.t is not None]
    return Rows(
        vm_ids=vm_ids,
        seen_ids=seen,
        inventory=trace.inventory,
        chunks=chunks,
        metrics=metrics,
        unit_us=unit_us,
        n_rows=n_rows,
        resorted=resorted,
        n_dup=n_dup,
        median=median,
        t_min=min(int(t.min()) for t in times) if times else None,
        t_max=max(int(t.max()) for t in times) if times else None,
    )


@dataclass(frozen=True)
class Grid:
    """The regular time grid of a Workload.

    Attributes
    ----------
    start
        Time of step 0 in units of ``unit_us`` microseconds since the Unix epoch.
    unit_us
        Time unit of ``start`` and of the rows placed on the grid.
    step_s
        Seconds between steps.
    n_steps
        Number of steps.
    """

    start: int
    unit_us: int
    step_s: int
    n_steps: int

    @property
    def step_units(self) -> int:
        """The step in units of ``unit_us``."""
        return self.step_s * (_US_PER_S // self.unit_us)

    @property
    def start_time(self) -> datetime:
        """UTC time of step 0."""
        return datetime.fromtimestamp(self.start * self.unit_us / 1e6, tz=UTC)


def choose_grid(parts: Sequence[RowStats], step_s: int | None, sources: Sequence[str] = ()) -> Grid:
    """Step 2: the grid every VM of every part goes onto.

    Parameters
    ----------
    parts
        Statistics of the rows of each part (one part for a whole trace), same time unit.
    step_s
        Grid step in seconds; default: the median interval between a VM's consecutive samples
        over all parts, rounded to whole seconds.
    sources
        Input files, named when no part has a usage row.

    Raises
    ------
    WorkloadError
        When no part has rows or metric values, the step cannot be inferred, or the grid
        (all parts' VMs × steps) would be unreasonably large.
    """
    if step_s is not None and step_s <= 0:
        raise WorkloadError(f"step_s must be a positive number of seconds, got {step_s}")
    with_rows = [p for p in parts if p.t_min is not None and p.t_max is not None]
    if not with_rows:
        raise _no_usage_in(sources)
    if not any(p.metrics for p in with_rows):
        raise _no_metrics()
    units = {p.unit_us for p in with_rows}
    if len(units) != 1:
        raise WorkloadError(f"parts of one workload hold times in different units: {units} µs")
    unit_us = units.pop()
    if step_s is None:
        middle = _Median.merged([p.median for p in with_rows]).value()
        if middle is None:
            raise WorkloadError(
                "cannot infer the step: no VM has two samples at different times; pass step_s"
            )
        step_s = max(round(middle / (_US_PER_S // unit_us)), 1)
    start = min(int(p.t_min) for p in with_rows if p.t_min is not None)
    end = max(int(p.t_max) for p in with_rows if p.t_max is not None)
    grid = Grid(start, unit_us, step_s, 0)
    n_steps = round((end - start) / grid.step_units) + 1
    n_vms = sum(p.n_vms for p in parts)
    if n_vms * n_steps > MAX_GRID_CELLS:
        raise WorkloadError(
            f"{n_vms} VMs × {n_steps} steps of {step_s} s is too large a grid; choose a longer step"
        )
    return Grid(start, unit_us, step_s, n_steps)


@dataclass(frozen=True)
class Tally:
    """Counts of one part of a Workload that its problems and overall quality sum up.

    Attributes
    ----------
    n_good
        Real, non-suspicious samples between each VM's first and last sample, summed.
    n_expected
        Steps between each VM's first and last sample, summed.
    n_filled
        Steps filled by interpolation.
    over
        Per metric checked against capacity: (steps above it, VMs with such a step).
    n_unfilled, n_unfilled_vms
        Steps inside a VM's life left unobserved (gap too long), and VMs having one.
    """

    n_good: int
    n_expected: int
    n_filled: int
    over: dict[str, tuple[int, int]]
    n_unfilled: int
    n_unfilled_vms: int


@dataclass
class Block:
    """Steps 3-5 for the VMs of one part: dense arrays on the grid, inventory and quality.

    Attributes
    ----------
    vm_ids
        The part's VMs, in Workload order: row ``i`` of every array.
    inventory
        Canonical inventory, one row per VM of ``vm_ids``.
    mean, peak, observed
        As in :class:`~capplan.demand.workload.Workload`, shape ``(n_vms, n_steps)``; ``peak``
        is empty when no step of the part held more than one sample.
    vm_frac
        Quality per VM, shape ``(n_vms,)``.
    tally
        Counts for the Workload's problems and overall quality.
    """

    vm_ids: pl.Series
    inventory: pl.DataFrame
    mean: dict[str, npt.NDArray[np.float32]]
    peak: dict[str, npt.NDArray[np.float32]]
    observed: npt.NDArray[np.bool_]
    vm_frac: npt.NDArray[np.float64]
    tally: Tally


def fill_grid(rows: Rows, grid: Grid, max_gap_steps: int) -> Block:
    """Steps 3-5: place ``rows`` on ``grid``, fill short gaps, join the inventory, rate quality.

    The rows' columns are released as they are scattered (``rows.chunks`` is emptied).

    Parameters
    ----------
    rows
        The rows of a trace or of one part of it, in the grid's time unit.
    grid
        The grid (from :func:`choose_grid`).
    max_gap_steps
        Longest run of missing steps filled by linear interpolation.
    """
    if rows.chunks and rows.unit_us != grid.unit_us:
        raise WorkloadError(
            f"rows in units of {rows.unit_us} µs cannot go on a grid in units of {grid.unit_us} µs"
        )
    n_vms, n_steps = len(rows.vm_ids), grid.n_steps

    # 3. bucket to the nearest grid point, scatter
    shared = (
        _cell_index(rows.chunks, grid.start, grid.step_units, n_steps) if rows.chunks else False
    )
    with small_pages():
        mean, peak, observed_2d = _scatter(rows.chunks, rows.metrics, n_vms, n_steps, shared)
        rows.chunks = []
        real = observed_2d.copy()

        # 4. fill short gaps
        filled = _fill_gaps(mean, observed_2d, max_gap_steps)
        if peak:
            _fill_gaps(peak, real.copy(), max_gap_steps)
    observed_2d |= filled
    n_filled = int(filled.sum())
    del filled

    # 5. inventory and quality
    inventory = conform_inventory(
        pl.DataFrame({"vm_id": rows.vm_ids}).join(rows.inventory, on="vm_id", how="left")
    )
    steps_idx = np.arange(n_steps)
    any_real = real.any(axis=1)
    first = np.where(any_real, real.argmax(axis=1), 0)
    last = np.where(any_real, n_steps - 1 - real[:, ::-1].argmax(axis=1), -1)
    expected = np.maximum(last - first + 1, 0)
    present = real.sum(axis=1)
    del real
    suspicious, over = _suspicious_counts(mean, inventory)
    good = np.clip(present - suspicious, 0, None)
    vm_frac = np.where(expected > 0, good / np.maximum(expected, 1), 0.0).astype(np.float64)
    unfilled = (~observed_2d) & (steps_idx >= first[:, None]) & (steps_idx <= last[:, None])
    tally = Tally(
        n_good=int(good.sum()),
        n_expected=int(expected.sum()),
        n_filled=n_filled,
        over=over,
        n_unfilled=int(unfilled.sum()),
        n_unfilled_vms=int(unfilled.any(axis=1).sum()),
    )
    return Block(rows.vm_ids, inventory, mean, peak, observed_2d, vm_frac, tally)


def overall_quality(tallies: Sequence[Tally]) -> float:
    """Share of the expected points, over all parts, that hold a real, non-suspicious sample."""
    n_good = np.int64(sum(t.n_good for t in tallies))
    n_expected = np.int64(sum(t.n_expected for t in tallies))
    return float(n_good / n_expected) if n_expected else 0.0


def resampling_problems(
    parts: Sequence[RowStats],
    tallies: Sequence[Tally],
    max_gap_steps: int,
    *,
    interleaved: bool = False,
) -> list[Problem]:
    """The problems resampling found, over all parts, in the order the steps find them.

    Parameters
    ----------
    parts, tallies
        Per part, its row statistics and its block's counts.
    max_gap_steps
        The gap limit the blocks were filled with.
    interleaved
        The whole trace's rows were out of (VM, time) order although each part's may not be
        (parts hold rows that the trace interleaves).
    """
    problems: list[Problem] = []
    if interleaved or any(p.resorted for p in parts):
        n_rows = sum(p.n_rows for p in parts)
        problems.append(Problem("rows were not in time order per VM; sorted", count=n_rows))
    n_dup = sum(p.n_dup for p in parts)
    if n_dup:
        problems.append(
            Problem(f"{n_dup} row(s) repeat a VM's timestamp; kept the first", count=n_dup)
        )
    n_filled = sum(t.n_filled for t in tallies)
    if n_filled:
        problems.append(
            Problem(
                f"{n_filled} missing step(s) in gaps of at most {max_gap_steps} steps filled by "
                "linear interpolation",
                count=n_filled,
            )
        )
    for metric, capacity_col in _SUSPICIOUS_CHECKS:
        n_over = sum(t.over.get(metric, (0, 0))[0] for t in tallies)
        n_over_vms = sum(t.over.get(metric, (0, 0))[1] for t in tallies)
        if n_over:
            problems.append(
                Problem(
                    f"{n_over} step(s) in {n_over_vms} VM(s) have {metric} above "
                    f"{SUSPICIOUS_OVER_CAPACITY_RATIO:.0%} of {capacity_col}; "
                    "counted as suspicious",
                    column=metric,
                    count=n_over,
                )
            )
    n_unfilled = sum(t.n_unfilled for t in tallies)
    if n_unfilled:
        n_unfilled_vms = sum(t.n_unfilled_vms for t in tallies)
        problems.append(
            Problem(
                f"{n_unfilled} step(s) in {n_unfilled_vms} VM(s) lie in gaps "
                f"longer than {max_gap_steps} steps; left at 0 and marked unobserved",
                count=n_unfilled,
            )
        )
    return problems


#: Grid step of an inventory-only workload (it has one step and no usage).
INVENTORY_ONLY_STEP_S = 3600


def inventory_workload(trace: Trace) -> Workload:
    """A workload of the inventory alone: every VM, one step, no usage metric.

    This is what allocation-based sizing starts from (an RVTools export, the usual start of a
    VMware consolidation): the optimizer sizes each VM from its configured CPU and memory. It
    cannot be replayed (no demand), which the emulation and economics say if asked.
    """
    inventory = trace.inventory
    if inventory.height == 0:
        raise _no_usage(trace)
    ids = inventory.get_column("vm_id").cast(pl.String).to_list()
    n = len(ids)
    problems = (
        *trace.problems,
        Problem(
            f"no usage data: the {n} VM(s) are sized from their configured CPU and memory "
            "(allocation-based)",
            count=n,
        ),
    )
    return Workload(
        vm_ids=np.asarray(ids, dtype=np.str_),
        inventory=inventory,
        start=datetime(1970, 1, 1, tzinfo=UTC),
        step_s=INVENTORY_ONLY_STEP_S,
        mean={},
        peak={},
        observed=np.zeros((n, 1), dtype=np.bool_),
        quality=Quality(np.zeros(n), 0.0, problems),
        format=trace.format,
        sources=trace.sources,
    )


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
    rows = collect_rows(trace)
    stats = rows.stats()
    grid = choose_grid([stats], step_s, trace.sources)
    block = fill_grid(rows, grid, max_gap_steps)
    del rows
    problems = [*trace.problems, *resampling_problems([stats], [block.tally], max_gap_steps)]
    return Workload(
        vm_ids=np.asarray(block.vm_ids.to_list(), dtype=np.str_),
        inventory=block.inventory,
        start=grid.start_time,
        step_s=grid.step_s,
        mean=block.mean,
        peak=block.peak,
        observed=block.observed,
        quality=Quality(block.vm_frac, overall_quality([block.tally]), tuple(problems)),
        format=trace.format,
        sources=trace.sources,
    )
