"""Reading one or several trace paths into one canonical :class:`Trace`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.registry import ReadOptions, detect_format, get_reader
from capplan.io.trace import CPU_SHARE_FORMATS, Problem, Trace
from capplan.schema import INVENTORY_SCHEMA, conform_inventory

_SPEC = re.compile(r"^(?P<fmt>[a-z][a-z0-9_\-]*):(?P<path>.+)$")


def parse_source(spec: str | Path) -> tuple[str | None, Path]:
    """Split ``FORMAT:PATH`` into its parts; a plain path gives ``(None, path)``.

    A Windows drive letter (``C:\\x``) or an existing path containing a colon is a plain path.
    """
    text = str(spec)
    match = _SPEC.match(text)
    if match and len(match["fmt"]) > 1 and not Path(text).exists():
        return match["fmt"], Path(match["path"])
    return None, Path(text)


def read_trace(
    source: str | Path, fmt: str | None = None, options: ReadOptions | None = None
) -> Trace:
    """Read one file, folder or zip into a Trace.

    Parameters
    ----------
    source
        A path, or ``FORMAT:PATH``.
    fmt
        Reader name; detected from the content when neither this nor a prefix names it.
    options
        Reader settings.
    """
    opts = options or ReadOptions()
    prefixed, path = parse_source(source)
    name = fmt or prefixed or detect_format(path, opts)
    info = get_reader(name)
    if not path.exists():
        raise TraceFormatError("no such file or folder", path=path)
    return info.read(path, opts)


def read_traces(
    sources: Sequence[str | Path], fmt: str | None = None, options: ReadOptions | None = None
) -> Trace:
    """Read several paths and merge them into one Trace.

    Usage rows are concatenated. Inventories are merged by ``vm_id``: values from
    inventory-only sources (RVTools, a canonical inventory CSV) take precedence over what a
    usage reader derived, and fill its gaps.
    """
    if not sources:
        raise TraceFormatError("no input paths given; expected at least one trace path")
    traces = [read_trace(source, fmt, options) for source in sources]
    return traces[0] if len(traces) == 1 else merge_traces(traces)


def _coalesce_inventories(primary: pl.DataFrame, secondary: pl.DataFrame) -> pl.DataFrame:
    """Per vm_id and column, the first non-null value of ``primary`` then ``secondary``."""
    stacked = pl.concat(
        [
            conform_inventory(primary).with_columns(pl.lit(0).alias("_rank")),
            conform_inventory(secondary).with_columns(pl.lit(1).alias("_rank")),
        ]
    ).sort("_rank", maintain_order=True)
    columns = [name for name in INVENTORY_SCHEMA if name != "vm_id"]
    merged = stacked.group_by("vm_id", maintain_order=True).agg(
        [pl.col(name).drop_nulls().first().alias(name) for name in columns]
    )
    return conform_inventory(merged)


def _rescale_cpu_share(
    trace: Trace, inventory: pl.DataFrame, problems: list[Problem]
) -> pl.LazyFrame:
    """The trace's usage with CPU demand rescaled to the merged inventory's CPU capacity.

    A reader of a :data:`~capplan.io.trace.CPU_SHARE_FORMATS` format computed
    ``cpu_demand_mhz = share × capacity`` with the capacity it knew (often a default). When an
    inventory merged in (RVTools ``n_vcpus × host MHz``, a canonical inventory) gives a VM
    another capacity, the same share of the new capacity is the demand:
    ``demand × new / old``. VMs without a positive old and new capacity keep their demand.
    Appends one problem naming how many VMs changed and an example.
    """
    if trace.format not in CPU_SHARE_FORMATS:
        return trace.usage
    capacities = (
        trace.inventory.select("vm_id", pl.col("cpu_capacity_mhz").alias("old_mhz"))
        .join(
            inventory.select("vm_id", pl.col("cpu_capacity_mhz").alias("new_mhz")),
            on="vm_id",
            how="inner",
        )
        .filter(
            (pl.col("old_mhz") > 0)
            & (pl.col("new_mhz") > 0)
            & (pl.col("old_mhz") != pl.col("new_mhz"))
        )
        .with_columns((pl.col("new_mhz") / pl.col("old_mhz")).alias("_cpu_factor"))
    )
    if capacities.height == 0:
        return trace.usage
    first = capacities.row(0, named=True)
    problems.append(
        Problem(
            f"cpu_demand_mhz of {capacities.height} VM(s) of the {trace.format} trace rescaled "
            "from the CPU capacity the reader assumed to the merged inventory's (the trace "
            f"gives a percentage), e.g. {first['vm_id']}: {first['old_mhz']:,.0f} → "
            f"{first['new_mhz']:,.0f} MHz",
            count=capacities.height,
        )
    )
    factors = capacities.select("vm_id", "_cpu_factor").lazy()
    return (
        trace.usage.join(factors, on="vm_id", how="left", maintain_order="left")
        .with_columns(pl.col("cpu_demand_mhz") * pl.col("_cpu_factor").fill_null(1.0))
        .drop("_cpu_factor")
    )


def merge_traces(traces: Sequence[Trace]) -> Trace:
    """Merge traces: concatenate usage, coalesce inventories (inventory-only sources first)."""
    usage_traces = [t for t in traces if not t.is_inventory_only]
    inventory_traces = [t for t in traces if t.is_inventory_only]
    inventory = conform_inventory(pl.DataFrame(schema=INVENTORY_SCHEMA))
    for trace in usage_traces:
        inventory = _coalesce_inventories(inventory, trace.inventory)
    explicit = conform_inventory(pl.DataFrame(schema=INVENTORY_SCHEMA))
    for trace in inventory_traces:
        explicit = _coalesce_inventories(explicit, trace.inventory)
    problems: list[Problem] = [p for t in traces for p in t.problems]
    if usage_traces and inventory_traces:
        known = set(inventory.get_column("vm_id").to_list())
        listed = set(explicit.get_column("vm_id").to_list())
        unmatched = len(known - listed)
        if unmatched:
            problems.append(
                Problem(
                    f"{unmatched} of {len(known)} VMs with usage have no row in the inventory; "
                    "their sizes come from the usage trace or the defaults",
                    count=unmatched,
                )
            )
        inventory = _coalesce_inventories(explicit.filter(pl.col("vm_id").is_in(known)), inventory)
    elif inventory_traces:
        inventory = explicit
    usage_frames = [
        _rescale_cpu_share(t, inventory, problems) if inventory_traces else t.usage
        for t in usage_traces
    ] or [traces[0].usage]
    formats = sorted({t.format for t in traces})
    steps = {t.native_step_s for t in usage_traces if t.native_step_s}
    return Trace(
        usage=pl.concat(usage_frames, how="vertical"),
        inventory=inventory,
        format=formats[0] if len(formats) == 1 else "+".join(formats),
        sources=tuple(s for t in traces for s in t.sources),
        problems=tuple(problems),
        native_step_s=steps.pop() if len(steps) == 1 else None,
    )
