"""Storage: tier queueing latency, write penalty, paging I/O, appliances, capacity, paths."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.emulate.storage import (
    allocated_capacity_gib,
    failover_multiplier,
    path_util_frac,
    tier_replay,
)
from capplan.spec.catalog import load_catalog

CATALOG = load_catalog()
TIER = dataclasses.replace(
    CATALOG.tier("hdd-15k"),
    max_iops=1000.0,
    max_mib_s=100.0,
    base_latency_ms=5.0,
    write_penalty=2.0,
)
SAN = CATALOG.san


def textbook_sojourn_ms(service_ms: float, servers: int, rho: float) -> float:
    """M/M/c mean sojourn from Erlang's C written with factorial sums (independent of the
    recursion the model uses)."""
    a = servers * rho
    top = a**servers / math.factorial(servers) / (1 - rho)
    c = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return service_ms * (1 + c / (servers * (1 - rho)))


def test_hand_worked_queueing() -> None:
    # 300 reads + 100 writes → back-end 300 + 2·100 = 500 IOPS of 1,000 → ρ = 0.5. The pool
    # holds 1,000 IOPS × 5 ms = 5 servers: M/M/5 at a = 2.5, Erlang's C = 0.130372, so the
    # latency is 5 (1 + 0.130372 / (5 · 0.5)) = 5.2607 ms (M/M/1 said 10 ms).
    from capplan.emulate.storage import pool_servers

    r = tier_replay(
        TIER, SAN, read_iops=[300.0], write_iops=[100.0], read_mib_s=[10.0], write_mib_s=[10.0]
    )
    assert pool_servers(TIER) == 5
    assert r.backend_iops[0] == pytest.approx(500) and r.frontend_iops[0] == pytest.approx(400)
    assert r.load_ratio[0] == pytest.approx(0.5)
    assert r.latency_ms[0] == pytest.approx(textbook_sojourn_ms(5.0, 5, 0.5))
    assert r.latency_ms[0] == pytest.approx(5.0 * (1 + 0.130372 / 2.5), abs=1e-5)
    # The virtualization mode does not shrink the array: only each VM's own path is capped.


def test_each_vms_io_path_is_capped_not_the_array() -> None:
    from capplan.emulate.routing import routed_path_iops
    from capplan.spec.catalog import NATIVE_VM_IOPS

    def vm_path_iops(reads, writes, ceiling):  # type: ignore[no-untyped-def]
        ones = np.ones((1, 2), dtype=np.float32)  # every VM in one group
        return [part[0] for part in routed_path_iops(reads, writes, ceiling, ones, ones)]

    # KVM's path: 42,543 IOPS per VM (Felter et al. 2015). VM 0 asks 30,000 reads and
    # 20,000 writes in step 0 (50,000 > 42,543: 7,457 not served, cut in proportion);
    # VM 1 asks 100 + 50 and passes whole.
    ceiling = 42_543 / 84_044 * NATIVE_VM_IOPS
    reads = np.array([[30_000.0, 1_000.0], [100.0, 100.0]], dtype=np.float32)
    writes = np.array([[20_000.0, 0.0], [50.0, 50.0]], dtype=np.float32)
    r, w, unserved = vm_path_iops(reads, writes, ceiling)
    cut = (50_000 - 42_543) / 50_000
    assert r[0] == pytest.approx(30_000 * (1 - cut) + 100)
    assert w[0] == pytest.approx(20_000 * (1 - cut) + 50)
    assert unserved[0] == pytest.approx(7_457)
    assert (r[1], w[1], unserved[1]) == (pytest.approx(1_100), pytest.approx(50), 0.0)
    # no reads column: writes alone are capped
    _, w_only, lost = vm_path_iops(None, writes * 3, ceiling)
    assert lost[0] == pytest.approx(60_000 - 42_543)
    assert w_only[0] == pytest.approx(42_543 + 150)


def test_paging_traffic_lands_as_io() -> None:
    # 4 MiB/s of 4 KiB pages = 1,024 IOPS: 512 reads + 512 writes (×2) = 1,536 back-end.
    r = tier_replay(
        TIER,
        SAN,
        read_iops=[0.0],
        write_iops=[0.0],
        read_mib_s=[0.0],
        write_mib_s=[0.0],
        paging_mib_s=[4.0],
        page_size_kib=4.0,
    )
    assert r.backend_iops[0] == pytest.approx(1536.0)
    assert r.mib_s[0] == pytest.approx(4.0)


def test_appliances() -> None:
    inband = dataclasses.replace(
        SAN,
        appliance="in-band",
        appliance_max_iops=250.0,
        appliance_latency_ms=0.5,
        appliance_mirrored=False,
    )
    r = tier_replay(
        TIER, inband, read_iops=[100.0], write_iops=[0.0], read_mib_s=[0.0], write_mib_s=[0.0]
    )
    assert r.load_ratio[0] == pytest.approx(0.4)  # the appliance is the ceiling
    assert r.latency_ms[0] == pytest.approx(textbook_sojourn_ms(5.0, 5, 0.4) + 0.5)
    assert inband.single_point_of_failure
    oob = dataclasses.replace(
        SAN, appliance="out-of-band", metadata_latency_ms=2.0, metadata_lookup_frac=0.1
    )
    assert oob.added_latency_ms == pytest.approx(0.2) and oob.needs_host_driver


def test_capacity_thin_thick_and_snapshots() -> None:
    used, prov = [10.0, np.nan], [40.0, 20.0]
    thin = dataclasses.replace(SAN, thin_provisioning=True, snapshot_overhead_frac=0.1)
    # used: 10 + 20 (missing → provisioned) = 30; snapshots + 3 → 33; promised 60.
    assert allocated_capacity_gib(used, prov, thin) == pytest.approx((33.0, 60.0))
    thick = dataclasses.replace(SAN, thin_provisioning=False, snapshot_overhead_frac=0.0)
    assert allocated_capacity_gib(used, prov, thick) == pytest.approx((60.0, 60.0))


def test_multipath_failover() -> None:
    aa = dataclasses.replace(
        SAN, multipath_paths=2, multipath_mode="active-active", path_speed_mib_s=100.0
    )
    util = path_util_frac(np.array([[100.0]], dtype=np.float32), aa)
    assert util[0, 0] == pytest.approx(0.5) and failover_multiplier(aa) == 2.0
    ap = dataclasses.replace(aa, multipath_mode="active-passive")
    assert path_util_frac(np.array([[100.0]], dtype=np.float32), ap)[0, 0] == pytest.approx(1.0)
    assert failover_multiplier(ap) == 1.0
    single = dataclasses.replace(aa, multipath_paths=1)
    assert failover_multiplier(single) == float("inf")


@settings(max_examples=40, deadline=None)
@given(reads=st.floats(0, 3000), more=st.floats(0, 3000), writes=st.floats(0, 500))
def test_more_io_never_lowers_latency(reads: float, more: float, writes: float) -> None:
    def latency(r: float) -> float:
        return float(
            tier_replay(
                TIER, SAN, read_iops=[r], write_iops=[writes], read_mib_s=[0.0], write_mib_s=[0.0]
            ).latency_ms[0]
        )

    assert latency(reads + more) >= latency(reads) - 1e-9
    assert latency(reads) >= TIER.base_latency_ms


def test_fluid_backlog_by_hand() -> None:
    from capplan.emulate.storage import backlog_s

    # 1 s steps at ρ = 2, 0.5, 0.5, 2: one second of work is left after step 0, half of it
    # is drained in each of the next two steps, then the queue builds again.
    np.testing.assert_allclose(backlog_s([2.0, 0.5, 0.5, 2.0], 1.0), [1.0, 0.5, 0.0, 1.0])
    np.testing.assert_allclose(backlog_s([0.3, 0.9], 300.0), [0.0, 0.0])


def test_a_saturated_step_delays_the_next_ones() -> None:
    # Step 0 asks 1,500 back-end IOPS of 1,000 for 10 s: 5 s of work is carried. Step 1
    # (ρ = 0.5) drains 5 s: its requests wait (5 + 0) / 2 s = 2,500 ms on average on top of
    # the M/M/1 sojourn 5 / (1 − 0.5) = 10 ms. Without a step length nothing is carried.
    kw = {"read_iops": [1500.0, 500.0], "write_iops": [0.0, 0.0]}
    kw |= {"read_mib_s": [1.0, 1.0], "write_mib_s": [0.0, 0.0]}
    carried = tier_replay(TIER, SAN, step_s=10.0, **kw)
    np.testing.assert_allclose(carried.backlog_s, [5.0, 0.0])
    appliance = SAN.added_latency_ms
    calm = textbook_sojourn_ms(5.0, 5, 0.5)
    assert carried.latency_ms[1] == pytest.approx(calm + 2_500.0 + appliance)
    # the saturated step itself: the M/M/5 wait at the cap ρ = 0.99, plus the queue
    full = textbook_sojourn_ms(5.0, 5, 0.99)
    assert carried.latency_ms[0] == pytest.approx(full + 2_500.0 + appliance)
    alone = tier_replay(TIER, SAN, **kw)
    assert alone.latency_ms[1] == pytest.approx(calm + appliance)
    assert alone.backlog_s is None and alone.request_latency_ms(0.95) is None


def test_request_percentiles_by_hand() -> None:
    from capplan.emulate.storage import erlang_c, mixture_quantiles_ms, sojourn_cdf

    def mixture_quantile_ms(*args):  # type: ignore[no-untyped-def]
        found = mixture_quantiles_ms(*args[:-1], (args[-1],))
        return None if found is None else found[0]

    # One server (c = 1) at ρ = 0.5 and a 1 ms service: Erlang's C is ρ, and the M/M/1
    # sojourn is exponential of mean 2 ms, so the requests' p95 is 2 ln 20 = 5.991 ms and
    # p50 2 ln 2 = 1.386 ms, while every step's mean (what percentiles over steps saw) is 2 ms.
    rho = np.array([0.5])
    assert erlang_c(1, rho)[0] == pytest.approx(0.5)
    wait = np.array([1.0 / (1 - 0.5)])
    for q, expected in ((0.95, 2 * np.log(20)), (0.5, 2 * np.log(2))):
        got = mixture_quantile_ms(1.0, rho, wait, np.zeros(1), np.ones(1), q)
        assert got == pytest.approx(expected, abs=1e-6)
    # The service-plus-wait distribution is M/M/1's exponential whatever t.
    t = np.linspace(0.1, 20, 50)
    np.testing.assert_allclose(sojourn_cdf(t, 1.0, rho, wait), 1 - np.exp(-t / 2), atol=1e-12)
    # Two steps, the second with three times the I/O and a 10 ms queue delay: the p50 solves
    # the mixture's distribution = 0.5 (checked by evaluating it at the answer).
    probs, waits = np.array([0.5, 0.5]), np.array([2.0, 2.0])
    shifts, weights = np.array([0.0, 10.0]), np.array([1.0, 3.0])
    q = mixture_quantile_ms(1.0, probs, waits, shifts, weights, 0.5)
    assert q is not None and q > 10
    cdf = 0.25 * sojourn_cdf(np.array([q]), 1.0, probs[:1], waits[:1])[0]
    cdf += 0.75 * sojourn_cdf(np.array([q - 10]), 1.0, probs[1:], waits[1:])[0]
    assert cdf == pytest.approx(0.5, abs=1e-9)
    assert mixture_quantile_ms(1.0, probs, waits, shifts, np.zeros(2), 0.5) is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), backlog=st.booleans(), n_steps=st.integers(1, 300))
def test_request_quantiles_match_brute_force_bisection(
    seed: int, backlog: bool, n_steps: int
) -> None:
    # The full mixture (every step evaluated at every point) solved by plain bisection, against
    # the bracketed Newton that evaluates only the steps near each point.
    from capplan.emulate.storage import mixture_quantiles_ms, sojourn_cdf

    rng = np.random.default_rng(seed)
    service = float(rng.uniform(0.05, 10.0))
    prob = rng.uniform(0.0, 1.0, n_steps)
    wait = rng.uniform(0.01, 20.0, n_steps)
    spread = 1e7 if backlog else 5.0
    shift = np.sort(rng.uniform(0.0, spread, n_steps)) * rng.integers(0, 2, n_steps)
    weights = rng.uniform(0.0, 1.0, n_steps) * (rng.random(n_steps) < 0.9)
    quantiles = (0.5, 0.95, 0.99)
    found = mixture_quantiles_ms(service, prob, wait, shift, weights, quantiles)
    if not (weights > 0).any():
        assert found is None
        return
    assert found is not None
    share = weights / weights.sum()

    def cdf(x: float) -> float:
        return float(sojourn_cdf(np.asarray(x - shift), service, prob, wait) @ share)

    for q, got in zip(quantiles, found, strict=True):
        lo, hi = 0.0, float(shift.max() + 60.0 * (service + wait.max()))
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
        assert got == pytest.approx(hi, rel=1e-9, abs=1e-9)
