"""Exact percentiles read in place: the same figure as numpy.percentile, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.quantile import percentile_rows


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 30), st.integers(1, 50)),
    kind=st.sampled_from(["uniform", "capped", "ties", "heavy", "signed"]),
    q=st.one_of(st.sampled_from([0.0, 50.0, 95.0, 99.0, 100.0]), st.floats(0.0, 100.0)),
    sample_size=st.sampled_from([1, 2, 5, 16, 64, 1 << 15]),
)
def test_same_as_numpy_on_any_rows(
    seed: int, shape: tuple[int, int], kind: str, q: float, sample_size: int
) -> None:
    # Small samples bracket badly on purpose: every retry and the full copy get exercised.
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, shape)
    if kind == "capped":  # utilization: a pile at exactly 1
        values = np.minimum(values * 1.5, 1.0)
    elif kind == "ties":
        values = rng.integers(0, 3, shape).astype(float)
    elif kind == "heavy":
        values = rng.lognormal(0.0, 3.0, shape)
    elif kind == "signed":  # negative numbers, both zeros and both infinities
        values = rng.choice([-np.inf, -2.5, -1e-30, -0.0, 0.0, 1e-30, 3.0, np.inf], shape)
        values = np.where(rng.random(shape) < 0.5, values, rng.normal(0.0, 1e3, shape))
    values = values.astype(np.float32)
    rows = np.sort(rng.choice(shape[0], rng.integers(1, shape[0] + 1), replace=False))
    got = percentile_rows(values, q, rows, sample_size=sample_size)
    assert _same(got, float(np.percentile(values[rows], q)))
    got = percentile_rows(values, q, sample_size=sample_size)
    assert _same(got, float(np.percentile(values, q)))


def _same(a: float, b: float) -> bool:
    """Equal, or both NaN (numpy interpolates -inf and inf to NaN)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def test_nan_and_bad_arguments() -> None:
    values = np.array([[1.0, np.nan], [2.0, 3.0]], dtype=np.float32)
    assert math.isnan(percentile_rows(values, 50.0))
    assert percentile_rows(values, 50.0, np.array([1])) == 2.5
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        percentile_rows(values, 101.0)
    with pytest.raises(ValueError, match="no values"):
        percentile_rows(values, 50.0, np.array([], dtype=np.int64))


def test_a_replay_sized_array_takes_the_bracket_and_matches_numpy() -> None:
    # 400 × 500 values: more than 4 × the default sample, so the one-pass bracket runs.
    rng = np.random.default_rng(7)
    util = np.minimum(rng.uniform(0.0, 1.2, (400, 500)), 1.0).astype(np.float32)
    rows = np.arange(0, 400, 3)
    for q in (0.0, 50.0, 95.0, 99.9, 100.0):
        assert percentile_rows(util, q) == float(np.percentile(util, q))
        assert percentile_rows(util, q, rows) == float(np.percentile(util[rows], q))
    util[123, 45] = np.nan
    assert math.isnan(percentile_rows(util, 95.0))


@pytest.mark.parametrize("case", ["sample_too_low", "sample_too_high", "overflow"])
@pytest.mark.parametrize("q", [5.0, 50.0, 95.0])
def test_a_misleading_sample_costs_a_pass_not_the_answer(case: str, q: float) -> None:
    # 4,096 × 8 values and a 4,096-value sample: the sample takes column 0 of every row,
    # which is made unlike the rest, so the first bracket misses and the pass runs again.
    values = np.ones((4096, 8), dtype=np.float32)
    if case == "sample_too_low":
        values[:, 0] = 0.0
    elif case == "sample_too_high":
        values[:] = 0.0
        values[:, 0] = 1.0
    else:  # the sample spreads evenly; all the rest sits inside its bracket and overflows it
        spread = np.linspace(0.0, 1.0, 4096, dtype=np.float32)
        values[:, 0] = spread
        values[:, 1:] = spread[int(q / 100 * 4095)]
    assert percentile_rows(values, q, sample_size=4096) == float(np.percentile(values, q))
