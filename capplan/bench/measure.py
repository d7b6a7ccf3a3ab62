"""Small measuring helpers shared by the benchmarks: wall time and peak memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psutil

T = TypeVar("T")


@dataclass
class Measurement:
    """Wall time and peak resident memory of a block of code."""

    wall_s: float = 0.0
    peak_rss_bytes: int = 0
    baseline_rss_bytes: int = 0

    @property
    def peak_extra_bytes(self) -> int:
        """Peak resident memory above what the process held when the block started."""
        return max(self.peak_rss_bytes - self.baseline_rss_bytes, 0)


@contextmanager
def measure(poll_s: float = 0.005) -> Iterator[Measurement]:
    """Measure wall time and peak RSS of the enclosed block (RSS sampled every ``poll_s``)."""
    process = psutil.Process()
    result = Measurement(baseline_rss_bytes=process.memory_info().rss)
    result.peak_rss_bytes = result.baseline_rss_bytes
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            result.peak_rss_bytes = max(result.peak_rss_bytes, process.memory_info().rss)
            stop.wait(poll_s)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.wall_s = time.perf_counter() - start
        stop.set()
        thread.join()
        result.peak_rss_bytes = max(result.peak_rss_bytes, process.memory_info().rss)


def best_of(func: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    """Run ``func`` ``repeat`` times; return the shortest wall time and the last result."""
    best = float("inf")
    value: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    assert value is not None
    return best, value
