"""Exact percentiles read in place: the same figure as numpy.percentile, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.quantile import percentile_rows


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 30), st.integers(1, 50)),
    kind=st.sampled_from(["uniform", "capped", "ties", "heavy"]),
    q=st.one_of(st.sampled_from([0.0, 50.0, 95.0, 99.0, 100.0]), st.floats(0.0, 100.0)),
)
def test_same_as_numpy_on_any_rows(seed: int, shape: tuple[int, int], kind: str, q: float) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, shape)
    if kind == "capped":  # utilization: a pile at exactly 1
        values = np.minimum(values * 1.5, 1.0)
    elif kind == "ties":
        values = rng.integers(0, 3, shape).astype(float)
    elif kind == "heavy":
        values = rng.lognormal(0.0, 3.0, shape)
    values = values.astype(np.float32)
    rows = np.sort(rng.choice(shape[0], rng.integers(1, shape[0] + 1), replace=False))
    assert percentile_rows(values, q, rows) == float(np.percentile(values[rows], q))
    assert percentile_rows(values, q) == float(np.percentile(values, q))


def test_nan_and_bad_arguments() -> None:
    values = np.array([[1.0, np.nan], [2.0, 3.0]], dtype=np.float32)
    assert math.isnan(percentile_rows(values, 50.0))
    assert percentile_rows(values, 50.0, np.array([1])) == 2.5
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        percentile_rows(values, 101.0)
    with pytest.raises(ValueError, match="no values"):
        percentile_rows(values, 50.0, np.array([], dtype=np.int64))
