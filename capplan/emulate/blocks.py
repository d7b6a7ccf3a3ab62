"""Cache-sized row blocks of per-host arrays, run on a small shared thread pool.

The per-host stages of the replay (CPU, memory, power) are a handful of elementwise numpy
operations over ``(n_hosts, n_steps)`` arrays. Run over whole arrays, every operation streams
its operands through main memory and every temporary is a fresh allocation of the array's
size (page faults on first touch). Run over blocks of a few host rows at a time, the
temporaries stay in the L2 cache and are reused, and two threads share the work (numpy
releases the GIL inside its loops). On this project's machine that halves the power stage
and the CPU stage (``capplan bench emulate`` prints the end-to-end figure).

Functions passed to :func:`map_row_blocks` must be row-independent: block ``rows`` of the
outputs depends only on block ``rows`` of the inputs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

#: Elements per block: 64 Ki float32 = 256 KiB per operand, a few operands fit in L2.
BLOCK_ELEMENTS = 65_536

#: Tasks per thread: threads take the next task when done, so a thread slowed down (another
#: process on its core) takes fewer, instead of holding the others up at the end.
TASKS_PER_WORKER = 8

T = TypeVar("T")


def default_workers() -> int:
    """Threads for the replay: ``CAPPLAN_THREADS`` or min(2, CPU count)."""
    env = os.environ.get("CAPPLAN_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


@lru_cache(maxsize=4)
def thread_pool(workers: int) -> ThreadPoolExecutor:
    """A reused thread pool (starting threads on every call costs milliseconds)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capplan-replay")


def row_blocks(n_rows: int, n_cols: int) -> list[slice]:
    """Consecutive row slices covering ``n_rows`` rows, each about :data:`BLOCK_ELEMENTS`.

    Parameters
    ----------
    n_rows, n_cols
        Shape of the arrays to cover.

    Returns
    -------
    list of slice
        At least one row per block; empty when ``n_rows`` is 0.
    """
    per_block = max(1, BLOCK_ELEMENTS // max(1, n_cols))
    return [slice(s, min(n_rows, s + per_block)) for s in range(0, n_rows, per_block)]


def map_row_blocks(
    func: Callable[[slice], T],
    n_rows: int,
    n_cols: int,
    *,
    workers: int | None = None,
) -> list[T]:
    """Call ``func(rows)`` for every row block, on ``workers`` threads, in block order.

    Parameters
    ----------
    func
        Row-independent work on one block (typically writing into preallocated outputs).
    n_rows, n_cols
        Shape of the arrays covered.
    workers
        Threads; ``None`` → :func:`default_workers`. With one worker (or one block) the
        blocks run in the calling thread.

    Returns
    -------
    list
        ``func``'s results in block order.
    """
    blocks = row_blocks(n_rows, n_cols)
    n_workers = default_workers() if workers is None else max(1, workers)
    if n_workers == 1 or len(blocks) < 2:
        return [func(rows) for rows in blocks]
    # TASKS_PER_WORKER runs of consecutive blocks per thread, each taken by whichever thread
    # is free: a thread slowed down by another process does fewer runs instead of holding the
    # others up, and the hand-offs stay few.
    n_tasks = min(len(blocks), n_workers * TASKS_PER_WORKER)
    bounds = [len(blocks) * i // n_tasks for i in range(n_tasks + 1)]
    runs = [blocks[a:b] for a, b in itertools.pairwise(bounds)]

    def run(group: list[slice]) -> list[T]:
        return [func(rows) for rows in group]

    pool = thread_pool(n_workers)
    futures = [pool.submit(run, group) for group in runs]
    return [result for future in futures for result in future.result()]
