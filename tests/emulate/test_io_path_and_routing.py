"""The modes' per-VM I/O path (latency and CPU per I/O), the kernel/user CPU split, and the
routing of each VM's I/O to the pool its storage plan chose: hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_workload

from capplan.emulate import emulate
from capplan.emulate.routing import StorageRouting
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog

CATALOG = load_catalog()
X5670 = "ibm-x3550-m3-x5670"


def _one_vm_per_host(metrics, inventory, mode, routing=None):
    wl = make_workload(metrics, inventory=inventory)
    placement = Placement.from_assignment(wl.vm_ids, range(wl.n_vms), [X5670] * wl.n_vms)
    return emulate(wl, placement, CATALOG, mode, storage_routing=routing)


def test_kernel_share_scales_kernel_time_by_the_modes_kernel_slowdown() -> None:
    # Two VMs of 1,000 MHz: one all user code, one half in the kernel (inventory share);
    # a third without a share takes the catalog's default (0.07).
    em = _one_vm_per_host(
        {"cpu_demand_mhz": [[1000.0], [1000.0], [1000.0]]},
        {"cpu_kernel_frac": [0.0, 0.5, None], "os_family": ["linux"] * 3},
        "full-bt",
    )
    # Barham et al.: user code 567 / 554 of native time; kernel code 4.545 x.
    user = 1000.0 / (1.0 - 0.0229)
    half = 500.0 / (1.0 - 0.0229) + 500.0 * 4.545
    default = 930.0 / (1.0 - 0.0229) + 70.0 * 4.545
    np.testing.assert_allclose(em.cpu.demand_mhz[:, 0], [user, half, default], rtol=1e-5)
    # The default share gives back the paper's whole Linux-build figure, 334 / 263 s.
    assert default == pytest.approx(1000.0 * 334 / 263, rel=1e-3)


def test_io_path_costs_cpu_and_latency_per_vm_io() -> None:
    metrics = {
        "cpu_demand_mhz": [[1000.0, 1000.0]],
        "disk_read_iops": [[600.0, 0.0]],
        "disk_write_iops": [[400.0, 0.0]],
    }
    inventory = {"os_family": ["linux"]}
    kvm = _one_vm_per_host(metrics, inventory, "hw-assisted")
    bare = _one_vm_per_host(metrics, inventory, "bare-metal")
    # 1,000 IOPS x 2.91 us of a 2.4 GHz Sandy Bridge core (1.149 reference MHz per MHz) =
    # 8.025 reference MHz on top of the user/kernel demand.
    base = 1000.0 / (1.0 - 0.0227)
    np.testing.assert_allclose(kvm.cpu.demand_mhz[0], [base + 8.0245, base], rtol=1e-5)
    np.testing.assert_allclose(bare.cpu.demand_mhz[0], [1000.0, 1000.0], rtol=1e-6)
    ssd_kvm, ssd_bare = kvm.tiers["ssd"], bare.tiers["ssd"]
    # Same pool load either way; under KVM a VM read takes 0.3726 ms more and a write 0.624:
    # 600 reads and 400 writes average (600 x 0.3726 + 400 x 0.624) / 1000; a step without
    # VM I/O adds nothing.
    np.testing.assert_allclose(ssd_kvm.latency_ms, ssd_bare.latency_ms)
    mixed = (600 * 0.3726 + 400 * 0.624) / 1000
    np.testing.assert_allclose(ssd_kvm.vm_latency_ms - ssd_bare.vm_latency_ms, [mixed, 0.0])
    p95 = {
        m: _one_vm_per_host(metrics, inventory, m).kpis().storage_p95_latency_ms
        for m in ("bare-metal", "containers", "hw-assisted", "full-bt")
    }
    assert p95["bare-metal"] < p95["containers"] < p95["hw-assisted"] == p95["full-bt"]
    assert p95["hw-assisted"] - p95["bare-metal"] == pytest.approx(mixed, abs=1e-6)


def _routing(vm_ids, copies, share=(0.0, 1.0)):
    return StorageRouting(
        vm_ids=np.asarray(vm_ids),
        pool_names=("fast", "slow"),
        pool_tiers=(CATALOG.tier("ssd"), CATALOG.tier("nl-sas")),
        copies=np.asarray(copies, dtype=np.int64),
        paging_share=np.asarray(share, dtype=np.float64),
        source="test",
    )


def test_each_vms_io_lands_on_its_planned_pools() -> None:
    metrics = {
        "cpu_demand_mhz": [[100.0]] * 3,
        "disk_read_iops": [[100.0], [200.0], [300.0]],
        "disk_write_iops": [[10.0], [20.0], [30.0]],
        "disk_read_mib_s": [[1.0], [2.0], [3.0]],
        "disk_write_mib_s": [[0.5], [1.0], [1.5]],
    }
    inventory = {
        "os_family": ["linux"] * 3,
        "disk_provisioned_gib": [100.0, 200.0, 300.0],
        "disk_used_gib": [10.0, 20.0, 30.0],
    }
    wl = make_workload(metrics, inventory=inventory)
    # vm000 on "fast"; vm001 mirrored fast + slow (reads from fast); vm002 not placed.
    routing = _routing(["vm001", "vm000"], [[0, 1], [0, -1]])
    placement = Placement.from_assignment(wl.vm_ids, [0, 1, 2], [X5670] * 3)
    em = emulate(wl, placement, CATALOG, "bare-metal", storage_routing=routing)
    fast, slow, default = em.tiers["fast"], em.tiers["slow"], em.tiers["ssd"]
    assert fast.frontend_iops[0] == pytest.approx(110 + 220)
    assert slow.frontend_iops[0] == pytest.approx(20)  # the mirror's writes only
    assert default.frontend_iops[0] == pytest.approx(330)  # the unplaced VM
    assert slow.mib_s[0] == pytest.approx(1.0) and fast.mib_s[0] == pytest.approx(1.5 + 3.0)
    # Back end: the writes times each tier's RAID write penalty.
    ssd, nl = CATALOG.tier("ssd"), CATALOG.tier("nl-sas")
    assert fast.backend_iops[0] == pytest.approx(300 + ssd.write_penalty * 30)
    assert slow.backend_iops[0] == pytest.approx(nl.write_penalty * 20)
    # Capacity: each copy takes its VM's disk on its pool (thin: used + snapshot reserve).
    reserve = CATALOG.san.snapshot_overhead_frac
    used = 30.0 if CATALOG.san.thin_provisioning else 300.0
    assert fast.allocated_gib == pytest.approx(used + reserve * 30.0)
    assert fast.provisioned_gib == pytest.approx(300.0)
    assert any("1 VM(s) the storage routing (test) does not place" in n for n in em.notes)


def test_paging_lands_on_the_plans_paging_pool() -> None:
    metrics = {"cpu_demand_mhz": [[100.0]], "mem_active_mib": [[400_000.0]]}
    inventory = {"os_family": ["linux"], "mem_provisioned_mib": [400_000.0]}
    wl = make_workload(metrics, inventory=inventory)
    placement = Placement.from_assignment(wl.vm_ids, [0], [X5670])
    em = emulate(
        wl, placement, CATALOG, "hw-assisted", storage_routing=_routing(["vm000"], [[0, -1]])
    )
    paging = float(em.memory.paging_mib_s.sum())
    assert paging > 0
    # All paging on "slow" (share 1), none on "fast", and no separate swap-tier replay.
    assert float(em.tiers["slow"].frontend_iops.sum()) > 0
    assert float(em.tiers["fast"].frontend_iops.sum()) == 0
    assert set(em.tiers) == {"fast", "slow"}
    # Paging is the hypervisor's I/O: it does not cross the mode's I/O path.
    slow = em.tiers["slow"]
    np.testing.assert_array_equal(slow.vm_latency_ms, slow.latency_ms)
    assert not slow.path_ms.any()


def test_bad_routing_is_refused() -> None:
    with pytest.raises(CapplanError, match="out of range"):
        _routing(["a"], [[2, -1]])
    with pytest.raises(CapplanError, match=r"\(n_vms, 2\)"):
        _routing(["a", "b"], [[0, -1]])
