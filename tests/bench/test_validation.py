"""``capplan bench validation``: every model row within its tolerance of the published figure."""

from __future__ import annotations

import pytest

from capplan.bench.validation import erlang_c_wait, run_validation

ROWS = run_validation()["rows"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['model']}: {r['case']}")
def test_model_matches_its_reference(row: dict) -> None:
    assert row["within"], row


def test_textbook_erlang_c_by_hand() -> None:
    # c = 2, ρ = 0.5, a = 1: C = (1/2 · 2) / (1 + 1 + 1) = 1/3; Wq/S = (1/3) / (2 · 0.5)
    assert erlang_c_wait(2, 0.5) == pytest.approx(1 / 3)


def test_shape_transfer_beats_the_straight_line_on_every_sibling_pair() -> None:
    import numpy as np

    from capplan.bench.validation import SHAPE_PAIRS, SIBLING_CURVES

    for source, target in SHAPE_PAIRS:
        src = np.asarray(SIBLING_CURVES[source], dtype=float)
        tgt = np.asarray(SIBLING_CURVES[target], dtype=float)
        shape = tgt[0] + (tgt[-1] - tgt[0]) * (src - src[0]) / (src[-1] - src[0])
        line = np.linspace(tgt[0], tgt[-1], 11)
        shape_err = np.abs(shape[1:10] / tgt[1:10] - 1).max()
        line_err = np.abs(line[1:10] / tgt[1:10] - 1).max()
        assert shape_err < 0.6 * line_err, (source, target, shape_err, line_err)
