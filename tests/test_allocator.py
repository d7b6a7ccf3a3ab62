"""The command line's allocator tuning: host arrays below 32 MiB come from glibc's heap.

Each check runs in a fresh process, so the tuning does not spread to the test session.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest


def _glibc_with_mallinfo2() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")  # glibc ≥ 2.33
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc ≥ 2.33")

# Prints how many bytes glibc mapped on its own for one 800 × 8,640 float32 array (27.6 MB)
# and for one just above the 32 MiB threshold, after the given way in.
_PROBE = """
import ctypes, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
how = sys.argv[1]
if how == "api":
    from capplan.allocator import keep_freed_arrays
    assert keep_freed_arrays()
elif how != "plain":
    from capplan.cli import main
    try:
        main([how, "--help"])
    except SystemExit:
        pass
before = libc.mallinfo2().hblkhd
host_array = np.ones((800, 8640), dtype=np.float32)
mapped_host = libc.mallinfo2().hblkhd - before
big = np.ones(32 * 2**20 // 4 + 1024, dtype=np.float32)
print(mapped_host, libc.mallinfo2().hblkhd - before - mapped_host)
"""


def _probe(how: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, how],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    host, big = out.stdout.strip().splitlines()[-1].split()
    return int(host), int(big)


@pytest.mark.parametrize(
    ("how", "host_mapped"),
    [("plain", True), ("api", False), ("emulate", False), ("study", False), ("serve", True)],
)
def test_host_sized_arrays_come_from_the_heap_once_tuned(how: str, host_mapped: bool) -> None:
    # A fresh process maps a 27.6 MB block on its own; once tuned (the API call, or any
    # command but the long-running dashboard server) the heap serves it. Above 32 MiB
    # glibc maps the block on its own either way.
    host, big = _probe(how)
    assert (host > 0) == host_mapped
    assert big > 0
