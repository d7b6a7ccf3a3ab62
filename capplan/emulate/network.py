"""Network: host NICs, top-of-rack uplinks, VLAN trunks and VPN tunnels.

Units: Mbit/s. There is no VM-to-VM traffic matrix in a trace, so traffic is split by a
published share: a VM sends ``east_west_frac`` of its traffic to other VMs of its VLAN
(evenly over them) and the rest leaves the data center (north-south). VMs without a VLAN id
form one untagged network. For VM ``v`` of VLAN ``g`` with ``n_g`` members:

- share of its east-west peers on its own host ``ℓ_h = (n_{g,host} − 1) / (n_g − 1)``
  (0 when it has no peer) and on its own rack ``ℓ_r = (n_{g,rack} − 1) / (n_g − 1)``
- traffic through its host's NIC ``x · (1 − ew · ℓ_h)``
- traffic through its rack's uplinks ``x · (1 − ew · ℓ_r)``
- on the wire every full-size frame carries the Ethernet overhead (and the 802.1Q tag on a
  trunk): ``wire = x · (MTU + overhead [+ tag]) / MTU``
- utilization ``= max(tx / f_tx, rx / f_rx) · wire factor / capacity``, ``f`` the mode's
  transmit and receive throughput factors
  (links are full duplex; the mode's virtual switch delivers that share of line rate)
- VPN ``= vpn_frac · (1 − ew) · x · MTU / (MTU − VPN overhead)``

Racks are consecutive blocks of ``hosts_per_tor`` hosts in placement order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.emulate.aggregate import aggregate
from capplan.emulate.context import NET_METRICS, Replay
from capplan.spec.catalog import Fabric

F32 = npt.NDArray[np.float32]


def rack_of_host(n_hosts: int, hosts_per_tor: int) -> npt.NDArray[np.int64]:
    """Rack index of each host: consecutive blocks of ``hosts_per_tor``."""
    return np.arange(n_hosts, dtype=np.int64) // max(hosts_per_tor, 1)


#: Largest number of possible (VLAN, host) keys counted in one dense array, not by sorting.
DENSE_COUNT_LIMIT = 1 << 22


def local_shares(
    vlan_of_vm: npt.ArrayLike,
    host_of_vm: npt.ArrayLike,
    rack_of_vm: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Share of each VM's VLAN peers on its own host and on its own rack.

    Parameters
    ----------
    vlan_of_vm
        VLAN id per VM, int ``(n_vms,)``; any one value (e.g. −1) for "no VLAN".
    host_of_vm, rack_of_vm
        Host and rack index per VM.

    Returns
    -------
    (host_share, rack_share)
        float64 ``(n_vms,)`` in [0, 1]; 0 for a VM alone in its VLAN.
    """
    vlan = np.asarray(vlan_of_vm, dtype=np.int64)
    host = np.asarray(host_of_vm, dtype=np.int64)
    rack = np.asarray(rack_of_vm, dtype=np.int64)
    if len(vlan) == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty

    def members(*keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        key = np.zeros(len(vlan), dtype=np.int64)
        n_keys = 1
        for part in keys:
            _, dense = np.unique(part, return_inverse=True)
            size = int(dense.max()) + 1
            key = key * size + dense.ravel()
            n_keys *= size
        if n_keys <= DENSE_COUNT_LIMIT:  # a count per possible key: no second sort
            return np.bincount(key, minlength=n_keys)[key].astype(np.int64)
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        return counts[inverse.ravel()].astype(np.int64)

    n_vlan = members(vlan)
    peers = (n_vlan - 1).astype(np.float64)
    safe = np.where(peers > 0, peers, 1.0)
    host_share = np.where(peers > 0, (members(vlan, host) - 1) / safe, 0.0)
    rack_share = np.where(peers > 0, (members(vlan, rack) - 1) / safe, 0.0)
    return host_share, rack_share


def traffic_weights(
    host_share: npt.ArrayLike, rack_share: npt.ArrayLike, east_west_frac: float
) -> npt.NDArray[np.float32]:
    """Per-VM weights ``(2, n_vms)``: row 0 through the host NIC, row 1 through the uplinks."""
    hs = np.asarray(host_share, dtype=np.float64)
    rs = np.asarray(rack_share, dtype=np.float64)
    return np.stack([1.0 - east_west_frac * hs, 1.0 - east_west_frac * rs]).astype(np.float32)


def vlans_per_trunk(
    vlan_of_vm: npt.ArrayLike, group_of_vm: npt.ArrayLike, n_groups: int
) -> npt.NDArray[np.int64]:
    """Distinct VLANs among the VMs of each host (or rack): what its trunk must carry."""
    vlan = np.asarray(vlan_of_vm, dtype=np.int64)
    group = np.asarray(group_of_vm, dtype=np.int64)
    if len(vlan) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    _, vlan_dense = np.unique(vlan, return_inverse=True)
    n_vlans = int(vlan_dense.max()) + 1
    key = group * n_vlans + vlan_dense.ravel()
    if n_groups * n_vlans <= DENSE_COUNT_LIMIT:  # which pairs occur, without sorting
        seen = np.bincount(key, minlength=n_groups * n_vlans).reshape(n_groups, n_vlans) > 0
        return seen.sum(axis=1).astype(np.int64)
    return np.bincount(np.unique(key) // n_vlans, minlength=n_groups).astype(np.int64)


def rack_sum(host_values: F32, hosts_per_tor: int) -> F32:
    """Sum ``(n_hosts, n_steps)`` rows over consecutive blocks of ``hosts_per_tor`` hosts."""
    n_hosts, n_steps = host_values.shape
    n_racks = -(-n_hosts // max(hosts_per_tor, 1))
    padded_rows = n_racks * hosts_per_tor
    if padded_rows != n_hosts:
        pad = np.zeros((padded_rows - n_hosts, n_steps), dtype=host_values.dtype)
        host_values = np.concatenate([host_values, pad])
    return host_values.reshape(n_racks, hosts_per_tor, n_steps).sum(axis=1, dtype=np.float32)


@dataclass(frozen=True)
class NetworkResult:
    """Network replay.

    Attributes
    ----------
    nic_tx_mbps, nic_rx_mbps
        Payload traffic through each host's NICs, float32 ``(n_hosts, n_steps)``.
    nic_load_ratio
        ``max(tx, rx) · wire factor / (NIC capacity · mode factor)``, ``(n_hosts, n_steps)``.
    uplink_load_ratio
        The same for each rack's uplinks, ``(n_racks, n_steps)``.
    vpn_mbps
        Traffic through VPN tunnels (wire bits), float64 ``(n_steps,)``.
    vlans_per_host, vlans_per_rack
        Distinct VLANs each host / rack trunk carries.
    wire_factor
        Wire bits per payload bit used.
    """

    nic_tx_mbps: F32
    nic_rx_mbps: F32
    nic_load_ratio: F32
    uplink_load_ratio: F32
    vpn_mbps: npt.NDArray[np.float64]
    vlans_per_host: npt.NDArray[np.int64]
    vlans_per_rack: npt.NDArray[np.int64]
    wire_factor: float


def link_load_ratio(
    tx_mbps: F32 | None,
    rx_mbps: F32 | None,
    capacity_mbps: npt.ArrayLike,
    *,
    wire_factor: float,
    throughput_factor: float = 1.0,
    rx_throughput_factor: float | None = None,
) -> F32:
    """``max(tx / f_tx, rx / f_rx) · wire_factor / capacity`` per row and step.

    Parameters
    ----------
    tx_mbps, rx_mbps
        Payload Mbit/s, ``(n_links, n_steps)``; either may be None (metric absent), not both.
    capacity_mbps
        Line rate per link row, ``(n_links,)`` (0 → infinite load when traffic is present).
    wire_factor
        Wire bits per payload bit.
    throughput_factor
        Share of line rate the (virtual) path delivers when transmitting (``f_tx``), and
        when receiving unless ``rx_throughput_factor`` is given.
    rx_throughput_factor
        Share of line rate the path delivers when receiving (``f_rx``).
    """
    f_rx = throughput_factor if rx_throughput_factor is None else rx_throughput_factor
    cap = np.asarray(capacity_mbps, dtype=np.float64) / wire_factor
    positive = cap > 0
    inv = np.where(positive, 1.0 / np.where(positive, cap, 1.0), np.inf)
    if tx_mbps is None and rx_mbps is None:
        raise ValueError("link_load_ratio needs tx or rx traffic")
    inv_tx = (inv / throughput_factor).astype(np.float32)
    inv_rx = (inv / f_rx).astype(np.float32)
    with np.errstate(invalid="ignore"):
        if rx_mbps is None:
            assert tx_mbps is not None
            load = np.multiply(tx_mbps, inv_tx[:, None])
        elif tx_mbps is None:
            load = np.multiply(rx_mbps, inv_rx[:, None])
        else:
            load = np.multiply(tx_mbps, inv_tx[:, None])
            np.maximum(load, np.multiply(rx_mbps, inv_rx[:, None]), out=load)
    if not positive.all():
        # 0 traffic on a link without capacity: no load (0 × inf); any traffic: inf.
        np.nan_to_num(load, copy=False, nan=0.0, posinf=np.inf)
    return load


def vpn_mbps(north_south_mbps: npt.ArrayLike, fabric: Fabric) -> npt.NDArray[np.float64]:
    """Wire traffic of the VPN tunnels: ``vpn_frac · north-south · MTU / (MTU − overhead)``."""
    ns = np.asarray(north_south_mbps, dtype=np.float64)
    return fabric.vpn_frac * ns * fabric.vpn_factor


# ----------------------------------------------------------------------- the stage
def replay_network(ctx: Replay) -> NetworkResult | None:
    """The network stage: NIC and ToR uplink loads, VPN traffic, VLANs per trunk.

    None when the workload has no network metric.
    """
    metrics, fabric, placed = ctx.metrics, ctx.catalog.fabric, ctx.placed
    if not any(m in metrics for m in NET_METRICS):
        return None
    n_hosts, n_steps = ctx.n_hosts, ctx.n_steps
    vlan_raw = ctx.workload.inventory_column("vlan_id")
    tagged = bool(np.isfinite(vlan_raw).any())
    vlan = np.where(np.isfinite(vlan_raw), vlan_raw, -1).astype(np.int64)
    racks = rack_of_host(n_hosts, fabric.hosts_per_tor)
    vm_rack = racks[placed.host_of_vm]
    host_share, rack_share = local_shares(vlan, placed.host_of_vm, vm_rack)
    weights = traffic_weights(host_share, rack_share, fabric.east_west_frac)
    wire = fabric.wire_factor_tagged if tagged else fabric.wire_factor_untagged
    parts: dict[str, npt.NDArray[np.float32]] = {}
    for metric in NET_METRICS:
        if metric in metrics:
            both = aggregate(metrics[metric], ctx.host_map, weights=weights, workers=ctx.workers)
            parts[metric] = both[0]
            parts[metric + ":uplink"] = rack_sum(both[1], fabric.hosts_per_tor)
            del both
    n_racks = int(racks.max()) + 1 if n_hosts else 0
    tx = parts.get("net_tx_mbps")
    rx = parts.get("net_rx_mbps")
    north_south = (
        (1.0 - fabric.east_west_frac) * (ctx.total("net_tx_mbps") + ctx.total("net_rx_mbps"))
        if fabric.vpn_frac > 0
        else ctx.zeros()
    )
    return NetworkResult(
        nic_tx_mbps=tx if tx is not None else np.zeros((n_hosts, n_steps), np.float32),
        nic_rx_mbps=rx if rx is not None else np.zeros((n_hosts, n_steps), np.float32),
        nic_load_ratio=link_load_ratio(
            tx,
            rx,
            ctx.params.nic_capacity_mbps,
            wire_factor=wire,
            throughput_factor=ctx.virt.net_tx_factor,
            rx_throughput_factor=ctx.virt.net_rx_factor,
        ),
        uplink_load_ratio=link_load_ratio(
            parts.get("net_tx_mbps:uplink"),
            parts.get("net_rx_mbps:uplink"),
            np.full(n_racks, fabric.uplink_capacity_mbps),
            wire_factor=wire,
        ),
        vpn_mbps=vpn_mbps(north_south, fabric),
        vlans_per_host=vlans_per_trunk(vlan, placed.host_of_vm, n_hosts),
        vlans_per_rack=vlans_per_trunk(vlan, vm_rack, n_racks),
        wire_factor=wire,
    )
