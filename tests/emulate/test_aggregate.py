"""VM → host aggregation: hand-worked sums, conservation, weights, threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.aggregate import HostMap, aggregate, served_share
from capplan.errors import CapplanError


def test_hand_worked_sum() -> None:
    values = np.array([[1, 2], [10, 20], [100, 200]], dtype=np.float32)
    hm = HostMap(np.array([1, 0, 1]), 3)
    np.testing.assert_array_equal(aggregate(values, hm), [[10, 20], [101, 202], [0, 0]])
    assert hm.counts().tolist() == [1, 2, 0]
    assert not hm.contiguous


def test_row_maxima_come_with_the_sums() -> None:
    values = np.array([[1, 7], [10, 20], [300, 200]], dtype=np.float32)
    hm = HostMap(np.array([1, 0, 1]), 3)
    peaks = np.zeros(3, dtype=np.float32)
    sums = aggregate(values, hm, row_max=peaks, workers=2)
    np.testing.assert_array_equal(sums, aggregate(values, hm))
    assert peaks.tolist() == [7, 20, 300]
    with pytest.raises(CapplanError, match="row_max"):
        aggregate(values, hm, weights=[1, 1, 1], row_max=peaks)
    with pytest.raises(CapplanError, match="row_max"):
        aggregate(values, hm, row_max=np.zeros(2, dtype=np.float32))


def test_sorted_rows_take_the_contiguous_path() -> None:
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    hm = HostMap(np.array([0, 0, 1, 1]), 2)
    assert hm.contiguous
    np.testing.assert_array_equal(aggregate(values, hm), [[3, 5, 7], [15, 17, 19]])


def test_weights_one_and_many() -> None:
    values = np.array([[1.0, 1.0], [2.0, 4.0]], dtype=np.float32)
    hm = HostMap(np.array([0, 0]), 1)
    np.testing.assert_allclose(aggregate(values, hm, weights=[0.5, 0.25]), [[1.0, 1.5]])
    both = aggregate(values, hm, weights=np.array([[1, 1], [0, 1]]))
    assert both.shape == (2, 1, 2)
    np.testing.assert_allclose(both[:, 0], [[3, 5], [2, 4]])


def test_shape_and_index_errors() -> None:
    hm = HostMap(np.array([0, 1]), 2)
    with pytest.raises(CapplanError, match="n_vms=2"):
        aggregate(np.zeros((3, 4), dtype=np.float32), hm)
    with pytest.raises(CapplanError, match="outside"):
        HostMap(np.array([0, 5]), 2)
    with pytest.raises(CapplanError, match="weights"):
        aggregate(np.zeros((2, 4), dtype=np.float32), hm, weights=[1.0])


@settings(max_examples=40, deadline=None)
@given(
    n_vms=st.integers(1, 30),
    n_hosts=st.integers(1, 8),
    n_steps=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
)
def test_conservation_and_thread_independence(
    n_vms: int, n_hosts: int, n_steps: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.gamma(2.0, 50.0, (n_vms, n_steps)).astype(np.float32)
    hm = HostMap(rng.integers(0, n_hosts, n_vms), n_hosts)
    one = aggregate(values, hm, workers=1)
    two = aggregate(values, hm, workers=2)
    np.testing.assert_allclose(one, two, rtol=1e-6)
    # Host sums equal VM sums, step by step.
    np.testing.assert_allclose(
        one.sum(axis=0, dtype=np.float64), values.sum(axis=0, dtype=np.float64), rtol=1e-5
    )
    empty = hm.counts() == 0
    assert np.all(one[empty] == 0)


def test_served_share_hand_worked() -> None:
    # VM 0 on host 0 (served 50 % in step 0, 100 % in step 1); VM 1 has no demand.
    values = np.array([[2.0, 2.0], [0.0, 0.0]], dtype=np.float32)
    hm = HostMap(np.array([0, 0]), 1)
    share = served_share(values, hm, np.array([[0.5, 1.0]], dtype=np.float32))
    np.testing.assert_allclose(share, [0.75, 1.0])


def test_scale_rides_on_the_sum() -> None:
    values = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    hm = HostMap(np.array([0, 0]), 1)
    np.testing.assert_allclose(aggregate(values, hm, scale=1.5), [[6.0, 9.0]])


@settings(max_examples=40, deadline=None)
@given(
    n_vms=st.integers(1, 120),
    n_hosts=st.integers(1, 20),
    n_steps=st.integers(1, 40),
    k=st.integers(1, 3),
    scale=st.sampled_from([1.0, 0.5, 1.25]),
    seed=st.integers(0, 2**31 - 1),
)
def test_compiled_sums_equal_a_numpy_reference(
    n_vms: int, n_hosts: int, n_steps: int, k: int, scale: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.gamma(2.0, 50.0, (n_vms, n_steps))  # float64 input is converted
    groups = rng.integers(0, n_hosts, n_vms)
    hm = HostMap(groups, n_hosts)
    indicator = np.zeros((n_hosts, n_vms))
    indicator[groups, np.arange(n_vms)] = 1.0
    np.testing.assert_allclose(
        aggregate(values, hm, scale=scale, workers=2), scale * indicator @ values, rtol=1e-5
    )
    weights = rng.uniform(0.0, 1.0, (k, n_vms))
    got = aggregate(values[:, ::-1], hm, weights=weights, workers=3)  # non-contiguous rows
    want = np.stack([(indicator * w) @ values[:, ::-1] for w in weights])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("workers", [1, 2])
def test_less_takes_a_per_vm_amount_off_never_below_zero(workers: int) -> None:
    rng = np.random.default_rng(2)
    values = rng.uniform(0.0, 300.0, (60, 500)).astype(np.float32)
    less = rng.uniform(0.0, 250.0, 60).astype(np.float32)
    host_map = HostMap(rng.integers(0, 9, 60), 9)
    want = aggregate(np.maximum(values - less[:, None], np.float32(0.0)), host_map, workers=1)
    got = aggregate(values, host_map, less=less, workers=workers)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(CapplanError, match="less"):
        aggregate(values, host_map, less=less, row_max=np.zeros(60, dtype=np.float32))


def test_few_hosts_still_share_the_threads() -> None:
    from capplan.emulate.aggregate import _chunks

    few = HostMap(np.arange(8) % 4, 4)
    assert len(_chunks(few, 2)) == 2  # 4 hosts: a part per thread
    many = HostMap(np.arange(4000) % 400, 400)
    assert len(_chunks(many, 2)) == 16  # 8 tasks per thread
    assert len(_chunks(HostMap(np.zeros(5, dtype=int), 1), 2)) == 1
