"""Unobserved steps inside a VM's life are replayed at the VM's observed mean, not as zero."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from helpers import make_workload

from capplan.emulate import emulate
from capplan.emulate.gaps import interior_gaps
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog

X5670 = "ibm-x3550-m3-x5670"  # 12 cores × 2,933 MHz = 35,196 MHz


def test_interior_gaps_by_hand() -> None:
    observed = np.array(
        [
            [False, True, False, False, True, False],  # life 1..4: steps 2, 3 are gaps
            [True, True, True, True, True, True],  # no gap
            [False, False, False, False, False, False],  # never observed: nothing to fill
            [False, False, True, True, False, False],  # before and after its life: not gaps
        ]
    )
    gaps = interior_gaps(observed)
    assert gaps[0].tolist() == [False, False, True, True, False, False]
    assert not gaps[1:].any()


def test_replay_fills_a_long_gap_with_the_vms_mean() -> None:
    # vm0: 10,000 MHz, a gap of two steps (0 in the arrays), 20,000 MHz; vm1 always 5,000.
    # The gap is replayed at vm0's observed mean 15,000: host load 20,000 of 35,196 MHz.
    wl = make_workload(
        {"cpu_demand_mhz": [[10000, 0, 0, 20000], [5000, 5000, 5000, 5000]]},
        inventory={"os_family": ["linux", "linux"]},
    )
    wl = replace(wl, observed=np.array([[True, False, False, True], [True] * 4]))
    placement = Placement.from_assignment(wl.vm_ids, [0, 0], [X5670, X5670])
    em = emulate(wl, placement, load_catalog(), "containers")
    np.testing.assert_allclose(em.cpu.demand_mhz[0], [15000, 20000, 20000, 25000])
    assert any("2 VM-step(s) without data" in note for note in em.notes)
