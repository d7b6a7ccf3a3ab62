"""Workloads: dense demand arrays built from traces, and the reductions the optimizer uses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from capplan.demand.build import DEFAULT_MAX_GAP_STEPS, build_workload, inventory_workload
from capplan.demand.workload import Quality, Workload
from capplan.io import ReadOptions, read_traces


def load_workload(
    sources: str | Path | Sequence[str | Path],
    *,
    fmt: str | None = None,
    step_s: int | None = None,
    max_gap_steps: int = DEFAULT_MAX_GAP_STEPS,
    options: ReadOptions | None = None,
    inventory_only_ok: bool = False,
) -> Workload:
    """Read trace path(s) and build a Workload: what every ``--workload`` option calls.

    Parameters
    ----------
    sources
        A path, ``FORMAT:PATH``, an ingested canonical Parquet file, or several of these.
    fmt
        Reader name for all sources (default: detect each).
    step_s
        Grid step in seconds (default: the median native step).
    inventory_only_ok
        Accept an inventory without usage (an RVTools export alone): the workload then has
        one step and no metric, for allocation-based sizing (:func:`inventory_workload`).
    """
    items = [sources] if isinstance(sources, str | Path) else list(sources)
    trace = read_traces(items, fmt, options)
    if inventory_only_ok and trace.is_inventory_only:
        return inventory_workload(trace)
    return build_workload(trace, step_s=step_s, max_gap_steps=max_gap_steps)


__all__ = ["Quality", "Workload", "build_workload", "load_workload"]
