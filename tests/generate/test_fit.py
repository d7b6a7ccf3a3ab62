"""The fit: hand-worked statistics, and the constants re-fitted from the real traces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capplan.errors import CapplanError
from capplan.generate import stats as st
from capplan.generate.calibrate import latent_correlation, latent_log_sd, truncated_sd
from capplan.generate.fit import as_markdown, compare, fit_all, rounded
from capplan.generate.params import FITTED
from capplan.generate.series import noise_components

REPO = Path(__file__).resolve().parents[2]


def test_burst_runs_hand_worked() -> None:
    # median 0.1 → threshold max(0.2, 0.2) = 0.2; runs: [0.5, 0.6] and [0.9]
    series = np.array([0.1, 0.1, 0.5, 0.6, 0.1, 0.1, 0.9, 0.1, 0.1])
    lengths, heights = st.burst_runs(series)
    assert lengths.tolist() == [2, 1]
    np.testing.assert_allclose(heights, [0.5, 0.8])
    lengths, heights = st.burst_runs(np.array([0.1, 0.1, 0.1, 0.5]))
    assert lengths.tolist() == [1] and heights.tolist() == pytest.approx([0.4])
    assert st.burst_runs(np.full(10, 0.3))[0].size == 0


def test_daily_harmonic_of_a_pure_cosine() -> None:
    hours = np.arange(288) / 12.0
    day = 0.2 * (1 + 0.5 * np.cos(2 * np.pi * (hours - 15.0) / 24.0))
    amplitude, corrected, peak = st.daily_harmonic(day[None, :])
    assert amplitude[0] == pytest.approx(0.5)
    assert corrected[0] == pytest.approx(0.5)
    assert peak[0] == pytest.approx(15.0)


def test_corrected_amplitude_of_white_noise_is_mostly_zero() -> None:
    rng = np.random.default_rng(0)
    days = 0.2 + 0.05 * rng.standard_normal((400, 288))
    _, corrected, _ = st.daily_harmonic(days)
    assert np.mean(corrected == 0) > 0.5


def test_circular_mean_wraps_midnight() -> None:
    mean, kappa = st.circular_hour_stats(np.array([23.0, 1.0, 23.5, 0.5]))
    assert min(mean, 24 - mean) == pytest.approx(0.0, abs=1e-9)
    assert kappa > 10


def test_autocorrelation_of_ar1_and_robust_fits() -> None:
    rng = np.random.default_rng(1)
    x = np.zeros(20_000)
    for t in range(1, x.size):
        x[t] = 0.7 * x[t - 1] + rng.standard_normal()
    assert st.autocorrelation(x, 1) == pytest.approx(0.7, abs=0.02)
    assert st.autocorrelation(x, 2) == pytest.approx(0.49, abs=0.03)
    assert np.isnan(st.autocorrelation(np.ones(10), 1))
    assert st.robust_normal_fit(np.array([0.0, 1.0, 2.0, 3.0, 1e9]))[0] == 2.0
    mu, sigma = st.lognormal_fit(np.exp(np.array([1.0, 3.0, -1.0])))
    assert (mu, sigma) == pytest.approx((1.0, np.std([1.0, 3.0, -1.0])))


def test_upper_log_spread_of_a_lognormal() -> None:
    rng = np.random.default_rng(2)
    assert st.upper_log_spread(np.exp(0.6 * rng.standard_normal(100_000))) == pytest.approx(
        0.6, rel=0.03
    )
    assert np.isnan(st.upper_log_spread(np.zeros(10)))


def test_noise_components_reproduce_the_three_autocorrelations() -> None:
    w, phi_s, phi_f = noise_components(0.87, 0.70, 0.52)
    for lag, target in ((1, 0.87), (12, 0.70), (72, 0.52)):
        model = w * phi_s**lag + (1 - w) * phi_f**lag
        assert model == pytest.approx(target, abs=0.01 if lag > 1 else 1e-9)


def test_latent_correlation_calibration() -> None:
    # Without zeros it is the Gaussian identity rho = 2 sin(pi rho_s / 6).
    assert latent_correlation(0.5, 0.0, 0.0) == pytest.approx(
        st.to_latent_correlation(0.5), abs=0.02
    )
    # Zeros dilute the measured correlation, so the latent one must be larger.
    assert latent_correlation(0.5, 0.5, 0.5) > latent_correlation(0.5, 0.0, 0.0) + 0.05
    assert truncated_sd(np.array([1e-12]))[0] == pytest.approx(1.0, abs=1e-6)
    assert latent_log_sd(1.0, np.array([0.5]))[0] == pytest.approx(1 / 0.6028, rel=1e-3)


@pytest.mark.shared_data
def test_constants_match_a_fresh_fit_on_the_real_traces(shared_path: type) -> None:
    shared = shared_path("data").parent
    for name in ("bitbrains-gwa-t-12", "planetlab", "rvtools-export"):
        shared_path("data", name)
    fitted, cross = fit_all(shared)
    assert compare(rounded(fitted)) == []
    assert cross.get("azure_n_vms") == 10


def test_fit_reports_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(CapplanError, match="bitbrains-gwa-t-12"):
        fit_all(tmp_path)


def test_docs_table_lists_the_constants() -> None:
    text = (REPO / "docs" / "generator.md").read_text(encoding="utf-8")
    assert as_markdown(FITTED) in text


def test_params_docstring_lists_the_constants() -> None:
    from capplan.generate import params
    from capplan.generate.fit import as_text

    assert as_text(FITTED) in (params.__doc__ or "")
