"""Row blocks: every row covered once, results in block order, any thread count."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.emulate.blocks import BLOCK_ELEMENTS, map_row_blocks, row_blocks


@pytest.mark.parametrize(
    ("n_rows", "n_cols"), [(0, 10), (1, 1), (7, 3), (100, 70_000), (9, 20_000)]
)
def test_row_blocks_cover_every_row_once(n_rows: int, n_cols: int) -> None:
    blocks = row_blocks(n_rows, n_cols)
    covered = [r for b in blocks for r in range(b.start, b.stop)]
    assert covered == list(range(n_rows))
    for b in blocks:  # at least one row, otherwise about BLOCK_ELEMENTS
        assert b.stop - b.start >= 1
        assert (b.stop - b.start) * n_cols <= max(BLOCK_ELEMENTS, n_cols)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_map_row_blocks_writes_every_block_and_keeps_order(workers: int) -> None:
    values = np.arange(50 * 9_000, dtype=np.float64).reshape(50, 9_000)
    out = np.zeros_like(values)

    def double(rows: slice) -> int:
        np.multiply(values[rows], 2.0, out=out[rows])
        return rows.start

    starts = map_row_blocks(double, 50, 9_000, workers=workers)
    np.testing.assert_array_equal(out, values * 2.0)
    assert starts == [b.start for b in row_blocks(50, 9_000)]


def test_errors_in_a_block_reach_the_caller() -> None:
    def fail(rows: slice) -> None:
        if rows.start > 0:
            raise ValueError("block failed")

    with pytest.raises(ValueError, match="block failed"):
        map_row_blocks(fail, 40, 10_000, workers=2)
