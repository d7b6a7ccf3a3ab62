r"""PDH-CSV 4.0, the CSV layout of Windows Performance Monitor and of esxtop batch mode.

Shared by the ``perfmon`` and ``esxtop`` readers. The layout, as written by typeperf, relog,
Data Collector Sets and ``esxtop -b``:

- Line 1, cell 1 is ``(PDH-CSV 4.0) (<time-zone name>)(<bias minutes>)``; every other cell is
  a counter path ``\\HOST\Object(instance)\Counter`` (the instance part is optional).
- Data lines: cell 1 is the local time ``MM/DD/YYYY HH:MM:SS.mmm`` (esxtop writes no
  milliseconds; files re-saved by a spreadsheet may lack the seconds), the other cells are
  decimal numbers. A single space ``" "`` (or an empty cell) means "no value".
- The bias follows the Windows ``TIME_ZONE_INFORMATION`` convention: *UTC = local time +
  bias*, in minutes (India Standard Time is -330, Eastern Daylight Time 240). It is the bias at
  the start of the log; a daylight-saving change inside one log is not visible in the file.

Decoding: UTF-8 (with or without BOM) or UTF-16 with BOM first. Older Windows tools write the
ANSI code page instead; for those the reader picks Windows-1251 (Cyrillic) or Windows-1252
(Western) by looking at how the bytes above 0xC0 cluster (Cyrillic words are runs of such
bytes, Western text has isolated accented letters), and reports the choice as a problem.
``ReadOptions.extra['encoding']`` forces an encoding.

Timestamps that lost precision (minute precision in re-saved esxtop files, so several rows
share one time) are spread evenly across the lost unit in file order and reported; see
:func:`_spread_duplicates`.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.files import Member
from capplan.io.hostinfo import checked_timezone
from capplan.io.registry import ReadOptions
from capplan.io.trace import Problem

PDH_MARK = "(PDH-CSV 4.0)"
#: Performance objects only esxtop writes (Windows names its disk object "PhysicalDisk").
ESXTOP_OBJECTS: frozenset[str] = frozenset(
    {
        "Group Cpu",
        "Group Memory",
        "Physical Cpu",
        "Physical Cpu Load",
        "Vcpu",
        "Network Port",
        "Virtual Disk",
        "Physical Disk",
        "Physical Disk Adapter",
        "Physical Disk SCSI Device",
        "Physical Disk NFS Volume",
        "Physical Disk Path",
        "Physical Disk Per-Device-Path",
        "Physical Disk Partition",
        "Power",
        "Interrupt Cookie",
        "Interrupt Vector",
    }
)
_HEADER_CELL = re.compile(r"^\(PDH-CSV 4\.0\)\s*\((?P<zone>.*)\)\s*\((?P<bias>[+-]?\d+)\)\s*$")
#: Windows time-zone biases lie within ±14 h; anything beyond is a damaged header.
MAX_BIAS_MIN = 24 * 60
#: Local time layouts tried in order; the first that reads every row wins.
TIME_FORMATS: tuple[tuple[str, float], ...] = (
    ("%m/%d/%Y %H:%M:%S%.f", 0.0),
    ("%m/%d/%Y %H:%M", 60.0),
)
_NULLS = (" ", "")
ENCODING_KEY = "encoding"


@dataclass(frozen=True)
class Counter:
    r"""One counter column of a PDH-CSV file.

    Attributes
    ----------
    index
        0-based column index in the file (the timestamp is column 0).
    path
        The header cell as written: ``\\HOST\Object(instance)\Counter``.
    host
        Computer name.
    object
        Performance object (``Processor``, ``Group Cpu``).
    instance
        Instance inside the parentheses, or None.
    name
        Counter name (``% Processor Time``).
    """

    index: int
    path: str
    host: str
    object: str
    instance: str | None
    name: str

    @property
    def family(self) -> str:
        """``Object\\Counter`` without host and instance, for summaries."""
        return f"{self.object}\\{self.name}"


def parse_counter(index: int, text: str) -> Counter | None:
    r"""Split a counter path ``\\HOST\Object(instance)\Counter``; None when it is not one."""
    if not text.startswith("\\\\"):
        return None
    host, sep, tail = text[2:].partition("\\")
    if not sep or not host:
        return None
    head, sep, name = tail.rpartition("\\")
    if not sep or not head or not name:
        return None
    instance: str | None = None
    obj = head
    if head.endswith(")") and "(" in head:
        cut = head.index("(")
        obj, instance = head[:cut], head[cut + 1 : -1]
    if not obj:
        return None
    return Counter(index, text, host, obj.strip(), instance, name.strip())


def summarize_families(counters: Sequence[Counter], limit: int = 8) -> str:
    """``Object\\Counter (n instances), ...`` for the most common families, for messages."""
    counts: dict[str, int] = {}
    for counter in counters:
        counts[counter.family] = counts.get(counter.family, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"\\{family} ({n}×)" if n > 1 else f"\\{family}" for family, n in ranked[:limit]]
    if len(ranked) > limit:
        parts.append(f"… {len(ranked) - limit} more")
    return ", ".join(parts)


def looks_like_pdh(head: bytes) -> bool:
    """True when the first bytes of a file start a PDH-CSV header."""
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            encoding = "utf-8-sig" if bom == codecs.BOM_UTF8 else "utf-16"
            text = head[:400].decode(encoding, errors="ignore")
            break
    else:
        text = head[:200].decode("latin-1")
    return text.lstrip('"').startswith(PDH_MARK)


def header_counters(head: bytes) -> list[Counter]:
    """Counters found in the (possibly truncated) first line, for format detection."""
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="replace")
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    cells = next(csv.reader([first]), [])
    parsed = (parse_counter(i, cell) for i, cell in enumerate(cells))
    return [counter for counter in parsed if counter is not None]


def _single_byte_guess(data: bytes) -> tuple[str, str]:
    array = np.frombuffer(data, dtype=np.uint8)
    high = array >= 0xC0
    n_high = int(high.sum())
    if n_high == 0:
        return "cp1252", "cp1251"
    clustered = int((high[1:] & high[:-1]).sum())
    if clustered / n_high > 0.3:
        return "cp1251", "cp1252"
    return "cp1252", "cp1251"


def decode_pdh(data: bytes, label: str, options: ReadOptions) -> tuple[str, str]:
    """Decode a PDH-CSV file; return the text and the encoding used (see module docstring)."""
    forced = options.extra.get(ENCODING_KEY)
    if forced is not None:
        try:
            return data.decode(str(forced)), str(forced)
        except (UnicodeDecodeError, LookupError) as exc:
            raise TraceFormatError(
                f"cannot decode as {forced!r} (ReadOptions.extra['encoding']): {exc}", path=label
            ) from exc
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
        except UnicodeDecodeError as exc:
            raise TraceFormatError(f"not valid UTF-16 text ({exc})", path=label) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _single_byte_guess(data):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    error = None
    try:
        data.decode("cp1251")
    except UnicodeDecodeError as exc:
        error = exc
    offset = error.start if error is not None else 0
    raise TraceFormatError(
        f"byte 0x{data[offset]:02x} at offset {offset} is not valid UTF-8, Windows-1252 or "
        "Windows-1251 text; expected a PDH-CSV text file",
        path=label,
        line=data.count(b"\n", 0, offset) + 1,
    )


@dataclass
class PdhTable:
    """One PDH-CSV file, read.

    Attributes
    ----------
    label
        File name for messages.
    zone_name, bias_min
        From the header cell; None when the header does not carry them.
    counters
        Every counter column of the header.
    selected
        The counters whose values were parsed.
    frame
        ``timestamp`` (UTC) and one Float64 column ``c<index>`` per selected counter, sorted
        by time, shape ``(n_rows, 1 + len(selected))``.
    problems
        What was found and done (encoding, zone, order, repeated timestamps).
    precision_s
        The unit the file's timestamps were rounded to (0: sub-second), seconds.
    """

    label: str
    zone_name: str | None
    bias_min: int | None
    counters: list[Counter]
    selected: list[Counter]
    frame: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    precision_s: float = 0.0

    def column(self, counter: Counter) -> str:
        """Column name of a selected counter in :attr:`frame`."""
        return f"c{counter.index}"


def _data_lines(text: str) -> tuple[str, list[tuple[int, str]]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].strip():
        return "", []
    rows = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    return lines[0], rows[1:] if rows and rows[0][0] == 1 else rows


def _check_widths(rows: list[tuple[int, str]], n_fields: int, label: str) -> None:
    texts = pl.Series("line", [line for _, line in rows], dtype=pl.String)
    widths = texts.str.count_matches(",", literal=True) + 1
    if (widths == n_fields).all():
        return
    # Commas inside quoted cells are no separators: recount the quote-aware way.
    widths = texts.str.replace_all(r'"[^"]*"', "").str.count_matches(",", literal=True) + 1
    bad = widths != n_fields
    if bad.any():
        row = int(bad.arg_max() or 0)
        raise TraceFormatError(
            f"found {widths[row]} fields, expected {n_fields} (one per header cell) separated "
            "by ','",
            path=label,
            line=rows[row][0],
        )


def _first_flag(flags: pl.DataFrame) -> tuple[int, int] | None:
    """(row, column index) of the first True cell, scanning rows first; None when all False."""
    if flags.width == 0:
        return None
    rows = flags.select(pl.any_horizontal(pl.all()).alias("any")).to_series()
    if not rows.any():
        return None
    row = int(rows.arg_max() or 0)
    return row, flags.row(row).index(True)


def _parse_values(
    raw: pl.DataFrame, selected: Sequence[Counter], line_numbers: np.ndarray, label: str
) -> pl.DataFrame:
    """Parse the selected counter columns (strings ``c<index>``) to Float64, all at once.

    The fast path is one strict cast of every column. Only when it fails (a bad cell, a
    decimal comma, padded blanks) does the slow path strip, map ``,`` to ``.`` and locate the
    first cell (by line, then column) that is not a number. Either way the first NaN, infinite
    or negative value is then reported with its line and counter path.
    """
    names = [f"c{counter.index}" for counter in selected]
    if not names:
        return pl.DataFrame()
    try:
        values = raw.select(pl.col(n).cast(pl.Float64, strict=True) for n in names)
    except pl.exceptions.PolarsError:
        values = _parse_values_slowly(raw, selected, names, line_numbers, label)
    finite = values.select(pl.all().is_finite().all()).row(0)
    minimum = values.select(pl.all().min()).row(0)
    if all(f is not False for f in finite) and all(m is None or m >= 0 for m in minimum):
        return values
    invalid = values.select(
        (~pl.col(n).is_finite() | (pl.col(n) < 0)).fill_null(False).alias(n) for n in names
    )
    found = _first_flag(invalid)
    assert found is not None
    row, col = found
    raise TraceFormatError(
        f"value {raw.item(row, names[col])!r} is not a finite, non-negative number",
        path=label,
        line=int(line_numbers[row]),
        column=selected[col].path,
    )


def _parse_values_slowly(
    raw: pl.DataFrame,
    selected: Sequence[Counter],
    names: list[str],
    line_numbers: np.ndarray,
    label: str,
) -> pl.DataFrame:
    stripped = [pl.col(n).str.strip_chars() for n in names]
    text = raw.select(
        pl.when(s == "").then(None).otherwise(s).alias(n)
        for s, n in zip(stripped, names, strict=True)
    )
    values = text.select(
        pl.col(n).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False) for n in names
    )
    both = pl.concat([text.rename(lambda n: f"t{n}"), values], how="horizontal")
    not_number = both.select(
        (pl.col(f"t{n}").is_not_null() & pl.col(n).is_null()).alias(n) for n in names
    )
    found = _first_flag(not_number)
    if found is not None:
        row, col = found
        raise TraceFormatError(
            f"value {text.item(row, col)!r} is not a number",
            path=label,
            line=int(line_numbers[row]),
            column=selected[col].path,
        )
    return values


def _parse_times(raw: pl.Series, line_numbers: np.ndarray, label: str) -> tuple[pl.Series, float]:
    text = raw.str.strip_chars()
    missing = text.is_null() | (text == "")
    if missing.any():
        row = int(missing.arg_max() or 0)
        raise TraceFormatError(
            "timestamp is missing", path=label, line=int(line_numbers[row]), column=1
        )
    best_row = -1
    for fmt, precision in TIME_FORMATS:
        parsed = text.str.to_datetime(fmt, time_unit="us", strict=False)
        bad = parsed.is_null()
        if not bad.any():
            if precision == 0.0 and not text.str.contains(r":\d{2}\.\d").any():
                precision = 1.0
            return parsed, precision
        best_row = max(best_row, int(bad.arg_max() or 0))
    row = max(best_row, 0)
    raise TraceFormatError(
        f"value {text[row]!r} is not a local time like 'MM/DD/YYYY HH:MM:SS.mmm'",
        path=label,
        line=int(line_numbers[row]),
        column=1,
    )


def _spread_duplicates(
    frame: pl.DataFrame, precision_s: float, label: str, problems: list[Problem]
) -> pl.DataFrame:
    """Order rows by time; spread timestamps that repeat because the file rounded them.

    Rows are sorted stably (file order kept among equal times). When ``precision_s`` > 0 the
    file rounded its times down to that unit (``22:42`` for anything in 22:42:00–22:42:59), so
    the ``n`` rows sharing one time get ``t + k · precision_s / n`` for ``k = 0..n-1``: every
    sample is kept, in order, inside the interval it was really taken in, at the cost of a
    position error below ``precision_s``. With sub-second times a repeat is a real duplicate;
    it is kept and reported, and the Workload builder keeps the first.
    """
    ts = frame.get_column("timestamp")
    backwards = int((ts.cast(pl.Int64).diff().fill_null(0) < 0).sum())
    if backwards:
        frame = frame.sort("timestamp", maintain_order=True)
        problems.append(
            Problem(
                f"{backwards} row(s) went back in time; rows sorted by timestamp",
                path=label,
                count=backwards,
            )
        )
    ts = frame.get_column("timestamp")
    repeated = ts.is_duplicated()
    n_repeated = int(repeated.sum())
    if not n_repeated:
        return frame
    n_times = ts.n_unique()
    if precision_s > 0:
        us = precision_s * 1_000_000
        rank = pl.int_range(pl.len()).over("timestamp")
        size = pl.len().over("timestamp")
        offset = (rank.cast(pl.Float64) * us / size.cast(pl.Float64)).round().cast(pl.Int64)
        frame = frame.with_columns(
            (pl.col("timestamp").cast(pl.Int64) + offset)
            .cast(pl.Datetime("us", "UTC"))
            .alias("timestamp")
        )
        problems.append(
            Problem(
                f"{n_repeated} rows share {ts.filter(repeated).n_unique()} timestamps "
                f"({n_times} distinct for {frame.height} rows): the file keeps times to "
                f"{precision_s:g} s only; rows sharing a time were spread evenly across that "
                f"{precision_s:g} s in file order",
                path=label,
                column="timestamp",
                count=n_repeated,
            )
        )
    else:
        problems.append(
            Problem(
                f"{n_repeated} rows repeat a timestamp of another row; kept as they are "
                "(the Workload builder keeps the first of each)",
                path=label,
                column="timestamp",
                count=n_repeated,
            )
        )
    return frame


def read_pdh(member: Member, options: ReadOptions, select: Callable[[Counter], bool]) -> PdhTable:
    """Read one PDH-CSV file, parsing the values of the counters ``select`` accepts.

    Raises
    ------
    TraceFormatError
        Naming the file, line and counter of the first malformed cell: a header that is not
        PDH-CSV, a line with the wrong number of fields, a value that is not a finite,
        non-negative number, a timestamp that is not ``MM/DD/YYYY HH:MM:SS[.mmm]``.
    """
    label = member.label
    data = member.read_bytes(options.max_expanded_bytes)
    if not data.strip():
        raise TraceFormatError("file is empty; expected a PDH-CSV header line", path=label)
    text, encoding = decode_pdh(data, label, options)
    problems: list[Problem] = []
    if encoding not in ("utf-8", "utf-16") and ENCODING_KEY not in options.extra:
        problems.append(
            Problem(
                f"not UTF-8 text: decoded as {encoding} (Windows ANSI code page); set "
                "ReadOptions.extra['encoding'] if the counter names look garbled",
                path=label,
            )
        )
    header_line, rows = _data_lines(text)
    cells = next(csv.reader([header_line]), []) if header_line else []
    if not cells or not cells[0].strip().startswith(PDH_MARK):
        shown = cells[0][:60] if cells else ""
        raise TraceFormatError(
            f"first cell is {shown!r}; expected '(PDH-CSV 4.0) (<zone name>)(<bias minutes>)'",
            path=label,
            line=1,
            column=1,
        )
    match = _HEADER_CELL.match(cells[0].strip())
    zone_name = match["zone"].strip() if match else None
    bias_min = int(match["bias"]) if match else None
    if bias_min is not None and abs(bias_min) > MAX_BIAS_MIN:
        raise TraceFormatError(
            f"UTC bias {match['bias'] if match else ''} minutes is out of range; expected a "
            f"Windows time-zone bias within ±{MAX_BIAS_MIN} minutes",
            path=label,
            line=1,
            column=1,
        )
    counters = [c for c in (parse_counter(i, cell) for i, cell in enumerate(cells)) if c]
    not_counters = len(cells) - 1 - len(counters)
    if not_counters:
        problems.append(
            Problem(
                f"{not_counters} header cell(s) are not counter paths '\\\\HOST\\Object\\Counter'"
                "; their columns are ignored",
                path=label,
                line=1,
                count=not_counters,
            )
        )
    if not rows:
        raise TraceFormatError("no data rows after the header", path=label, line=2)
    _check_widths(rows, len(cells), label)
    selected = [counter for counter in counters if select(counter)]
    line_numbers = np.fromiter((number for number, _ in rows), dtype=np.int64, count=len(rows))
    body = "\n".join(line for _, line in rows).encode("utf-8")
    projection = [0, *(counter.index for counter in selected)]
    try:
        raw = pl.read_csv(
            body,
            has_header=False,
            columns=projection,
            infer_schema=False,
            null_values=list(_NULLS),
            quote_char='"',
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise TraceFormatError(f"could not parse as CSV ({exc})", path=label) from exc
    if raw.height != len(rows) or raw.width != len(projection):
        raise TraceFormatError(
            f"parsed {raw.height} rows × {raw.width} columns, expected {len(rows)} × "
            f"{len(projection)}; a quoted cell may span lines",
            path=label,
        )
    raw.columns = ["time", *(f"c{counter.index}" for counter in selected)]
    local, precision = _parse_times(raw.get_column("time"), line_numbers, label)
    if bias_min is not None:
        timestamps = local.dt.replace_time_zone("UTC") + timedelta(minutes=bias_min)
    else:
        zone = checked_timezone(options)
        timestamps = local.dt.replace_time_zone(
            zone, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
        problems.append(
            Problem(
                f"header cell 1 {cells[0]!r} carries no UTC bias '(<minutes>)'; local times "
                f"taken as {zone} (ReadOptions.local_timezone)",
                path=label,
                line=1,
            )
        )
        gap = timestamps.is_null()
        if gap.any():
            row = int(gap.arg_max() or 0)
            raise TraceFormatError(
                f"local time {raw.get_column('time')[row]!r} does not exist in {zone} "
                "(daylight-saving gap)",
                path=label,
                line=int(line_numbers[row]),
                column=1,
            )
    values = _parse_values(raw, selected, line_numbers, label)
    stamps = pl.DataFrame([timestamps.cast(pl.Datetime("us", "UTC")).alias("timestamp")])
    frame = pl.concat([stamps, values], how="horizontal") if values.width else stamps
    frame = _spread_duplicates(frame, precision, label, problems)
    return PdhTable(label, zone_name, bias_min, counters, selected, frame, problems, precision)


def median_step_s(frames: list[pl.DataFrame]) -> float | None:
    """Median positive interval between consecutive timestamps of each frame, in seconds."""
    steps = [
        frame.get_column("timestamp").diff().dt.total_microseconds().drop_nulls()
        for frame in frames
        if frame.height > 1
    ]
    deltas = pl.concat(steps) if steps else pl.Series([], dtype=pl.Int64)
    deltas = deltas.filter(deltas > 0)
    if deltas.is_empty():
        return None
    median = deltas.median()
    return round(float(median) / 1e6, 3) if isinstance(median, int | float) else None


def null_sum(columns: list[str]) -> pl.Expr:
    """Row-wise sum of counter columns that stays null when every input is null."""
    if len(columns) == 1:
        return pl.col(columns[0])
    all_null = pl.all_horizontal([pl.col(c).is_null() for c in columns])
    return pl.when(all_null).then(None).otherwise(pl.sum_horizontal(columns))
