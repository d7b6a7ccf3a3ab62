"""The storage planner's own CSV inputs and outputs.

- **Used-space history** (``--used-history``): ``vm_id,timestamp,used_gib``, one row per volume
  and observation (a datastore or array report exported over time). This is what makes the
  forecast data-driven; without it the forecast rests on an explicit growth assumption.
- **Volume attributes** (``--attributes``): ``vm_id`` plus any of ``latency_class`` (a class
  name of the storage spec, or a number of milliseconds), ``mirrored`` (true/false) and
  ``snapshot_policy`` (a policy name of the storage spec).
- **Layout** (``--current`` in, ``--out`` out): one row per volume copy with at least
  ``volume_id,pool``; ``--out`` writes further columns (vm_id, copy, tier, failure_domain,
  provisioned_gib, used_gib, forecast_used_gib), which ``--current`` ignores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.csvtools import parse_timestamps, read_csv_typed, require_finite
from capplan.units import S_PER_DAY

HISTORY_COLUMNS: Final = ("vm_id", "timestamp", "used_gib")
ATTRIBUTE_COLUMNS: Final = ("vm_id", "latency_class", "mirrored", "snapshot_policy")
LAYOUT_REQUIRED: Final = ("volume_id", "pool")
_TRUE: Final = {"true", "1", "yes", "y", "t"}
_FALSE: Final = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class UsedHistory:
    """Used capacity of volumes over time.

    Attributes
    ----------
    vm_ids
        Volume (VM) ids, shape ``(n_rows,)``.
    t_days
        Observation times, days after ``start``, shape ``(n_times,)``, increasing.
    used_gib
        Used GiB, float64 ``(n_rows, n_times)``; NaN where a volume has no observation.
    start
        UTC time of ``t_days == 0``.
    source
        The file it was read from.
    """

    vm_ids: npt.NDArray[np.str_]
    t_days: npt.NDArray[np.float64]
    used_gib: npt.NDArray[np.float64]
    start: datetime
    source: str = ""

    @property
    def span_days(self) -> float:
        """Days between the first and the last observation."""
        return float(self.t_days[-1] - self.t_days[0]) if self.t_days.size else 0.0


def _header(path: Path) -> list[str]:
    try:
        with path.open("r", encoding="utf-8") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise TraceFormatError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceFormatError(f"cannot be read: {exc}", path=path) from None
    return [cell.strip().strip('"') for cell in first.strip().split(",")]


def _check_header(
    path: Path, header: list[str], required: tuple[str, ...], allowed: tuple[str, ...] | None
) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise TraceFormatError(
            f"missing required column(s) {missing}; header is {header}", path=path, line=1
        )
    if allowed is not None:
        unknown = [c for c in header if c not in allowed]
        if unknown:
            raise TraceFormatError(
                f"unknown column(s) {unknown}; expected only {list(allowed)}", path=path, line=1
            )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise TraceFormatError(f"duplicate column(s) {dupes}", path=path, line=1)


def _require_ids(frame: pl.DataFrame, column: str, path: Path) -> None:
    empty = frame.get_column(column).is_null()
    if empty.any():
        raise TraceFormatError(
            f"{column} is empty", path=path, line=2 + int(empty.arg_max() or 0), column=column
        )


def read_used_history(path: Path) -> UsedHistory:
    """Read a used-space history CSV (``vm_id,timestamp,used_gib``).

    Raises
    ------
    TraceFormatError
        Naming the file, line and column of the first problem: missing columns, a value that
        is not a non-negative number, an unparseable timestamp, or a repeated
        (vm_id, timestamp) pair.
    """
    path = Path(path)
    header = _header(path)
    _check_header(path, header, HISTORY_COLUMNS, HISTORY_COLUMNS)
    frame = read_csv_typed(
        path.read_bytes(), label=str(path), columns=header, dtypes={"used_gib": pl.Float64()}
    )
    _require_ids(frame, "vm_id", path)
    require_finite(frame, ["used_gib"], label=str(path), first_data_line=2)
    stamps = parse_timestamps(
        frame.get_column("timestamp"), label=str(path), first_data_line=2, column="timestamp"
    )
    frame = frame.with_columns(stamps.alias("timestamp")).with_row_index("_row")
    dup = frame.select(~pl.struct("vm_id", "timestamp").is_first_distinct()).to_series()
    if dup.any():
        row = int(dup.arg_max() or 0)
        raise TraceFormatError(
            "repeats a (vm_id, timestamp) pair; expected one used_gib per volume and time",
            path=path,
            line=2 + row,
        )
    epoch_s = frame.get_column("timestamp").dt.epoch("us").to_numpy() / 1e6
    times = np.unique(epoch_s)
    ids = frame.get_column("vm_id").unique(maintain_order=True)
    row_of = {vm: i for i, vm in enumerate(ids.to_list())}
    rows = np.array([row_of[v] for v in frame.get_column("vm_id").to_list()], dtype=np.int64)
    cols = np.searchsorted(times, epoch_s)
    used = np.full((len(ids), len(times)), np.nan)
    used[rows, cols] = frame.get_column("used_gib").to_numpy()
    start = frame.get_column("timestamp").min()
    assert isinstance(start, datetime)
    return UsedHistory(
        vm_ids=np.asarray(ids.to_list(), dtype=np.str_),
        t_days=(times - times[0]) / S_PER_DAY,
        used_gib=used,
        start=start,
        source=str(path),
    )


def _parse_bool(series: pl.Series, path: Path, column: str) -> pl.Series:
    text = series.cast(pl.String).fill_null("").str.strip_chars().str.to_lowercase()
    values = text.to_list()
    for i, value in enumerate(values):
        if value not in _TRUE and value not in _FALSE:
            raise TraceFormatError(
                f"expected true or false, got {value!r}", path=path, line=2 + i, column=column
            )
    return pl.Series(column, [v in _TRUE for v in values], dtype=pl.Boolean())


def read_attributes(path: Path) -> pl.DataFrame:
    """Read a volume attributes CSV; returns the present columns of :data:`ATTRIBUTE_COLUMNS`.

    ``latency_class`` and ``snapshot_policy`` are validated against the storage spec by the
    caller (:func:`capplan.storage.volumes.build_volumes`), which reports file and line.
    """
    path = Path(path)
    header = _header(path)
    _check_header(path, header, ("vm_id",), ATTRIBUTE_COLUMNS)
    frame = read_csv_typed(path.read_bytes(), label=str(path), columns=header, dtypes={})
    _require_ids(frame, "vm_id", path)
    dup = ~frame.get_column("vm_id").is_first_distinct()
    if dup.any():
        raise TraceFormatError(
            "vm_id appears twice", path=path, line=2 + int(dup.arg_max() or 0), column="vm_id"
        )
    if "mirrored" in frame.columns:
        frame = frame.with_columns(_parse_bool(frame.get_column("mirrored"), path, "mirrored"))
    return frame


def read_layout(path: Path) -> pl.DataFrame:
    """Read a layout CSV (``volume_id,pool`` per volume copy; other columns are ignored).

    Returns
    -------
    polars.DataFrame
        Columns ``volume_id``, ``pool`` and ``line`` (1-based line in the file).
    """
    path = Path(path)
    header = _header(path)
    _check_header(path, header, LAYOUT_REQUIRED, None)
    frame = read_csv_typed(path.read_bytes(), label=str(path), columns=header, dtypes={})
    for column in LAYOUT_REQUIRED:
        _require_ids(frame, column, path)
    return frame.select(
        pl.col("volume_id"),
        pl.col("pool"),
        (pl.int_range(pl.len()) + 2).alias("line"),
    )


def write_layout(path: Path, frame: pl.DataFrame) -> Path:
    """Write a layout frame (one row per volume copy) as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
