"""Power models, energy, PUE and CO2: hand-worked cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.economics import power

CURVE = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]  # HP ML110 G4 (SPECpower)


def test_linear_power_hand_worked() -> None:
    # 100 W idle, 300 W max: at 25 % → 100 + 200·0.25 = 150 W; above 1 clipped to 300 W.
    util = np.array([[0.0, 0.25, 1.0, 1.7]])
    assert power.linear_power_w(util, [100.0], [300.0]).tolist() == [[100.0, 150.0, 300.0, 300.0]]


def test_fan_power_hand_worked() -> None:
    # P = 100 + 200·(2·0.5 − 0.5^1.4) = 100 + 200·(1 − 0.378929) = 224.214 W
    got = power.fan_power_w(np.array([[0.5]]), 100.0, 300.0, r=1.4)
    assert got[0, 0] == pytest.approx(100 + 200 * (1 - 0.5**1.4))
    assert got[0, 0] == pytest.approx(224.2142, abs=1e-3)
    # The model meets idle at 0 and max at 1, and lies above the linear model in between.
    ends = power.fan_power_w(np.array([[0.0, 1.0]]), 100.0, 300.0)
    assert ends.tolist() == [[100.0, 300.0]]


def test_curve_power_interpolates_specpower_table() -> None:
    # 35 % lies between 30 % (96 W) and 40 % (99.5 W): 96 + 0.5·3.5 = 97.75 W.
    got = power.host_power_w(np.array([[0.35, 0.0, 1.0]]), np.array([CURVE]), model="curve")
    np.testing.assert_allclose(got, [[97.75, 86.0, 117.0]])


def test_host_power_switches_off_empty_hosts() -> None:
    util = np.array([[0.5, 0.5], [0.0, 0.0]])
    curves = np.array([CURVE, CURVE])
    on = power.powered_hosts(np.array([[2, 1], [0, 0]]), "off-when-empty")
    got = power.host_power_w(util, curves, model="linear", powered=on)
    assert got[1].tolist() == [0.0, 0.0]
    assert got[0, 0] == pytest.approx(86 + (117 - 86) * 0.5)
    always = power.powered_hosts(np.array([[2, 1], [0, 0]]), "always-on")
    assert power.host_power_w(util, curves, model="linear", powered=always)[1, 0] == 86.0


def test_energy_per_year_pue_and_co2_hand_worked() -> None:
    # 2 hosts at 100 W for 12 steps of 300 s = 1 h → 0.1 kWh each.
    kwh = power.energy_kwh(np.full((2, 12), 100.0), 300)
    assert kwh.tolist() == pytest.approx([0.1, 0.1])
    # One hour of trace scaled to a 365-day year: ×8760.
    assert power.per_year(kwh.sum(), 3600.0) == pytest.approx(0.2 * 8760)
    assert power.facility_kwh(1000.0, 1.58) == pytest.approx(1580.0)
    assert power.co2_kg(1580.0, 0.366) == pytest.approx(578.28)
    with pytest.raises(ValueError):
        power.facility_kwh(1.0, 0.9)


def test_storage_power_per_tib() -> None:
    # 2048 GiB = 2 TiB at 10 W/TiB → 20 W.
    assert power.storage_power_w([2048.0], [10.0]).tolist() == [20.0]


@settings(max_examples=40, deadline=None)
@given(
    util=st.lists(st.floats(0, 1), min_size=2, max_size=10),
    model=st.sampled_from(["curve", "linear", "fan"]),
)
def test_power_never_falls_as_utilization_rises(util: list[float], model: str) -> None:
    u = np.sort(np.asarray(util))[None, :]
    p = power.host_power_w(u, np.array([CURVE]), model=model)[0]
    assert np.all(np.diff(p) >= -1e-9)
    assert p.min() >= CURVE[0] - 1e-9 and p.max() <= CURVE[-1] + 1e-9
