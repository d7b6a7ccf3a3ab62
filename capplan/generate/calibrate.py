"""Map measured statistics of zero-inflated series onto the generator's latent parameters.

Disk and network series are mostly idle (exact zeros). A Spearman correlation measured on such
series is diluted by the ties at zero, and the spread of ln(value) over the non-zero samples
sees only the upper part of the latent distribution. These helpers invert both effects, so the
*measured* statistics of generated data match the fitted ones.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

#: Sample size and bisection steps of :func:`latent_correlation` (fixed: results are cached and
#: part of the generator's reproducible output).
_N_SAMPLES = 8192
_N_BISECTIONS = 22
#: Largest latent log spread used for a mostly-idle metric (values beyond overflow into spikes
#: that the throughput ceilings clip anyway).
MAX_LATENT_LOG_SD = 3.0


def _censored_spearman(rho: float, zero_a: float, zero_b: float, base: np.ndarray) -> float:
    x = base[:, 0]
    y = rho * base[:, 0] + np.sqrt(1.0 - rho * rho) * base[:, 1]
    qa = special.ndtri(zero_a) if zero_a > 0 else -np.inf
    qb = special.ndtri(zero_b) if zero_b > 0 else -np.inf
    xa = np.where(x > qa, x, qa)
    yb = np.where(y > qb, y, qb)
    if np.ptp(xa) == 0 or np.ptp(yb) == 0:
        return 0.0
    return float(stats.spearmanr(xa, yb).statistic)


@lru_cache(maxsize=256)
def latent_correlation(target_spearman: float, zero_a: float, zero_b: float) -> float:
    """Correlation of a Gaussian pair whose zero-censored form has ``target_spearman``.

    Each variable is set to a constant (0) below its ``zero_*`` quantile, as the generator does
    for idle samples. Solved by bisection on a fixed sample (deterministic).

    Parameters
    ----------
    target_spearman
        Spearman correlation measured on the censored series, in [-1, 1].
    zero_a, zero_b
        Share of samples that are 0 in each series, in [0, 1).
    """
    za = float(np.clip(zero_a, 0.0, 0.99))
    zb = float(np.clip(zero_b, 0.0, 0.99))
    base = np.random.default_rng(20_240_101).standard_normal((_N_SAMPLES, 2))
    lo, hi = -0.999, 0.999
    if target_spearman >= _censored_spearman(hi, za, zb, base):
        return hi
    if target_spearman <= _censored_spearman(lo, za, zb, base):
        return lo
    for _ in range(_N_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if _censored_spearman(mid, za, zb, base) < target_spearman:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def truncated_sd(zero_frac: np.ndarray) -> np.ndarray:
    """Standard deviation of a standard normal above its ``zero_frac`` quantile."""
    q = special.ndtri(np.clip(zero_frac, 1e-9, 1 - 1e-9))
    tail = np.maximum(1.0 - special.ndtr(q), 1e-300)
    hazard = np.exp(-0.5 * q * q) / np.sqrt(2 * np.pi) / tail
    return np.sqrt(np.maximum(1.0 + q * hazard - hazard * hazard, 1e-12))


def latent_log_sd(positive_log_sd: float, zero_frac: np.ndarray) -> np.ndarray:
    """Latent log spread per VM so that its non-zero samples have ``positive_log_sd``."""
    return np.clip(positive_log_sd / truncated_sd(zero_frac), positive_log_sd, MAX_LATENT_LOG_SD)


def hourly_cpu_corr_mean(cpu_mhz: np.ndarray, steps_per_hour: int) -> float:
    """Mean pairwise correlation of hourly mean CPU ``(n_vms, n_steps)`` (whole hours only)."""
    n_hours = cpu_mhz.shape[1] // steps_per_hour
    hourly = cpu_mhz[:, : n_hours * steps_per_hour].reshape(cpu_mhz.shape[0], n_hours, -1)
    hourly = hourly.mean(axis=2)
    varying = hourly.std(axis=1) > 0
    corr = np.corrcoef(hourly[varying])
    upper = np.triu_indices(int(varying.sum()), 1)
    return float(np.mean(corr[upper]))


def site_common_frac(target_corr: float, *, seed: int = 20240101, steps: int = 12) -> float:
    """The ``common_frac`` at which single-site VMs reach ``target_corr`` (bisection).

    Each evaluation generates the default population (200 VMs, 7 days at 300 s) with the
    ``single-site`` profile and measures :func:`hourly_cpu_corr_mean`; the correlation rises
    with the shared share, so ``steps`` bisections on [0, 0.95] pin it to about 2e-4.
    """
    import dataclasses

    from capplan.generate.params import GeneratorParams
    from capplan.generate.synth import generate

    base = GeneratorParams(site_profile="single-site")
    lo, hi = 0.0, 0.95
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        params = dataclasses.replace(base, site=dataclasses.replace(base.site, common_frac=mid))
        cpu = generate(params, seed).arrays["cpu_demand_mhz"]
        if hourly_cpu_corr_mean(cpu, 3600 // params.step_s) < target_corr:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
