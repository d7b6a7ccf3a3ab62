"""Lower bounds: hand-worked L2, volume, clique, cost mix, zones and N+k."""

from __future__ import annotations

import numpy as np

from capplan.optimize.bounds import (
    column_bounds,
    conflict_clique,
    l2_bound,
    lower_bound,
    min_cost_cover,
    pattern_bound,
)
from capplan.optimize.instance import make_instance


def test_l2_beats_volume_with_items_above_half() -> None:
    # Three items of 51 cannot share bins: 3 bins, while the volume (163) says 2.
    sizes = np.array([51, 51, 51, 10])
    assert l2_bound(sizes, 100) == 3
    volume, l2 = column_bounds(sizes[:, None], np.array([100]))
    assert volume.tolist() == [2] and l2.tolist() == [3]


def test_l2_counts_small_items_that_do_not_fit_beside_large_ones() -> None:
    # Two items of 70 leave 30 + 30 = 60 free; four items of 30 (120) need 2 more bins:
    # L2 with K = 30 gives 2 + ceil((120 - 60) / 100) = 3.
    assert l2_bound(np.array([70, 70, 30, 30, 30, 30]), 100) == 3


def test_pattern_bound_is_exact_for_few_sizes() -> None:
    # CloudSim's VM memory sizes (263 VMs of each type) on 4,096 MiB hosts: 319 by volume,
    # but every full bin needs one 613 MiB VM, so 329 (263 + 66) is the exact optimum.
    sizes = np.array([613] * 263 + [870] * 263 + [1740] * 526)
    assert int(-(-sizes.sum() // 4096)) == 319
    assert pattern_bound(sizes, 4096) == 329
    assert pattern_bound(np.array([5, 4, 3, 3, 3, 2]), 10) == 2
    assert pattern_bound(np.arange(1, 30), 100) == 0  # too many distinct sizes: no bound
    assert pattern_bound(np.array([3, -1]), 10) == 0


def test_negative_sizes_keep_only_the_volume_bound() -> None:
    d = np.array([[60], [60], [-30]])
    volume, l2 = column_bounds(d, np.array([100]))
    assert volume.tolist() == [1] and l2.tolist() == [1]


def test_clique_of_large_items_and_anti_affinity() -> None:
    inst = make_instance(
        [[60], [60], [60], [1], [1], [1], [1]], [100], anti_affinity=[[3, 4, 5, 6]]
    )
    assert len(conflict_clique(inst, np.arange(3))) == 3
    assert len(conflict_clique(inst, np.arange(7))) == 4


def test_min_cost_mix_of_two_types() -> None:
    # Need 12: three small bins (4 each, cost 1) beat big + small (cost 4).
    cost, n, counts, proven = min_cost_cover(
        np.array([[10], [4]]), np.array([3, 1]), np.array([5, 5]), np.array([12]), 1
    )
    assert (cost, n, counts.tolist(), proven) == (3, 3, [0, 3], True)
    cost, _, _, _ = min_cost_cover(
        np.array([[10], [4]]), np.array([3, 1]), np.array([5, 0]), np.array([12]), 1
    )
    assert cost == 6
    cost, _, _, _ = min_cost_cover(
        np.array([[10]]), np.array([3]), np.array([1]), np.array([12]), 1
    )
    assert cost == -1


def test_min_cost_mix_keeps_the_n_plus_k_reserve() -> None:
    # k = 1: four small bins (16 - 4 >= 12) at cost 4; k = 2: five (20 - 8 >= 12).
    for k, want in ((1, 4), (2, 5)):
        cost, *_ = min_cost_cover(
            np.array([[10], [4]]),
            np.array([5, 1]),
            np.array([9, 9]),
            np.array([12]),
            1,
            reserve_k=k,
        )
        assert cost == want
    # Only the big type: (n - 1) * 10 >= 12 -> 3 bins.
    cost, n, *_ = min_cost_cover(
        np.array([[10]]), np.array([5]), np.array([9]), np.array([12]), 1, reserve_k=1
    )
    assert (cost, n) == (15, 3)


def test_zones_add_up_and_ha_adds_spares() -> None:
    inst = make_instance([[3], [3]], [10], zone=[0, 1])
    rep = lower_bound(inst)
    assert rep.n_bins == 2 and rep.value == 2
    one = make_instance([[5], [5], [5]], [10])
    ha = make_instance([[5], [5], [5]], [10], ha_spares=1)
    assert lower_bound(one).value == 2
    assert lower_bound(ha).value == 3


def test_bound_reports_infeasible_availability() -> None:
    inst = make_instance([[6], [6], [6]], [10], n_available=[2])
    rep = lower_bound(inst)
    assert rep.infeasible_reason


def test_item_costs_raise_the_bound() -> None:
    inst = make_instance([[1], [1]], [[10], [10]], cost=[5, 5], item_cost=[[1, 3], [2, 2]])
    assert lower_bound(inst).value == 5 + 1 + 2
