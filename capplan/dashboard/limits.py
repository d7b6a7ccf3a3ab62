"""Limits of the dashboard's child processes, and the streaming check of compressed uploads.

Reading an upload and running a study both happen in child processes of the web server (see
:mod:`capplan.dashboard.worker`), never in the web process itself. A child limits itself as
its first act: address space (``RLIMIT_AS``), CPU time (``RLIMIT_CPU``), and death with its
parent (``PR_SET_PDEATHSIG``, Linux), so one bad upload or study can only ever take down its
own process, and a server that is stopped, even with SIGKILL, leaves no worker behind.

Before an upload is parsed, its zip archives and gzip files are expanded once as a stream
(nothing is kept: the bytes are counted and dropped) against a running byte budget for the
whole upload. The budget counts the bytes really produced, not the sizes an archive declares,
so an archive that lies about its sizes is stopped as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gzip
import os
import resource
import signal
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from capplan.errors import CapplanError

#: Bytes expanded per read while checking an archive.
CHUNK_BYTES = 1 << 20
#: ``prctl`` option that sends a signal to the process when its parent ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


class ExpansionError(CapplanError):
    """An upload expands beyond the budget, or an archive in it is unreadable."""


def apply_limits(memory_bytes: int | None, cpu_s: float | None) -> None:
    """Limit the current process's address space and CPU time (soft = hard - 5 s for CPU).

    Exceeding the CPU time sends ``SIGXCPU`` (the process ends unless it handles it);
    exceeding the address space makes allocations fail (``MemoryError`` in Python).
    """
    if memory_bytes:
        _lower(resource.RLIMIT_AS, int(memory_bytes))
    if cpu_s:
        soft = max(1, int(cpu_s))
        hard_now = resource.getrlimit(resource.RLIMIT_CPU)[1]
        hard = soft + 5 if hard_now == resource.RLIM_INFINITY else min(soft + 5, hard_now)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))


def _lower(kind: int, value: int) -> None:
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))


def die_with_parent(parent_pid: int | None) -> None:
    """Be killed (SIGKILL) when the parent process ends; exit now if it already has.

    On systems without ``prctl`` (not Linux) only the second half applies.
    """
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(3)


def check_expansion(paths: Iterable[Path], budget_bytes: int) -> int:
    """Expand every zip archive and gzip file of an upload as a stream, within a byte budget.

    Parameters
    ----------
    paths
        The uploaded files; plain files count with their size.
    budget_bytes
        Largest number of bytes the whole upload may expand to.

    Returns
    -------
    int
        The bytes the upload expands to.

    Raises
    ------
    ExpansionError
        Naming the file, as soon as the running total passes the budget (the rest is never
        expanded), or when an archive cannot be read.
    """
    total = 0
    limit_mb = budget_bytes / 1e6

    def over(name: str) -> ExpansionError:
        return ExpansionError(
            f"{name} expands to more than {limit_mb:,.0f} MB, the largest upload this server "
            "reads (setting CAPPLAN_MAX_EXPANDED_MB); upload a part of it, or ask the "
            "administrator to raise the limit"
        )

    for path in paths:
        name = path.name
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        if info.is_dir():
                            continue
                        with archive.open(info) as stream:
                            while chunk := stream.read(CHUNK_BYTES):
                                total += len(chunk)
                                if total > budget_bytes:
                                    raise over(name)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
                raise ExpansionError(f"{name}: not a readable zip archive ({exc})") from None
        elif name.lower().endswith(".gz"):
            try:
                with gzip.open(path, "rb") as unzipped:
                    while chunk := unzipped.read(CHUNK_BYTES):
                        total += len(chunk)
                        if total > budget_bytes:
                            raise over(name)
            except (OSError, EOFError, zlib.error) as exc:
                raise ExpansionError(f"{name}: not a readable gzip file ({exc})") from None
        else:
            total += path.stat().st_size
            if total > budget_bytes:
                raise over(name)
    return total
