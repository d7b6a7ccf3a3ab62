"""One real PlanetLab day in CloudSim compat mode (skipped when ../shared is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_or_skip

from capplan.demand import load_workload
from capplan.dynamic import run_dynamic
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.config import CLOUDSIM_CONFIG
from capplan.dynamic.engine import simulate
from capplan.dynamic.policies import get_policy

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def day() -> object:
    path = shared_or_skip("data", "planetlab", "20110303")
    return load_workload(f"planetlab:{path}")


def test_vms_types_and_exact_utilisation(day: object) -> None:
    vms = cloudsim_vms(day)  # type: ignore[arg-type]
    assert vms.n_vms == 1052
    assert vms.exact_percent
    assert vms.n_samples == 289
    np.testing.assert_array_equal(vms.util_frac[:, 288], vms.util_frac[:, 287])
    # each value is the double CloudSim computes, int / 100.0
    np.testing.assert_array_equal(vms.util_frac, np.rint(vms.util_frac * 100) / 100.0)
    # 1052 / 4 = 263 VMs of each type, in name order
    assert np.bincount(np.searchsorted([500, 1000, 2000, 2500], vms.mips)).tolist() == [
        263,
        263,
        263,
        263,
    ]
    fleet = cloudsim_fleet()
    assert fleet.n_hosts == 800
    assert fleet.pe_mips[:2].tolist() == [1860.0, 2660.0]
    assert fleet.power_w[1, -1] == 135.0


def test_npa_energy_is_every_host_at_full_power(day: object) -> None:
    result = run_dynamic(day, "npa", compat="cloudsim")  # type: ignore[arg-type]
    # 400 × 117 W + 400 × 135 W from 0 to the last round at 86,100.1 s
    assert result.energy_kwh == pytest.approx(100_800 * 86_100.1 / 3.6e6)
    assert result.n_vms == 1052 and result.n_migrations == 0


@pytest.mark.slow
def test_lr_mmt_metrics_are_plausible(day: object) -> None:
    result = simulate(
        cloudsim_vms(day),
        cloudsim_fleet(),
        get_policy("lr-mmt"),
        CLOUDSIM_CONFIG,  # type: ignore[arg-type]
    )
    dvfs = run_dynamic(day, "dvfs", compat="cloudsim")  # type: ignore[arg-type]
    assert 50 < result.energy_kwh < dvfs.energy_kwh < 2_410
    assert 1_000 < result.n_migrations < 60_000
    assert 0 < result.slatah_frac < 0.2
    assert 0 < result.pdm_frac < 0.01
    assert 0 < result.slav < 1e-3
    assert 0 < result.n_vms_vanished < result.n_vms
    assert result.mean_migration_s == pytest.approx(float(np.mean([9.808, 13.92, 27.84])), rel=0.5)
    assert len(result.round_times_s) == 287


@pytest.mark.slow
def test_capplan_policy_migrates_far_less(day: object) -> None:
    """capplan-fb trades energy for SLA: it checks RAM on every move, which CloudSim's
    policies do not after t = 0, so its energy lies between lr-mmt's and DVFS's (the fair
    comparison is ``capplan bench cloudsim --fb-verdict``)."""
    own = run_dynamic(day, "capplan-fb", compat="cloudsim")  # type: ignore[arg-type]
    lr_mmt = run_dynamic(day, "lr-mmt", compat="cloudsim")  # type: ignore[arg-type]
    dvfs = run_dynamic(day, "dvfs", compat="cloudsim")  # type: ignore[arg-type]
    assert own.n_migrations <= lr_mmt.n_migrations / 10
    assert own.slav < lr_mmt.slav / 100
    assert lr_mmt.energy_kwh < own.energy_kwh < 0.6 * dvfs.energy_kwh
