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
