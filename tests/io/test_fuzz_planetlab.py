"""Property tests: mutated PlanetLab files give a CapplanError or a valid Trace, nothing else.

A small reference check (:func:`_expected`) says, for any bytes, whether the file is valid and
else which line the reader must name; folder and zip must agree with it and with each other.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import polars as pl
from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError, TraceFormatError
from capplan.io import read_trace
from capplan.io.trace import Trace

DAY = Path(__file__).resolve().parents[1] / "fixtures" / "planetlab" / "20110303"
SEED = (DAY / "node_d_slice").read_bytes()
OTHER = (DAY / "node_a_slice").read_bytes()
_VALUE = re.compile(rb"\d+")


def _expected(data: bytes) -> tuple[bool, int | None]:
    """(valid, line of the first error) by the format's rules, written plainly."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return False, 1
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not _VALUE.fullmatch(line) or int(line) > 100:
            return False, number
    if len(lines) != 288:
        return False, 289 if len(lines) > 288 else None
    return True, None


def _read_both(folder: Path, data: bytes) -> tuple[object, object]:
    day = folder / "20110303"
    day.mkdir()
    (day / "vm one").write_bytes(data)
    (day / "vm_two").write_bytes(OTHER)
    archive = folder / "day.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("20110303/vm one", data)
        handle.writestr("20110303/vm_two", OTHER)
    plain = check_outcome(lambda: read_trace(day, "planetlab"))
    zipped = check_outcome(lambda: read_trace(archive, "planetlab"))
    return plain, zipped


def _percent(trace: object, vm: str) -> list[int]:
    """The integer percentages read for ``vm``: demand / the inventory's capacity."""
    assert isinstance(trace, Trace), trace
    capacity = trace.inventory.filter(pl.col("vm_id") == vm).get_column("cpu_capacity_mhz")[0]
    usage = trace.usage.collect().filter(pl.col("vm_id") == vm).sort("timestamp")
    return [round(v / capacity * 100) for v in usage.get_column("cpu_demand_mhz").to_list()]


# Mutations of a good file, plus the accepted spellings of one (BOM, CRLF, no final newline).
_INPUTS = st.one_of(
    mutated(SEED, separator=b"\n"),
    st.sampled_from(
        [
            b"\xef\xbb\xbf" + SEED,
            SEED.replace(b"\n", b"\r\n"),
            SEED.rstrip(b"\n"),
            SEED + b"\n",
            SEED.replace(b"\n", b"\r"),
        ]
    ),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_INPUTS)
def test_mutated_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        plain, zipped = _read_both(Path(folder), data)
        valid, line = _expected(data)
        if valid:
            # a good file reads as its integers, from the folder and from the zip alike
            assert isinstance(plain, Trace) and isinstance(zipped, Trace), (plain, zipped)
            expected = [int(v) for v in data.removeprefix(b"\xef\xbb\xbf").split()]
            assert _percent(plain, "vm one") == expected == _percent(zipped, "vm one")
            assert _percent(plain, "vm_two") == [int(v) for v in OTHER.split()]
            assert plain.usage.collect().equals(zipped.usage.collect())
        else:
            assert isinstance(plain, TraceFormatError), plain
            assert isinstance(zipped, TraceFormatError), zipped
            assert plain.path is not None and plain.path.endswith("20110303/vm one")
            assert plain.line == line, (plain, data[:80])
            assert zipped.path is not None and zipped.path.endswith("!20110303/vm one")
            assert (zipped.line, zipped.message) == (plain.line, plain.message)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.integers(1, 288),
    token=st.sampled_from([b"4.5", b"-1", b"101", b"", b" 5", b"5 ", b"1e2", b"\x00", b"\xff"]),
)
def test_one_bad_line_is_named(line: int, token: bytes) -> None:
    lines = SEED.split(b"\n")
    lines[line - 1] = token
    data = b"\n".join(lines)
    with tempfile.TemporaryDirectory() as folder:
        plain, zipped = _read_both(Path(folder), data)
    assert isinstance(plain, TraceFormatError) and isinstance(zipped, TraceFormatError)
    assert plain.line == line and zipped.line == line
    assert "expected an integer percentage 0..100" in plain.message


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=512 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "planetlab"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
