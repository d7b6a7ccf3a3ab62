"""Helpers for readers whose input is many files parsed into one frame.

Such readers parse every file into one polars frame with a ``_file`` column (the file's index
in the member list, UInt32), rows of each file contiguous and in file order. These helpers turn
a row position back into ``file:line`` for errors and problems, and check values column-wise
without Python loops over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from capplan.errors import TraceFormatError

FILE_COLUMN = "_file"


@dataclass(frozen=True)
class RowLocator:
    """Maps a row position of a multi-file frame to ``(file label, 1-based line)``.

    Attributes
    ----------
    labels
        File label per file index.
    starts
        Row position of the first row of each file index (files with no rows hold -1).
    first_data_line
        The line of each file that holds its first data row (2 after a header line).
    """

    labels: tuple[str, ...]
    starts: np.ndarray
    first_data_line: int

    @classmethod
    def build(
        cls, file_index: pl.Series, labels: Sequence[str], first_data_line: int
    ) -> RowLocator:
        """Build from the ``_file`` column (each file's rows contiguous)."""
        starts = np.full(len(labels), -1, dtype=np.int64)
        if len(file_index):
            runs = file_index.rle()
            lengths = runs.struct.field("len").to_numpy().astype(np.int64)
            values = runs.struct.field("value").to_numpy().astype(np.int64)
            offsets = np.cumsum(lengths) - lengths
            starts[values] = offsets
        return cls(tuple(labels), starts, first_data_line)

    def locate(self, file_index: int, position: int) -> tuple[str, int]:
        """Return the file label and line of the row at ``position`` of file ``file_index``."""
        return self.labels[file_index], int(
            position - self.starts[file_index]
        ) + self.first_data_line


def first_true(mask: pl.Series) -> int | None:
    """Position of the first True in a boolean series (nulls count as False), or None."""
    positions = mask.fill_null(False).arg_true()
    return int(positions[0]) if len(positions) else None


def raise_at(
    frame: pl.DataFrame,
    mask: pl.Series,
    locator: RowLocator,
    message: str,
    column: str | None = None,
) -> None:
    """Raise a TraceFormatError at the first row where ``mask`` holds, if any."""
    row = first_true(mask)
    if row is None:
        return
    label, line = locator.locate(int(frame.get_column(FILE_COLUMN)[row]), row)
    raise TraceFormatError(message, path=label, line=line, column=column)


def check_values(
    frame: pl.DataFrame,
    columns: Sequence[str],
    locator: RowLocator,
    *,
    display: dict[str, str] | None = None,
    allow_null: bool = False,
) -> None:
    """Raise at the first missing, NaN, infinite or negative value of ``columns``.

    Parameters
    ----------
    display
        Column name to show in errors (the vendor's own header name), per internal name.
    allow_null
        Whether empty cells are allowed (they stay null).
    """
    names = display or {}
    for name in columns:
        series = frame.get_column(name)
        shown = names.get(name, name)
        if not allow_null:
            raise_at(frame, series.is_null(), locator, "value is missing; expected a number", shown)
        if series.dtype.is_float():
            bad = ~series.is_finite()
            if bad.fill_null(False).any():
                row = first_true(bad)
                assert row is not None
                raise_at(
                    frame,
                    bad,
                    locator,
                    f"value {series[row]!r} is not a finite number",
                    shown,
                )
        negative = series < 0
        if negative.fill_null(False).any():
            row = first_true(negative)
            assert row is not None
            raise_at(
                frame,
                negative,
                locator,
                f"value {series[row]!r} is negative; expected a non-negative number",
                shown,
            )
