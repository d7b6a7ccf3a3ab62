"""The command line's allocator tuning: host arrays below 32 MiB come from glibc's heap."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

from capplan.allocator import MMAP_THRESHOLD_BYTES, keep_freed_arrays


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mmapped_bytes(libc: ctypes.CDLL) -> int:
    return int(libc.mallinfo2().hblkhd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_host_sized_arrays_come_from_the_heap_once_tuned() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    assert keep_freed_arrays()
    before = _mmapped_bytes(libc)
    # An 800-host × 8,640-step float32 array (27.6 MB): under the 32 MiB threshold.
    block = np.ones((800, 8640), dtype=np.float32)
    assert block.nbytes < MMAP_THRESHOLD_BYTES
    assert _mmapped_bytes(libc) == before
    # Above the threshold glibc still maps the block on its own.
    big = np.ones(MMAP_THRESHOLD_BYTES // 4 + 1024, dtype=np.float32)
    assert _mmapped_bytes(libc) > before
    del block, big


_PROBE = """
import ctypes, sys
import numpy as np
from test_allocator import _MallInfo2
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = _MallInfo2
if sys.argv[1] == "cli":
    from capplan.cli import main
    try:
        main(["--version"])
    except SystemExit:
        pass
before = libc.mallinfo2().hblkhd
block = np.ones((800, 8640), dtype=np.float32)
print(libc.mallinfo2().hblkhd - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
@pytest.mark.parametrize(("how", "mapped"), [("cli", False), ("plain", True)])
def test_the_command_line_tunes_the_allocator(how: str, mapped: bool) -> None:
    # A fresh process maps a 27.6 MB block on its own; after the command line ran, the heap
    # serves it.
    import subprocess
    from pathlib import Path

    tests = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, how],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": tests, "PATH": "/usr/bin:/bin"},
    )
    assert (int(out.stdout.strip().splitlines()[-1]) > 0) == mapped
