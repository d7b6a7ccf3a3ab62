"""Shared helpers for reader fuzz tests: byte mutations, a real zip bomb, the outcome check.

The contract every reader must keep: given any input, it either raises a
:class:`capplan.errors.CapplanError` or returns a valid :class:`capplan.io.Trace` (canonical
schemas, finite non-negative metrics). Any other exception is a bug.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io.trace import Trace
from capplan.schema import INVENTORY_SCHEMA, USAGE_METRICS, USAGE_SCHEMA

#: Cell texts that no numeric field should accept silently.
BAD_TOKENS: tuple[bytes, ...] = (
    b"abc",
    b"-1",
    b"-0.5",
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e400",
    b"",
    b" ",
    b"0x1F",
    b"99999999999999999999999",
    b"\xff\xfe",
    b"\x00",
    b'"',
    b"1,5",
    b";",
    b"\t",
)


def check_outcome(read: Callable[[], Trace]) -> Trace | CapplanError:
    """Run ``read``; return the CapplanError it raised, or the Trace after validating it.

    Raises
    ------
    AssertionError
        If the Trace breaks the canonical schema or holds a NaN, infinite or negative metric.
    Exception
        Any non-CapplanError exception from ``read`` propagates (the test fails on it).
    """
    try:
        trace = read()
    except CapplanError as exc:
        assert str(exc), "a CapplanError must carry a message"
        return exc
    assert isinstance(trace, Trace)
    usage = trace.usage.collect()
    assert dict(usage.schema) == USAGE_SCHEMA, usage.schema
    assert dict(trace.inventory.schema) == INVENTORY_SCHEMA, trace.inventory.schema
    for name in USAGE_METRICS:
        column = usage.get_column(name).drop_nulls()
        if len(column):
            assert column.is_finite().all(), f"{name} holds NaN or infinity"
            assert float(column.min()) >= 0.0, f"{name} holds a negative value"  # type: ignore[arg-type]
    for name in ("cpu_capacity_mhz", "mem_provisioned_mib"):
        column = trace.inventory.get_column(name).drop_nulls()
        if len(column):
            assert column.is_finite().all() and float(column.min()) >= 0.0  # type: ignore[arg-type]
    assert usage.get_column("vm_id").null_count() == 0
    assert usage.get_column("timestamp").null_count() == 0
    assert all(isinstance(p.message, str) and p.message for p in trace.problems)
    return trace


@st.composite
def mutated(draw: st.DrawFn, data: bytes, separator: bytes = b",") -> bytes:
    """Draw a mutation of ``data``: truncation, bad tokens, separators, line shuffles, junk."""
    kind = draw(
        st.sampled_from(
            [
                "truncate",
                "token",
                "separator",
                "duplicate",
                "swap",
                "non_utf8",
                "empty",
                "junk",
                "drop_field",
                "unchanged",
            ]
        )
    )
    lines = data.split(b"\n")
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n", b"   \n\n"]))
    if kind == "junk":
        return draw(st.binary(min_size=1, max_size=300))
    if kind == "non_utf8":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\x80\x81"])) + data[at:]
    index = draw(st.integers(0, max(len(lines) - 1, 0)))
    line = lines[index]
    if kind == "token":
        fields = line.split(separator)
        at = draw(st.integers(0, max(len(fields) - 1, 0)))
        fields[at] = draw(st.sampled_from(BAD_TOKENS))
        lines[index] = separator.join(fields)
    elif kind == "separator":
        other = draw(st.sampled_from([b",", b";", b"\t", b"|", b" "]))
        lines[index] = line.replace(separator, other)
        if draw(st.booleans()):
            return data.replace(separator, other)
    elif kind == "duplicate":
        lines.insert(index, line)
    elif kind == "swap" and len(lines) > 2:
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "drop_field":
        fields = line.split(separator)
        if len(fields) > 1:
            del fields[draw(st.integers(0, len(fields) - 1))]
        lines[index] = separator.join(fields)
    return b"\n".join(lines)


def write_zip_bomb(path: Path, expanded_bytes: int = 2 * 1024**3) -> Path:
    """Write a real zip bomb: one member of ``expanded_bytes`` zeros, deflated (~1000:1).

    The member is streamed through zlib in 1 MiB blocks, so writing it needs little memory;
    2 GiB of zeros become about 2 MB on disk.
    """
    block = bytes(1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunks: list[bytes] = []
    crc = 0
    for _ in range(expanded_bytes // len(block)):
        chunks.append(compressor.compress(block))
        crc = zlib.crc32(block, crc)
    chunks.append(compressor.flush())
    payload = b"".join(chunks)
    _rewrite_member(path, payload, crc, expanded_bytes)
    return path


def _rewrite_member(path: Path, payload: bytes, crc: int, size: int) -> None:
    """Build the archive by hand so the deflated payload is stored as is (no re-compression)."""
    name = b"data/1.csv"
    local = (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45,
            0,
            8,
            0,
            0x5021,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            20,
        )
        + name
        + struct.pack("<HHQQ", 0x0001, 16, size, len(payload))
    )
    central_extra = struct.pack("<HHQQQ", 0x0001, 24, size, len(payload), 0)
    central = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            45,
            0,
            8,
            0,
            0x5021,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(central_extra),
            0,
            0,
            0,
            0,
            0xFFFFFFFF,
        )
        + name
        + central_extra
    )
    offset_central = len(local) + len(payload)
    zip64_end = struct.pack(
        "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, len(central), offset_central
    )
    locator = struct.pack("<IIQI", 0x07064B50, 0, offset_central + len(central), 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), 0xFFFFFFFF, 0)
    path.write_bytes(local + payload + central + zip64_end + locator + end)
