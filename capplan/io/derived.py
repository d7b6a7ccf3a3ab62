"""Last check on values a reader computed (scaled, summed): still finite and non-negative.

Source cells are validated where they are parsed, with their line and column. A value can
still overflow once scaled or summed (``1e308`` % of a host's MHz, two huge NIC counters), so
readers pass their finished tables through :func:`require_finite_derived` before building the
Trace: the error then names the metric, the VM and the time instead of letting an infinity
travel on.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from capplan.errors import TraceFormatError


def require_finite_derived(frame: pl.DataFrame, columns: Sequence[str], *, label: str) -> None:
    """Raise at the first NaN, infinite or negative value in ``columns`` of a derived table.

    Parameters
    ----------
    frame
        A usage table (``vm_id``, ``timestamp``, metrics) or an inventory (``vm_id``, ...).
    columns
        The numeric columns to check; absent ones are skipped.
    label
        File or folder named in the error.
    """
    for name in columns:
        if name not in frame.columns or not frame.schema[name].is_numeric():
            continue
        series = frame.get_column(name)
        bad = series.is_nan() | series.is_infinite() if series.dtype.is_float() else None
        bad = (series < 0) if bad is None else (bad | (series < 0))
        bad = bad.fill_null(False)
        if not bad.any():
            continue
        row = int(bad.arg_max() or 0)
        where = f"VM {frame.get_column('vm_id')[row]!r}" if "vm_id" in frame.columns else ""
        if "timestamp" in frame.columns:
            where += f" at {frame.get_column('timestamp')[row]}"
        raise TraceFormatError(
            f"{name} of {where.strip()} is {series[row]!r} after unit conversion; the source "
            "values are out of range (expected finite, non-negative figures)",
            path=label,
            column=name,
        )
