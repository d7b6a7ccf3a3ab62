"""Calibrate the single-site profile: the shared share of demand that gives generated VMs a
target hourly CPU correlation (it runs the generator, so it sits above it)."""

from __future__ import annotations

import dataclasses

import numpy as np

from capplan.generate.params import GeneratorParams
from capplan.generate.synth import generate


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
