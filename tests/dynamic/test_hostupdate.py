"""The compiled host update against the numpy arithmetic it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.dynamic.kernels.hostupdate import (
    Flights,
    HostCpu,
    Placed,
    allocate,
    interval_energy_ws,
    spec_power_w,
    util_at,
)

KEEP, RESERVE = 0.9, 0.1


def numpy_allocate(
    req: np.ndarray,
    host_of: np.ndarray,
    out: np.ndarray,
    pes: np.ndarray,
    fl_vm: np.ndarray,
    fl_tg: np.ndarray,
    seq: np.ndarray,
    fl_seq: np.ndarray,
    pe_mips: np.ndarray,
    total: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The host update in numpy (per-PE caps, scaling, migration shares).

    The host sums add their terms one at a time in arrival order (``seq``, ``fl_seq``), as
    CloudSim walks a host's VM list; ``numpy.add.at`` adds unbuffered, in index order.
    """
    n = len(total)
    res = np.flatnonzero(host_of >= 0)
    hr = host_of[res]
    pe_cap_r = np.minimum(req[res] / pes[res], pe_mips[hr])
    required = np.bincount(hr, pes[res] * pe_cap_r, minlength=n)
    pes_m = pes[fl_vm]
    pe_cap_m = np.minimum(req[fl_vm] / pes_m, pe_mips[fl_tg])
    if len(fl_vm):
        required += np.bincount(fl_tg, pes_m * pe_cap_m * RESERVE, minlength=n)
    over = required > total
    out_r = out[res]
    scale = np.where(over, total / np.where(over, required, 1.0), 1.0)
    scaled = pe_cap_r * scale[hr]
    pe_alloc = np.where(
        over[hr],
        np.floor(np.where(out_r, scaled * KEEP, scaled)),
        np.where(out_r, pe_cap_r * KEEP, pe_cap_r),
    )
    alloc_r = pes[res] * pe_alloc
    terms_util = [np.where(out_r, alloc_r / KEEP, alloc_r)]
    terms_req = [req[res]]
    terms_host = [hr]
    terms_key = [seq[res]]
    alloc_in = np.zeros(n)
    if len(fl_vm):
        share = pe_cap_m * RESERVE
        share = np.where(over[fl_tg], np.floor(share * scale[fl_tg]), share)
        alloc_in = np.bincount(fl_tg, pes_m * share, minlength=n)
        terms_util.append(pes_m * share)
        terms_req.append(req[fl_vm])
        terms_host.append(fl_tg)
        terms_key.append(fl_seq)
    order = np.argsort(np.concatenate(terms_key))
    util = np.zeros(n)
    host_req = np.zeros(n)
    np.add.at(util, np.concatenate(terms_host)[order], np.concatenate(terms_util)[order])
    np.add.at(host_req, np.concatenate(terms_host)[order], np.concatenate(terms_req)[order])
    return res, alloc_r, util, host_req, alloc_in


@pytest.mark.parametrize("seed", range(20))
def test_allocate_is_the_numpy_update_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_hosts, n_vms = 7, 40
    pes = rng.choice([1, 2, 4], n_vms).astype(np.int64)
    req = rng.uniform(0.0, 3000.0, n_vms) * pes * (rng.random(n_vms) < 0.9)
    host_of = np.where(rng.random(n_vms) < 0.85, rng.integers(0, n_hosts, n_vms), -1)
    out = (host_of >= 0) & (rng.random(n_vms) < 0.2)
    fl_vm = np.flatnonzero(out)
    fl_tg = (host_of[fl_vm] + rng.integers(1, n_hosts, len(fl_vm))) % n_hosts
    pe_mips = rng.choice([1000.0, 1860.0, 2660.0], n_hosts)
    total = pe_mips * rng.choice([2, 4], n_hosts)
    keys = rng.permutation(n_vms + len(fl_vm))  # arrival numbers, not in index order
    seq, fl_seq = keys[:n_vms], keys[n_vms:]
    args = (req, host_of, out, pes, fl_vm, fl_tg, seq, fl_seq, pe_mips, total)
    got = allocate(
        req,
        Placed(host_of, out, pes, seq),
        Flights(fl_vm, fl_tg, fl_seq),
        HostCpu(pe_mips, total),
        RESERVE,
        KEEP,
    )
    want = numpy_allocate(*args)
    assert (got[3] > total).any()  # over-subscribed hosts are exercised
    for name, a, b in zip(("res", "alloc", "util", "req", "in"), got, want, strict=True):
        assert np.array_equal(a, b), name


def test_energy_is_the_trapezoid_of_idle_and_busy_hosts() -> None:
    curves = np.array([[100.0 + 10.0 * i for i in range(11)]])
    type_of = np.zeros(3, dtype=np.int64)
    total = np.full(3, 1000.0)
    before = np.array([0.0, 500.0, 1000.0])
    after = np.array([500.0, 1000.0, 1005.0])  # 100.5 % reads as 100 %, not clipped
    energy, clipped = interval_energy_ws(before, after, total, type_of, curves, 10.0)
    # host 0 was off: nothing; host 1: (150 + 200) / 2 W; host 2: 200 W, for 10 s
    assert energy == pytest.approx((175.0 + 200.0) * 10.0)
    assert clipped == 0
    _, clipped = interval_energy_ws(
        before, np.array([0.0, 0.0, 1500.0]), total, type_of, curves, 1.0
    )
    assert clipped == 1
    assert spec_power_w(np.array([1.5]), type_of[:1], curves)[0] == 200.0


def test_util_at_interpolates_like_cloudsim() -> None:
    samples = np.array([[0.1, 0.3, 0.2], [0.0, 1.0, 0.5]])
    assert util_at(samples, 300.0, 300.0).tolist() == [0.3, 1.0]
    mid = util_at(samples, 300.0, 450.0)
    assert mid.tolist() == [0.3 + (0.2 - 0.3) / 300.0 * 150.0, 1.0 + (0.5 - 1.0) / 300.0 * 150.0]
    assert util_at(samples, 300.0, 10_000.0).tolist() == [0.2, 0.5]  # past the end: the last
