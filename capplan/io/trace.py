"""The :class:`Trace`: what every reader returns, in canonical columns."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl
from polars.io.plugins import register_io_source

from capplan.schema import (
    TIMESTAMP_DTYPE,
    USAGE_METRICS,
    USAGE_SCHEMA,
    conform_inventory,
    conform_usage,
    empty_inventory,
)
from capplan.units import US_PER_S

#: Column of a compact usage batch holding the VM: an index into :attr:`UsageBatches.vm_ids`.
BATCH_VM_COLUMN = "vm_code"
#: Column of a compact usage batch holding the time: Unix epoch seconds (UInt32, up to 2106).
BATCH_TIME_COLUMN = "t_s"


@dataclass(frozen=True)
class Problem:
    """A data-quality finding that did not stop the read.

    Attributes
    ----------
    message
        What was found and what was done about it ("4,218 duplicate rows dropped").
    path
        The file it was found in.
    line
        1-based line of the first occurrence, if known.
    column
        Column concerned, if any.
    vm_id
        VM concerned, if any.
    count
        How many rows or values it concerns.
    """

    message: str
    path: str | None = None
    line: int | None = None
    column: str | None = None
    vm_id: str | None = None
    count: int = 1

    def render(self) -> str:
        """Return a one-line human-readable form, with its location first."""
        where = self.path or ""
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.column is not None:
            where = f"{where}, column {self.column!r}" if where else f"column {self.column!r}"
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "vm_id": self.vm_id,
            "count": self.count,
        }


class UsageBatches:
    """Usage rows in compact batches: the form a reader can hand to the Workload builder.

    A whole-trace usage table in canonical form (Float64 metrics, a string ``vm_id`` per row)
    costs about three times the Workload's float32 arrays. Readers of large traces therefore
    also offer their rows as a sequence of compact polars DataFrames, each with

    - ``vm_code`` (UInt32): index into :attr:`vm_ids`;
    - ``t_s`` (UInt32): Unix epoch seconds;
    - one Float32 column per metric of :attr:`metrics` (canonical names and units), no nulls.

    Readers emit rows sorted by (``vm_code``, ``t_s``), a VM's rows all in one batch; the
    builder checks this and copes (more slowly) when it does not hold.

    Iterating yields the batches. The batches parsed while reading are handed over by the
    first pass and released as they are yielded, so a Workload can be built without a second
    copy of the rows; any later pass (a second consumer) gets them from ``reparse``.
    :meth:`usage` reads ``full`` instead when given: the same rows with Float64 metrics at the
    source's full precision (a reader typically parses its files again for it).

    Parameters
    ----------
    vm_ids
        VM id per code.
    metrics
        Canonical metric columns present in every batch.
    parsed
        Batches produced while reading, handed over on the first pass.
    reparse
        Produces the batches again (for instance by parsing the files again).
    full
        Produces the rows with Float64 metrics for :meth:`usage`; default: the batches.
    """

    def __init__(
        self,
        vm_ids: Sequence[str],
        metrics: Sequence[str],
        parsed: Iterable[pl.DataFrame],
        reparse: Callable[[], Iterator[pl.DataFrame]],
        full: Callable[[], Iterator[pl.DataFrame]] | None = None,
    ) -> None:
        unknown = sorted(set(metrics) - set(USAGE_METRICS))
        if unknown:
            raise ValueError(f"not canonical usage metrics: {unknown}")
        self.vm_ids: tuple[str, ...] = tuple(vm_ids)
        self.metrics: tuple[str, ...] = tuple(m for m in USAGE_METRICS if m in metrics)
        self._parsed: deque[pl.DataFrame] | None = deque(parsed)
        self._reparse = reparse
        self._full = full
        self._lock = threading.Lock()

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """Columns of every batch."""
        return {
            BATCH_VM_COLUMN: pl.UInt32(),
            BATCH_TIME_COLUMN: pl.UInt32(),
            **{name: pl.Float32() for name in self.metrics},
        }

    def __iter__(self) -> Iterator[pl.DataFrame]:
        """Yield the batches (see the class docstring for who holds them)."""
        with self._lock:
            handed, self._parsed = self._parsed, None
        if handed is None:
            yield from self._reparse()
            return
        while handed:
            yield handed.popleft()

    def canonical(self, batch: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """One batch in the canonical usage schema (``columns``: a subset, in that order)."""
        names = list(USAGE_SCHEMA) if columns is None else list(columns)
        exprs: dict[str, pl.Expr | pl.Series] = {
            "timestamp": (pl.col(BATCH_TIME_COLUMN).cast(pl.Int64) * int(US_PER_S))
            .cast(TIMESTAMP_DTYPE)
            .alias("timestamp"),
        }
        for name in USAGE_METRICS:
            exprs[name] = (
                pl.col(name).cast(pl.Float64) if name in self.metrics else pl.lit(None, pl.Float64)
            ).alias(name)
        if "vm_id" in names:
            ids = pl.Series("vm_id", self.vm_ids, dtype=pl.String)
            exprs["vm_id"] = ids.gather(batch.get_column(BATCH_VM_COLUMN))
        return batch.select([exprs[name] for name in names])

    def usage(self) -> pl.LazyFrame:
        """The rows as a lazy canonical usage table (:data:`capplan.schema.USAGE_SCHEMA`).

        Each collection iterates ``full`` when given, else the batches (so the first
        collection takes the parsed batches).
        """

        def source(
            with_columns: list[str] | None,
            predicate: pl.Expr | None,
            n_rows: int | None,
            _batch_size: int | None,
        ) -> Iterator[pl.DataFrame]:
            needed = list(USAGE_SCHEMA) if with_columns is None else list(with_columns)
            if predicate is not None:
                extra = set(predicate.meta.root_names()) - set(needed)
                needed += [name for name in USAGE_SCHEMA if name in extra]
            remaining = n_rows
            for batch in self if self._full is None else self._full():
                if remaining is not None and remaining <= 0:
                    return
                frame = self.canonical(batch, needed)
                if predicate is not None:
                    frame = frame.filter(predicate)
                if with_columns is not None:
                    frame = frame.select(with_columns)
                if remaining is not None:
                    frame = frame.head(remaining)
                    remaining -= frame.height
                yield frame

        return register_io_source(source, schema=dict(USAGE_SCHEMA))


@dataclass(frozen=True)
class Trace:
    """A trace in canonical form.

    Attributes
    ----------
    usage
        Lazy usage table with the columns of :data:`capplan.schema.USAGE_SCHEMA`.
    inventory
        One row per VM with the columns of :data:`capplan.schema.INVENTORY_SCHEMA`.
    format
        Name of the reader that produced it (``"bitbrains"``, ``"merged"`` ...).
    sources
        Files it was read from.
    problems
        Data-quality findings that did not stop the read.
    native_step_s
        The sampling interval the format documents, if it has one (PlanetLab: 300 s).
    batches
        The same usage rows in compact batches, when the reader offers them (large traces);
        :func:`capplan.demand.build_workload` then reads these instead of ``usage``.
    """

    usage: pl.LazyFrame
    inventory: pl.DataFrame = field(default_factory=empty_inventory)
    format: str = "canonical"
    sources: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    native_step_s: float | None = None
    batches: UsageBatches | None = None

    @classmethod
    def build(
        cls,
        usage: pl.LazyFrame | pl.DataFrame,
        inventory: pl.DataFrame | None,
        *,
        format: str,
        sources: tuple[str, ...] | list[str],
        problems: tuple[Problem, ...] | list[Problem] = (),
        native_step_s: float | None = None,
    ) -> Trace:
        """Conform ``usage`` and ``inventory`` to the canonical schemas and build a Trace."""
        lazy = usage.lazy() if isinstance(usage, pl.DataFrame) else usage
        inv = empty_inventory() if inventory is None else conform_inventory(inventory)
        return cls(
            usage=conform_usage(lazy),
            inventory=inv,
            format=format,
            sources=tuple(sources),
            problems=tuple(problems),
            native_step_s=native_step_s,
        )

    @classmethod
    def from_batches(
        cls,
        batches: UsageBatches,
        inventory: pl.DataFrame | None,
        *,
        format: str,
        sources: tuple[str, ...] | list[str],
        problems: tuple[Problem, ...] | list[Problem] = (),
        native_step_s: float | None = None,
    ) -> Trace:
        """Build a Trace whose usage is ``batches`` (``usage`` is their canonical form)."""
        inv = empty_inventory() if inventory is None else conform_inventory(inventory)
        return cls(
            usage=batches.usage(),
            inventory=inv,
            format=format,
            sources=tuple(sources),
            problems=tuple(problems),
            native_step_s=native_step_s,
            batches=batches,
        )

    @property
    def is_inventory_only(self) -> bool:
        """True when the trace carries an inventory and no usage columns at all."""
        return self.format in INVENTORY_ONLY_FORMATS


#: Formats whose readers return an inventory and no usage rows.
INVENTORY_ONLY_FORMATS: set[str] = set()
#: Formats whose ``cpu_demand_mhz`` is a utilisation share of all the VM's (or host's) CPU
#: times the ``cpu_capacity_mhz`` the reader put in its inventory (the file itself only says
#: a percentage): a better capacity merged in later rescales the demand
#: (:func:`capplan.io.api.merge_traces`).
CPU_SHARE_FORMATS: set[str] = set()
