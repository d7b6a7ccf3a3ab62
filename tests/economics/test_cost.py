"""TCO formulas: hand-worked cases and monotonicity properties."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.economics import cost


def test_depreciation_hand_worked() -> None:
    # $10,000 server, 4-year life, 5-year horizon → 10,000·5/4 = 12,500 (includes a refresh).
    assert cost.depreciated_usd(10_000.0, 5, 4) == pytest.approx(12_500.0)
    assert cost.depreciated_usd(10_000.0, 2, 4) == pytest.approx(5_000.0)
    with pytest.raises(ValueError):
        cost.depreciated_usd(1.0, 1, 0)


def test_azure_regression_price_hand_worked() -> None:
    # 2 cores, 4 GiB: ratio (2·2)/4 = 1 → 16.232 + 113.87 = 130.102 per core → 260.204.
    assert cost.azure_server_price_usd(2, 4.0) == pytest.approx(260.204)


def test_hypervisor_licences_hand_worked() -> None:
    # Per core with a 16-core minimum: 2 sockets × max(8, 16) × 135 = 4,320; 2 × 56 × 135.
    got = cost.hypervisor_usd_per_year(
        [2, 2], [8, 56], metric="core", usd_per_unit_year=135, min_cores_per_socket=16
    )
    assert got.tolist() == pytest.approx([4320.0, 15120.0])
    per_socket = cost.hypervisor_usd_per_year([2], [8], metric="socket", usd_per_unit_year=1000)
    assert per_socket.tolist() == [2000.0]
    assert cost.hypervisor_usd_per_year([2], [8], metric="none", usd_per_unit_year=5).tolist() == [
        0
    ]


def test_windows_core_licensing_hand_worked() -> None:
    prices = {"standard_usd_per_16_cores": 1069.0, "datacenter_usd_per_16_cores": 6155.0}
    # 1 socket × 2 cores → 16-core minimum = 1 unit. 1 instance: Standard 1,069.
    # 2 sockets × 56 cores = 112 cores = 7 units. 3 VMs: Standard ceil(3/2)=2 × 7 × 1,069 =
    # 14,966 < Datacenter 7 × 6,155 = 43,085. 20 VMs: Standard 10 × 7 × 1,069 = 74,830 >
    # Datacenter 43,085. No Windows guest: 0.
    got = cost.windows_core_usd([1, 2, 2, 2], [2, 56, 56, 56], [1, 3, 20, 0], **prices)
    assert got.tolist() == pytest.approx([1069.0, 14966.0, 43085.0, 0.0])
    # 8-core minimum per socket: 2 sockets × 4 cores counts 16 cores.
    assert cost.windows_core_usd([4], [4], [1], **prices).tolist() == pytest.approx([2 * 1069.0])


def test_admin_and_migration_hand_worked() -> None:
    # 10 hosts × 69.33 h + 100 VMs × 26 h at $42.51/h.
    got = cost.admin_usd_per_year(
        10,
        100,
        hours_per_server_year=2080 / 30,
        hours_per_instance_year=2080 / 80,
        usd_per_hour=42.51,
    )
    assert got == pytest.approx((10 * 2080 / 30 + 100 * 26) * 42.51)
    assert cost.migration_usd(50, hours_per_vm=20, usd_per_hour=42.51) == pytest.approx(42_510.0)
    assert cost.rack_usd_per_year([1, 2, 2], 142.86) == pytest.approx(5 * 142.86)


BASE = cost.EstateCosts(
    server_price_usd=40_000.0,
    storage_price_usd=10_000.0,
    rack_units=4,
    it_kwh_per_year=5_000.0,
    hypervisor_usd_per_year=1_000.0,
    guest_os_usd_per_year=0.0,
    guest_os_perpetual_usd=6_155.0,
    n_servers=2,
    n_instances=20,
    n_vms_migrated=20,
)
PARAMS: dict[str, Any] = {
    "horizon_years": 5,
    "server_life_years": 4,
    "storage_life_years": 4,
    "network_life_years": 5,
    "licence_life_years": 5,
    "network_hw_frac": 0.1,
    "network_maintenance_frac_per_year": 0.15,
    "storage_maintenance_frac_per_year": 0.1,
    "rack_usd_per_u_year": 142.86,
    "pue_ratio": 1.5,
    "usd_per_kwh": 0.1,
    "admin_hours_per_server_year": 2080 / 30,
    "admin_hours_per_instance_year": 26.0,
    "admin_usd_per_hour": 40.0,
    "migration_hours_per_vm": 20.0,
}


def test_tco_breakdown_hand_worked() -> None:
    b = cost.tco_breakdown(BASE, **PARAMS)
    assert set(b) == set(cost.CATEGORIES)
    assert b["server_hardware"] == pytest.approx(40_000 * 5 / 4)
    assert b["storage_hardware"] == pytest.approx(10_000 * 5 / 4)
    assert b["storage_maintenance"] == pytest.approx(10_000 * 0.1 * 5)
    assert b["network_hardware"] == pytest.approx(5_000.0)  # 10 % of 50,000 over its 5-year life
    assert b["network_maintenance"] == pytest.approx(5_000 * 0.15 * 5)
    assert b["rack_space"] == pytest.approx(4 * 142.86 * 5)
    assert b["energy_it"] == pytest.approx(5_000 * 0.1 * 5)
    assert b["energy_cooling_distribution"] == pytest.approx(5_000 * 0.5 * 0.1 * 5)
    assert b["hypervisor_licences"] == pytest.approx(5_000.0)
    assert b["guest_os_licences"] == pytest.approx(6_155.0)
    assert b["administration"] == pytest.approx((2 * 2080 / 30 + 20 * 26) * 40 * 5)
    assert b["migration"] == pytest.approx(20 * 20 * 40)
    total, missing = cost.total_usd(b)
    assert missing == [] and total == pytest.approx(sum(b.values()))


def test_unknown_storage_price_is_reported_not_zeroed() -> None:
    b = cost.tco_breakdown(replace(BASE, storage_price_usd=float("nan")), **PARAMS)
    total, missing = cost.total_usd(b)
    assert missing == ["storage_hardware", "storage_maintenance"]
    assert np.isfinite(total)


@settings(max_examples=40, deadline=None)
@given(
    pue=st.floats(1.0, 3.0),
    extra_pue=st.floats(0.0, 1.0),
    price=st.floats(0.0, 1.0),
    extra_price=st.floats(0.0, 1.0),
    factor=st.floats(1.0, 3.0),
)
def test_higher_pue_and_prices_never_lower_tco(
    pue: float, extra_pue: float, price: float, extra_price: float, factor: float
) -> None:
    params = {**PARAMS, "pue_ratio": pue, "usd_per_kwh": price}
    base, _ = cost.total_usd(cost.tco_breakdown(BASE, **params))
    more_pue, _ = cost.total_usd(
        cost.tco_breakdown(BASE, **{**params, "pue_ratio": pue + extra_pue})
    )
    more_kwh, _ = cost.total_usd(
        cost.tco_breakdown(BASE, **{**params, "usd_per_kwh": price + extra_price})
    )
    dearer = replace(
        BASE,
        server_price_usd=BASE.server_price_usd * factor,
        storage_price_usd=BASE.storage_price_usd * factor,
        hypervisor_usd_per_year=BASE.hypervisor_usd_per_year * factor,
        guest_os_perpetual_usd=BASE.guest_os_perpetual_usd * factor,
    )
    more_hw, _ = cost.total_usd(cost.tco_breakdown(dearer, **params))
    more_rate, _ = cost.total_usd(
        cost.tco_breakdown(BASE, **{**params, "admin_usd_per_hour": 40.0 * factor})
    )
    for other in (more_pue, more_kwh, more_hw, more_rate):
        assert other >= base - 1e-6
