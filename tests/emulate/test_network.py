"""Network: VLAN locality, trunks, rack sums and link load."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.emulate.network import (
    link_load_ratio,
    local_shares,
    rack_of_host,
    rack_sum,
    traffic_weights,
    vlans_per_trunk,
    vpn_mbps,
)
from capplan.spec.catalog import load_catalog


def test_local_shares_hand_worked() -> None:
    # VLAN 10: vm0, vm1 on host 0 (rack 0) and vm2 on host 1 (rack 0); VLAN 20: vm3 alone.
    vlan = np.array([10, 10, 10, 20])
    host = np.array([0, 0, 1, 2])
    rack = np.array([0, 0, 0, 1])
    hs, rs = local_shares(vlan, host, rack)
    np.testing.assert_allclose(hs, [0.5, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(rs, [1.0, 1.0, 1.0, 0.0])
    w = traffic_weights(hs, rs, east_west_frac=0.8)
    np.testing.assert_allclose(w[0], [0.6, 0.6, 1.0, 1.0])  # through the NIC
    np.testing.assert_allclose(w[1], [0.2, 0.2, 0.2, 1.0])  # through the uplinks


def test_trunks_and_racks() -> None:
    assert vlans_per_trunk([1, 2, 2, 3], [0, 0, 0, 1], 3).tolist() == [2, 1, 0]
    assert rack_of_host(5, 2).tolist() == [0, 0, 1, 1, 2]
    host = np.arange(10, dtype=np.float32).reshape(5, 2)
    np.testing.assert_array_equal(rack_sum(host, 2), [[2, 4], [10, 12], [8, 9]])


def test_link_load_hand_worked() -> None:
    tx = np.array([[500.0], [0.0]], dtype=np.float32)
    rx = np.array([[200.0], [0.0]], dtype=np.float32)
    # 500 Mbit/s payload × 1538/1500 on a 1,000 Mbit/s link at 50 % of line rate.
    load = link_load_ratio(tx, rx, [1000.0, 0.0], wire_factor=1538 / 1500, throughput_factor=0.5)
    assert load[0, 0] == pytest.approx(500 * 1538 / 1500 / 500)
    assert load[1, 0] == 0.0  # no capacity and no traffic


def test_link_load_with_separate_transmit_and_receive_ceilings() -> None:
    # full-bt's ttcp ceilings on a 897 Mbit/s native path: transmit 291, receive 615.
    tx = np.array([[145.5], [0.0]], dtype=np.float32)
    rx = np.array([[0.0], [615.0]], dtype=np.float32)
    load = link_load_ratio(
        tx,
        rx,
        [897.0, 897.0],
        wire_factor=1.0,
        throughput_factor=291 / 897,
        rx_throughput_factor=615 / 897,
    )
    assert load[0, 0] == pytest.approx(0.5)  # half the transmit ceiling
    assert load[1, 0] == pytest.approx(1.0)  # all of the receive ceiling
    # receive traffic alone uses the receive factor
    only_rx = link_load_ratio(
        None,
        rx,
        [897.0, 897.0],
        wire_factor=1.0,
        throughput_factor=0.1,
        rx_throughput_factor=615 / 897,
    )
    assert only_rx[1, 0] == pytest.approx(1.0)


def test_vpn_overhead() -> None:
    fabric = load_catalog().fabric
    import dataclasses

    vpn = dataclasses.replace(fabric, vpn_frac=0.5, vpn_overhead_bytes=57, mtu_bytes=1500)
    assert vpn_mbps([100.0], vpn)[0] == pytest.approx(50 * 1500 / 1443)


@pytest.mark.parametrize(("n_vlans", "n_hosts"), [(40, 300), (3000, 2000)])
def test_shares_and_trunks_against_brute_force(n_vlans: int, n_hosts: int) -> None:
    # Few keys are counted densely, many (3,000 VLANs × 2,000 hosts) by sorting: both paths.
    rng = np.random.default_rng(n_vlans)
    vlan = rng.integers(-1, n_vlans, 4000)
    host = rng.integers(0, n_hosts, 4000)
    rack = host // 20
    host_share, rack_share = local_shares(vlan, host, rack)
    for v in rng.choice(4000, 200, replace=False):
        peers = np.count_nonzero(vlan == vlan[v]) - 1
        on_host = np.count_nonzero((vlan == vlan[v]) & (host == host[v])) - 1
        on_rack = np.count_nonzero((vlan == vlan[v]) & (rack == rack[v])) - 1
        assert host_share[v] == (on_host / peers if peers else 0.0)
        assert rack_share[v] == (on_rack / peers if peers else 0.0)
    trunks = vlans_per_trunk(vlan, host, n_hosts)
    for h in rng.choice(n_hosts, 50, replace=False):
        assert trunks[h] == len(set(vlan[host == h].tolist()))
