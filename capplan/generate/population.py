"""Who the synthetic VMs are: inventory and per-VM behaviour parameters.

Everything here is drawn once per VM (or once per HA group, shared by its replicas), vectorized
over VMs; the time series are made from these parameters in :mod:`capplan.generate.series`.

Replica groups: ``ha_pair_vm_frac`` / ``ha_triplet_vm_frac`` of the VMs form groups of 2 / 3
replicas. Replicas share size, OS, zone, VLAN and demand pattern (level jittered by
``replica_level_jitter_ln_sd``) and sit on distinct current hosts (anti-affinity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.generate.params import GeneratorParams, IoStats
from capplan.schema import INVENTORY_SCHEMA, OS_FAMILIES
from capplan.units import MIB_PER_GIB

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Lognormal and normal draws of per-VM levels are truncated at this many standard deviations:
#: the real samples (13 Bitbrains VM-months) say nothing about tails beyond that.
TRUNCATION_SD = 2.5
#: Disk and network levels are truncated tighter: the fit rests on 13 Bitbrains VM-months, and
#: a wider lognormal tail would put mean rates of several Gbit/s on single VMs.
IO_TRUNCATION_SD = 2.0
#: Memory sizes are snapped to 2^k or 1.5·2^k GiB (the sizes in the RVTools sample), within:
MEM_GIB_RANGE = (0.5, 1024.0)
#: Per-VM standard deviation of ln(CPU utilization) is kept inside this range.
CPU_LOG_SD_RANGE = (0.05, 2.0)
#: Share of samples that are 0 is kept inside this range for every disk and network metric.
ZERO_FRAC_RANGE = (0.0, 0.99)
IO_METRICS = ("disk_read", "disk_write", "net_rx", "net_tx")


@dataclass(frozen=True)
class Population:
    """Inventory and behaviour parameters of ``n_vms`` VMs; every array has shape ``(n_vms,)``.

    Attributes
    ----------
    inventory
        Canonical inventory (see :data:`capplan.schema.INVENTORY_SCHEMA`).
    group
        HA group index of each VM (singletons have their own group).
    cpu_capacity_mhz, mem_provisioned_mib
        Float copies of the inventory columns.
    cpu_level_frac
        Mean CPU utilization before bursts (fraction of capacity).
    diurnal_amp_frac, diurnal_peak_hour
        Relative amplitude of the 24-hour cycle and the UTC hour of its peak.
    weekend_ratio
        Saturday/Sunday demand as a multiple of the weekday demand.
    growth_ln_per_30d
        Log growth of demand per 30 days (centred on the middle of the trace).
    cpu_log_sd
        Standard deviation of ln(CPU utilization) (drawn from the fitted upper log spread).
    burst_rate_per_day
        Expected number of CPU bursts per day.
    mem_active_frac
        Mean active memory as a share of provisioned memory.
    io_level
        Metric key (``disk_read`` ...) → mean value (MiB/s for disk, Mbit/s for network).
    io_zero_frac
        Metric key → share of samples that are 0 (idle).
    read_io_kib, write_io_kib
        Mean disk request sizes in KiB (turn MiB/s into IOPS).
    """

    inventory: pl.DataFrame
    group: IntArray
    cpu_capacity_mhz: FloatArray
    mem_provisioned_mib: FloatArray
    cpu_level_frac: FloatArray
    diurnal_amp_frac: FloatArray
    diurnal_peak_hour: FloatArray
    weekend_ratio: FloatArray
    growth_ln_per_30d: FloatArray
    cpu_log_sd: FloatArray
    burst_rate_per_day: FloatArray
    mem_active_frac: FloatArray
    io_level: dict[str, FloatArray]
    io_zero_frac: dict[str, FloatArray]
    read_io_kib: FloatArray
    write_io_kib: FloatArray

    @property
    def n_vms(self) -> int:
        """Number of VMs."""
        return int(self.group.size)

    @property
    def vm_ids(self) -> list[str]:
        """VM ids in row order."""
        return self.inventory.get_column("vm_id").to_list()

    def rows(self, lo: int, hi: int) -> Population:
        """The VMs ``lo:hi`` (same fields, sliced)."""
        sl = slice(lo, hi)
        return Population(
            inventory=self.inventory[sl],
            group=self.group[sl],
            cpu_capacity_mhz=self.cpu_capacity_mhz[sl],
            mem_provisioned_mib=self.mem_provisioned_mib[sl],
            cpu_level_frac=self.cpu_level_frac[sl],
            diurnal_amp_frac=self.diurnal_amp_frac[sl],
            diurnal_peak_hour=self.diurnal_peak_hour[sl],
            weekend_ratio=self.weekend_ratio[sl],
            growth_ln_per_30d=self.growth_ln_per_30d[sl],
            cpu_log_sd=self.cpu_log_sd[sl],
            burst_rate_per_day=self.burst_rate_per_day[sl],
            mem_active_frac=self.mem_active_frac[sl],
            io_level={k: v[sl] for k, v in self.io_level.items()},
            io_zero_frac={k: v[sl] for k, v in self.io_zero_frac.items()},
            read_io_kib=self.read_io_kib[sl],
            write_io_kib=self.write_io_kib[sl],
        )


def truncated_normal(
    rng: np.random.Generator, size: int, mu: float, sigma: float, limit: float = TRUNCATION_SD
) -> FloatArray:
    """Normal draws with the z-score clipped to ``±limit``."""
    z = np.clip(rng.standard_normal(size), -limit, limit)
    return mu + sigma * z


def truncated_lognormal(
    rng: np.random.Generator, size: int, mu: float, sigma: float, limit: float = TRUNCATION_SD
) -> FloatArray:
    """``exp`` of :func:`truncated_normal`."""
    return np.exp(truncated_normal(rng, size, mu, sigma, limit))


def snap_memory_gib(gib: FloatArray) -> FloatArray:
    """Snap sizes to the nearest (in log scale) of 2^k and 1.5·2^k GiB within MEM_GIB_RANGE."""
    lo, hi = MEM_GIB_RANGE
    ks = np.arange(np.floor(np.log2(lo)), np.ceil(np.log2(hi)) + 1)
    grid = np.unique(np.concatenate((2.0**ks, 1.5 * 2.0**ks)))
    grid = grid[(grid >= lo) & (grid <= hi)]
    logs = np.log(np.clip(gib, lo, hi))
    idx = np.clip(np.searchsorted(np.log(grid), logs), 1, grid.size - 1)
    left, right = np.log(grid[idx - 1]), np.log(grid[idx])
    choose_left = (logs - left) <= (right - logs)
    return np.where(choose_left, grid[idx - 1], grid[idx])


def _beta_from_moments(mean: float, sd: float) -> tuple[float, float]:
    mean = float(np.clip(mean, 1e-3, 1 - 1e-3))
    var = max(sd**2, 1e-6)
    common = max(mean * (1 - mean) / var - 1.0, 0.1)
    return mean * common, (1 - mean) * common


def group_sizes(n_vms: int, pair_frac: float, triplet_frac: float) -> IntArray:
    """Sizes of the replica groups (3s, then 2s, then singletons) that partition ``n_vms``."""
    n_triplets = min(round(n_vms * triplet_frac / 3), n_vms // 3)
    n_pairs = min(round(n_vms * pair_frac / 2), (n_vms - 3 * n_triplets) // 2)
    n_single = n_vms - 3 * n_triplets - 2 * n_pairs
    return np.concatenate(
        (np.full(n_triplets, 3), np.full(n_pairs, 2), np.ones(n_single, dtype=np.int64))
    ).astype(np.int64)


def _categorical(rng: np.random.Generator, size: int, probs: tuple[float, ...]) -> IntArray:
    p = np.asarray(probs, dtype=np.float64)
    return rng.choice(p.size, size=size, p=p / p.sum()).astype(np.int64)


def _vlans(rng: np.random.Generator, zone: IntArray, vlans_per_zone: tuple[int, ...]) -> IntArray:
    """VLAN id per group: Zipf(1) weights over the zone's VLANs, ids 100·(zone+1)+k."""
    out = np.empty(zone.size, dtype=np.int64)
    for z, n_vlans in enumerate(vlans_per_zone):  # loop over zones (a handful), not VMs
        members = np.flatnonzero(zone == z)
        weights = 1.0 / np.arange(1, n_vlans + 1)
        k = rng.choice(n_vlans, size=members.size, p=weights / weights.sum())
        out[members] = 100 * (z + 1) + k
    return out


def _hosts(
    rng: np.random.Generator,
    group: IntArray,
    zone_of_vm: IntArray,
    zone_names: tuple[str, ...],
    vms_per_host: float,
) -> list[str]:
    """Current host per VM: round-robin inside each zone's hosts, in a random group order.

    A group's replicas are consecutive in that order, and every zone has at least as many hosts
    as its largest group, so replicas land on distinct hosts.
    """
    n_vms = group.size
    group_key = rng.permutation(int(group.max()) + 1)[group]
    order = np.lexsort((np.arange(n_vms), group_key, zone_of_vm))
    zone_sorted = zone_of_vm[order]
    zone_start = np.searchsorted(zone_sorted, zone_sorted, side="left")
    position = np.arange(n_vms) - zone_start
    sizes = np.bincount(group)[group]
    host_sorted = np.empty(n_vms, dtype=np.int64)
    hosts_per_zone: dict[int, int] = {}
    for z in np.unique(zone_sorted):  # loop over zones, not VMs
        in_zone = zone_sorted == z
        n_zone = int(in_zone.sum())
        n_hosts = max(int(np.ceil(n_zone / vms_per_host)), int(sizes[order][in_zone].max()), 1)
        hosts_per_zone[int(z)] = n_hosts
        host_sorted[in_zone] = position[in_zone] % n_hosts
    host = np.empty(n_vms, dtype=np.int64)
    host[order] = host_sorted
    return [f"esx-{zone_names[z]}-{h + 1:02d}" for z, h in zip(zone_of_vm, host, strict=True)]


def draw_population(
    params: GeneratorParams,
    rng: np.random.Generator,
    site_rng: np.random.Generator | None = None,
) -> Population:
    """Draw the inventory and behaviour parameters of ``params.n_vms`` VMs.

    Parameters
    ----------
    params
        Validated generator parameters.
    rng
        The population's own random stream (the time series use other streams).
    site_rng
        The single-site profile's stream of peak hours (default: a fixed one). Drawn apart
        from ``rng``, so a single-site population is the global one of the same seed except
        for its peak hours: comparing the two profiles shows the effect of the site alone.
    """
    fs = params.stats
    sizes = group_sizes(params.n_vms, fs.ha_pair_vm_frac, fs.ha_triplet_vm_frac)
    n_groups = sizes.size
    group = np.repeat(np.arange(n_groups), sizes)
    grouped = sizes[group] > 1

    def per_group(values: FloatArray) -> FloatArray:
        return np.asarray(values, dtype=np.float64)[group]

    # Sizes.
    vcpus_g = np.asarray(fs.vcpu_counts)[_categorical(rng, n_groups, fs.vcpu_probs)]
    mem_log2_g = (
        fs.mem_log2_gib_intercept
        + fs.mem_log2_gib_slope * np.log2(vcpus_g)
        + truncated_normal(rng, n_groups, 0.0, fs.mem_log2_gib_resid_sd)
    )
    vcpus = vcpus_g[group]
    mem_gib = snap_memory_gib(2.0**mem_log2_g)[group]
    disk_gib = per_group(
        np.maximum(
            np.round(
                truncated_lognormal(
                    rng, n_groups, fs.disk_provisioned_ln_gib_mu, fs.disk_provisioned_ln_gib_sigma
                )
            ),
            1.0,
        )
    )
    used_frac = np.clip(
        truncated_normal(rng, params.n_vms, fs.disk_used_frac_mean, fs.disk_used_frac_sd),
        0.02,
        1.0,
    )
    os_family = np.asarray(OS_FAMILIES)[_categorical(rng, n_groups, fs.os_family_probs)][group]
    zone_of_group = _categorical(rng, n_groups, fs.zone_probs)
    zone = zone_of_group[group]
    vlan = _vlans(rng, zone_of_group, params.vlans_per_zone)[group]
    hosts = _hosts(rng, group, zone, fs.zone_names, fs.vms_per_host)

    # Behaviour, shared by replicas; levels jittered per replica.
    jitter = np.where(
        grouped, np.exp(rng.normal(0.0, params.replica_level_jitter_ln_sd, params.n_vms)), 1.0
    )
    cpu_level = np.clip(
        per_group(truncated_lognormal(rng, n_groups, fs.cpu_level_ln_mu, fs.cpu_level_ln_sigma))
        * jitter,
        1e-3,
        params.cpu_level_max_frac,
    )
    flat = rng.random(n_groups) < fs.diurnal_amp_zero_frac
    amp = np.clip(
        per_group(
            np.where(
                flat,
                0.0,
                truncated_lognormal(rng, n_groups, fs.diurnal_amp_ln_mu, fs.diurnal_amp_ln_sigma),
            )
        ),
        0.0,
        0.95,
    )
    peak_angle = rng.vonmises(
        fs.diurnal_peak_hour_utc / 24.0 * 2 * np.pi, fs.diurnal_peak_kappa, n_groups
    )
    peak_hour = per_group(np.mod(peak_angle / (2 * np.pi) * 24.0, 24.0))
    if params.site_profile == "single-site":
        # one site's clock: the fitted share of VMs peaking in each hour, uniform within it
        site = site_rng if site_rng is not None else np.random.default_rng(0)
        hour_bin = site.choice(24, size=n_groups, p=np.asarray(params.site.peak_hour_probs))
        peak_hour = per_group(hour_bin + site.random(n_groups))
    weekend = per_group(
        truncated_lognormal(rng, n_groups, fs.weekend_ratio_ln_mu, fs.weekend_ratio_ln_sigma)
    )
    growth = per_group(
        truncated_normal(rng, n_groups, fs.growth_ln_per_30d_mu, fs.growth_ln_per_30d_sigma)
    )
    cpu_log_sd = np.clip(
        per_group(
            truncated_lognormal(
                rng, n_groups, np.log(fs.cpu_upper_log_spread), fs.cpu_upper_log_spread_sigma
            )
        ),
        *CPU_LOG_SD_RANGE,
    )
    burst_rate = per_group(
        rng.gamma(fs.burst_rate_shape, fs.burst_rate_per_day / fs.burst_rate_shape, n_groups)
    )
    mem_frac = np.clip(
        per_group(
            truncated_lognormal(
                rng, n_groups, fs.mem_active_frac_ln_mu, fs.mem_active_frac_ln_sigma
            )
        ),
        0.01,
        0.95,
    )
    io_level: dict[str, FloatArray] = {}
    io_zero: dict[str, FloatArray] = {}
    for key in IO_METRICS:
        io: IoStats = getattr(fs, key)
        io_level[key] = (
            per_group(
                truncated_lognormal(
                    rng, n_groups, io.level_ln_mu, io.level_ln_sigma, IO_TRUNCATION_SD
                )
            )
            * jitter
        )
        a, b = _beta_from_moments(io.zero_frac_mean, io.zero_frac_sd)
        io_zero[key] = np.clip(per_group(rng.beta(a, b, n_groups)), *ZERO_FRAC_RANGE)
    read_kib = np.asarray(params.read_io_kib_choices)[
        rng.integers(0, len(params.read_io_kib_choices), n_groups)
    ][group]
    write_kib = np.asarray(params.write_io_kib_choices)[
        rng.integers(0, len(params.write_io_kib_choices), n_groups)
    ][group]

    width = max(4, len(str(params.n_vms)))
    vm_ids = [f"vm-{i + 1:0{width}d}" for i in range(params.n_vms)]
    group_width = max(3, len(str(n_groups)))
    ha_group = [
        f"ha-{g + 1:0{group_width}d}" if is_grouped else None
        for g, is_grouped in zip(group, grouped, strict=True)
    ]
    capacity = vcpus * fs.cpu_mhz_per_vcpu
    mem_mib = mem_gib * MIB_PER_GIB
    inventory = pl.DataFrame(
        {
            "vm_id": vm_ids,
            "n_vcpus": vcpus.astype(np.int32),
            "cpu_capacity_mhz": capacity.astype(np.float64),
            "mem_provisioned_mib": mem_mib,
            "disk_provisioned_gib": disk_gib,
            "disk_used_gib": np.round(disk_gib * used_frac, 1),
            "os_family": os_family.tolist(),
            "security_zone": np.asarray(fs.zone_names)[zone].tolist(),
            "vlan_id": vlan.astype(np.int32),
            "ha_group": ha_group,
            "current_host": hosts,
            "powered_on": np.ones(params.n_vms, dtype=bool),
            "created": [None] * params.n_vms,
            "cpu_kernel_frac": [None] * params.n_vms,  # not generated: the catalog's default
        },
        schema=INVENTORY_SCHEMA,
    )
    return Population(
        inventory=inventory,
        group=group,
        cpu_capacity_mhz=capacity.astype(np.float64),
        mem_provisioned_mib=mem_mib.astype(np.float64),
        cpu_level_frac=np.asarray(cpu_level, dtype=np.float64),
        diurnal_amp_frac=np.asarray(amp, dtype=np.float64),
        diurnal_peak_hour=np.asarray(peak_hour, dtype=np.float64),
        weekend_ratio=np.asarray(weekend, dtype=np.float64),
        growth_ln_per_30d=np.asarray(growth, dtype=np.float64),
        cpu_log_sd=np.asarray(cpu_log_sd, dtype=np.float64),
        burst_rate_per_day=np.asarray(burst_rate, dtype=np.float64),
        mem_active_frac=np.asarray(mem_frac, dtype=np.float64),
        io_level=io_level,
        io_zero_frac=io_zero,
        read_io_kib=read_kib.astype(np.float64),
        write_io_kib=write_kib.astype(np.float64),
    )
