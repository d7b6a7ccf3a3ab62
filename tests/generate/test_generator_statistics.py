"""Statistics of generated data against the fitted targets (loose tolerances, fixed seed).

Each figure is measured with the same function the fit used on the real traces
(:mod:`capplan.generate.stats`). Tolerances are loose on purpose: 300 VMs over two weeks is a
sample, and some figures are known to be only approximately reproduced (see docs/generator.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from capplan.generate import GeneratorParams, SyntheticWorkload, generate
from capplan.generate import stats as st
from capplan.generate.params import FITTED

DAYS = 14


@pytest.fixture(scope="module")
def work() -> SyntheticWorkload:
    return generate(GeneratorParams(n_vms=300, days=DAYS), 7)


@pytest.fixture(scope="module")
def util(work: SyntheticWorkload) -> np.ndarray:
    return work.arrays["cpu_demand_mhz"] / work.population.cpu_capacity_mhz[:, None]


def test_pooled_cpu_utilization_near_planetlab(util: np.ndarray) -> None:
    assert util.mean() == pytest.approx(FITTED.cpu_util_mean_frac, rel=0.25)
    assert np.median(util) == pytest.approx(FITTED.cpu_util_p50_frac, rel=0.35)
    assert np.percentile(util, 95) == pytest.approx(FITTED.cpu_util_p95_frac, rel=0.25)


def test_per_vm_day_level_distribution(util: np.ndarray) -> None:
    mu, sigma = st.lognormal_fit(util.reshape(-1, 288).mean(axis=1))
    assert mu == pytest.approx(FITTED.cpu_level_ln_mu, abs=0.3)
    assert sigma == pytest.approx(FITTED.cpu_level_ln_sigma, abs=0.25)


def test_upper_log_spread(util: np.ndarray) -> None:
    spreads = np.array([st.upper_log_spread(day, 0.01) for day in util.reshape(-1, 288)])
    spreads = spreads[np.isfinite(spreads) & (spreads > 0)]
    assert np.median(spreads) == pytest.approx(FITTED.cpu_upper_log_spread, rel=0.3)


def test_autocorrelation_of_log_cpu(util: np.ndarray) -> None:
    for lag, target, tol in (
        (1, FITTED.cpu_log_ac_5min, 0.08),
        (12, FITTED.cpu_log_ac_1h, 0.15),
        (72, FITTED.cpu_log_ac_6h, 0.25),
    ):
        measured = np.nanmedian([st.log_autocorrelation(row, lag) for row in util])
        assert measured == pytest.approx(target, abs=tol), lag


def test_diurnal_cycle_amplitude_and_phase(work: SyntheticWorkload, util: np.ndarray) -> None:
    pop = work.population.diurnal_amp_frac
    assert np.mean(pop == 0) == pytest.approx(FITTED.diurnal_amp_zero_frac, abs=0.1)
    mu, sigma = st.lognormal_fit(pop[pop > 0])
    assert mu == pytest.approx(FITTED.diurnal_amp_ln_mu, abs=0.3)
    assert sigma == pytest.approx(FITTED.diurnal_amp_ln_sigma, abs=0.3)
    # In the data: the two-week mean daily profile of VMs with a real cycle peaks near the
    # fitted hour.
    strong = pop > 0.2
    profile = util[strong].reshape(int(strong.sum()), DAYS, 288).mean(axis=1)
    amplitude, _, peak = st.daily_harmonic(profile)
    assert np.median(amplitude) > 0.1
    centre, _ = st.circular_hour_stats(peak)
    gap = abs((centre - FITTED.diurnal_peak_hour_utc + 12) % 24 - 12)
    assert gap < 3.0


def test_bursts_have_fitted_duration_and_height(util: np.ndarray) -> None:
    runs = [st.burst_runs(row) for row in util]
    durations = np.concatenate([lengths for lengths, _ in runs]) * 300.0
    heights = np.concatenate([h for _, h in runs])
    rate = np.mean([lengths.size for lengths, _ in runs]) / DAYS
    assert st.lognormal_fit(durations)[0] == pytest.approx(FITTED.burst_duration_ln_s_mu, abs=0.4)
    assert st.lognormal_fit(heights)[0] == pytest.approx(FITTED.burst_height_ln_frac_mu, abs=0.5)
    # Noise excursions count as runs too: the rate is within a factor 3 (docs/generator.md).
    assert FITTED.burst_rate_per_day / 3 < rate < FITTED.burst_rate_per_day * 3


def test_memory_share_spread_and_correlation(work: SyntheticWorkload, util: np.ndarray) -> None:
    mem = work.arrays["mem_active_mib"]
    mu, _ = st.lognormal_fit(mem.mean(axis=1) / work.population.mem_provisioned_mib)
    assert mu == pytest.approx(FITTED.mem_active_frac_ln_mu, abs=0.35)
    assert np.nanmedian([st.log_sd(row) for row in mem]) == pytest.approx(
        FITTED.mem_log_sd, rel=0.2
    )
    rho = np.nanmedian([st.spearman(a, b) for a, b in zip(util, mem, strict=True)])
    assert rho == pytest.approx(FITTED.rho_cpu_mem, abs=0.1)


@pytest.mark.parametrize(
    ("key", "name"),
    [("disk_write", "disk_write_mib_s"), ("net_rx", "net_rx_mbps"), ("net_tx", "net_tx_mbps")],
)
def test_io_levels_idle_shares_and_cpu_correlation(
    work: SyntheticWorkload, util: np.ndarray, key: str, name: str
) -> None:
    io = getattr(FITTED, key)
    values = work.arrays[name]
    mu, sigma = st.lognormal_fit(values.mean(axis=1))
    assert mu == pytest.approx(io.level_ln_mu, abs=0.6)
    assert sigma == pytest.approx(io.level_ln_sigma, rel=0.25)
    zeros = (values == 0).mean(axis=1)
    assert zeros.mean() == pytest.approx(io.zero_frac_mean, abs=0.06)
    assert np.nanmedian([st.log_sd(row) for row in values]) == pytest.approx(io.log_sd, rel=0.2)
    rho = np.nanmedian([st.spearman(a, b) for a, b in zip(util, values, strict=True)])
    assert rho == pytest.approx(io.rho_cpu, abs=0.1)


def test_disk_read_is_mostly_idle(work: SyntheticWorkload) -> None:
    zeros = (work.arrays["disk_read_mib_s"] == 0).mean(axis=1)
    assert zeros.mean() == pytest.approx(FITTED.disk_read.zero_frac_mean, abs=0.05)


def test_network_rx_tx_correlation(work: SyntheticWorkload) -> None:
    rx, tx = work.arrays["net_rx_mbps"], work.arrays["net_tx_mbps"]
    rho = np.nanmedian([st.spearman(a, b) for a, b in zip(rx, tx, strict=True)])
    assert rho == pytest.approx(FITTED.rho_net_rx_tx, abs=0.15)


def test_inventory_shares(work: SyntheticWorkload) -> None:
    big = generate(GeneratorParams(n_vms=3000, days=0.05), 2).inventory
    vcpu_share = (big["n_vcpus"] == 4).mean()
    assert vcpu_share == pytest.approx(FITTED.vcpu_probs[FITTED.vcpu_counts.index(4)], abs=0.04)
    windows = (big["os_family"] == "windows").mean()
    assert windows == pytest.approx(FITTED.os_family_probs[1], abs=0.04)
    replicas = big["ha_group"].is_not_null().mean()
    target = FITTED.ha_pair_vm_frac + FITTED.ha_triplet_vm_frac
    assert replicas == pytest.approx(target, abs=0.02)
    vms_per_host = big.height / big["current_host"].n_unique()
    assert vms_per_host == pytest.approx(FITTED.vms_per_host, rel=0.2)
    log2_mem = np.log2(big["mem_provisioned_mib"].to_numpy() / 1024)
    slope, intercept = np.polyfit(np.log2(big["n_vcpus"].to_numpy()), log2_mem, 1)
    assert slope == pytest.approx(FITTED.mem_log2_gib_slope, abs=0.1)
    assert intercept == pytest.approx(FITTED.mem_log2_gib_intercept, abs=0.2)
