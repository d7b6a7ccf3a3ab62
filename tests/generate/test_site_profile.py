"""The single-site profile: peak hours and shared CPU noise fitted to one enterprise site."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.generate.fit import BitbrainsSeries, fit_site
from capplan.generate.params import PEAK_HOUR_COUNTS_RND_2013_07, SITE_FITTED, GeneratorParams
from capplan.generate.site_calibration import hourly_cpu_corr_mean, site_common_frac
from capplan.generate.synth import BLOCK_VMS, generate


def _series(label: str, cpu: np.ndarray, start_s: int = 0) -> BitbrainsSeries:
    epoch = start_s + 300 * np.arange(cpu.size, dtype=np.int64)
    return BitbrainsSeries(label, epoch, 1, 1000.0, 1024.0, {"cpu_demand_mhz": cpu})


def test_fit_site_by_hand() -> None:
    # Three VMs over three days at 5 min: a and b peak at 02 UTC and move together; c peaks
    # at 14 UTC, opposite to them.
    hour = (300 * np.arange(3 * 288) // 3600) % 24
    night = np.where(hour == 2, 100.0, 10.0)
    day = np.where(hour == 14, 100.0, 10.0)
    got = fit_site([_series("a", night), _series("b", 2 * night + 5), _series("c", day)])
    assert got["n_vms"] == 3
    probs = np.array(got["peak_hour_probs"])
    assert probs[2] == pytest.approx(2 / 3) and probs[14] == pytest.approx(1 / 3)
    # corr(a, b) = 1, corr(a, c) = corr(b, c) = −1/23 (one peak hour each out of 24).
    assert got["hourly_cpu_corr_mean"] == pytest.approx((1 - 2 / 23) / 3, abs=1e-9)


def test_fitted_peak_hours_are_the_counts() -> None:
    counts = np.array(PEAK_HOUR_COUNTS_RND_2013_07)
    assert counts.sum() == 480 and counts.argmax() == 2  # 04:00 CEST, the nightly batch
    np.testing.assert_allclose(SITE_FITTED.peak_hour_probs, counts / 480)


def test_common_frac_is_calibrated_to_the_fitted_correlation() -> None:
    assert site_common_frac(SITE_FITTED.hourly_cpu_corr_mean) == pytest.approx(
        SITE_FITTED.common_frac, abs=1e-3
    )


def test_single_site_vms_move_together_and_global_ones_do_not() -> None:
    single = generate(GeneratorParams(site_profile="single-site"), 20240101)
    spread = generate(GeneratorParams(), 20240101)
    corr_single = hourly_cpu_corr_mean(single.arrays["cpu_demand_mhz"], 12)
    corr_global = hourly_cpu_corr_mean(spread.arrays["cpu_demand_mhz"], 12)
    assert corr_single == pytest.approx(SITE_FITTED.hourly_cpu_corr_mean, abs=0.01)
    assert abs(corr_global) < 0.02

    def peaks_ratio(cpu: np.ndarray) -> float:
        return float(cpu.max(axis=1).sum() / cpu.sum(axis=0).max())

    # Sum of peaks over peak of sum: what time-aware sizing can gain. Bitbrains (200 VMs,
    # 7-day windows): 1.57 ± 0.23; the worldwide profile flatters it at 4.2.
    assert peaks_ratio(single.arrays["cpu_demand_mhz"]) < 2.6
    assert peaks_ratio(spread.arrays["cpu_demand_mhz"]) > 4.0


def test_the_site_is_shared_across_blocks_and_runs_repeat() -> None:
    # Blocks of VMs draw their own streams; the site-wide noise is one stream for them all,
    # so VMs of different blocks move together as much as VMs of one block.
    params = GeneratorParams(n_vms=2 * BLOCK_VMS, days=7, site_profile="single-site")
    cpu = generate(params, 7).arrays["cpu_demand_mhz"]
    hourly = cpu.reshape(cpu.shape[0], -1, 12).mean(axis=2)
    corr = np.corrcoef(hourly)
    first, second = slice(0, BLOCK_VMS), slice(BLOCK_VMS, 2 * BLOCK_VMS)
    within = corr[first, first][np.triu_indices(BLOCK_VMS, 1)].mean()
    across = corr[first, second].mean()
    assert across == pytest.approx(within, abs=0.03) and across > 0.08
    np.testing.assert_array_equal(cpu, generate(params, 7).arrays["cpu_demand_mhz"])


def test_a_bad_profile_names_the_field() -> None:
    from capplan.errors import SpecError

    with pytest.raises(SpecError, match="site_profile"):
        GeneratorParams(site_profile="moon").validate()
