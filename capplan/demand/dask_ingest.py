"""Read a workload spec on a Dask cluster, one part of its VMs per task.

:func:`load_workload_on_dask` runs the partitioned ingest of :mod:`capplan.demand.partitioned`
on a cluster: one task plans the parts (where the files are), one task per part reads its
files into rows that stay in that worker's memory, the client merges the parts' statistics
into the grid, one task per part (where its rows are) fills the grid, and the client stacks
the blocks as they arrive. The workers must read the trace under the paths the spec names.

:func:`load_workload_future_on_dask` does the same but leaves the workload on the cluster: the
last step (stacking the blocks, or the whole read) runs on a worker and the caller gets its
future, so a study's scenarios receive the workload from that worker, never through the
client.

Errors are those of the serial read: the first failing part's error (parts are in the order a
serial read meets their files). For PlanetLab, whose serial read checks all files phase by
phase, several failing parts make it read the trace whole to name the same file and line;
so do parts that turn out not to be independent.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from capplan.demand.build import DEFAULT_MAX_GAP_STEPS, choose_grid, resampling_problems
from capplan.demand.partitioned import (
    MIN_PART_BYTES,
    Assembler,
    IngestPlan,
    PartSummary,
    Sources,
    fill_part,
    format_and_sources,
    not_independent,
    plan_ingest,
    read_part_rows,
    reader_problems,
    rows_interleaved,
    summarize_part,
)
from capplan.demand.workload import Workload
from capplan.errors import CapplanError
from capplan.io import ReadOptions
from capplan.io.planetlab import PlanetlabFiles

#: Seconds between checks of the cancel callback while tasks run.
POLL_S = 0.5

#: ``progress(label, done_frac)``.
Progress = Callable[[str, float], None]


@dataclass
class _Waiter:
    """Submits tasks and waits for them while polling the caller's cancel check."""

    client: Any
    check_cancel: Callable[[], None]
    #: Futures still referenced by the caller (a dropped one releases its result).
    submitted: weakref.WeakValueDictionary[Any, Any] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``client.submit`` (never cached: every call runs), remembering the future."""
        future = self.client.submit(func, *args, pure=False, **kwargs)
        self.submitted[future.key] = future
        return future

    def each(self, futures: Sequence[Any]) -> Iterable[tuple[int, Any]]:
        """Yield ``(index, future)`` as futures finish (done or failed)."""
        from dask.distributed import wait

        position = {f.key: i for i, f in enumerate(futures)}
        pending = list(futures)
        while pending:
            self.check_cancel()
            try:
                finished = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in finished.done:
                yield position[future.key], future
            pending = list(finished.not_done)

    def result(self, future: Any) -> Any:
        """Wait for one future (polling the cancel check) and return its result."""
        self.finished(future)
        return future.result()

    def finished(self, future: Any) -> None:
        """Wait for one future (polling the cancel check); raise what its task raised."""
        for _ in self.each([future]):
            pass
        if future.status == "error":
            future.result()  # raises the task's exception here

    def cancel(self) -> None:
        """Cancel every submitted task that has not finished."""
        running = [f for f in list(self.submitted.values()) if not f.done()]
        if running:
            self.client.cancel(running)
        self.submitted.clear()


def default_n_parts(client: Any) -> int:
    """One part per worker thread of the cluster."""
    return max(1, sum(client.nthreads().values()))


def load_workload_on_dask(
    client: Any,
    sources: Sources,
    *,
    fmt: str | None = None,
    step_s: int | None = None,
    max_gap_steps: int = DEFAULT_MAX_GAP_STEPS,
    options: ReadOptions | None = None,
    n_parts: int | None = None,
    progress: Progress | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> Workload:
    """Read a workload spec on a Dask cluster, one part of its VMs per task.

    Parameters
    ----------
    client
        A ``dask.distributed.Client``; its workers must read the trace under the paths given.
    sources, fmt, step_s, max_gap_steps, options
        As for :func:`capplan.demand.load_workload` (``options.progress`` is not used: parts
        report through ``progress``).
    n_parts
        Number of parts; default one per worker thread, no part under :data:`MIN_PART_BYTES`.
    progress
        ``progress(label, done_frac)`` as parts are read and filled (fractions of the ingest).
    check_cancel
        Called while waiting; whatever it raises stops the ingest (running tasks are
        cancelled) and propagates.

    Returns
    -------
    Workload
        Identical to ``load_workload(sources, fmt=..., step_s=..., ...)``, on the client.

    Raises
    ------
    CapplanError
        The error the serial read raises for the same input.
    """
    future = _load(
        client, sources, fmt, step_s, max_gap_steps, options, n_parts, progress, check_cancel
    )
    workload: Workload = future.result()
    return workload


def load_workload_future_on_dask(
    client: Any,
    sources: Sources,
    *,
    fmt: str | None = None,
    step_s: int | None = None,
    max_gap_steps: int = DEFAULT_MAX_GAP_STEPS,
    options: ReadOptions | None = None,
    n_parts: int | None = None,
    progress: Progress | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> Any:
    """As :func:`load_workload_on_dask`, but the workload stays on the cluster.

    Returns
    -------
    distributed.Future
        A finished future holding the :class:`Workload` (assembled on a worker); pass it to
        ``client.submit`` and the tasks get the workload from that worker.

    Raises
    ------
    CapplanError
        The error the serial read raises for the same input (the future is never returned
        failed).
    """
    return _load(
        client, sources, fmt, step_s, max_gap_steps, options, n_parts, progress, check_cancel
    )


def _load(
    client: Any,
    sources: Sources,
    fmt: str | None,
    step_s: int | None,
    max_gap_steps: int,
    options: ReadOptions | None,
    n_parts: int | None,
    progress: Progress | None,
    check_cancel: Callable[[], None] | None,
) -> Any:
    """The ingest; returns the finished future of the workload (errors raised here)."""
    opts = dataclasses.replace(options or ReadOptions(), progress=None)
    report = progress or (lambda label, frac: None)
    waiter = _Waiter(client, check_cancel or (lambda: None))
    min_bytes = MIN_PART_BYTES if n_parts is None else 0
    wanted = default_n_parts(client) if n_parts is None else n_parts
    try:
        report("planning", 0.0)
        planned = waiter.submit(
            plan_ingest,
            sources,
            fmt=fmt,
            options=opts,
            n_parts=wanted,
            min_part_bytes=min_bytes,
        )
        plan: IngestPlan = waiter.result(planned)
        if plan.kind == "whole":
            return _load_whole(waiter, plan, step_s, max_gap_steps, opts, report)
        return _load_parts(waiter, plan, step_s, max_gap_steps, opts, report)
    except BaseException:
        waiter.cancel()
        raise


def _load_whole(
    waiter: _Waiter,
    plan: IngestPlan,
    step_s: int | None,
    max_gap_steps: int,
    opts: ReadOptions,
    report: Progress,
) -> Any:
    from capplan.demand import load_workload

    report(f"reading whole: {plan.reason}", 0.0)
    future = waiter.submit(
        load_workload,
        list(plan.sources),
        fmt=plan.fmt,
        step_s=step_s,
        max_gap_steps=max_gap_steps,
        options=opts,
    )
    waiter.finished(future)
    report("read whole", 1.0)
    return future


def _load_parts(
    waiter: _Waiter,
    plan: IngestPlan,
    step_s: int | None,
    max_gap_steps: int,
    opts: ReadOptions,
    report: Progress,
) -> Any:
    n = plan.n_parts
    parts = [waiter.submit(read_part_rows, plan, i, opts) for i in range(n)]
    summary_futures = [waiter.submit(summarize_part, part) for part in parts]
    summaries: list[PartSummary | None] = [None] * n
    errors: dict[int, BaseException] = {}
    for n_read, (index, future) in enumerate(waiter.each(summary_futures), start=1):
        try:
            summaries[index] = future.result()
        except Exception as exc:  # what the part's read raised; judged once all parts end
            errors[index] = exc
        report(f"{n_read} of {n} parts read", 0.5 * n_read / n)
    del summary_futures
    if errors:
        del parts
        return _fail(waiter, plan, errors, step_s, max_gap_steps, opts, report)
    done = [s for s in summaries if s is not None]
    stats = [s.stats for s in done]
    findings = [s.findings for s in done]
    problems = reader_problems(plan, findings, opts)
    reason = not_independent(stats)
    if reason is not None:
        del parts
        plan = dataclasses.replace(plan, reason=reason)
        return _load_whole(waiter, plan, step_s, max_gap_steps, opts, report)
    format_name, labels = format_and_sources(plan, findings)
    grid = choose_grid(stats, step_s, labels)
    blocks = [waiter.submit(fill_part, part, grid, max_gap_steps) for part in parts]
    del parts
    for n_filled, (_, future) in enumerate(waiter.each(blocks), start=1):
        waiter.finished(future)
        report(f"{n_filled} of {n} parts on the grid", 0.5 + 0.5 * n_filled / n)
    assembled = waiter.submit(
        assemble_blocks,
        stats,
        grid,
        problems,
        format_name,
        labels,
        max_gap_steps,
        rows_interleaved(plan),
        *blocks,
    )
    del blocks
    waiter.finished(assembled)
    return assembled


def assemble_blocks(
    stats: Sequence[Any],
    grid: Any,
    problems: list[Any],
    format_name: str,
    labels: Sequence[str],
    max_gap_steps: int,
    interleaved: bool,
    *blocks: Any,
) -> Workload:
    """Stack the parts' blocks into the workload (a task: it runs where the blocks are)."""
    assembler = Assembler(list(stats), grid)
    for index, block in enumerate(blocks):
        assembler.add(index, block)
    tallies = [t for t in assembler.tallies if t is not None]
    problems = [
        *problems,
        *resampling_problems(list(stats), tallies, max_gap_steps, interleaved=interleaved),
    ]
    return assembler.workload(problems, format_name, tuple(labels))


def _fail(
    waiter: _Waiter,
    plan: IngestPlan,
    errors: dict[int, BaseException],
    step_s: int | None,
    max_gap_steps: int,
    opts: ReadOptions,
    report: Progress,
) -> Any:
    """Raise what the serial read raises, given the parts that failed."""
    first = errors[min(errors)]
    if not isinstance(first, CapplanError):
        raise first
    if len(errors) > 1 and isinstance(plan.files, PlanetlabFiles):
        # the serial read checks all files phase by phase: let it name the file
        reason = f"{len(errors)} parts failed"
        plan = dataclasses.replace(plan, reason=reason)
        return _load_whole(waiter, plan, step_s, max_gap_steps, opts, report)
    raise first
