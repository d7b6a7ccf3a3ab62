"""Partitioned ingest: plan a trace in parts of whole VMs, read each part, stack the parts.

A large trace is read part by part (on Dask workers: :mod:`capplan.demand.dask_ingest`) into
the Workload :func:`capplan.demand.load_workload` returns for the same spec, identical in every
array, the inventory, the quality figures and the problems. This module holds the pieces,
none of which needs Dask:

1. **Plan** (:func:`plan_ingest`): resolve the spec as :func:`capplan.io.read_traces` does and
   split it into parts of whole VMs, contiguous in the Workload's VM order and of about equal
   bytes (:func:`split_weights`):

   - a Bitbrains file set: ranges of the batches the serial reader parses (each batch holds
     whole VMs, batches in VM order), so each part parses, checks and reports exactly as the
     serial read does for those files;
   - a PlanetLab day folder (or folder of days): ranges of VMs (file names), the CloudSim VM
     types still taken from each VM's index among all VMs;
   - several paths (``load_workload([a.csv, b.csv, ...])``): ranges of the paths, each part
     read and merged as :func:`capplan.io.read_traces` merges them.

   Anything else (one file, an ingested Parquet file, other formats, a list holding an
   inventory-only source) is read whole.
2. **Read** (:func:`read_part_rows`, per part): the part's files become rows (step 1 of
   :mod:`capplan.demand.build`); :func:`summarize_part` gives their statistics.
3. **Grid** (:func:`capplan.demand.build.choose_grid` over every part's statistics): the step
   is the median interval between a VM's consecutive samples over *all* parts (the parts'
   interval histograms are added, so it is the serial median), the start the earliest sample
   and the end the latest of any part; a part never chooses its own grid.
4. **Fill** (:func:`fill_part`, per part): the rows go onto the grid, short gaps are filled,
   quality is rated (steps 3-5).
5. **Stack** (:class:`Assembler`): each part's block is copied into the Workload's arrays;
   :func:`reader_problems` merges the reader's problems from every part's findings, and
   :func:`capplan.demand.build.resampling_problems` sums the resampling counts.

When the parts turn out not to be independent (:func:`not_independent`: one VM in two of
several paths), the spec must be read whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.demand.build import (
    Block,
    Grid,
    Rows,
    RowStats,
    Tally,
    collect_rows,
    fill_grid,
    overall_quality,
    small_pages,
    vm_order,
)
from capplan.demand.workload import Quality, Workload
from capplan.errors import CapplanError
from capplan.io import ReadOptions, detect_format, get_reader, merge_traces, parse_source
from capplan.io.api import read_trace
from capplan.io.bitbrains import (
    BitbrainsFiles,
    bitbrains_problems,
    list_bitbrains_files,
    read_bitbrains_batches,
)
from capplan.io.planetlab import (
    PlanetlabFiles,
    list_planetlab_files,
    planetlab_problems,
    read_planetlab_vms,
)
from capplan.io.trace import Problem, Trace
from capplan.schema import USAGE_METRICS

#: With the default number of parts, no part is planned smaller than this (bytes on disk).
MIN_PART_BYTES = 1024**2
#: Bytes assumed for a file inside a zip archive (its size is not known without opening it).
_ZIP_MEMBER_BYTES = 1024**2

Sources = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class IngestPlan:
    """How a workload spec is read: in parts of whole VMs, or whole in one task.

    Attributes
    ----------
    sources
        The spec's paths (``FORMAT:PATH`` allowed), as given.
    fmt
        Reader name for all of them, or None to detect each.
    kind
        ``"bitbrains"`` or ``"planetlab"`` (one file set, parts are ranges of its batches or
        VMs), ``"sources"`` (several paths, parts are ranges of them) or ``"whole"``.
    files
        The listed file set for ``"bitbrains"`` / ``"planetlab"``; else None.
    parts
        Per part, the half-open range ``(lo, hi)`` of batches, VM codes or paths it reads.
    reason
        Why the spec is read whole (``kind == "whole"``).
    """

    sources: tuple[str | Path, ...]
    fmt: str | None
    kind: str
    files: BitbrainsFiles | PlanetlabFiles | None = None
    parts: tuple[tuple[int, int], ...] = ()
    reason: str = ""

    @property
    def n_parts(self) -> int:
        """Number of parts (1 when read whole)."""
        return max(len(self.parts), 1)


@dataclass(frozen=True)
class _SourceFindings:
    """What reading a range of several paths found: their problems, formats and files."""

    problems: tuple[Problem, ...]
    formats: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass
class PartRows:
    """One part as held on a worker between reading and filling."""

    rows: Rows
    findings: Any


@dataclass(frozen=True)
class PartSummary:
    """What the client learns of a read part: its row statistics and the reader's findings."""

    stats: RowStats
    findings: Any


# --------------------------------------------------------------------------- planning
def split_weights(
    weights: Sequence[int], n_parts: int, min_bytes: int = 0
) -> list[tuple[int, int]]:
    """Cut a sequence of units into at most ``n_parts`` contiguous ranges of about equal weight.

    Parameters
    ----------
    weights
        Bytes of each unit, shape ``(n_units,)``.
    n_parts
        Largest number of ranges.
    min_bytes
        No more ranges than the total weight holds of these.

    Returns
    -------
    list of (lo, hi)
        Half-open, non-empty, covering every unit in order.
    """
    n_units = len(weights)
    if n_units == 0:
        return []
    total = sum(weights)
    n = min(n_parts, n_units)
    if min_bytes > 0:
        n = min(n, total // min_bytes)
    n = max(n, 1)
    bounds = [0]
    done = 0
    for index, weight in enumerate(weights[:-1]):
        done += weight
        if len(bounds) < n and done * n >= len(bounds) * total:
            bounds.append(index + 1)
    bounds.append(n_units)
    return list(itertools.pairwise(bounds))


def _path_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _vm_bytes(files: PlanetlabFiles) -> tuple[list[int], int]:
    """Bytes of each VM's files (a file inside a zip counts :data:`_ZIP_MEMBER_BYTES`), and
    the bytes of the plain files together (a zip's expansion is checked when it is listed)."""
    sizes = np.zeros(len(files.vm_names), dtype=np.int64)
    plain = 0
    for member, code in zip(files.members, files.file_vm.tolist(), strict=True):
        disk = member.disk_path
        size = disk.stat().st_size if disk is not None else _ZIP_MEMBER_BYTES
        sizes[code] += size
        plain += size if disk is not None else 0
    return sizes.tolist(), plain


def plan_ingest(
    sources: Sources,
    *,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    n_parts: int = 2,
    min_part_bytes: int = 0,
) -> IngestPlan:
    """Decide how to read a workload spec: in parts of whole VMs, or whole.

    Runs where the files are (a worker). A spec that cannot be resolved (a missing path, an
    unknown format, a bad header) is planned whole, so the whole read reports the error as
    :func:`capplan.demand.load_workload` does.

    Parameters
    ----------
    sources, fmt, options
        As for :func:`capplan.demand.load_workload`.
    n_parts
        Largest number of parts.
    min_part_bytes
        Smallest part, in bytes on disk (0: no limit).
    """
    items: tuple[str | Path, ...] = (
        (sources,) if isinstance(sources, str | Path) else tuple(sources)
    )
    opts = options or ReadOptions()

    def whole(reason: str) -> IngestPlan:
        return IngestPlan(items, fmt, "whole", reason=reason)

    if n_parts < 2 or not items:
        return whole("one part")
    try:
        if len(items) > 1:
            return _plan_sources(items, fmt, opts, n_parts, min_part_bytes)
        prefixed, path = parse_source(items[0])
        name = fmt or prefixed or detect_format(path, opts)
        get_reader(name)
        if not path.exists():
            return whole(f"{path} does not exist")
        files: BitbrainsFiles | PlanetlabFiles
        if name == "bitbrains":
            files = list_bitbrains_files(path, opts)
            weights = files.batch_bytes()
        elif name == "planetlab":
            files = list_planetlab_files(path, opts)
            weights, plain_bytes = _vm_bytes(files)
            if plain_bytes > opts.max_expanded_bytes:  # the serial read refuses them together
                return whole("the files expand beyond the reader's limit")
        else:
            return whole(f"a {name} trace is read in one piece")
    except CapplanError as exc:
        return whole(f"the spec does not resolve ({exc})")
    parts = split_weights(weights, n_parts, min_part_bytes)
    if len(parts) < 2:
        return whole("too small to split")
    return IngestPlan(items, fmt, name, files, tuple(parts))


def _plan_sources(
    items: tuple[str | Path, ...],
    fmt: str | None,
    opts: ReadOptions,
    n_parts: int,
    min_part_bytes: int,
) -> IngestPlan:
    weights = []
    for item in items:
        prefixed, path = parse_source(item)
        name = fmt or prefixed or detect_format(path, opts)
        if get_reader(name).inventory_only:
            return IngestPlan(items, fmt, "whole", reason=f"{path} is an inventory")
        if not path.exists():
            return IngestPlan(items, fmt, "whole", reason=f"{path} does not exist")
        weights.append(_path_bytes(path))
    parts = split_weights(weights, n_parts, min_part_bytes)
    if len(parts) < 2:
        return IngestPlan(items, fmt, "whole", reason="too small to split")
    return IngestPlan(items, fmt, "sources", parts=tuple(parts))


# --------------------------------------------------------------------------- worker tasks
def read_part(plan: IngestPlan, index: int, options: ReadOptions) -> tuple[Trace, Any]:
    """Read part ``index`` of ``plan``: its Trace (without the reader's problems for one file
    set) and the findings the reader's problems are merged from."""
    lo, hi = plan.parts[index]
    if isinstance(plan.files, BitbrainsFiles):
        return read_bitbrains_batches(plan.files, range(lo, hi), options)
    if isinstance(plan.files, PlanetlabFiles):
        return read_planetlab_vms(plan.files, range(lo, hi), options)
    traces = [read_trace(source, plan.fmt, options) for source in plan.sources[lo:hi]]
    merged = merge_traces(traces)
    formats = tuple(t.format for t in traces)
    return merged, _SourceFindings(merged.problems, formats, merged.sources)


def read_part_rows(plan: IngestPlan, index: int, options: ReadOptions) -> PartRows:
    """Read part ``index`` into rows (step 1); a part without usage rows gives empty rows."""
    trace, findings = read_part(plan, index, options)
    return PartRows(collect_rows(trace, allow_empty=True), findings)


def summarize_part(part: PartRows) -> PartSummary:
    """What the client needs of a read part (no rows)."""
    return PartSummary(part.rows.stats(), part.findings)


def fill_part(part: PartRows, grid: Grid, max_gap_steps: int) -> Block:
    """Steps 3-5 for a read part on the shared grid (its rows are consumed)."""
    return fill_grid(part.rows, grid, max_gap_steps)


# --------------------------------------------------------------------------- client side
def reader_problems(
    plan: IngestPlan, findings: Sequence[Any], options: ReadOptions
) -> list[Problem]:
    """The reader's problems of the whole trace from every part's findings (parts in order).

    Raises
    ------
    TraceFormatError
        What the serial reader raises once every file is read (no data row in any file).
    """
    if isinstance(plan.files, BitbrainsFiles):
        return bitbrains_problems(plan.files, findings, options)
    if isinstance(plan.files, PlanetlabFiles):
        return planetlab_problems(plan.files, findings)
    return [p for f in findings for p in f.problems]


def format_and_sources(plan: IngestPlan, findings: Sequence[Any]) -> tuple[str, tuple[str, ...]]:
    """The whole trace's format name and input files, as the serial read names them."""
    if plan.files is not None:
        return plan.kind, tuple(m.label for m in plan.files.members)
    formats = sorted({name for f in findings for name in f.formats})
    name = formats[0] if len(formats) == 1 else "+".join(formats)
    return name, tuple(label for f in findings for label in f.labels)


def rows_interleaved(plan: IngestPlan) -> bool:
    """Whether a whole read meets the rows out of VM order although each part may not.

    A PlanetLab read takes the files in label order; when that is not VM order (several day
    folders), the VMs' rows interleave.
    """
    if isinstance(plan.files, PlanetlabFiles):
        return bool(np.any(np.diff(plan.files.file_vm) < 0))
    return False


def not_independent(stats: Sequence[RowStats]) -> str | None:
    """Why the parts cannot be stacked into the whole Workload, or None when they can."""
    ids = [set(s.vm_ids.to_list()) | set(s.inventory_ids.to_list()) for s in stats]
    if sum(len(i) for i in ids) != len(set().union(*ids)):
        return "a VM appears in several parts"
    order = vm_order(
        pl.concat([s.seen_ids for s in stats]), pl.concat([s.inventory_ids for s in stats])
    )
    if not order.equals(pl.concat([s.vm_ids for s in stats])):
        return "the parts' VMs are not in the whole trace's order"
    return None


class Assembler:
    """Copies each part's block into the Workload's arrays as it arrives.

    Parameters
    ----------
    stats
        Row statistics of every part, in part order (they give each part's rows).
    grid
        The grid every block is on.
    """

    def __init__(self, stats: Sequence[RowStats], grid: Grid) -> None:
        self.offsets = np.cumsum([0, *(s.n_vms for s in stats)]).tolist()
        self.grid = grid
        n_vms, n_steps = self.offsets[-1], grid.n_steps
        self.metrics = [m for m in USAGE_METRICS if any(m in s.metrics for s in stats)]
        with small_pages():
            self.mean = {m: np.zeros((n_vms, n_steps), dtype=np.float32) for m in self.metrics}
            self.observed = np.zeros((n_vms, n_steps), dtype=bool)
        self.peak: dict[str, npt.NDArray[np.float32]] = {}
        self.vm_frac = np.zeros(n_vms, dtype=np.float64)
        n_parts = len(stats)
        self.vm_ids: list[list[str]] = [[] for _ in range(n_parts)]
        self.inventories: list[pl.DataFrame | None] = [None] * n_parts
        self.tallies: list[Tally | None] = [None] * n_parts
        self._without_peak: list[int] = []

    def add(self, index: int, block: Block) -> None:
        """Place part ``index``'s block (its metrics absent from the block stay 0, as the
        whole read's missing values do)."""
        lo, hi = self.offsets[index], self.offsets[index + 1]
        if len(block.vm_ids) != hi - lo:
            raise CapplanError(f"part {index} returned {len(block.vm_ids)} VMs, expected {hi - lo}")
        for name, values in block.mean.items():
            self.mean[name][lo:hi] = values
        self.observed[lo:hi] = block.observed
        if block.peak and not self.peak:
            # a step held several samples: every VM gets a peak, its mean where it has none
            with small_pages():
                self.peak = {m: np.zeros_like(self.mean[m]) for m in self.metrics}
            for earlier in self._without_peak:
                a, b = self.offsets[earlier], self.offsets[earlier + 1]
                for name in self.metrics:
                    self.peak[name][a:b] = self.mean[name][a:b]
        if self.peak:
            for name in self.metrics:
                self.peak[name][lo:hi] = block.peak.get(name, self.mean[name][lo:hi])
        else:
            self._without_peak.append(index)
        self.vm_frac[lo:hi] = block.vm_frac
        self.vm_ids[index] = block.vm_ids.to_list()
        self.inventories[index] = block.inventory
        self.tallies[index] = block.tally

    def workload(
        self, problems: Iterable[Problem], format: str, sources: tuple[str, ...]
    ) -> Workload:
        """The Workload, once every part's block was added."""
        tallies = [t for t in self.tallies if t is not None]
        inventories = [i for i in self.inventories if i is not None]
        if len(tallies) != len(self.tallies) or len(inventories) != len(self.inventories):
            raise CapplanError("a part's block is missing; the workload is incomplete")
        return Workload(
            vm_ids=np.asarray([v for ids in self.vm_ids for v in ids], dtype=np.str_),
            inventory=pl.concat(inventories, how="vertical", rechunk=True),
            start=self.grid.start_time,
            step_s=self.grid.step_s,
            mean=self.mean,
            peak=self.peak,
            observed=self.observed,
            quality=Quality(self.vm_frac, overall_quality(tallies), tuple(problems)),
            format=format,
            sources=sources,
        )
