"""Time series of a block of synthetic VMs, vectorized over VMs and time.

Model (per VM ``i`` and step ``t``; every array is ``(n_vms, n_steps)``, time on the last axis):

- Site profile: ``global`` VMs draw their peak hours from a wide von Mises fit to PlanetLab
  (a worldwide testbed) and are independent; ``single-site`` VMs draw peak hours from the
  fitted hours of one enterprise site (Bitbrains) and share part of their CPU noise
  (:class:`capplan.generate.params.SiteStats`).
- CPU utilization ``u = clip(L · D · W · G · N + B, 0, 1)`` with level ``L``, diurnal factor
  ``D = 1 + A cos(2π (hour − peak) / 24)``, weekend factor ``W`` (Sat/Sun), growth
  ``G = exp(g (t − t_mid) / 30 d)``, lognormal noise ``N = exp(s x − s²/2)`` and additive
  bursts ``B`` (Poisson arrivals, lognormal durations and heights). ``x`` is a unit-variance
  sum of a slow and a fast AR(1) process (:func:`noise_components`), matching the fitted
  autocorrelations of ln(utilization) at 5 min, 1 h and 6 h: real demand drifts in regimes of
  hours rather than flickering around a level. ``s`` is chosen so that the total log-variance
  matches the VM's drawn ``cpu_log_sd``.
- Memory and each disk/network metric follow a Gaussian copula on the CPU's standardized log
  activity ``z``: latent ``y = ρ z + √(1−ρ²) ε`` (``ρ`` from the fitted Spearman correlation,
  ``ε`` its own two-scale noise), value ``= level · exp(s y − s²/2)``. For disk and network
  the lowest ``p₀`` quantile of ``y`` is 0 (idle), and the level is rescaled so the mean
  stays the drawn level. Network tx shares part of rx's noise (and disk write of read's) to
  reach the fitted rx–tx (read–write) correlation.
- IOPS = MiB/s × 1024 / mean request size (KiB).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal, special

from capplan.generate.calibrate import latent_correlation, latent_log_sd
from capplan.generate.params import GeneratorParams
from capplan.generate.population import Population
from capplan.generate.stats import to_latent_correlation
from capplan.units import KIB_PER_MIB, S_PER_DAY, S_PER_HOUR

FloatArray = npt.NDArray[np.float64]

#: The fitted autocorrelations are for 300 s samples; other steps rescale them as φ^(step/300).
FIT_STEP_S = 300.0
#: **Assumption**: upper clip of network throughput, the line rate of one 10 GbE port (Mbit/s).
NET_MAX_MBPS = 10_000.0
#: **Assumption**: upper clip of disk throughput per direction, an 8 Gbit/s Fibre Channel
#: link's payload rate of about 800 MB/s (MiB/s).
DISK_MAX_MIB_S = 760.0
#: Floor added before taking logs of utilization.
_LOG_FLOOR = 1e-4


def ar1(rng: np.random.Generator, n_rows: int, n_steps: int, phi: float) -> FloatArray:
    """Unit-variance stationary AR(1) series, shape ``(n_rows, n_steps)``.

    ``x[t] = φ x[t−1] + √(1−φ²) e[t]``, started from the stationary distribution; the recursion
    runs in :func:`scipy.signal.lfilter` (compiled), not in a Python loop.
    """
    phi = float(np.clip(phi, 0.0, 0.9999))
    innovations = rng.standard_normal((n_rows, n_steps))
    if phi == 0.0:
        return innovations
    start = rng.standard_normal((n_rows, 1))
    out, _ = signal.lfilter(
        [np.sqrt(1.0 - phi**2)], [1.0, -phi], innovations, axis=1, zi=phi * start
    )
    return np.asarray(out, dtype=np.float64)


def noise_components(ac_5min: float, ac_1h: float, ac_6h: float) -> tuple[float, float, float]:
    """Split unit-variance noise into a slow and a fast AR(1) matching three autocorrelations.

    With ``x = √w · slow + √(1−w) · fast`` the autocorrelation at lag ``k`` (300 s steps) is
    ``w φs^k + (1−w) φf^k``. Taking the fast part as negligible after an hour, lags 12 and 72
    give ``φs`` and ``w``; lag 1 then gives ``φf``.

    Returns
    -------
    weight_slow, phi_slow, phi_fast
        ``w`` in [0, 1] and both coefficients per 300 s step, in [0, 0.9999].
    """
    ratio = float(np.clip(ac_6h / ac_1h, 1e-6, 0.9999)) if ac_1h > 0 else 1e-6
    phi_slow = ratio ** (1.0 / 60.0)
    weight = float(np.clip(ac_1h / phi_slow**12, 0.0, 1.0)) if ac_1h > 0 else 0.0
    if weight >= 1.0:
        return 1.0, phi_slow, 0.0
    phi_fast = float(np.clip((ac_5min - weight * phi_slow) / (1.0 - weight), 0.0, 0.9999))
    return weight, phi_slow, phi_fast


def two_scale_noise(
    rng: np.random.Generator,
    n_rows: int,
    n_steps: int,
    components: tuple[float, float, float],
    step_s: float,
) -> FloatArray:
    """Unit-variance noise ``√w · AR(φs) + √(1−w) · AR(φf)``, coefficients rescaled to the step."""
    weight, phi_slow, phi_fast = components
    scale = step_s / FIT_STEP_S
    slow = ar1(rng, n_rows, n_steps, phi_slow**scale)
    slow *= np.sqrt(weight)
    slow += np.sqrt(1.0 - weight) * ar1(rng, n_rows, n_steps, phi_fast**scale)
    return slow


def site_noise(
    params: GeneratorParams, n_steps: int, rng: np.random.Generator
) -> FloatArray | None:
    """The site-wide CPU noise of the ``single-site`` profile ``(n_steps,)``: unit variance,
    with the CPU's fitted two-scale autocorrelation; None for ``global``."""
    if params.site_profile != "single-site":
        return None
    fs = params.stats
    components = noise_components(fs.cpu_log_ac_5min, fs.cpu_log_ac_1h, fs.cpu_log_ac_6h)
    return two_scale_noise(rng, 1, n_steps, components, float(params.step_s))[0]


def standardize_rows(values: FloatArray) -> FloatArray:
    """Per-row z-scores (rows with zero spread become 0)."""
    mean = values.mean(axis=1, keepdims=True)
    sd = values.std(axis=1, keepdims=True)
    return np.divide(values - mean, sd, out=np.zeros_like(values), where=sd > 0)


def bursts(
    rng: np.random.Generator,
    rate_per_day: FloatArray,
    n_steps: int,
    step_s: float,
    duration_ln_s: tuple[float, float],
    height_ln_frac: tuple[float, float],
) -> FloatArray:
    """Additive burst utilization, shape ``(n_vms, n_steps)``.

    Per VM, bursts arrive as a Poisson process of rate ``rate_per_day``; each lasts a lognormal
    number of seconds (at least one step) and adds a lognormal height (utilization fraction,
    at most 1). Overlapping bursts add. Built from a difference array and one cumulative sum.
    """
    n_vms = rate_per_day.size
    days = n_steps * step_s / S_PER_DAY
    counts = rng.poisson(rate_per_day * days)
    vm = np.repeat(np.arange(n_vms), counts)
    total = int(counts.sum())
    diff = np.zeros((n_vms, n_steps + 1), dtype=np.float64)
    if total == 0:
        return diff[:, :n_steps]
    start = rng.integers(0, n_steps, total)
    duration_s = rng.lognormal(duration_ln_s[0], duration_ln_s[1], total)
    length = np.maximum(np.rint(duration_s / step_s), 1).astype(np.int64)
    end = np.minimum(start + length, n_steps)
    height = np.minimum(rng.lognormal(height_ln_frac[0], height_ln_frac[1], total), 1.0)
    np.add.at(diff, (vm, start), height)
    np.add.at(diff, (vm, end), -height)
    return np.cumsum(diff, axis=1)[:, :n_steps]


def _copula(z: FloatArray, rho: float, own: FloatArray) -> FloatArray:
    r = float(np.clip(rho, -0.999, 0.999))
    return r * z + np.sqrt(1.0 - r * r) * own


def _partner_noise(
    rng: np.random.Generator,
    base_noise: FloatArray,
    rho_a: float,
    rho_b: float,
    rho_ab: float,
    components: tuple[float, float, float],
    step_s: float,
) -> FloatArray:
    """Own noise of metric b, sharing part of metric a's so corr(latent a, latent b) = rho_ab."""
    ra, rb = (float(np.clip(r, -0.999, 0.999)) for r in (rho_a, rho_b))
    shared = (rho_ab - ra * rb) / (np.sqrt(1 - ra * ra) * np.sqrt(1 - rb * rb))
    c = float(np.clip(shared, -0.999, 0.999))
    n_rows, n_steps = base_noise.shape
    fresh = two_scale_noise(rng, n_rows, n_steps, components, step_s)
    return c * base_noise + np.sqrt(1.0 - c * c) * fresh


def _zero_inflated(
    latent: FloatArray, level: FloatArray, zero_frac: FloatArray, log_sd: FloatArray
) -> FloatArray:
    """``level``-mean lognormal of the latent, with its lowest ``zero_frac`` quantile set to 0.

    All parameters have shape ``(n_vms,)``; ``latent`` is ``(n_vms, n_steps)``.
    """
    q = special.ndtri(np.clip(zero_frac, 1e-9, 1 - 1e-9))[:, None]
    s = log_sd[:, None]
    keep_mass = 1.0 - special.ndtr(q - s)
    scale = level[:, None] / np.maximum(keep_mass, 1e-12)
    values = scale * np.exp(s * latent - 0.5 * s * s)
    return np.where(latent > q, values, 0.0)


def block_series(
    population: Population,
    params: GeneratorParams,
    epoch_s: npt.NDArray[np.int64],
    rng: np.random.Generator,
    site_noise: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Generate every canonical metric for the VMs of ``population``.

    Parameters
    ----------
    population
        The block's VMs (see :meth:`Population.rows`).
    params
        Generator parameters (statistics, step).
    epoch_s
        Sample times, Unix seconds, shape ``(n_steps,)``.
    rng
        The block's random stream.
    site_noise
        The single-site profile's site-wide CPU noise ``(n_steps,)`` (:func:`site_noise`), the
        same for every block; each VM's CPU log-noise is ``√(1−c)·own + √c·site`` with ``c``
        the site's ``common_frac``. None: the VMs are independent (``global``).

    Returns
    -------
    dict
        Canonical metric name → float64 array ``(n_vms, n_steps)``.
    """
    fs = params.stats
    step_s = float(params.step_s)
    n_steps = epoch_s.size
    p = population
    n = p.n_vms
    hour = np.mod(epoch_s, int(S_PER_DAY)) / S_PER_HOUR
    weekday = (epoch_s // int(S_PER_DAY) + 3) % 7  # 1970-01-01 was a Thursday
    weekend = weekday >= 5
    t_rel = (epoch_s - epoch_s[0] - (epoch_s[-1] - epoch_s[0]) / 2.0) / (30.0 * S_PER_DAY)
    cpu_noise = noise_components(fs.cpu_log_ac_5min, fs.cpu_log_ac_1h, fs.cpu_log_ac_6h)
    mem_noise = noise_components(fs.mem_log_ac_5min, fs.mem_log_ac_1h, fs.mem_log_ac_6h)

    # --- CPU
    diurnal = 1.0 + p.diurnal_amp_frac[:, None] * np.cos(
        2.0 * np.pi * (hour[None, :] - p.diurnal_peak_hour[:, None]) / 24.0
    )
    shape = diurnal
    shape *= np.where(weekend[None, :], p.weekend_ratio[:, None], 1.0)
    shape *= np.exp(p.growth_ln_per_30d[:, None] * t_rel[None, :])
    noise_sd = np.sqrt(np.maximum(p.cpu_log_sd**2 - 0.5 * p.diurnal_amp_frac**2, 0.01))[:, None]
    x_cpu = two_scale_noise(rng, n, n_steps, cpu_noise, step_s)
    if site_noise is not None:
        share = params.site.common_frac
        x_cpu *= np.sqrt(1.0 - share)
        x_cpu += np.sqrt(share) * site_noise[None, :]
    util = p.cpu_level_frac[:, None] * shape * np.exp(noise_sd * x_cpu - 0.5 * noise_sd**2)
    del shape, x_cpu
    util += bursts(
        rng,
        p.burst_rate_per_day,
        n_steps,
        step_s,
        (fs.burst_duration_ln_s_mu, fs.burst_duration_ln_s_sigma),
        (fs.burst_height_ln_frac_mu, fs.burst_height_ln_frac_sigma),
    )
    np.clip(util, 0.0, 1.0, out=util)
    z = standardize_rows(np.log(util + _LOG_FLOOR))
    out: dict[str, FloatArray] = {"cpu_demand_mhz": util * p.cpu_capacity_mhz[:, None]}
    del util

    # --- memory
    s_mem = fs.mem_log_sd
    y_mem = _copula(
        z,
        to_latent_correlation(fs.rho_cpu_mem),
        two_scale_noise(rng, n, n_steps, mem_noise, step_s),
    )
    mem = (p.mem_active_frac * p.mem_provisioned_mib)[:, None] * np.exp(
        s_mem * y_mem - 0.5 * s_mem * s_mem
    )
    out["mem_active_mib"] = np.minimum(mem, p.mem_provisioned_mib[:, None])
    del y_mem, mem

    # --- disk and network pairs
    pairs = (
        (
            "disk_read",
            "disk_write",
            fs.rho_disk_read_write,
            "disk_read_mib_s",
            "disk_write_mib_s",
            DISK_MAX_MIB_S,
        ),
        ("net_rx", "net_tx", fs.rho_net_rx_tx, "net_rx_mbps", "net_tx_mbps", NET_MAX_MBPS),
    )
    for key_a, key_b, rho_ab, name_a, name_b, ceiling in pairs:
        io_a, io_b = getattr(fs, key_a), getattr(fs, key_b)
        rho_a = latent_correlation(io_a.rho_cpu, 0.0, io_a.zero_frac_mean)
        rho_b = latent_correlation(io_b.rho_cpu, 0.0, io_b.zero_frac_mean)
        rho_pair = latent_correlation(rho_ab, io_a.zero_frac_mean, io_b.zero_frac_mean)
        noise_a = two_scale_noise(rng, n, n_steps, cpu_noise, step_s)
        noise_b = _partner_noise(rng, noise_a, rho_a, rho_b, rho_pair, cpu_noise, step_s)
        for key, io, rho, noise, name in (
            (key_a, io_a, rho_a, noise_a, name_a),
            (key_b, io_b, rho_b, noise_b, name_b),
        ):
            latent = _copula(z, rho, noise)
            zero = p.io_zero_frac[key]
            values = _zero_inflated(latent, p.io_level[key], zero, latent_log_sd(io.log_sd, zero))
            out[name] = np.minimum(values, ceiling)
        del noise_a, noise_b
    out["disk_read_iops"] = out["disk_read_mib_s"] * KIB_PER_MIB / p.read_io_kib[:, None]
    out["disk_write_iops"] = out["disk_write_mib_s"] * KIB_PER_MIB / p.write_io_kib[:, None]
    return out
