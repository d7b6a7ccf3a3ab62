"""Workload statistics by hand: sum of peaks over peak of sum, security zones."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_workload


def test_complementary_vms_give_two_and_aligned_ones_give_one() -> None:
    cpu = np.array([[10.0, 0.0, 1.0], [0.0, 10.0, 1.0]])  # peaks at different steps
    mem = np.array([[5.0, 5.0, 5.0], [3.0, 3.0, 3.0]])  # flat: they always add up
    wl = make_workload({"cpu_demand_mhz": cpu, "mem_active_mib": mem})
    ratios = wl.sum_of_peaks_ratio()
    assert ratios["cpu_demand_mhz"] == pytest.approx(20 / 10)
    assert ratios["mem_active_mib"] == pytest.approx(1.0)
    assert wl.summary()["sum_of_peaks_ratio"] == ratios


def test_unobserved_steps_and_silent_metrics_are_left_out() -> None:
    cpu = np.array([[10.0, 4.0], [99.0, 4.0]])
    wl = make_workload({"cpu_demand_mhz": cpu, "net_rx_mbps": np.zeros((2, 2))})
    wl.observed[1, 0] = False  # the 99 was never measured
    # peaks 10 + 4 = 14 over the peak of the sum, max(10, 8) = 10
    assert wl.sum_of_peaks_ratio() == {"cpu_demand_mhz": pytest.approx(1.4)}


def test_security_zones_index_sorted_names_and_default() -> None:
    wl = make_workload(
        {"cpu_demand_mhz": np.ones((3, 2))},
        inventory={"security_zone": ["internal", None, "dmz"]},
    )
    index, names = wl.security_zones()
    assert names == ("default", "dmz", "internal")
    assert index.tolist() == [2, 0, 1]
