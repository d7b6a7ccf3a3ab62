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
