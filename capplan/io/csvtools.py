"""Typed CSV parsing with precise errors, shared by every text reader.

The fast path hands the bytes to polars with the expected dtypes. Only when polars refuses
them does the slow path run, to find the first offending line and column and say what was
expected there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from capplan.errors import TraceFormatError


def _dtype_words(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "an integer"
    if dtype.is_float():
        return "a number"
    if dtype == pl.Boolean():
        return "true or false"
    return f"a value of type {dtype}"


def _find_ragged_line(text: str, separator: str, n_fields: int, first_line: int) -> int | None:
    for offset, line in enumerate(text.splitlines()):
        if not line:
            continue
        if line.count(separator) + 1 != n_fields:
            return first_line + offset
    return None


def read_csv_typed(
    data: bytes,
    *,
    label: str,
    columns: Sequence[str],
    dtypes: Mapping[str, pl.DataType],
    separator: str = ",",
    has_header: bool = True,
    skip_lines: int = 0,
    null_values: Sequence[str] = ("",),
    quote_char: str | None = '"',
) -> pl.DataFrame:
    """Parse CSV bytes into a frame with the given column names and dtypes.

    Parameters
    ----------
    data
        The file content (already decompressed).
    label
        File name used in error messages.
    columns
        Names to give the columns, in file order (the header, if any, is skipped and replaced).
    dtypes
        Expected dtype per column name; columns not listed stay strings.
    separator
        One-character field separator.
    has_header
        Whether the first line after ``skip_lines`` is a header to skip.
    skip_lines
        Lines to skip before the header or the data.
    null_values
        Cell texts that mean "no value".

    Returns
    -------
    polars.DataFrame
        One row per data line; line ``k`` of the file is row ``k - first_data_line``.

    Raises
    ------
    TraceFormatError
        Naming the file, the first bad line and column, and what was expected there.
    """
    first_data_line = skip_lines + (2 if has_header else 1)
    if not data.strip():
        raise TraceFormatError("file is empty; expected CSV rows", path=label)
    schema = {name: dtypes.get(name, pl.String()) for name in columns}
    try:
        return pl.read_csv(
            data,
            separator=separator,
            has_header=has_header,
            skip_rows=skip_lines,
            new_columns=list(columns),
            schema_overrides=schema,
            null_values=list(null_values),
            quote_char=quote_char,
            infer_schema=False,
        )
    except (pl.exceptions.PolarsError, ValueError, OverflowError) as exc:
        _diagnose(
            data,
            label,
            columns,
            schema,
            separator,
            has_header,
            skip_lines,
            null_values,
            quote_char,
            first_data_line,
            exc,
        )
        raise AssertionError("unreachable") from exc


def _diagnose(
    data: bytes,
    label: str,
    columns: Sequence[str],
    schema: Mapping[str, pl.DataType],
    separator: str,
    has_header: bool,
    skip_lines: int,
    null_values: Sequence[str],
    quote_char: str | None,
    first_data_line: int,
    original: Exception,
) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TraceFormatError(
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8 text; expected a UTF-8 CSV file",
            path=label,
            line=line,
        ) from original
    body = "\n".join(text.splitlines()[first_data_line - 1 :])
    try:
        raw = pl.read_csv(
            data,
            separator=separator,
            has_header=has_header,
            skip_rows=skip_lines,
            new_columns=list(columns),
            infer_schema=False,
            null_values=list(null_values),
            quote_char=quote_char,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        ragged = _find_ragged_line(body, separator, len(columns), first_data_line)
        expected = f"{len(columns)} fields separated by {separator!r}"
        raise TraceFormatError(
            f"expected {expected}" + ("" if ragged else f" ({exc})"), path=label, line=ragged
        ) from original
    if raw.width != len(columns):
        raise TraceFormatError(
            f"found {raw.width} columns, expected {len(columns)} separated by {separator!r}",
            path=label,
        ) from original
    for name, dtype in schema.items():
        if dtype == pl.String():
            continue
        cast = raw.get_column(name).str.strip_chars().cast(dtype, strict=False)
        bad = raw.get_column(name).is_not_null() & cast.is_null()
        if bad.any():
            row = int(bad.arg_max() or 0)
            value = raw.get_column(name)[row]
            raise TraceFormatError(
                f"value {value!r} is not {_dtype_words(dtype)}",
                path=label,
                line=first_data_line + row,
                column=name,
            ) from original
    raise TraceFormatError(f"could not parse as CSV ({original})", path=label) from original


def first_bad_row(frame: pl.DataFrame, column: str, *, allow_negative: bool = False) -> int | None:
    """Return the index of the first row whose value is NaN, infinite or (optionally) negative."""
    series = frame.get_column(column)
    if not series.dtype.is_numeric():
        return None
    bad = ~series.is_finite() if series.dtype.is_float() else pl.Series([False] * len(series))
    if not allow_negative:
        bad = bad | (series < 0)
    bad = bad.fill_null(False)
    return int(bad.arg_max() or 0) if bad.any() else None


def require_finite(
    frame: pl.DataFrame,
    columns: Sequence[str],
    *,
    label: str,
    first_data_line: int,
    allow_negative: bool = False,
) -> None:
    """Raise a TraceFormatError at the first NaN, infinite or negative value in ``columns``."""
    for name in columns:
        row = first_bad_row(frame, name, allow_negative=allow_negative)
        if row is not None:
            value = frame.get_column(name)[row]
            expected = "a finite number" if allow_negative else "a finite, non-negative number"
            raise TraceFormatError(
                f"value {value!r} is not {expected}",
                path=label,
                line=first_data_line + row,
                column=name,
            )


def parse_timestamps(
    raw: pl.Series,
    *,
    label: str,
    first_data_line: int,
    column: str,
    fmt: str | None = None,
    time_zone: str = "UTC",
) -> pl.Series:
    """Parse timestamp text (ISO 8601 by default) into UTC datetimes, or raise at the first bad one.

    Naive timestamps are taken to be in ``time_zone``; numbers are Unix epoch seconds.
    """
    text = raw.cast(pl.String).str.strip_chars()
    numeric = text.cast(pl.Float64, strict=False)
    if numeric.is_not_null().all() and len(text) > 0:
        # Out-of-range epochs (beyond ±292,000 years in µs) become null and are reported below.
        micros = (numeric * 1_000_000).round()
        micros = micros.set(~micros.is_finite() | (micros.abs() > 9.2e18), None)
        parsed = micros.cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
    else:
        try:
            parsed = text.str.to_datetime(
                format=fmt, time_unit="us", strict=False, ambiguous="earliest"
            )
        except pl.exceptions.PolarsError:
            parsed = pl.Series(column, [None] * len(text), dtype=pl.Datetime("us"))
        if parsed.dtype == pl.Datetime("us"):
            parsed = parsed.dt.replace_time_zone(
                time_zone, ambiguous="earliest", non_existent="null"
            )
        parsed = parsed.dt.convert_time_zone("UTC")
    bad = text.is_not_null() & parsed.is_null()
    if bad.any():
        row = int(bad.arg_max() or 0)
        expected = f"a timestamp in format {fmt!r}" if fmt else "an ISO 8601 timestamp"
        raise TraceFormatError(
            f"value {text[row]!r} is not {expected}",
            path=label,
            line=first_data_line + row,
            column=column,
        )
    missing = text.is_null()
    if missing.any():
        row = int(missing.arg_max() or 0)
        raise TraceFormatError(
            "timestamp is missing", path=label, line=first_data_line + row, column=column
        )
    return parsed.alias(column)
