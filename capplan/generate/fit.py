"""Fit the generator's default statistics to the real traces in ``../shared/data``.

Run ``python -m capplan.generate.fit`` (optionally ``--shared PATH`` and ``--format
python|markdown|text``) to recompute the constants of :data:`capplan.generate.params.FITTED` and
print them. The files are read in place, never copied:

- Bitbrains GWA-T-12 through capplan's own ``bitbrains`` reader, one VM-month file at a time;
- PlanetLab/CoMon day folders through the ``planetlab`` reader (utilization = demand / the
  VM's capacity, whatever capacities the reader assigns);
- the RVTools workbook's vInfo sheet directly with polars (openpyxl engine): the ``rvtools``
  reader drops templates and does not keep the ``Cluster`` column the zones come from;
- the Azure v1 vmtable sample (10 VMs) only as a cross-check, printed, never used as a default.
"""

from __future__ import annotations

import argparse
import collections
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import CapplanError, TraceFormatError
from capplan.generate import stats as st
from capplan.generate.params import FITTED, SOURCES, FittedStats, IoStats
from capplan.schema import OS_FAMILIES, classify_os
from capplan.units import MIB_PER_GIB, PERCENT, S_PER_DAY

FloatArray = npt.NDArray[np.float64]

#: Native step of Bitbrains and PlanetLab samples (both document 300 s).
NATIVE_STEP_S = 300
#: Bitbrains files with fewer samples than one day are too short for time-structure figures.
MIN_SAMPLES = round(S_PER_DAY / NATIVE_STEP_S)
#: Weekend ratio and growth need at least two weeks of samples.
MIN_DAYS_WEEKLY = 14
#: PlanetLab VM-days with a mean below this are left out of the diurnal fit (phase is noise).
MIN_DIURNAL_MEAN_FRAC = 0.01
#: Share of VMs in name groups of 2 and 3 → HA replicas; larger groups are farms, not replicas.
_TRAILING_NUMBER = re.compile(r"[-_]?\d+$")

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


@dataclass(frozen=True)
class BitbrainsSeries:
    """One cleaned Bitbrains VM-month: sorted, one row per timestamp, powered rows only.

    Attributes
    ----------
    label
        File it came from.
    epoch_s
        Sample times, shape ``(n,)``, Unix seconds.
    cores, capacity_mhz, mem_provisioned_mib
        The VM's inventory as the reader derived it.
    metrics
        Canonical metric name → shape ``(n,)`` float64 values.
    """

    label: str
    epoch_s: npt.NDArray[np.int64]
    cores: int
    capacity_mhz: float
    mem_provisioned_mib: float
    metrics: dict[str, FloatArray]

    @property
    def util(self) -> FloatArray:
        """CPU utilization fraction per sample."""
        return self.metrics["cpu_demand_mhz"] / self.capacity_mhz

    @property
    def span_days(self) -> float:
        """Days between first and last sample."""
        return float(self.epoch_s[-1] - self.epoch_s[0]) / S_PER_DAY


def load_bitbrains(folder: Path) -> list[BitbrainsSeries]:
    """Read every ``*.csv`` below ``folder`` with the bitbrains reader, one VM-month each.

    Rows the reader marks as "VM off" (every metric 0) are dropped, then repeated timestamps
    (keeping the first); files left with fewer than :data:`MIN_SAMPLES` samples are skipped.
    """
    from capplan.io import read_trace

    files = sorted(folder.rglob("*.csv"))
    if not files:
        raise TraceFormatError("no Bitbrains *.csv files found", path=folder)
    out: list[BitbrainsSeries] = []
    metric_names = (
        "cpu_demand_mhz",
        "mem_active_mib",
        "disk_read_mib_s",
        "disk_write_mib_s",
        "net_rx_mbps",
        "net_tx_mbps",
    )
    for path in files:
        trace = read_trace(f"bitbrains:{path}")
        inventory = trace.inventory.row(0, named=True)
        if inventory["n_vcpus"] is None:
            continue
        frame = (
            trace.usage.filter(~pl.all_horizontal([pl.col(name) == 0 for name in metric_names]))
            .unique(subset=["timestamp"], keep="first", maintain_order=True)
            .sort("timestamp")
            .collect()
        )
        if frame.height < MIN_SAMPLES:
            continue
        epoch = frame.get_column("timestamp").dt.epoch("s").to_numpy().astype(np.int64)
        out.append(
            BitbrainsSeries(
                label=str(path),
                epoch_s=epoch,
                cores=int(inventory["n_vcpus"]),
                capacity_mhz=float(inventory["cpu_capacity_mhz"]),
                mem_provisioned_mib=float(inventory["mem_provisioned_mib"]),
                metrics={
                    name: frame.get_column(name).to_numpy().astype(np.float64)
                    for name in metric_names
                },
            )
        )
    if not out:
        raise TraceFormatError(
            f"no Bitbrains file holds at least {MIN_SAMPLES} powered samples", path=folder
        )
    return out


def load_planetlab(folder: Path) -> FloatArray:
    """Read every PlanetLab day folder (``YYYYMMDD/``) with the ``planetlab`` reader.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_vm_days, 288)``: CPU utilization fraction (demand / the VM's capacity).

    Raises
    ------
    TraceFormatError
        When a day does not hold 288 samples for every VM.
    """
    from capplan.io import read_trace

    days = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if not days:
        raise TraceFormatError("no PlanetLab day folders (YYYYMMDD) found", path=folder)
    per_day = round(S_PER_DAY / NATIVE_STEP_S)
    rows: list[FloatArray] = []
    for day in days:
        trace = read_trace(f"planetlab:{day}")
        capacity = trace.inventory.lazy().select("vm_id", "cpu_capacity_mhz")
        frame = (
            trace.usage.select("vm_id", "timestamp", "cpu_demand_mhz")
            .join(capacity, on="vm_id")
            .sort("vm_id", "timestamp")
            .collect()
        )
        util = (frame["cpu_demand_mhz"] / frame["cpu_capacity_mhz"]).to_numpy()
        n_vms = frame.get_column("vm_id").n_unique()
        if util.size != n_vms * per_day:
            raise TraceFormatError(
                f"{util.size} samples for {n_vms} VMs; expected {per_day} per VM", path=day
            )
        rows.append(util.reshape(n_vms, per_day).astype(np.float64))
    return np.vstack(rows)


def load_rvtools_vinfo(path: Path) -> pl.DataFrame:
    """Read the RVTools vInfo sheet's data rows (VM name present)."""
    try:
        frame = pl.read_excel(path, sheet_name="vInfo", engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise TraceFormatError(f"cannot read sheet vInfo ({exc})", path=path) from exc
    needed = [
        "VM",
        "CPUs",
        "Memory",
        "Provisioned MB",
        "In Use MB",
        "Cluster",
        "Host",
        "OS according to the configuration file",
    ]
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise TraceFormatError(f"vInfo lacks column(s) {missing}", path=path)
    return frame.filter(pl.col("VM").is_not_null())


# ----------------------------------------------------------------------------- figures
def fit_inventory(vinfo: pl.DataFrame) -> dict[str, object]:
    """Size mix, OS families, zones, replica groups and VM density from RVTools vInfo."""
    cpus = vinfo.get_column("CPUs").cast(pl.Int64).to_numpy()
    mem_gib = vinfo.get_column("Memory").cast(pl.Float64).to_numpy() / MIB_PER_GIB
    counts = collections.Counter(int(c) for c in cpus)
    vcpu_counts = tuple(sorted(counts))
    vcpu_probs = tuple(counts[c] / len(cpus) for c in vcpu_counts)
    x, y = np.log2(cpus.astype(np.float64)), np.log2(mem_gib)
    slope, intercept = np.polyfit(x, y, 1)
    resid_sd = float(np.std(y - (intercept + slope * x)))
    prov_gib = vinfo.get_column("Provisioned MB").cast(pl.Float64).to_numpy() / MIB_PER_GIB
    used_gib = vinfo.get_column("In Use MB").cast(pl.Float64).to_numpy() / MIB_PER_GIB
    ok = prov_gib > 0
    disk_mu, disk_sigma = st.lognormal_fit(prov_gib[ok])
    used_frac = np.clip(used_gib[ok] / prov_gib[ok], 0.0, 1.0)
    families = [
        classify_os(v) or "other"
        for v in vinfo.get_column("OS according to the configuration file").to_list()
    ]
    fam_counts = collections.Counter(families)
    clusters = vinfo.get_column("Cluster").cast(pl.String).to_list()
    zone_of = {"dmz": "dmz", "mgmt": "mgmt"}
    zones = [zone_of.get(str(c).strip().lower(), "internal") for c in clusters]
    zone_names = ("internal", "dmz", "mgmt")
    zone_counts = collections.Counter(zones)
    stems = [_TRAILING_NUMBER.sub("", str(name).strip().lower()) for name in vinfo["VM"]]
    numbered = [bool(_TRAILING_NUMBER.search(str(name).strip())) for name in vinfo["VM"]]
    group_sizes = collections.Counter(s for s, n in zip(stems, numbered, strict=True) if n)
    n_vms = len(stems)
    pair_vms = sum(size for size in group_sizes.values() if size == 2)
    triplet_vms = sum(size for size in group_sizes.values() if size == 3)
    hosts = vinfo.get_column("Host").drop_nulls().n_unique()
    return {
        "vcpu_counts": vcpu_counts,
        "vcpu_probs": vcpu_probs,
        "mem_log2_gib_intercept": float(intercept),
        "mem_log2_gib_slope": float(slope),
        "mem_log2_gib_resid_sd": resid_sd,
        "disk_provisioned_ln_gib_mu": disk_mu,
        "disk_provisioned_ln_gib_sigma": disk_sigma,
        "disk_used_frac_mean": float(used_frac.mean()),
        "disk_used_frac_sd": float(used_frac.std()),
        "os_family_probs": tuple(fam_counts[f] / n_vms for f in OS_FAMILIES),
        "zone_names": zone_names,
        "zone_probs": tuple(zone_counts[z] / n_vms for z in zone_names),
        "ha_pair_vm_frac": pair_vms / n_vms,
        "ha_triplet_vm_frac": triplet_vms / n_vms,
        "vms_per_host": n_vms / hosts,
    }


def fit_planetlab(days: FloatArray) -> dict[str, object]:
    """CPU level distribution, pooled percentiles and the diurnal cycle from PlanetLab."""
    means = days.mean(axis=1)
    level_mu, level_sigma = st.lognormal_fit(means)
    _, corrected, peak_hour = st.daily_harmonic(days)
    keep = means >= MIN_DIURNAL_MEAN_FRAC
    above_noise = keep & (corrected > 0)
    amp_mu, amp_sigma = st.lognormal_fit(corrected[above_noise])
    peak_mean, kappa = st.circular_hour_stats(peak_hour[above_noise])
    p50, p95 = np.percentile(days, [50, 95])
    spreads = np.array([st.upper_log_spread(day, MIN_DIURNAL_MEAN_FRAC) for day in days])
    spreads = spreads[np.isfinite(spreads) & (spreads > 0)]
    return {
        "cpu_upper_log_spread": float(np.median(spreads)),
        "cpu_upper_log_spread_sigma": float(np.std(np.log(spreads))),
        "cpu_level_ln_mu": level_mu,
        "cpu_level_ln_sigma": level_sigma,
        "cpu_util_mean_frac": float(days.mean()),
        "cpu_util_p50_frac": float(p50),
        "cpu_util_p95_frac": float(p95),
        "diurnal_amp_zero_frac": float(1.0 - above_noise.sum() / keep.sum()),
        "diurnal_amp_ln_mu": amp_mu,
        "diurnal_amp_ln_sigma": amp_sigma,
        "diurnal_peak_hour_utc": peak_mean,
        "diurnal_peak_kappa": kappa,
    }


def _weekend_and_growth(series: BitbrainsSeries) -> tuple[float, float]:
    util = series.util
    weekday = ((series.epoch_s // int(S_PER_DAY)) + 3) % 7  # 0 = Monday (1970-01-01: Thu)
    weekend = weekday >= 5
    ratio = float(np.log(util[weekend].mean() / util[~weekend].mean()))
    week_s = 7 * S_PER_DAY
    first = series.epoch_s < series.epoch_s[0] + week_s
    last = series.epoch_s > series.epoch_s[-1] - week_s
    gap_days = float(series.epoch_s[last].mean() - series.epoch_s[first].mean()) / S_PER_DAY
    growth = float(np.log(util[last].mean() / util[first].mean())) * 30.0 / gap_days
    return ratio, growth


def _io_stats(all_series: list[BitbrainsSeries], metric: str) -> IoStats:
    means, zeros, log_sds, rhos = [], [], [], []
    for series in all_series:
        values = series.metrics[metric]
        means.append(values.mean())
        zeros.append(float(np.mean(values == 0)))
        log_sds.append(st.log_sd(values))
        rhos.append(st.spearman(series.metrics["cpu_demand_mhz"], values))
    mu, sigma = st.lognormal_fit(np.array(means))
    return IoStats(
        level_ln_mu=mu,
        level_ln_sigma=sigma,
        zero_frac_mean=float(np.mean(zeros)),
        zero_frac_sd=float(np.std(zeros)),
        log_sd=float(np.nanmedian(log_sds)),
        rho_cpu=float(np.nanmedian(rhos)),
    )


def fit_bitbrains(all_series: list[BitbrainsSeries]) -> dict[str, object]:
    """CPU dynamics, bursts, memory and I/O figures from Bitbrains VM-months."""
    per_core = [s.capacity_mhz / s.cores for s in all_series]
    lags = {"5min": 1, "1h": 12, "6h": 72}
    long = [s for s in all_series if s.span_days >= MIN_DAYS_WEEKLY]
    weekend, growth = zip(*(_weekend_and_growth(s) for s in long), strict=True)
    week_mu, week_sigma = st.robust_normal_fit(np.array(weekend))
    growth_mu, growth_sigma = st.robust_normal_fit(np.array(growth))
    rates, durations, heights = [], [], []
    for s in all_series:
        lengths, peaks = st.burst_runs(s.util)
        rates.append(lengths.size / (s.util.size * NATIVE_STEP_S / S_PER_DAY))
        durations.append(lengths * NATIVE_STEP_S)
        heights.append(peaks)
    rate = np.array(rates)
    dur_mu, dur_sigma = st.lognormal_fit(np.concatenate(durations))
    height_mu, height_sigma = st.lognormal_fit(np.concatenate(heights))
    pooled = np.concatenate([s.util for s in all_series])
    mem_frac = [s.metrics["mem_active_mib"].mean() / s.mem_provisioned_mib for s in all_series]
    mem_mu, mem_sigma = st.lognormal_fit(np.array(mem_frac))
    mem = [s.metrics["mem_active_mib"] for s in all_series]
    return {
        "cpu_mhz_per_vcpu": float(np.median(per_core)),
        **{
            f"cpu_log_ac_{name}": float(
                np.nanmedian([st.log_autocorrelation(s.util, lag) for s in all_series])
            )
            for name, lag in lags.items()
        },
        "weekend_ratio_ln_mu": week_mu,
        "weekend_ratio_ln_sigma": week_sigma,
        "growth_ln_per_30d_mu": growth_mu,
        "growth_ln_per_30d_sigma": growth_sigma,
        "burst_rate_per_day": float(rate.mean()),
        "burst_rate_shape": float(rate.mean() ** 2 / rate.var()),
        "burst_duration_ln_s_mu": dur_mu,
        "burst_duration_ln_s_sigma": dur_sigma,
        "burst_height_ln_frac_mu": height_mu,
        "burst_height_ln_frac_sigma": height_sigma,
        "bitbrains_cpu_util_mean_frac": float(pooled.mean()),
        "bitbrains_cpu_util_p95_frac": float(np.percentile(pooled, 95)),
        "mem_active_frac_ln_mu": mem_mu,
        "mem_active_frac_ln_sigma": mem_sigma,
        "mem_log_sd": float(np.nanmedian([st.log_sd(m) for m in mem])),
        **{
            f"mem_log_ac_{name}": float(np.nanmedian([st.log_autocorrelation(m, lag) for m in mem]))
            for name, lag in lags.items()
        },
        "rho_cpu_mem": float(
            np.nanmedian(
                [
                    st.spearman(s.metrics["cpu_demand_mhz"], m)
                    for s, m in zip(all_series, mem, strict=True)
                ]
            )
        ),
        "disk_read": _io_stats(all_series, "disk_read_mib_s"),
        "disk_write": _io_stats(all_series, "disk_write_mib_s"),
        "net_rx": _io_stats(all_series, "net_rx_mbps"),
        "net_tx": _io_stats(all_series, "net_tx_mbps"),
        "rho_disk_read_write": float(
            np.nanmedian(
                [
                    st.spearman(s.metrics["disk_read_mib_s"], s.metrics["disk_write_mib_s"])
                    for s in all_series
                ]
            )
        ),
        "rho_net_rx_tx": float(
            np.nanmedian(
                [
                    st.spearman(s.metrics["net_rx_mbps"], s.metrics["net_tx_mbps"])
                    for s in all_series
                ]
            )
        ),
    }


def fit_site(all_series: list[BitbrainsSeries]) -> dict[str, object]:
    """How one site's VMs move together: peak hours and hourly CPU correlation.

    - ``peak_hour_probs``: share of VMs whose mean daily CPU profile (hourly means by UTC
      hour of day) peaks in each hour 0..23;
    - ``hourly_cpu_corr_mean``: mean over VM pairs of the Pearson correlation of hourly mean
      CPU usage, over the hours both VMs have samples (each row standardized over its own
      hours; pairs with fewer than 48 common hours left out);
    - ``n_vms``: VMs with at least two days of hours and a varying CPU.
    """
    hours = [s.epoch_s // 3600 for s in all_series]
    first = min(int(h.min()) for h in hours)
    n_hours = max(int(h.max()) for h in hours) - first + 1
    grid = np.full((len(all_series), n_hours), np.nan)
    for row, (series, hour) in enumerate(zip(all_series, hours, strict=True)):
        cpu = series.metrics["cpu_demand_mhz"]
        index = hour - first
        sums = np.bincount(index, weights=cpu, minlength=n_hours)
        counts = np.bincount(index, minlength=n_hours)
        grid[row, counts > 0] = sums[counts > 0] / counts[counts > 0]
    seen = np.isfinite(grid)
    sd = np.nanstd(grid, axis=1)
    keep = (seen.sum(axis=1) >= 48) & (sd > 0)
    grid, seen = grid[keep], seen[keep]
    z = (grid - np.nanmean(grid, axis=1, keepdims=True)) / np.nanstd(grid, axis=1, keepdims=True)
    z = np.where(seen, z, 0.0)
    overlap = seen.astype(np.float64) @ seen.T.astype(np.float64)
    corr = (z @ z.T) / np.maximum(overlap, 1.0)
    upper = np.triu_indices(grid.shape[0], 1)
    pairs = overlap[upper] >= 48
    hour_of_day = (first + np.arange(n_hours)) % 24
    profile = np.stack(
        [np.nanmean(np.where(hour_of_day == h, grid, np.nan), axis=1) for h in range(24)], axis=1
    )
    peaks = np.argmax(np.nan_to_num(profile, nan=-np.inf), axis=1)
    probs = np.bincount(peaks, minlength=24) / max(len(peaks), 1)
    return {
        "peak_hour_probs": tuple(float(v) for v in probs),
        "hourly_cpu_corr_mean": float(corr[upper][pairs].mean()) if pairs.any() else 0.0,
        "n_vms": int(grid.shape[0]),
    }


def azure_cross_check(folder: Path) -> dict[str, object]:
    """Core and memory buckets of the Azure v1 vmtable sample (10 VMs: a cross-check only)."""
    table = pl.read_csv(
        folder / "vmtable.csv.gz",
        has_header=False,
        new_columns=[
            "vmid",
            "subscriptionid",
            "deploymentid",
            "vmcreated",
            "vmdeleted",
            "maxcpu",
            "avgcpu",
            "p95maxcpu",
            "vmcategory",
            "vmcorecount",
            "vmmemory",
        ],
    )
    cores = collections.Counter(table.get_column("vmcorecount").to_list())
    memory = collections.Counter(table.get_column("vmmemory").to_list())
    n = table.height
    return {
        "azure_n_vms": n,
        "azure_core_shares": {int(k): v / n for k, v in sorted(cores.items())},
        "azure_memory_gb_shares": {float(k): v / n for k, v in sorted(memory.items())},
        "azure_avgcpu_mean_frac": float(
            table.get_column("avgcpu").cast(pl.Float64).to_numpy().mean()
        )
        / PERCENT,
    }


def fit_all(shared: Path = DEFAULT_SHARED) -> tuple[FittedStats, dict[str, object]]:
    """Fit every statistic from ``shared/data``; return them and facts about the sample.

    The facts are the sample sizes and the Azure v1 cross-check (10 VMs: core and memory
    buckets, mean CPU), which is printed and documented but not used as a default.

    Raises
    ------
    CapplanError
        When a source folder is missing or unreadable (naming it).
    """
    data = shared / "data"
    for name in ("bitbrains-gwa-t-12", "planetlab", "rvtools-export"):
        if not (data / name).exists():
            raise CapplanError(f"source folder {name} is absent", path=data / name)
    vinfo = load_rvtools_vinfo(data / "rvtools-export" / "SizingWorkshop-RVTools.xlsx")
    planetlab = load_planetlab(data / "planetlab")
    bitbrains = load_bitbrains(data / "bitbrains-gwa-t-12")
    values: dict[str, object] = {}
    values |= fit_inventory(vinfo)
    values |= fit_planetlab(planetlab)
    values |= fit_bitbrains(bitbrains)
    facts: dict[str, object] = {
        "n_rvtools_vms": vinfo.height,
        "n_planetlab_vm_days": int(planetlab.shape[0]),
        "n_bitbrains_vm_months": len(bitbrains),
        "n_bitbrains_vm_months_14d": sum(s.span_days >= MIN_DAYS_WEEKLY for s in bitbrains),
    }
    azure = data / "azure-public-dataset-v1"
    if azure.exists():
        facts |= azure_cross_check(azure)
    return FittedStats(**values), facts  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- rendering
def _round(value: float, digits: int = 4) -> float:
    if value == 0 or not np.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def rounded(fitted: FittedStats, digits: int = 4) -> FittedStats:
    """Return ``fitted`` with every float rounded to ``digits`` significant digits."""

    def conv(value: object) -> object:
        if isinstance(value, IoStats):
            return IoStats(**{f.name: conv(getattr(value, f.name)) for f in fields(IoStats)})  # type: ignore[arg-type]
        if isinstance(value, tuple):
            return tuple(conv(v) for v in value)
        if isinstance(value, float):
            return _round(value, digits)
        return value

    return FittedStats(**{f.name: conv(getattr(fitted, f.name)) for f in fields(FittedStats)})  # type: ignore[arg-type]


def as_python(fitted: FittedStats) -> str:
    """The ``FITTED = FittedStats(...)`` source text for params.py."""
    lines = ["FITTED = FittedStats("]
    for f in fields(FittedStats):
        lines.append(f"    {f.name}={getattr(fitted, f.name)!r},")
    lines.append(")")
    return "\n".join(lines)


def table_rows(fitted: FittedStats) -> Iterable[tuple[str, str, str]]:
    """``(name, value, source)`` per figure, IoStats expanded to one row per field."""
    for f in fields(FittedStats):
        value = getattr(fitted, f.name)
        if isinstance(value, IoStats):
            for g in fields(IoStats):
                yield f"{f.name}.{g.name}", f"{getattr(value, g.name):.4g}", SOURCES[f.name]
        elif isinstance(value, tuple):
            text = ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in value)
            yield f.name, text, SOURCES[f.name]
        else:
            yield f.name, f"{value:.4g}", SOURCES[f.name]


def as_markdown(fitted: FittedStats) -> str:
    """A Markdown table of every fitted figure with its source and definition."""
    lines = ["| figure | value | source and definition |", "|---|---|---|"]
    lines += [f"| `{name}` | {value} | {source} |" for name, value, source in table_rows(fitted)]
    return "\n".join(lines)


def as_text(fitted: FittedStats) -> str:
    """One ``name: value`` line per figure (the list in the params module docstring)."""
    return "\n".join(f"    {name}: {value}" for name, value, _ in table_rows(fitted))


def compare(fitted: FittedStats, constants: FittedStats = FITTED) -> list[str]:
    """Names of figures where ``constants`` differ from ``fitted`` beyond rounding."""

    def close(a: object, b: object) -> bool:
        if isinstance(a, IoStats) and isinstance(b, IoStats):
            return all(close(getattr(a, g.name), getattr(b, g.name)) for g in fields(IoStats))
        if isinstance(a, tuple) and isinstance(b, tuple):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, float | int) and isinstance(b, float | int):
            return bool(np.isclose(a, b, rtol=2e-3, atol=2e-4))
        return a == b

    return [
        f.name
        for f in fields(FittedStats)
        if not close(getattr(fitted, f.name), getattr(constants, f.name))
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: fit, then print the constants (python) or a table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--format", choices=("python", "markdown", "text"), default="python")
    args = parser.parse_args(argv)
    fitted, facts = fit_all(args.shared.resolve())
    fitted = rounded(fitted)
    render = {"python": as_python, "markdown": as_markdown, "text": as_text}[args.format]
    print(render(fitted))
    print(f"\n# fitted {datetime.now(UTC):%Y-%m-%d} from {args.shared.resolve() / 'data'}")
    for key, value in facts.items():
        print(f"# {key}: {value}")
    differing = compare(fitted)
    print(f"# constants in params.py differing from this fit: {differing or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
