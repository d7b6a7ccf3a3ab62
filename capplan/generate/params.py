"""Parameters of the synthetic workload generator, with defaults fitted to real traces.

The fitted figures below are computed by :mod:`capplan.generate.fit` from the real public traces
in ``../shared/data`` (``python -m capplan.generate.fit`` re-computes and prints them; a test
re-runs the fit and checks these constants). Sources, read in place:

- **RVTools** ``rvtools-export/SizingWorkshop-RVTools.xlsx``, sheet vInfo (805 VMs of a
  sanitised VMware estate): vCPU mix, memory per vCPU, disk sizes, OS families, zones (clusters
  ``DMZ`` and ``Mgmt``), replica groups (names equal up to a trailing number), VMs per host.
- **PlanetLab/CoMon** ``planetlab/<day>/`` (11,746 VM-days, CPU % every 300 s): per-VM CPU
  utilization level, pooled percentiles, upper spread, diurnal amplitude and peak hour.
- **Bitbrains GWA-T-12** ``bitbrains-gwa-t-12/{rnd,fastStorage}`` (13 VM-month files with at
  least one day of powered samples; 11 with two weeks): CPU MHz per core, autocorrelation of
  ln(CPU) at 5 min / 1 h / 6 h, bursts, weekend ratio, month growth, active-memory share and
  dynamics, disk and network levels, idle (zero) shares and rank correlations.
- **Azure v1** ``azure-public-dataset-v1/vmtable.csv.gz`` (10 VMs) is only a cross-check
  (cores 1/8 = 60/40 %, memory 0.75/1.75/56 GB = 10/50/40 %, mean CPU 16 %), too small to
  fit a size mix from.

Fitted values (definitions and the file behind each: :data:`SOURCES` and
``docs/generator.md``; fractions 0–1, ``ln`` natural log, seconds, MiB/s, Mbit/s)::

    vcpu_counts: 1, 2, 4, 6, 8, 10, 16
    vcpu_probs: 0.143, 0.361, 0.364, 0.0224, 0.0981, 0.00248, 0.0087
    mem_log2_gib_intercept: 1.879
    mem_log2_gib_slope: 0.8506
    mem_log2_gib_resid_sd: 1.036
    disk_provisioned_ln_gib_mu: 4.977
    disk_provisioned_ln_gib_sigma: 0.8956
    disk_used_frac_mean: 0.5011
    disk_used_frac_sd: 0.2529
    os_family_probs: 0.0534, 0.858, 0.087, 0.00124
    zone_names: internal, dmz, mgmt
    zone_probs: 0.922, 0.0509, 0.0273
    ha_pair_vm_frac: 0.1565
    ha_triplet_vm_frac: 0.06708
    vms_per_host: 21.18
    cpu_mhz_per_vcpu: 2600
    cpu_level_ln_mu: -2.708
    cpu_level_ln_sigma: 1.021
    cpu_util_mean_frac: 0.111
    cpu_util_p50_frac: 0.05
    cpu_util_p95_frac: 0.43
    diurnal_amp_zero_frac: 0.3149
    diurnal_amp_ln_mu: -1.903
    diurnal_amp_ln_sigma: 0.9751
    diurnal_peak_hour_utc: 12.33
    diurnal_peak_kappa: 0.5661
    cpu_log_ac_5min: 0.8707
    cpu_log_ac_1h: 0.7024
    cpu_log_ac_6h: 0.5215
    cpu_upper_log_spread: 0.5307
    cpu_upper_log_spread_sigma: 0.6957
    weekend_ratio_ln_mu: 0.02268
    weekend_ratio_ln_sigma: 0.1101
    growth_ln_per_30d_mu: -0.2242
    growth_ln_per_30d_sigma: 0.8311
    burst_rate_per_day: 2.968
    burst_rate_shape: 0.7192
    burst_duration_ln_s_mu: 6.387
    burst_duration_ln_s_sigma: 1.041
    burst_height_ln_frac_mu: -1.769
    burst_height_ln_frac_sigma: 0.4874
    bitbrains_cpu_util_mean_frac: 0.07691
    bitbrains_cpu_util_p95_frac: 0.2123
    mem_active_frac_ln_mu: -2.888
    mem_active_frac_ln_sigma: 1.394
    mem_log_sd: 0.8367
    mem_log_ac_5min: 0.4888
    mem_log_ac_1h: 0.2315
    mem_log_ac_6h: 0.1452
    rho_cpu_mem: 0.351
    disk_read.level_ln_mu: -6.404
    disk_read.level_ln_sigma: 3.912
    disk_read.zero_frac_mean: 0.9283
    disk_read.zero_frac_sd: 0.1173
    disk_read.log_sd: 2.834
    disk_read.rho_cpu: 0.03504
    disk_write.level_ln_mu: -4.942
    disk_write.level_ln_sigma: 2.028
    disk_write.zero_frac_mean: 0.05891
    disk_write.zero_frac_sd: 0.1368
    disk_write.log_sd: 0.8064
    disk_write.rho_cpu: 0.266
    net_rx.level_ln_mu: -0.8437
    net_rx.level_ln_sigma: 3.356
    net_rx.zero_frac_mean: 0.4384
    net_rx.zero_frac_sd: 0.3574
    net_rx.log_sd: 1.232
    net_rx.rho_cpu: 0.6163
    net_tx.level_ln_mu: -2.242
    net_tx.level_ln_sigma: 3.589
    net_tx.zero_frac_mean: 0.4559
    net_tx.zero_frac_sd: 0.3878
    net_tx.log_sd: 1.196
    net_tx.rho_cpu: 0.4507
    rho_disk_read_write: 0.2435
    rho_net_rx_tx: 0.5501

Parameters that no shared file can supply are explicit, documented assumptions in
:class:`GeneratorParams` (VLANs per zone, I/O request sizes, replica jitter) and in
:mod:`capplan.generate.series` (throughput ceilings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

from capplan.errors import SpecError
from capplan.schema import OS_FAMILIES
from capplan.units import S_PER_DAY

#: Bump when the generator's output for a given seed changes (invalidates caches).
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class IoStats:
    """Fitted statistics of one disk or network metric (per VM, then across VMs).

    Attributes
    ----------
    level_ln_mu, level_ln_sigma
        Lognormal fit of the per-VM mean (MiB/s for disk, Mbit/s for network), over VMs
        whose mean is above 0.
    zero_frac_mean, zero_frac_sd
        Mean and standard deviation across VMs of the share of samples that are exactly 0.
    log_sd
        Median across VMs of the standard deviation of ``ln(value)`` over positive samples.
    rho_cpu
        Median across VMs of the Spearman correlation with CPU usage.
    """

    level_ln_mu: float
    level_ln_sigma: float
    zero_frac_mean: float
    zero_frac_sd: float
    log_sd: float
    rho_cpu: float


@dataclass(frozen=True)
class FittedStats:
    """Statistics of the real traces that the generator reproduces (see the module docstring).

    Fractions are 0–1; ``ln`` is the natural logarithm; durations in seconds.
    """

    # --- sizes and inventory (RVTools vInfo)
    vcpu_counts: tuple[int, ...]
    vcpu_probs: tuple[float, ...]
    mem_log2_gib_intercept: float
    mem_log2_gib_slope: float
    mem_log2_gib_resid_sd: float
    disk_provisioned_ln_gib_mu: float
    disk_provisioned_ln_gib_sigma: float
    disk_used_frac_mean: float
    disk_used_frac_sd: float
    os_family_probs: tuple[float, ...]
    zone_names: tuple[str, ...]
    zone_probs: tuple[float, ...]
    ha_pair_vm_frac: float
    ha_triplet_vm_frac: float
    vms_per_host: float
    # --- CPU (PlanetLab: level, percentiles, diurnal; Bitbrains: the rest)
    cpu_mhz_per_vcpu: float
    cpu_level_ln_mu: float
    cpu_level_ln_sigma: float
    cpu_util_mean_frac: float
    cpu_util_p50_frac: float
    cpu_util_p95_frac: float
    diurnal_amp_zero_frac: float
    diurnal_amp_ln_mu: float
    diurnal_amp_ln_sigma: float
    diurnal_peak_hour_utc: float
    diurnal_peak_kappa: float
    cpu_log_ac_5min: float
    cpu_log_ac_1h: float
    cpu_log_ac_6h: float
    cpu_upper_log_spread: float
    cpu_upper_log_spread_sigma: float
    weekend_ratio_ln_mu: float
    weekend_ratio_ln_sigma: float
    growth_ln_per_30d_mu: float
    growth_ln_per_30d_sigma: float
    burst_rate_per_day: float
    burst_rate_shape: float
    burst_duration_ln_s_mu: float
    burst_duration_ln_s_sigma: float
    burst_height_ln_frac_mu: float
    burst_height_ln_frac_sigma: float
    bitbrains_cpu_util_mean_frac: float
    bitbrains_cpu_util_p95_frac: float
    # --- memory (Bitbrains)
    mem_active_frac_ln_mu: float
    mem_active_frac_ln_sigma: float
    mem_log_sd: float
    mem_log_ac_5min: float
    mem_log_ac_1h: float
    mem_log_ac_6h: float
    rho_cpu_mem: float
    # --- disk and network (Bitbrains)
    disk_read: IoStats
    disk_write: IoStats
    net_rx: IoStats
    net_tx: IoStats
    rho_disk_read_write: float
    rho_net_rx_tx: float


_POSITIVE = {"burst_rate_shape", "cpu_upper_log_spread", "cpu_mhz_per_vcpu", "vms_per_host"}
_NON_NEGATIVE = {"burst_rate_per_day", "diurnal_peak_kappa"}


def _scalar_problem(name: str, value: float) -> str | None:
    """What is wrong with one scalar statistic, judged by its name, or None."""
    if not math.isfinite(value):
        return f"is {value}; expected a finite number"
    if name.endswith("_frac") or name.endswith("frac_mean"):
        return None if 0.0 <= value <= 1.0 else f"is {value}; expected a fraction in [0, 1]"
    if name.endswith(("_sigma", "_sd", "_spread")) or name in _NON_NEGATIVE:
        return None if value >= 0.0 else f"is {value}; expected a value ≥ 0"
    if name.startswith("rho_") or "_ac_" in name:
        return None if -1.0 <= value <= 1.0 else f"is {value}; expected a value in [-1, 1]"
    if name == "diurnal_peak_hour_utc":
        return None if 0.0 <= value < 24.0 else f"is {value}; expected an hour in [0, 24)"
    if name in _POSITIVE:
        return None if value > 0.0 else f"is {value}; expected a value > 0"
    return None


def stats_problems(stats: FittedStats) -> list[tuple[str, str]]:
    """Every problem of a set of statistics, as ``(field name, what is wrong)``."""
    problems: list[tuple[str, str]] = []
    for f in fields(FittedStats):
        value = getattr(stats, f.name)
        if isinstance(value, IoStats):
            for g in fields(IoStats):
                name = f"{f.name}.{g.name}"
                what = _scalar_problem(g.name, getattr(value, g.name))
                if what:
                    problems.append((name, what))
        elif isinstance(value, int | float):
            what = _scalar_problem(f.name, float(value))
            if what:
                problems.append((f.name, what))
    pairs = (
        ("vcpu_probs", stats.vcpu_probs, len(stats.vcpu_counts)),
        ("os_family_probs", stats.os_family_probs, len(OS_FAMILIES)),
        ("zone_probs", stats.zone_probs, len(stats.zone_names)),
    )
    for name, probs, size in pairs:
        if len(probs) != size or any(not p >= 0 for p in probs) or not sum(probs) > 0:
            problems.append((name, f"expected {size} non-negative shares with a positive sum"))
    if any(c < 1 for c in stats.vcpu_counts):
        problems.append(("vcpu_counts", "expected vCPU counts of at least 1"))
    return problems


#: Where each fitted figure comes from (field name → source and definition).
SOURCES: dict[str, str] = {
    "vcpu_counts": "RVTools vInfo `CPUs`: distinct values",
    "vcpu_probs": "RVTools vInfo `CPUs`: share of VMs per value",
    "mem_log2_gib_intercept": "RVTools vInfo: least squares log2(Memory GiB) = a + b·log2(CPUs)",
    "mem_log2_gib_slope": "RVTools vInfo: slope b of the same regression",
    "mem_log2_gib_resid_sd": "RVTools vInfo: residual standard deviation of that regression",
    "disk_provisioned_ln_gib_mu": "RVTools vInfo `Provisioned MB` (MiB): mean of ln GiB",
    "disk_provisioned_ln_gib_sigma": "RVTools vInfo `Provisioned MB`: sd of ln GiB",
    "disk_used_frac_mean": "RVTools vInfo `In Use MB` / `Provisioned MB`, clipped to 1: mean",
    "disk_used_frac_sd": "RVTools vInfo `In Use MB` / `Provisioned MB`, clipped to 1: sd",
    "os_family_probs": "RVTools vInfo `OS according to the configuration file` through "
    "capplan.schema.classify_os; shares of " + "/".join(OS_FAMILIES),
    "zone_names": "RVTools vInfo `Cluster`: DMZ → dmz, Mgmt → mgmt, other clusters → internal",
    "zone_probs": "RVTools vInfo `Cluster`: share of VMs per zone",
    "ha_pair_vm_frac": "RVTools VM names: share of VMs in groups of exactly 2 names equal up "
    "to a trailing number (web01/web02)",
    "ha_triplet_vm_frac": "RVTools VM names: share of VMs in such groups of exactly 3",
    "vms_per_host": "RVTools vInfo: VMs / distinct `Host` values",
    "cpu_mhz_per_vcpu": "Bitbrains: median of CPU capacity provisioned [MHZ] / CPU cores",
    "cpu_level_ln_mu": "PlanetLab: mean of ln(per-VM-day mean CPU utilization)",
    "cpu_level_ln_sigma": "PlanetLab: sd of ln(per-VM-day mean CPU utilization)",
    "cpu_util_mean_frac": "PlanetLab: mean of all samples",
    "cpu_util_p50_frac": "PlanetLab: median of all samples",
    "cpu_util_p95_frac": "PlanetLab: 95th percentile of all samples",
    "diurnal_amp_zero_frac": "PlanetLab: share of VM-days (mean ≥ 1 %) whose 24 h harmonic is "
    "within the noise floor (median power of harmonics 6–143)",
    "diurnal_amp_ln_mu": "PlanetLab: mean of ln(noise-corrected 24 h harmonic amplitude / day "
    "mean) over the other VM-days",
    "diurnal_amp_ln_sigma": "PlanetLab: sd of the same",
    "diurnal_peak_hour_utc": "PlanetLab: circular mean of the harmonic's peak hour over those "
    "VM-days (UTC, assuming day files start at 00:00 UTC)",
    "diurnal_peak_kappa": "PlanetLab: von Mises concentration of the same peak hours",
    "cpu_log_ac_5min": "Bitbrains: median per-VM autocorrelation of ln(CPU utilization) at "
    "lag 300 s",
    "cpu_log_ac_1h": "Bitbrains: the same at lag 1 h",
    "cpu_log_ac_6h": "Bitbrains: the same at lag 6 h",
    "cpu_upper_log_spread": "PlanetLab: median over VM-days (median ≥ 1 %) of "
    "ln(p95 / p50) / 1.645",
    "cpu_upper_log_spread_sigma": "PlanetLab: sd of ln of the same (positive values)",
    "weekend_ratio_ln_mu": "Bitbrains (≥ 14 days): median of ln(Sat–Sun mean / Mon–Fri mean)",
    "weekend_ratio_ln_sigma": "Bitbrains (≥ 14 days): IQR/1.349 of the same",
    "growth_ln_per_30d_mu": "Bitbrains (≥ 14 days): median of ln(last-7-day mean / "
    "first-7-day mean) per 30 days",
    "growth_ln_per_30d_sigma": "Bitbrains (≥ 14 days): IQR/1.349 of the same",
    "burst_rate_per_day": "Bitbrains: mean per-VM bursts per day (runs above max(2·median, "
    "median+0.1))",
    "burst_rate_shape": "Bitbrains: gamma shape (mean²/variance) of the per-VM burst rate",
    "burst_duration_ln_s_mu": "Bitbrains: mean of ln(burst duration s)",
    "burst_duration_ln_s_sigma": "Bitbrains: sd of ln(burst duration s)",
    "burst_height_ln_frac_mu": "Bitbrains: mean of ln(burst peak − median, utilization)",
    "burst_height_ln_frac_sigma": "Bitbrains: sd of the same",
    "bitbrains_cpu_util_mean_frac": "Bitbrains: mean CPU utilization of all samples (cross-check)",
    "bitbrains_cpu_util_p95_frac": "Bitbrains: 95th percentile CPU utilization (cross-check)",
    "mem_active_frac_ln_mu": "Bitbrains: mean of ln(per-VM mean Memory usage / provisioned)",
    "mem_active_frac_ln_sigma": "Bitbrains: sd of the same",
    "mem_log_sd": "Bitbrains: median per-VM sd of ln(memory usage)",
    "mem_log_ac_5min": "Bitbrains: median per-VM autocorrelation of ln(memory usage) at lag 300 s",
    "mem_log_ac_1h": "Bitbrains: the same at lag 1 h",
    "mem_log_ac_6h": "Bitbrains: the same at lag 6 h",
    "rho_cpu_mem": "Bitbrains: median per-VM Spearman correlation CPU–memory",
    "disk_read": "Bitbrains `Disk read throughput [KB/s]` as MiB/s (see IoStats)",
    "disk_write": "Bitbrains `Disk write throughput [KB/s]` as MiB/s (see IoStats)",
    "net_rx": "Bitbrains `Network received throughput [KB/s]` as Mbit/s (see IoStats)",
    "net_tx": "Bitbrains `Network transmitted throughput [KB/s]` as Mbit/s (see IoStats)",
    "rho_disk_read_write": "Bitbrains: median per-VM Spearman correlation disk read–write",
    "rho_net_rx_tx": "Bitbrains: median per-VM Spearman correlation network rx–tx",
}

# Fitted by `python -m capplan.generate.fit` on ../shared/data (see the module docstring).
FITTED = FittedStats(
    vcpu_counts=(1, 2, 4, 6, 8, 10, 16),
    vcpu_probs=(0.1429, 0.3615, 0.364, 0.02236, 0.09814, 0.002484, 0.008696),
    mem_log2_gib_intercept=1.879,
    mem_log2_gib_slope=0.8506,
    mem_log2_gib_resid_sd=1.036,
    disk_provisioned_ln_gib_mu=4.977,
    disk_provisioned_ln_gib_sigma=0.8956,
    disk_used_frac_mean=0.5011,
    disk_used_frac_sd=0.2529,
    os_family_probs=(0.05342, 0.8584, 0.08696, 0.001242),
    zone_names=("internal", "dmz", "mgmt"),
    zone_probs=(0.9217, 0.05093, 0.02733),
    ha_pair_vm_frac=0.1565,
    ha_triplet_vm_frac=0.06708,
    vms_per_host=21.18,
    cpu_mhz_per_vcpu=2600.0,
    cpu_level_ln_mu=-2.708,
    cpu_level_ln_sigma=1.021,
    cpu_util_mean_frac=0.111,
    cpu_util_p50_frac=0.05,
    cpu_util_p95_frac=0.43,
    diurnal_amp_zero_frac=0.3149,
    diurnal_amp_ln_mu=-1.903,
    diurnal_amp_ln_sigma=0.9751,
    diurnal_peak_hour_utc=12.33,
    diurnal_peak_kappa=0.5661,
    cpu_log_ac_5min=0.8707,
    cpu_log_ac_1h=0.7024,
    cpu_log_ac_6h=0.5215,
    cpu_upper_log_spread=0.5307,
    cpu_upper_log_spread_sigma=0.6957,
    weekend_ratio_ln_mu=0.02268,
    weekend_ratio_ln_sigma=0.1101,
    growth_ln_per_30d_mu=-0.2242,
    growth_ln_per_30d_sigma=0.8311,
    burst_rate_per_day=2.968,
    burst_rate_shape=0.7192,
    burst_duration_ln_s_mu=6.387,
    burst_duration_ln_s_sigma=1.041,
    burst_height_ln_frac_mu=-1.769,
    burst_height_ln_frac_sigma=0.4874,
    bitbrains_cpu_util_mean_frac=0.07691,
    bitbrains_cpu_util_p95_frac=0.2123,
    mem_active_frac_ln_mu=-2.888,
    mem_active_frac_ln_sigma=1.394,
    mem_log_sd=0.8367,
    mem_log_ac_5min=0.4888,
    mem_log_ac_1h=0.2315,
    mem_log_ac_6h=0.1452,
    rho_cpu_mem=0.351,
    disk_read=IoStats(
        level_ln_mu=-6.404,
        level_ln_sigma=3.912,
        zero_frac_mean=0.9283,
        zero_frac_sd=0.1173,
        log_sd=2.834,
        rho_cpu=0.03504,
    ),
    disk_write=IoStats(
        level_ln_mu=-4.942,
        level_ln_sigma=2.028,
        zero_frac_mean=0.05891,
        zero_frac_sd=0.1368,
        log_sd=0.8064,
        rho_cpu=0.266,
    ),
    net_rx=IoStats(
        level_ln_mu=-0.8437,
        level_ln_sigma=3.356,
        zero_frac_mean=0.4384,
        zero_frac_sd=0.3574,
        log_sd=1.232,
        rho_cpu=0.6163,
    ),
    net_tx=IoStats(
        level_ln_mu=-2.242,
        level_ln_sigma=3.589,
        zero_frac_mean=0.4559,
        zero_frac_sd=0.3878,
        log_sd=1.196,
        rho_cpu=0.4507,
    ),
    rho_disk_read_write=0.2435,
    rho_net_rx_tx=0.5501,
)


#: Site profiles: ``global`` (VMs spread over the world's time zones and independent, like
#: PlanetLab) or ``single-site`` (one enterprise data centre: peak hours and part of the CPU
#: noise shared, like Bitbrains).
SITE_PROFILES: tuple[str, ...] = ("global", "single-site")


@dataclass(frozen=True)
class SiteStats:
    """How the VMs of one site move together (the ``single-site`` profile).

    Attributes
    ----------
    peak_hour_probs
        Share of VMs whose mean daily CPU profile peaks in each UTC hour 0..23
        (:func:`capplan.generate.fit.fit_site`); a single-site VM draws its peak hour from
        it (uniform within the hour).
    hourly_cpu_corr_mean
        Mean pairwise correlation of hourly CPU usage of the fitted site: the target of
        ``common_frac``.
    common_frac
        Share of each VM's CPU log-noise variance that is one site-wide series, calibrated
        (:func:`capplan.generate.site_calibration.site_common_frac`) so that generated single-site
        VMs reach ``hourly_cpu_corr_mean``.
    """

    peak_hour_probs: tuple[float, ...]
    hourly_cpu_corr_mean: float
    common_frac: float

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these figures, as ``(field, what)``."""
        out: list[tuple[str, str]] = []
        probs = self.peak_hour_probs
        if len(probs) != 24 or min(probs) < 0 or abs(sum(probs) - 1.0) > 1e-6:
            out.append(("peak_hour_probs", "expected 24 shares ≥ 0 that sum to 1"))
        if not -1.0 <= self.hourly_cpu_corr_mean <= 1.0:
            out.append(("hourly_cpu_corr_mean", "expected a correlation in [-1, 1]"))
        if not 0.0 <= self.common_frac < 1.0:
            out.append(("common_frac", "expected a fraction in [0, 1)"))
        return out


#: Bitbrains Rnd, July 2013: VMs whose mean daily CPU profile peaks in each UTC hour 0..23
#: (480 VMs; the nightly peak at 02 UTC is 04:00 in the Netherlands, CEST).
PEAK_HOUR_COUNTS_RND_2013_07: tuple[int, ...] = (
    18, 25, 106, 13, 15, 7, 8, 6, 10, 34, 11, 15, 25, 17, 30, 35, 10, 6, 9, 13, 22, 9, 14, 22
)  # fmt: skip
#: Fitted to Bitbrains GWA-T-12 Rnd, July 2013 (all 500 VM files of the public copy
#: JessieRayeBauer/Time-Series-Forecasting-, commit 0901a0da, rnd/2013-7; 480 VMs with two
#: days of powered hours and a varying CPU), by :func:`capplan.generate.fit.fit_site`; the
#: correlation over every hour of the month (powered-off hours at 0, as the workload builder
#: reads them: 496 VMs) is 0.125. ``common_frac`` is calibrated to it.
SITE_FITTED = SiteStats(
    peak_hour_probs=tuple(
        c / sum(PEAK_HOUR_COUNTS_RND_2013_07) for c in PEAK_HOUR_COUNTS_RND_2013_07
    ),
    hourly_cpu_corr_mean=0.125,
    common_frac=0.3195,
)


@dataclass(frozen=True)
class GeneratorParams:
    """What to generate: size of the population and time grid, plus the statistics to follow.

    Attributes
    ----------
    n_vms
        Number of VMs.
    days
        Length of the trace in days.
    step_s
        Seconds between samples.
    start
        UTC time of the first sample.
    stats
        Fitted statistics (default: :data:`FITTED`).
    vlans_per_zone
        **Assumption** (no shared file lists port groups: the RVTools sample's vNetwork
        ``Network`` column is empty): number of VLANs in each zone; VMs spread over a zone's
        VLANs with Zipf(1) weights, VLAN ids ``100·(zone index + 1) + k``.
    read_io_kib_choices, write_io_kib_choices
        **Assumption** used to turn disk MiB/s into IOPS (Bitbrains records throughput only):
        each VM draws a mean read and write request size from these (KiB), uniformly. The range
        follows Tintri's survey of ~2,000 virtualized systems ("Data dive: read and write sizes
        in virtualized environments", tintri.com, 2016): 4–8 KiB requests dominate operation
        counts while 64–256 KiB requests carry most bytes, so per-VM byte-weighted means lie
        between 4 and 64 KiB.
    replica_level_jitter_ln_sd
        **Assumption**: replicas of one HA group share their demand pattern; their levels differ
        by a lognormal factor with this sd (load balancers split load nearly evenly).
    cpu_level_max_frac
        Per-VM mean CPU utilization is capped here (the lognormal tail would pass 1).
    """

    n_vms: int = 200
    days: float = 7.0
    step_s: int = 300
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    stats: FittedStats = FITTED
    vlans_per_zone: tuple[int, ...] = (8, 2, 1)
    read_io_kib_choices: tuple[float, ...] = (8.0, 16.0, 32.0, 64.0)
    write_io_kib_choices: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0)
    replica_level_jitter_ln_sd: float = 0.1
    cpu_level_max_frac: float = 0.8
    site_profile: str = "global"
    site: SiteStats = SITE_FITTED

    @property
    def n_steps(self) -> int:
        """Number of samples per VM: ``days`` of ``step_s`` steps (at least 1)."""
        return max(round(self.days * S_PER_DAY / self.step_s), 1)

    def validate(self) -> GeneratorParams:
        """Return self, or raise a SpecError listing every problem found."""
        problems: list[tuple[str, str]] = []
        if self.n_vms < 1:
            problems.append(("n_vms", f"is {self.n_vms}; expected at least 1"))
        if not self.days > 0:
            problems.append(("days", f"is {self.days}; expected a positive number of days"))
        if self.step_s < 1:
            problems.append(("step_s", f"is {self.step_s}; expected at least 1 second"))
        elif self.days > 0 and self.step_s > self.days * S_PER_DAY:
            problems.append(("step_s", f"is {self.step_s} s, longer than the {self.days} days"))
        if self.start.tzinfo is None:
            problems.append(("start", "has no time zone; expected a UTC time"))
        if len(self.vlans_per_zone) != len(self.stats.zone_names):
            problems.append(
                (
                    "vlans_per_zone",
                    f"has {len(self.vlans_per_zone)} entries; expected one per zone "
                    f"{list(self.stats.zone_names)}",
                )
            )
        elif any(n < 1 for n in self.vlans_per_zone):
            problems.append(("vlans_per_zone", "expected at least 1 VLAN in every zone"))
        for name in ("read_io_kib_choices", "write_io_kib_choices"):
            choices = getattr(self, name)
            if not choices or any(not v > 0 for v in choices):
                problems.append((name, "expected one or more positive sizes in KiB"))
        if not 0 < self.cpu_level_max_frac <= 1:
            problems.append(("cpu_level_max_frac", "expected a fraction in (0, 1]"))
        if self.replica_level_jitter_ln_sd < 0:
            problems.append(("replica_level_jitter_ln_sd", "expected a non-negative number"))
        if self.site_profile not in SITE_PROFILES:
            problems.append(
                ("site_profile", f"is {self.site_profile!r}; expected one of {list(SITE_PROFILES)}")
            )
        problems += [(f"site.{where}", what) for where, what in self.site.problems()]
        problems += [(f"stats.{where}", what) for where, what in stats_problems(self.stats)]
        if problems:
            raise SpecError(problems)
        return self


def _check_vector(name: str, value: object, length: int) -> tuple[str, tuple[float, ...]]:
    """Validate an override of a vector statistic; return (problem or "", the numbers)."""
    items = list(value) if isinstance(value, list | tuple) else []
    if len(items) != length or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in items
    ):
        return f"is {value!r}; expected a list of {length} numbers", ()
    numbers = tuple(float(v) for v in items)
    if name.endswith("_probs") and (min(numbers) < 0 or abs(sum(numbers) - 1.0) > 1e-6):
        return f"is {value!r}; expected shares ≥ 0 that sum to 1", ()
    return "", numbers


def with_overrides(params: GeneratorParams, overrides: dict[str, object]) -> GeneratorParams:
    """Return ``params`` with fitted statistics replaced by name (``{"cpu_ac1": 0.9}``).

    Raises
    ------
    SpecError
        Listing every unknown name or value of the wrong type.
    """
    known = {f.name: f for f in fields(FittedStats)}
    problems: list[tuple[str, str]] = []
    clean: dict[str, object] = {}
    for name, value in overrides.items():
        if name not in known:
            problems.append((name, f"unknown statistic; expected one of {sorted(known)}"))
        elif isinstance(getattr(params.stats, name), IoStats):
            problems.append((name, "per-metric I/O statistics cannot be overridden"))
        elif isinstance(getattr(params.stats, name), tuple):
            problem, numbers = _check_vector(name, value, len(getattr(params.stats, name)))
            if problem:
                problems.append((name, problem))
            else:
                clean[name] = numbers
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append((name, f"is {value!r}; expected a number"))
        else:
            clean[name] = float(value)
    if problems:
        raise SpecError(problems)
    return replace(params, stats=replace(params.stats, **clean))  # type: ignore[arg-type]
