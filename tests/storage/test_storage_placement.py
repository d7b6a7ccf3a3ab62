"""Placement: hand-worked optima, the LP-rounding path, rules, infeasibility, validator."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import SolverError
from capplan.storage.instance import RESOURCES, StorageInstance
from capplan.storage.placement import solve_placement
from capplan.storage.solution import plan_cost
from capplan.storage.validator import validate, violations


def make_instance(
    gib: list[float] | np.ndarray,
    capacity_gib: list[float] | np.ndarray,
    price: list[float] | np.ndarray,
    *,
    copies: list[int] | None = None,
    domains: list[int] | None = None,
    allowed: np.ndarray | None = None,
    iops: np.ndarray | None = None,
    iops_capacity: list[float] | None = None,
    current: np.ndarray | None = None,
    max_moved_gib: float = math.inf,
) -> StorageInstance:
    """An instance whose only limits are forecast GiB (and optionally IOPS) per pool."""
    gib = np.asarray(gib, dtype=float)
    n, m = len(gib), len(capacity_gib)
    capacity = np.full((m, len(RESOURCES)), np.inf)
    capacity[:, 1] = capacity_gib
    demand = np.zeros((n, m, len(RESOURCES)))
    demand[:, :, 0] = gib[:, None]
    demand[:, :, 1] = gib[:, None]
    if iops is not None:
        demand[:, :, 2] = iops
        capacity[:, 2] = iops_capacity
    doms = np.asarray(domains if domains is not None else list(range(m)), dtype=np.int64)
    return StorageInstance(
        volume_ids=np.asarray([f"v{i}" for i in range(n)], dtype=np.str_),
        pool_names=tuple(f"p{j}" for j in range(m)),
        pool_tiers=tuple(f"t{j}" for j in range(m)),
        pool_domain=doms,
        domain_names=tuple(f"d{d}" for d in range(int(doms.max()) + 1)),
        capacity=capacity,
        demand=demand,
        allowed=np.ones((n, m), dtype=bool) if allowed is None else allowed,
        cost_usd=gib[:, None] * np.asarray(price, dtype=float)[None, :],
        copies=np.asarray(copies if copies is not None else [1] * n, dtype=np.int64),
        current=current,
        move_gib=gib.copy(),
        max_moved_gib=max_moved_gib,
    )


def test_hand_worked_generalized_assignment() -> None:
    # Cheap pool A (1 USD/GiB) holds 40 GiB; B costs 2 USD/GiB. Volumes 10, 20, 30 GiB.
    # {10, 30} on A and 20 on B costs 40 + 40 = 80; {10, 20} on A costs 30 + 60 = 90.
    inst = make_instance([10, 20, 30], [40, 1000], [1.0, 2.0])
    sol = solve_placement(inst, time_limit_s=10)
    assert sol.status == "optimal"
    assert sol.cost_usd == pytest.approx(80.0)
    assert sol.assign[:, 0].tolist() == [0, 1, 0]
    assert sol.gap_frac == pytest.approx(0.0, abs=1e-6)
    assert sol.bound_usd <= sol.cost_usd + 1e-9


def test_mirrored_copies_go_to_two_failure_domains() -> None:
    # p0, p1 in domain 0 (cheap), p2 in domain 1 (dear): the mirror must use p2.
    inst = make_instance([10], [100, 100, 100], [1.0, 1.0, 5.0], copies=[2], domains=[0, 0, 1])
    sol = solve_placement(inst, time_limit_s=10)
    assert sol.status == "optimal"
    assert sorted(sol.assign[0].tolist())[1] == 2
    assert sol.cost_usd == pytest.approx(10 + 50)


def test_latency_class_and_iops_limits_are_respected() -> None:
    allowed = np.array([[False, True], [True, True]])
    iops = np.array([[0, 0], [500, 500]], dtype=float)
    inst = make_instance(
        [10, 10], [100, 100], [1.0, 3.0], allowed=allowed, iops=iops, iops_capacity=[400, 1000]
    )
    sol = solve_placement(inst, time_limit_s=10)
    # v0 may only use p1; v1 needs 500 IOPS, more than p0 has
    assert sol.assign[:, 0].tolist() == [1, 1]


def test_move_limit_keeps_the_current_layout() -> None:
    current = np.array([[False, True], [False, True]])
    inst = make_instance([10, 20], [100, 100], [1.0, 2.0], current=current, max_moved_gib=15)
    sol = solve_placement(inst, time_limit_s=10)
    # moving both to the cheap pool would move 30 GiB; the limit allows only v0 (10 GiB)
    assert sol.assign[:, 0].tolist() == [0, 1]
    assert inst.moved_gib(sol.assign) == pytest.approx(10.0)


def test_infeasible_with_the_reason() -> None:
    inst = make_instance([10, 500], [100, 100], [1.0, 2.0])
    inst.allowed[1] = False
    sol = solve_placement(inst, time_limit_s=5)
    assert sol.status == "infeasible" and not sol.has_plan
    assert any("v1" in r for r in sol.reasons)
    total = make_instance([60, 60, 60], [100, 50], [1.0, 2.0])
    sol = solve_placement(total, time_limit_s=5)
    assert sol.status == "infeasible"
    assert any("forecast_gib" in r for r in sol.reasons)
    mirror = make_instance([1], [10, 10], [1, 1], copies=[2], domains=[0, 0])
    sol = solve_placement(mirror, time_limit_s=5)
    assert sol.status == "infeasible" and "failure domain" in sol.reasons[0]


def random_instance(
    seed: int, n: int, m: int, tight: float, move_limit_frac: float | None = None
) -> StorageInstance:
    """Random instance; with ``move_limit_frac``, a random current layout and a limit of that
    share of the total GiB on the data moved."""
    rng = np.random.default_rng(seed)
    gib = rng.lognormal(3, 1, n)
    iops = rng.lognormal(3, 1.5, n)
    domains = [j % 3 for j in range(m)]
    cap = np.full(m, gib.sum() * 2 / m / tight)
    icap = np.full(m, iops.sum() * 2 / m / tight)
    copies = (rng.random(n) < 0.15).astype(int) + 1
    allowed = rng.random((n, m)) < 0.8
    allowed[:, : min(m, 3)] = True
    current = None
    limit = math.inf
    if move_limit_frac is not None:
        current = np.zeros((n, m), dtype=bool)
        current[np.arange(n), rng.integers(0, min(m, 3), n)] = True
        limit = move_limit_frac * float(gib.sum())
    return make_instance(
        gib,
        cap,
        rng.uniform(0.1, 1.0, m),
        copies=copies.tolist(),
        domains=domains,
        allowed=allowed,
        iops=np.repeat(iops[:, None], m, axis=1),
        iops_capacity=icap.tolist(),
        current=current,
        max_moved_gib=limit,
    )


def test_lp_rounding_path_matches_the_full_model() -> None:
    inst = random_instance(3, 300, 6, tight=1.6)
    full = solve_placement(inst, time_limit_s=20)
    large = solve_placement(inst, time_limit_s=20, full_model_max_vars=0)
    assert large.has_plan and full.has_plan
    assert large.method.startswith("lp-round")
    validate(inst, large.assign)
    # both bounds are valid for both plans
    assert large.bound_usd <= full.cost_usd + 1e-6
    assert full.bound_usd <= large.cost_usd + 1e-6
    assert large.gap_frac <= 0.02


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    m=st.integers(2, 6),
    tight=st.floats(0.8, 2.5),
    large=st.booleans(),
    moves=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_returned_plans_never_exceed_limits(
    seed: int, n: int, m: int, tight: float, large: bool, moves: float | None
) -> None:
    inst = random_instance(seed, n, m, tight, moves)
    sol = solve_placement(inst, time_limit_s=5, full_model_max_vars=0 if large else 30_000)
    if sol.has_plan:
        assert violations(inst, sol.assign) == []
        assert sol.bound_usd <= sol.cost_usd + 1e-6 * max(1.0, sol.cost_usd)
        assert plan_cost(inst, sol.assign) == pytest.approx(sol.cost_usd)
    else:
        assert sol.status in ("infeasible", "unknown") and sol.reasons


def test_validator_reports_each_kind_of_violation() -> None:
    inst = make_instance([10, 20], [15, 100], [1, 2], copies=[1, 2], domains=[0, 0])
    assert any("copies" in v for v in violations(inst, np.array([[0, -1], [1, -1]])))
    assert any("failure domain" in v for v in violations(inst, np.array([[1, -1], [0, 1]])))
    assert any("one pool" in v for v in violations(inst, np.array([[1, -1], [1, 1]])))
    over = make_instance([10, 20], [15, 100], [1, 2])
    assert any("exceeds" in v for v in violations(over, np.array([[0, -1], [0, -1]])))
    with pytest.raises(SolverError, match="invalid plan"):
        validate(over, np.array([[0, -1], [0, -1]]))
    assert violations(over, np.array([[0, -1], [1, -1]])) == []


def test_validator_does_not_import_ortools() -> None:
    code = (
        "import sys, capplan.storage.validator, capplan.storage.solution; "
        "sys.exit(1 if any(m.startswith('ortools') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
