"""CPU ready as a share of wall time (VMware's %RDY): by hand, and the KPI shortcut against
the full array."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.emulate.cpu import ready_threshold_util, ready_wall_frac


def test_ready_by_hand() -> None:
    # 4 cores, 8 vCPUs, ρ = 0.5, a = 2: Erlang C = (2⁴/4! · 4/2) / (1 + 2 + 2 + 4/3 + 4/3)
    # = 4/23; Wq/S = C / (4 · 0.5) = 2/23. Each vCPU runs 0.5 · 4 / 8 = 25 % of the time,
    # so it waits 0.25 · 2/23 = 1/46 of wall time.
    got = ready_wall_frac(np.array([[0.5]], dtype=np.float32), [4], [8])
    assert float(got[0, 0]) == pytest.approx(1 / 46, rel=1e-5)
    # vCPUs not above cores: never ready
    assert ready_wall_frac(np.array([[0.9]], dtype=np.float32), [8], [8])[0, 0] == 0.0
    # idle host: no wait
    assert ready_wall_frac(np.array([[0.0]], dtype=np.float32), [4], [8])[0, 0] == 0.0


def test_threshold_counts_the_same_host_steps_as_the_full_array() -> None:
    rng = np.random.default_rng(5)
    util = rng.uniform(0.0, 1.0, (30, 200)).astype(np.float32)
    cores = rng.choice([2.0, 8.0, 32.0], 30)
    vcpus = cores * rng.choice([0.5, 1.5, 4.0], 30)
    full = ready_wall_frac(util, cores, vcpus)
    threshold = ready_threshold_util(cores, vcpus, 0.05)
    shortcut = sum(
        int(np.count_nonzero(util[h] > threshold[h]))
        for h in range(30)
        if np.isfinite(threshold[h])
    )
    brute = int(np.count_nonzero(full > 0.05))
    assert abs(shortcut - brute) <= 2  # bisection to float32 precision at the boundary
    assert brute > 0


def test_per_vm_ready_is_its_hosts_ready_by_hand() -> None:
    from helpers import make_workload

    from capplan.emulate import emulate
    from capplan.placement import Placement
    from capplan.spec.catalog import load_catalog

    catalog = load_catalog()
    model = "ibm-x3250-m3-x3470"  # 4 cores
    cap = catalog.host(model).cpu_capacity_mhz
    # Host 0: two 4-vCPU VMs at 0.5 of the host (so 8 vCPUs on 4 cores, ρ = 0.5 at peak);
    # host 1: one 2-vCPU VM (vCPUs below cores: never ready).
    half = cap / 2 / 2
    wl = make_workload(
        {"cpu_demand_mhz": [[half / 2, half], [half / 2, half], [cap / 4, cap / 4]]},
        inventory={"n_vcpus": [4, 4, 2], "os_family": ["linux"] * 3},
    )
    em = emulate(
        wl, Placement.from_assignment(wl.vm_ids, [0, 0, 1], [model] * 2), catalog, "containers"
    )
    peak = em.vm_cpu_ready_frac()
    assert peak.tolist() == pytest.approx([1 / 46, 1 / 46, 0.0], rel=1e-4)
    k = em.kpis(per_vm=True)
    assert k.vms_over_cpu_ready_limit == 0
    assert [w["vm_id"] for w in k.worst_cpu_ready_vms] == ["vm000", "vm001"]
    assert k.worst_cpu_ready_vms[0]["peak_cpu_ready_frac"] == pytest.approx(1 / 46, rel=1e-4)


def test_sizing_cap_keeps_ready_within_the_limit_for_any_vcpu_count() -> None:
    from capplan.optimize.consolidate import ready_cap_frac
    from capplan.spec.catalog import load_catalog

    by_cores = {h.n_cores: h for h in load_catalog().hosts.values()}
    assert len(by_cores) >= 4
    for cores, host in sorted(by_cores.items()):
        cap = ready_cap_frac(host, 0.05)
        # Brute force over every vCPU count that can queue (up to 8 per core): at the cap
        # none passes 5 %, and just above it the worst one (cores + 1) does.
        vcpus = np.arange(cores + 1, cores * 8 + 1, dtype=np.float64)
        util = np.full((len(vcpus), 1), cap, dtype=np.float32)
        at_cap = ready_wall_frac(util, [cores] * len(vcpus), vcpus)
        assert float(at_cap.max()) <= 0.05 + 1e-6, cores
        above = ready_wall_frac(np.array([[cap + 0.01]], dtype=np.float32), [cores], [cores + 1])
        assert float(above[0, 0]) > 0.05, cores
    assert ready_cap_frac(host, None) == 1.0


def _numpy_thresholds(cores: np.ndarray, vcpus: np.ndarray, limit: float) -> np.ndarray:
    """The bisection written with the vectorized ready_wall_frac (the compiled one's reference)."""
    low = np.zeros(len(cores), dtype=np.float32)
    high = np.full(len(cores), 0.999, dtype=np.float32)
    top = ready_wall_frac(high[:, None], cores, vcpus)[:, 0]
    for _ in range(30):
        mid = (low + high) / np.float32(2.0)
        above = ready_wall_frac(mid[:, None], cores, vcpus)[:, 0] > limit
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return np.where(top > limit, high.astype(np.float64), np.inf)


@pytest.mark.parametrize("limit", [0.001, 0.05, 0.2])
def test_compiled_threshold_is_the_vectorized_bisection_bit_for_bit(limit: float) -> None:
    rng = np.random.default_rng(11)
    cores = rng.choice([1.0, 2.0, 4.0, 8.0, 12.0, 32.0, 112.0], 400)
    vcpus = np.round(cores * rng.uniform(0.5, 8.0, 400))
    np.testing.assert_array_equal(
        ready_threshold_util(cores, vcpus, limit), _numpy_thresholds(cores, vcpus, limit)
    )
