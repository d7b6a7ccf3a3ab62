"""VM selection policies on hand-built candidates."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from dynamic.scenarios import config, fleet, vms
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dynamic.kernels.correlation import correlation_r2
from capplan.dynamic.selection import get_selection, mc, mmt, mu, rs
from capplan.dynamic.state import Simulation
from capplan.errors import CapplanError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def sim_with(
    util_now: list[float], ram: list[float], history: np.ndarray | None = None
) -> Simulation:
    n = len(util_now)
    sim = Simulation(vms([[u, u] for u in util_now], ram_mib=ram), fleet(2), config())
    sim.util_now = np.asarray(util_now)
    if history is not None:
        sim.hist[:, : history.shape[1]] = history
        sim.hist_count = history.shape[1]
    assert sim.n_vms == n
    return sim


def test_mmt_smallest_ram_first_in_list_order() -> None:
    sim = sim_with([0.5] * 4, [1740, 613, 870, 613])
    assert mmt(sim, [0, 1, 2, 3]) == 1
    assert mmt(sim, [3, 2, 1]) == 3  # tie on 613 MB: the first in the host's list


def test_mu_lowest_current_utilisation() -> None:
    sim = sim_with([0.4, 0.1, 0.3, 0.1], [1000] * 4)
    assert mu(sim, [0, 2, 3, 1]) == 3


def test_mu_compares_as_cloudsim_divides() -> None:
    # CloudSim's key is u × MIPS / MIPS: for this u, 2,500 MIPS gives back u but 500 MIPS
    # one ulp more, so the 2,500-MIPS VM is strictly lower although listed second
    u = 0.016527635528529094
    assert u * 500.0 / 500.0 > u * 2500.0 / 2500.0 == u
    sim = Simulation(
        vms([[u, u], [u, u]], mips=[500.0, 2500.0], ram_mib=[613.0, 870.0]), fleet(2), config()
    )
    sim.util_now = np.asarray([u, u])
    assert mu(sim, [0, 1]) == 1


def test_rs_is_seeded_and_picks_a_candidate() -> None:
    first = [rs(sim_with([0.5] * 5, [1] * 5), [0, 1, 2, 3, 4]) for _ in range(3)]
    assert len(set(first)) == 1
    assert first[0] in range(5)


def test_mc_falls_back_to_mmt_when_history_too_short() -> None:
    # 2 samples for 3 VMs: commons-math refuses (intercept + 2 regressors need 3 samples)
    history = np.random.default_rng(0).random((3, 2))
    sim = sim_with([0.5] * 3, [870, 613, 1740], history)
    assert mc(sim, [0, 1, 2]) == 1


def test_mc_fits_when_samples_equal_vms() -> None:
    # 3 samples for 3 VMs: an exact fit (CloudSim does not fall back), R² ≈ 1 for every VM
    history = np.random.default_rng(0).random((3, 3))
    sim = sim_with([0.5] * 3, [870, 613, 1740], history)
    r2 = correlation_r2(history)
    assert r2 is not None
    np.testing.assert_allclose(r2, 1.0, atol=1e-9)
    assert mc(sim, [0, 1, 2]) == int(np.argmax(r2))  # the fit decides, not MMT's smallest RAM


def test_mc_picks_the_vm_the_others_explain() -> None:
    rng = np.random.default_rng(1)
    a, b, c = rng.random((3, 30))
    explained = 0.5 * a + 0.3 * b + 0.001 * rng.random(30)  # nearly a linear combination
    history = np.vstack([a, b, explained, c])
    sim = sim_with([0.5] * 4, [870] * 4, history)
    r2 = correlation_r2(history[[3, 0, 1, 2]])
    assert r2 is not None
    assert r2[3] == pytest.approx(1.0, abs=1e-3)
    assert r2[0] < 0.5  # c is explained by nobody
    chosen = mc(sim, [3, 0, 1, 2])
    assert chosen == [3, 0, 1, 2][int(np.argmax(r2))]
    assert chosen != 3


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(8, 30), st.integers(0, 1000))
def test_correlation_r2_matches_least_squares(n: int, m: int, seed: int) -> None:
    data = np.random.default_rng(seed).random((n, m))
    expected = []
    for i in range(n):
        y = data[i]
        design = np.column_stack([np.ones(m), np.delete(data, i, axis=0).T])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        expected.append(1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum())
    r2 = correlation_r2(data)
    assert r2 is not None
    np.testing.assert_allclose(r2, expected, atol=1e-8)


def test_unknown_selection_lists_valid_names() -> None:
    with pytest.raises(CapplanError, match="valid: mc, mmt, mu, rs"):
        get_selection("fastest")


def _from_hex(value: str) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", int(value, 16)))[0])


def test_correlation_r2_is_commons_math_bit_for_bit() -> None:
    """R² against commons-math itself, run in a JVM (fixture): rank-deficient and singular too."""
    fixture = json.loads((FIXTURES / "commons_math_r2.json").read_text())
    singular = 0
    for case in fixture["cases"]:
        data = np.array([[_from_hex(v) for v in row] for row in case["data"]])
        r2 = correlation_r2(data)
        if case["java"].startswith("EXC"):
            assert r2 is None
            singular += 1
            continue
        assert r2 is not None
        expected = [_from_hex(v) for v in case["java"].split()]
        assert [float(x) for x in r2] == expected
    assert singular == 2  # the fallback cases are exercised
