"""The replay engine end to end: hand-worked KPIs, conservation, monotonicity, bounds, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_workload
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate import emulate
from capplan.errors import CapplanError, TraceFormatError
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog
from capplan.units import KWH_PER_WS

CATALOG = load_catalog()
X5670 = "ibm-x3550-m3-x5670"  # 12 cores × 2,933 MHz = 35,196 MHz; 66 W idle, 156 W at 50 %
CAP = 35196.0


def _hand_case(**kwargs):
    wl = make_workload(
        {"cpu_demand_mhz": [[8799, 17598], [8799, 17598], [0, 40000]]},
        inventory={"os_family": ["linux", "linux", "linux"]},
    )
    placement = Placement.from_assignment(wl.vm_ids, [0, 0, 1], [X5670] * 3)
    return emulate(wl, placement, CATALOG, "containers", **kwargs)


def test_hand_worked_replay_and_kpis() -> None:
    em = _hand_case()
    np.testing.assert_allclose(em.cpu.util_frac, [[0.5, 1.0], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(em.cpu.unmet_mhz, [[0, 0], [0, 4804], [0, 0]])
    np.testing.assert_allclose(em.power_w, [[156, 247], [66, 247], [0, 0]])
    k = em.kpis(per_vm=True)
    # Energy: (156 + 247 + 66 + 247) W × 300 s; the empty host is off.
    assert k.energy_kwh == pytest.approx(716 * 300 * KWH_PER_WS)
    assert k.overloaded_host_steps == 1
    assert k.slatah_frac == pytest.approx((0 / 2 + 1 / 2) / 2)
    assert k.pdm_frac == pytest.approx(4804 / (17598 + 35196 + 40000))
    assert k.slav == pytest.approx(k.slatah_frac * k.pdm_frac)
    assert k.p95_cpu_util_frac == pytest.approx(1.0)
    assert k.peak_cpu_util_frac == 1.0
    assert k.paging_mib is None and "mem_active_mib" in k.missing_metrics
    # vm2 got 35,196 of 40,000 MHz in step 1 and nothing was asked in step 0.
    np.testing.assert_allclose(em.vm_served_frac, [1.0, 1.0, CAP / 40000], rtol=1e-6)
    assert k.pdm_vm_mean_frac == pytest.approx((1 - CAP / 40000) / 3, rel=1e-5)


def test_containers_replay_memory_without_the_guest_kernel() -> None:
    # Hand-worked: 4,096 MiB guests keep 78 + 4,096 / 64 = 142 MiB in their own kernel; the
    # 100 MiB one needs none of its active memory on the host's kernel (not below 0).
    wl = make_workload(
        {
            "cpu_demand_mhz": [[100.0, 100.0]] * 3,
            "mem_active_mib": [[1000, 2000], [900, 100], [100, 100]],
        },
        inventory={"os_family": ["linux"] * 3, "mem_provisioned_mib": [4096.0] * 3},
    )
    placement = Placement.from_assignment(wl.vm_ids, [0, 0, 1], [X5670] * 2)
    containers = emulate(wl, placement, CATALOG, "containers")
    assert containers.memory is not None
    np.testing.assert_allclose(
        containers.memory.demand_mib, [[1000 + 900 - 284, 2000 - 142], [0, 0]]
    )
    assert any("own kernel memory" in n for n in containers.notes)
    bare = emulate(
        wl, Placement.from_assignment(wl.vm_ids, [0, 1, 2], [X5670] * 3), CATALOG, "bare-metal"
    )
    assert bare.memory is not None
    np.testing.assert_allclose(bare.memory.demand_mib[:, 0], [1000, 900, 100])


def test_empty_hosts_idle_when_kept_on() -> None:
    em = _hand_case(switch_off_empty=False)
    np.testing.assert_allclose(em.power_w[2], [66, 66])
    assert em.kpis().energy_kwh == pytest.approx((716 + 132) * 300 * KWH_PER_WS)


def test_placement_rows_are_matched_by_vm_id() -> None:
    wl = make_workload({"cpu_demand_mhz": [[100.0], [200.0], [400.0]]})
    ordered = Placement.from_assignment(wl.vm_ids, [0, 1, 1], [X5670] * 2)
    shuffled = Placement.from_assignment(wl.vm_ids[::-1], [1, 1, 0], [X5670] * 2)
    a = emulate(wl, ordered, CATALOG).cpu.demand_mhz
    b = emulate(wl, shuffled, CATALOG).cpu.demand_mhz
    np.testing.assert_array_equal(a, b)


def test_errors_name_what_is_wrong() -> None:
    wl = make_workload({"cpu_demand_mhz": [[1.0], [2.0]]})
    with pytest.raises(CapplanError, match=r"'no-such-box'.*valid:"):
        emulate(wl, Placement.from_assignment(wl.vm_ids, [0, 0], ["no-such-box"]), CATALOG)
    partial = Placement.from_assignment(wl.vm_ids[:1], [0], [X5670])
    with pytest.raises(TraceFormatError, match=r"no row in the placement.*vm001"):
        emulate(wl, partial, CATALOG)
    with pytest.raises(CapplanError, match="unknown virtualization mode"):
        emulate(wl, Placement.from_assignment(wl.vm_ids, [0, 0], [X5670]), CATALOG, "kvm")


def _full_workload(rng: np.random.Generator, n_vms: int, n_steps: int, scale: float = 1.0):
    def arr(level: float) -> np.ndarray:
        return (rng.gamma(2.0, level / 2, (n_vms, n_steps)) * scale).astype(np.float32)

    return {
        "cpu_demand_mhz": arr(6000),
        "mem_active_mib": arr(3000),
        "disk_read_iops": arr(300),
        "disk_write_iops": arr(100),
        "disk_read_mib_s": arr(20),
        "disk_write_mib_s": arr(5),
        "net_tx_mbps": arr(200),
        "net_rx_mbps": arr(150),
    }


def _inventory(n_vms: int, rng: np.random.Generator) -> dict[str, list[object]]:
    return {
        "n_vcpus": rng.integers(1, 9, n_vms).tolist(),
        "mem_provisioned_mib": rng.integers(2048, 8192, n_vms).astype(float).tolist(),
        "disk_provisioned_gib": [100.0] * n_vms,
        "disk_used_gib": [40.0] * n_vms,
        "os_family": ["linux"] * n_vms,
        "vlan_id": rng.integers(1, 4, n_vms).tolist(),
    }


def test_all_subsystems_conserve_demand() -> None:
    rng = np.random.default_rng(7)
    n_vms, n_steps, n_hosts = 12, 6, 4
    metrics = _full_workload(rng, n_vms, n_steps)
    wl = make_workload(metrics, inventory=_inventory(n_vms, rng))
    hosts = rng.integers(0, n_hosts, n_vms)
    em = emulate(wl, Placement.from_assignment(wl.vm_ids, hosts, [X5670] * n_hosts), CATALOG)
    kvm = CATALOG.mode("hw-assisted")
    mult = float(kvm.cpu_multiplier(0.07))
    io_mhz = (metrics["disk_read_iops"] + metrics["disk_write_iops"]) * kvm.io_cpu_mhz_per_iops
    np.testing.assert_allclose(
        em.cpu.demand_mhz.sum(axis=0),
        (metrics["cpu_demand_mhz"] * mult + io_mhz).sum(axis=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        em.host_storage_mib_s.sum(axis=0),
        (metrics["disk_read_mib_s"] + metrics["disk_write_mib_s"]).sum(axis=0),
        rtol=1e-5,
    )
    tier = em.tiers["ssd"]
    paging_iops = em.memory.paging_mib_s.sum(axis=0) * 256
    np.testing.assert_allclose(
        tier.frontend_iops,
        (metrics["disk_read_iops"] + metrics["disk_write_iops"]).sum(axis=0) + paging_iops,
        rtol=1e-4,
    )
    # NIC traffic never exceeds what the VMs send; what stays on a host is local traffic.
    assert np.all(em.network.nic_tx_mbps.sum(axis=0) <= metrics["net_tx_mbps"].sum(axis=0) + 1e-2)
    k = em.kpis()
    for key in (
        "energy_kwh",
        "slatah_frac",
        "pdm_frac",
        "overloaded_host_steps",
        "paging_mib",
        "p95_cpu_util_frac",
        "storage_p95_latency_ms",
        "peak_nic_load_ratio",
        "peak_uplink_load_ratio",
        "max_vlans_per_host_trunk",
    ):
        assert getattr(k, key) is not None, key
    assert k.storage["ssd"].capacity_used_frac > 0
    assert k.missing_metrics == ()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1.0, 3.0))
def test_more_demand_never_lowers_power_or_latency(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    n_vms, n_steps, n_hosts = 8, 5, 3
    base = _full_workload(rng, n_vms, n_steps)
    inventory = _inventory(n_vms, rng)
    hosts = rng.integers(0, n_hosts, n_vms)
    placement = Placement.from_assignment(
        [f"vm{i:03d}" for i in range(n_vms)], hosts, [X5670] * n_hosts
    )
    low = emulate(make_workload(base, inventory=inventory), placement, CATALOG)
    more = {m: (v * np.float32(scale)).astype(np.float32) for m, v in base.items()}
    high = emulate(make_workload(more, inventory=inventory), placement, CATALOG)
    assert np.all(high.power_w >= low.power_w - 1e-3)
    assert np.all(high.tiers["ssd"].latency_ms >= low.tiers["ssd"].latency_ms - 1e-9)
    assert np.all(high.memory.paging_mib_s >= low.memory.paging_mib_s - 1e-3)
    # Bounds: utilization in [0, 1]; power between idle and max on hosts that are on.
    on = low.host_on
    assert np.all((low.cpu.util_frac >= 0) & (low.cpu.util_frac <= 1))
    assert np.all(low.power_w[on] >= 66 - 1e-3) and np.all(low.power_w[on] <= 247 + 1e-3)
    assert np.all(low.power_w[~on] == 0)
    served = low.served_frac()
    assert np.all((served >= 0) & (served <= 1))


def test_missing_cpu_means_idle_power_and_a_note() -> None:
    wl = make_workload({"mem_active_mib": [[100.0, 100.0]]})
    em = emulate(wl, Placement.from_assignment(wl.vm_ids, [0], [X5670]), CATALOG)
    assert em.cpu is None and np.all(em.power_w == 66)
    k = em.kpis()
    assert k.pdm_frac is None and any("0 % CPU" in n for n in k.notes)
    assert any("mem_provisioned_mib" in n for n in k.notes)


def test_real_planetlab_day_on_cloudsim_hosts(shared_path) -> None:
    from capplan.demand import load_workload

    day = shared_path("data", "planetlab", "20110303")
    wl = load_workload(f"planetlab:{day}")
    n_hosts = 800  # CloudSim's PlanetLab example: half HP ML110 G4, half G5
    models = ["hp-proliant-ml110-g4", "hp-proliant-ml110-g5"] * (n_hosts // 2)
    hosts = np.arange(wl.n_vms) % n_hosts
    em = emulate(wl, Placement.from_assignment(wl.vm_ids, hosts, models), CATALOG, "hw-assisted")
    k = em.kpis()
    hours = wl.n_steps * wl.step_s / 3600
    idle_kwh = (86 + 93.7) / 2 * n_hosts * hours / 1000
    max_kwh = (117 + 135) / 2 * n_hosts * hours / 1000
    assert idle_kwh < k.energy_kwh < max_kwh
    mult = float(CATALOG.mode("hw-assisted").cpu_multiplier(0.07))
    np.testing.assert_allclose(
        em.cpu.demand_mhz.sum(dtype=np.float64),
        wl.mean["cpu_demand_mhz"].sum(dtype=np.float64) * mult,
        rtol=1e-5,
    )
    assert 0 <= k.slatah_frac <= 1 and 0 <= k.pdm_frac <= 1


def test_memory_kpis_are_the_replays_own_peaks_and_counts() -> None:
    # An over-committed host: the KPIs must be the maxima and counts of the replay's arrays.
    rng = np.random.default_rng(4)
    active = rng.uniform(1500.0, 4000.0, (6, 48))
    wl = make_workload(
        {"cpu_demand_mhz": np.full((6, 48), 2000.0), "mem_active_mib": active},
        inventory={"os_family": ["linux"] * 6, "mem_provisioned_mib": [8192.0] * 6},
    )
    small = "ibm-x3250-m3-x3470"
    em = emulate(wl, Placement.from_assignment(wl.vm_ids, [0] * 5 + [1], [small] * 2), CATALOG)
    mem = em.memory
    assert mem is not None and len(mem.paging_rows) == 1
    k = em.kpis()
    assert k.peak_balloon_mib == float(mem.balloon_mib.max()) > 0
    assert k.peak_compressed_mib == float(mem.compressed_mib.max())
    assert k.peak_swapped_mib == float(mem.swapped_mib.max())
    assert k.peak_paging_mib_s == float(mem.paging_mib_s.max())
    reclaimed = (mem.balloon_mib + mem.compressed_mib + mem.swapped_mib) > 0
    assert k.mem_overcommitted_host_steps == int(reclaimed.sum()) > 0
    # PDM counts the CPU the stalls take back on the paging hosts.
    cpu = em.cpu
    assert cpu is not None and (mem.slowdown_frac > 0).any()
    stalled = ((cpu.demand_mhz - cpu.unmet_mhz) * mem.slowdown_frac).sum(dtype=np.float64)
    expected = (cpu.unmet_mhz.sum(dtype=np.float64) + stalled) / cpu.demand_mhz.sum(
        dtype=np.float64
    )
    assert k.pdm_frac == pytest.approx(expected, rel=1e-6)


def test_swap_files_only_where_a_hypervisor_keeps_them() -> None:
    # A hypervisor keeps a swap file as large as each VM's configured memory (3 × 4 GiB here);
    # bare metal and containers have none.
    wl = make_workload(
        {
            "cpu_demand_mhz": [[100.0, 100.0]] * 3,
            "mem_active_mib": [[500.0, 600.0]] * 3,
            "disk_read_iops": [[10.0, 10.0]] * 3,
        },
        inventory={"os_family": ["linux"] * 3, "mem_provisioned_mib": [4096.0] * 3},
    )
    placement = Placement.from_assignment(wl.vm_ids, [0, 1, 2], [X5670] * 3)
    swap = {}
    for mode in ("hw-assisted", "containers", "bare-metal"):
        em = emulate(wl, placement, CATALOG, mode)
        swap[mode] = sum(t.allocated_gib for t in em.tiers.values())
    assert swap["hw-assisted"] == pytest.approx(12.0)
    assert swap["containers"] == swap["bare-metal"] == 0.0


def test_kpis_are_typed_and_the_type_cannot_drift_from_the_producer() -> None:
    """Every figure the KPI pass computes is a field of EmulationKpis: a new one that is not
    is refused by name, and a saved one reads back equal."""
    import json

    from capplan.outcomes import EmulationKpis

    k = _hand_case().kpis(per_vm=True)
    doc = k.to_dict()
    assert EmulationKpis.from_dict(json.loads(json.dumps(doc))) == k
    with pytest.raises(ValueError, match="new_figure"):
        EmulationKpis.from_dict({**doc, "new_figure": 1.0})
    assert EmulationKpis.from_dict({**doc, "new_figure": 1.0}, strict=False) == k
    tier = {"p95_latency_ms": 1.5, "slo_breach_steps": 3}
    newer = {**doc, "storage": {"ssd": {**tier, "new_tier_figure": 2}}}
    with pytest.raises(ValueError, match="new_tier_figure"):
        EmulationKpis.from_dict(newer)
    loaded = EmulationKpis.from_dict(newer, strict=False)
    assert loaded.storage["ssd"].slo_breach_steps == 3
