"""The :class:`Trace`: what every reader returns, in canonical columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from capplan.schema import conform_inventory, conform_usage, empty_inventory


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
    """

    usage: pl.LazyFrame
    inventory: pl.DataFrame = field(default_factory=empty_inventory)
    format: str = "canonical"
    sources: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    native_step_s: float | None = None

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

    @property
    def is_inventory_only(self) -> bool:
        """True when the trace carries an inventory and no usage columns at all."""
        return self.format in INVENTORY_ONLY_FORMATS


#: Formats whose readers return an inventory and no usage rows.
INVENTORY_ONLY_FORMATS: set[str] = set()
