"""Memory over-commit in the default mode: what may be booked, and what paging costs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from dynamic.scenarios import config, fleet, vms

from capplan.demand import load_workload
from capplan.dynamic import run_dynamic
from capplan.dynamic.engine import simulate
from capplan.dynamic.fleet import VmSet
from capplan.dynamic.placement import place_pabfd
from capplan.dynamic.policies import get_policy
from capplan.dynamic.state import Simulation
from capplan.errors import CapplanError


def with_active(
    util: list[list[float]], active_mib: list[list[float]], ram_mib: float, mips: float = 1000.0
) -> VmSet:
    """VMs of ``ram_mib`` each whose active memory follows ``active_mib`` (rows)."""
    base = vms(util, ram_mib=ram_mib, mips=mips)
    return dataclasses.replace(base, mem_active_mib=np.asarray(active_mib, dtype=np.float64))


def test_booking_follows_the_ratio() -> None:
    # three 2,048-MiB, 500-MIPS VMs on 4,096-MiB, 2,000-MIPS hosts: CPU holds all three on
    # one host; RAM holds two at ratio 1.0 and three at 1.5
    v = with_active([[0.1] * 4] * 3, [[512.0] * 4] * 3, 2048.0, mips=500.0)
    for ratio, hosts_used in ((1.0, 2), (1.5, 1)):
        sim = Simulation(v, fleet(3), config(mem_overcommit_ratio=ratio))
        place_pabfd(sim)
        assert len(set(sim.host_of.tolist())) == hosts_used
        assert sim.ram_used_mib.max() <= 4096.0 * ratio


def test_paging_slows_the_vms_by_the_time_they_wait_for_faults() -> None:
    # one host of 4,096 MiB keeping 6 % free (ESXi's sliding scale below 4 GiB): U = 3,850.24.
    # Two VMs with 2,500 MiB active each: E = 5,000 − 3,850.24 = 1,149.76 MiB faulted back
    # once a minute in 4 KiB pages = 4,905.6 faults/s × 0.4 ms = 1.96224 s of waiting per s;
    # the VMs keep one core busy (2 × 1,000 MIPS on 2,000-MIPS PEs): slowdown S / (S + 1)
    v = with_active([[0.5] * 4] * 2, [[2500.0] * 4] * 2, 3000.0)
    cfg = config(1200.0, mem_overcommit_ratio=2.0)
    result = simulate(v, fleet(1, pe_mips=2000.0), get_policy("npa"), cfg)
    stall = (5000.0 - 4096.0 * 0.94) * 1024 / 4 / 60 * 0.4e-3
    expected = stall / (stall + 1.0)
    assert result.max_slowdown_frac == pytest.approx(expected, rel=1e-9)
    assert result.paging_host_s == pytest.approx(1200.0)  # the whole horizon, one host
    # each VM asks 1,000 MIPS and gets 1,000 × (1 − slowdown): the SLA violations count the
    # shortfall; PDM stays 0, as it counts what migrations cost
    assert result.sla_overall_frac == pytest.approx(expected, rel=1e-9)
    assert result.sla_average_frac == pytest.approx(expected, rel=1e-9)
    assert result.pdm_frac == 0.0


def test_no_paging_while_active_memory_fits() -> None:
    v = with_active([[0.5] * 4] * 2, [[1500.0] * 4] * 2, 3000.0)
    result = simulate(
        v, fleet(1, pe_mips=2000.0), get_policy("npa"), config(1200.0, mem_overcommit_ratio=2.0)
    )
    assert result.paging_host_s == 0.0 and result.max_slowdown_frac == 0.0
    assert result.pdm_frac == 0.0


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    return load_workload("workloads/demo")


def test_overcommit_packs_the_demo_and_pages_at_a_high_ratio(demo) -> None:  # type: ignore[no-untyped-def]
    plain = run_dynamic(demo, "lr-mmt")
    packed = run_dynamic(demo, "lr-mmt", mem_overcommit_ratio=3.0)
    assert packed.energy_kwh < plain.energy_kwh
    assert float(packed.active_hosts.mean()) < float(plain.active_hosts.mean())
    assert plain.paging_host_s == 0.0
    assert packed.paging_host_s > 0.0 and packed.sla_overall_frac > plain.sla_overall_frac
    assert packed.n_migrations > plain.n_migrations
    assert packed.summary()["mem_overcommit_ratio"] == 3.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mem_overcommit_ratio": 0.5}, "finite ratio >= 1"),
        ({"mem_overcommit_ratio": float("nan")}, "finite ratio >= 1"),
        ({"mem_overcommit_ratio": 2.0, "compat": "cloudsim"}, "default mode"),
    ],
)
def test_bad_overcommit_is_refused(demo, kwargs: dict, message: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    with pytest.raises(CapplanError, match=message) as info:
        run_dynamic(demo, "lr-mmt", **kwargs)
    assert info.value.spec_path == "--mem-overcommit"


def test_overcommit_without_active_memory_is_refused(demo) -> None:  # type: ignore[no-untyped-def]
    cpu_only = dataclasses.replace(demo, mean={"cpu_demand_mhz": demo.mean["cpu_demand_mhz"]})
    with pytest.raises(CapplanError, match="no mem_active_mib"):
        run_dynamic(cpu_only, "lr-mmt", mem_overcommit_ratio=2.0)
    run_dynamic(cpu_only, "npa")  # without over-commit it still runs
