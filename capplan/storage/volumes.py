"""Volumes: what the storage planner places, built from a workload's inventory and traces.

One volume per VM (the canonical inventory carries one provisioned and one used size per VM;
RVTools vDisk / vPartition rows are summed per VM by its reader). Per volume:

- sizes: ``disk_provisioned_gib`` and ``disk_used_gib`` from the inventory. A workload whose
  inventory has no provisioned sizes cannot be planned: :class:`StorageDataError` says so,
  rather than inventing sizes. Missing used sizes are an error too, unless the caller accepts
  the provisioned size as the (thick, worst-case) upper bound, which is then reported.
- I/O: the p95 (or any quantile) and the peak of ``disk_read_iops``, ``disk_write_iops``,
  ``disk_read_mib_s`` and ``disk_write_mib_s`` over the steps where the VM was observed. A
  trace without these metrics yields :attr:`Volumes.io_available` False and the reason; the
  planner then leaves the IOPS and MiB/s limits out and says so.
- growth: from a used-space history when one is given (trend slope, drift and volatility per
  volume), otherwise the storage spec's explicit growth assumption
  (:func:`capplan.storage.forecast.assumed_growth`). The forecast of a thin volume never
  exceeds its provisioned size.
- policy: latency class, mirroring, snapshot reserve (attributes file, or what-if knobs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.demand.build import build_workload
from capplan.demand.workload import Quality, Workload
from capplan.errors import CapplanError, TraceFormatError
from capplan.io import read_traces
from capplan.io.trace import Trace
from capplan.storage.files import UsedHistory
from capplan.storage.forecast import (
    assumed_growth,
    drift_and_volatility,
    forecast_window_days,
    linear_trend,
)
from capplan.storage.spec import StorageSpec

FloatArray = npt.NDArray[np.float64]

IO_METRICS: Final = ("disk_read_iops", "disk_write_iops", "disk_read_mib_s", "disk_write_mib_s")
_ROW_BLOCK: Final = 2048


class StorageDataError(CapplanError):
    """The workload lacks the disk data storage planning needs ("not available")."""


@dataclass(frozen=True)
class VolumeIO:
    """Per-volume I/O demand, each array float64 ``(n_volumes,)``.

    Attributes
    ----------
    read_iops, write_iops, read_mib_s, write_mib_s
        The planning statistic (a quantile over observed steps, default p95).
    peak_read_iops, peak_write_iops, peak_read_mib_s, peak_write_mib_s
        The largest value over observed steps.
    quantile
        The quantile used for the planning statistic (0.95: p95).
    has_iops, has_mib_s
        Whether the trace held the IOPS / MiB/s metrics (absent ones are zero here and must
        not be used).
    """

    read_iops: FloatArray
    write_iops: FloatArray
    read_mib_s: FloatArray
    write_mib_s: FloatArray
    peak_read_iops: FloatArray
    peak_write_iops: FloatArray
    peak_read_mib_s: FloatArray
    peak_write_mib_s: FloatArray
    quantile: float
    has_iops: bool
    has_mib_s: bool


@dataclass(frozen=True)
class Volumes:
    """The volumes to place. Every array has shape ``(n_volumes,)``.

    Attributes
    ----------
    volume_ids, vm_ids
        Volume id (the VM id: one volume per VM) and owning VM.
    provisioned_gib
        Provisioned (virtual) size, GiB.
    used_gib
        Used size now, GiB.
    forecast_used_gib
        Used size at the horizon, GiB (at most the provisioned size).
    growth_mu_gib_per_day, growth_sigma_gib_per_sqrt_day
        Drift and volatility of used size (Brownian motion with drift).
    has_history
        Whether the volume's growth comes from its own history (else the assumption).
    io
        I/O demand, or None when the trace has no disk I/O metrics.
    io_reason
        Why I/O is not (fully) available; "" when it is.
    latency_class
        Latency class name per volume.
    latency_limit_ms
        Highest tier latency allowed, ms (inf: any).
    mirrored
        Whether the volume needs a mirror copy in a second failure domain.
    snapshot_reserve_frac
        Snapshot reserve as a share of used GiB.
    current_pool
        Current pool index of each copy, int64 ``(n_volumes, 2)``, -1 where none; None when no
        current layout was given.
    history
        Used-space history aligned to the volumes (rows in volume order, NaN rows for volumes
        without history), or None.
    horizon_days
        The planning horizon the forecast is for.
    forecast_basis
        ``history`` (every volume), ``assumed`` (none) or ``mixed``.
    notes
        What was assumed or dropped, for the report.
    """

    volume_ids: npt.NDArray[np.str_]
    vm_ids: npt.NDArray[np.str_]
    provisioned_gib: FloatArray
    used_gib: FloatArray
    forecast_used_gib: FloatArray
    growth_mu_gib_per_day: FloatArray
    growth_sigma_gib_per_sqrt_day: FloatArray
    has_history: npt.NDArray[np.bool_]
    io: VolumeIO | None
    io_reason: str
    latency_class: npt.NDArray[np.str_]
    latency_limit_ms: FloatArray
    mirrored: npt.NDArray[np.bool_]
    snapshot_reserve_frac: FloatArray
    current_pool: npt.NDArray[np.int64] | None
    history: UsedHistory | None
    horizon_days: float
    forecast_basis: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_volumes(self) -> int:
        """Number of volumes."""
        return len(self.volume_ids)

    @property
    def n_copies(self) -> npt.NDArray[np.int64]:
        """Copies per volume: 2 when mirrored, else 1."""
        return np.where(self.mirrored, 2, 1).astype(np.int64)

    @property
    def history_window_days(self) -> float:
        """Longest horizon the history supports (half its span); 0 without history."""
        return forecast_window_days(self.history.t_days) if self.history is not None else 0.0


def inventory_workload(trace: Trace) -> Workload:
    """A workload with no time steps from an inventory-only trace (RVTools, inventory CSV).

    Storage capacity can be planned from disk sizes alone; the I/O limits and tiering are then
    reported as not available.
    """
    inventory = trace.inventory
    n = inventory.height
    return Workload(
        vm_ids=np.asarray(inventory.get_column("vm_id").to_list(), dtype=np.str_),
        inventory=inventory,
        start=datetime(1970, 1, 1, tzinfo=UTC),
        step_s=1,
        mean={},
        observed=np.zeros((n, 0), dtype=bool),
        quality=Quality(np.zeros(n), 0.0, trace.problems),
        format=trace.format,
        sources=trace.sources,
    )


def load_storage_workload(sources: str | Sequence[str]) -> Workload:
    """What ``--workload`` means for storage planning: like :func:`capplan.demand.load_workload`,
    except that an inventory-only trace (RVTools alone) is accepted, without I/O.
    """
    items = [sources] if isinstance(sources, str) else list(sources)
    trace = read_traces(items)
    if trace.is_inventory_only:
        return inventory_workload(trace)
    return build_workload(trace)


def row_quantile(
    values: npt.NDArray[np.float32], observed: npt.NDArray[np.bool_], q: float
) -> FloatArray:
    """Quantile ``q`` of each row over its observed steps (linear interpolation).

    Parameters
    ----------
    values
        ``(n_rows, n_steps)`` demand.
    observed
        ``(n_rows, n_steps)`` mask of steps that count.
    q
        Quantile in [0, 1].

    Returns
    -------
    ndarray
        float64 ``(n_rows,)``; 0 for rows with no observed step.
    """
    n_rows = values.shape[0]
    out = np.zeros(n_rows)
    for lo in range(0, n_rows, _ROW_BLOCK):
        block = np.where(observed[lo : lo + _ROW_BLOCK], values[lo : lo + _ROW_BLOCK], np.inf)
        block.sort(axis=1)
        k = observed[lo : lo + _ROW_BLOCK].sum(axis=1)
        pos = q * np.maximum(k - 1, 0)
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(k - 1, 0))
        rows = np.arange(block.shape[0])
        v_lo = block[rows, below].astype(np.float64)
        v_hi = block[rows, above].astype(np.float64)
        with np.errstate(invalid="ignore"):  # rows with no observed step: inf − inf, dropped
            result = v_lo + (pos - below) * (v_hi - v_lo)
        out[lo : lo + _ROW_BLOCK] = np.where(k > 0, result, 0.0)
    return out


def _row_max(values: npt.NDArray[np.float32], observed: npt.NDArray[np.bool_]) -> FloatArray:
    return np.where(observed, values, 0.0).max(axis=1, initial=0.0).astype(np.float64)


def volume_io(workload: Workload, quantile: float = 0.95) -> tuple[VolumeIO | None, str]:
    """Per-volume I/O demand from the workload's disk metrics.

    Returns
    -------
    io, reason
        ``io`` is None when neither IOPS nor MiB/s metrics are present; ``reason`` says what
        is missing ("" when everything is there).
    """
    present = [m for m in IO_METRICS if m in workload.mean]
    has_iops = "disk_read_iops" in present and "disk_write_iops" in present
    has_mib_s = "disk_read_mib_s" in present and "disk_write_mib_s" in present
    missing = [m for m in IO_METRICS if m not in present]
    reason = ""
    if missing:
        reason = (
            f"the trace ({workload.format}) has no {', '.join(missing)}; "
            + ("IOPS " if not has_iops else "")
            + ("and " if not has_iops and not has_mib_s else "")
            + ("MiB/s " if not has_mib_s else "")
            + "limits are not available and were left out"
        )
    if not has_iops and not has_mib_s:
        return None, reason
    n = workload.n_vms
    zeros = np.zeros(n)
    stats: dict[str, FloatArray] = {}
    peaks: dict[str, FloatArray] = {}
    for metric in IO_METRICS:
        usable = (has_iops and metric.endswith("_iops")) or (
            has_mib_s and metric.endswith("_mib_s")
        )
        if not usable:
            stats[metric], peaks[metric] = zeros, zeros
            continue
        mean = workload.demand(metric)
        stats[metric] = row_quantile(mean, workload.observed, quantile)
        peaks[metric] = _row_max(workload.demand(metric, statistic="peak"), workload.observed)
    io = VolumeIO(
        read_iops=stats["disk_read_iops"],
        write_iops=stats["disk_write_iops"],
        read_mib_s=stats["disk_read_mib_s"],
        write_mib_s=stats["disk_write_mib_s"],
        peak_read_iops=peaks["disk_read_iops"],
        peak_write_iops=peaks["disk_write_iops"],
        peak_read_mib_s=peaks["disk_read_mib_s"],
        peak_write_mib_s=peaks["disk_write_mib_s"],
        quantile=quantile,
        has_iops=has_iops,
        has_mib_s=has_mib_s,
    )
    return io, reason


def _sizes(
    workload: Workload, used_missing: str, notes: list[str]
) -> tuple[FloatArray, FloatArray]:
    inv = workload.inventory
    ids = workload.vm_ids
    if "disk_provisioned_gib" not in inv.columns:
        raise StorageDataError("not available: the inventory has no disk_provisioned_gib column")
    prov = workload.inventory_column("disk_provisioned_gib")
    used = workload.inventory_column("disk_used_gib")
    no_prov = ~np.isfinite(prov)
    if no_prov.all():
        raise StorageDataError(
            f"not available: the workload ({workload.format}, {len(ids)} VMs) has no "
            "disk_provisioned_gib in its inventory; storage planning needs disk sizes "
            "(give an inventory CSV with disk_provisioned_gib and disk_used_gib, or RVTools)"
        )
    if no_prov.any():
        sample = ", ".join(map(str, ids[no_prov][:5]))
        raise StorageDataError(
            f"not available: {int(no_prov.sum())} of {len(ids)} VMs have no "
            f"disk_provisioned_gib (first: {sample}); give their sizes in the inventory"
        )
    no_used = ~np.isfinite(used)
    if no_used.any():
        sample = ", ".join(map(str, ids[no_used][:5]))
        if used_missing != "provisioned":
            raise StorageDataError(
                f"not available: {int(no_used.sum())} of {len(ids)} VMs have no disk_used_gib "
                f"(first: {sample}); give used sizes in the inventory, or accept the provisioned "
                "size as the upper bound (used_missing='provisioned', CLI --used-missing "
                "provisioned)"
            )
        used = np.where(no_used, prov, used)
        notes.append(
            f"{int(no_used.sum())} volume(s) had no disk_used_gib; their provisioned size was "
            "used as the upper bound of their use"
        )
    over = used > prov * (1 + 1e-9)
    if over.any():
        notes.append(
            f"{int(over.sum())} volume(s) report more used than provisioned GiB; used was capped "
            "at the provisioned size"
        )
        used = np.minimum(used, prov)
    negative = (prov < 0) | (used < 0)
    if negative.any():
        raise StorageDataError(
            f"negative disk size for VM {ids[np.flatnonzero(negative)[0]]!s}; expected GiB >= 0"
        )
    return prov.astype(np.float64), used.astype(np.float64)


def _policies(
    ids: npt.NDArray[np.str_],
    spec: StorageSpec,
    attributes: pl.DataFrame | None,
    attributes_label: str,
    latency_class: str,
    mirror: bool | None,
    snapshot_policy: str | None,
) -> tuple[npt.NDArray[np.str_], FloatArray, npt.NDArray[np.bool_], FloatArray]:
    n = len(ids)
    classes = dict(spec.latency_classes)
    if latency_class not in classes:
        raise CapplanError(
            f"unknown latency class {latency_class!r}; valid: {', '.join(sorted(classes))}"
        )
    cls = np.full(n, latency_class, dtype=object)
    limit = np.full(n, classes[latency_class])
    mirrored = np.zeros(n, dtype=bool)
    policy = snapshot_policy or "catalog"
    if policy not in spec.snapshot_policies:
        raise CapplanError(
            f"unknown snapshot policy {policy!r}; "
            f"valid: {', '.join(sorted(spec.snapshot_policies))}"
        )
    reserve = np.full(n, spec.snapshot_policies[policy])
    if attributes is not None:
        index = {vm: i for i, vm in enumerate(ids.tolist())}
        rows = attributes.with_row_index("_row")
        vm_col = rows.get_column("vm_id").to_list()
        pos = np.array([index.get(v, -1) for v in vm_col], dtype=np.int64)
        hit = pos >= 0
        if "latency_class" in rows.columns:
            for r, (p, value) in enumerate(zip(pos, rows.get_column("latency_class"), strict=True)):
                if p < 0 or value is None or not str(value).strip():
                    continue
                text = str(value).strip()
                if text in classes:
                    cls[p], limit[p] = text, classes[text]
                    continue
                try:
                    ms = float(text)
                except ValueError:
                    ms = math.nan
                if not (ms > 0):
                    raise TraceFormatError(
                        f"unknown latency class {text!r}; expected one of "
                        f"{', '.join(sorted(classes))} or a number of milliseconds > 0",
                        path=attributes_label or None,
                        line=2 + r,
                        column="latency_class",
                    )
                cls[p], limit[p] = f"{ms:g}ms", ms
        if "mirrored" in rows.columns and mirror is None:
            values = rows.get_column("mirrored").to_numpy()
            mirrored[pos[hit]] = values[hit]
        if "snapshot_policy" in rows.columns and snapshot_policy is None:
            for r, (p, value) in enumerate(
                zip(pos, rows.get_column("snapshot_policy"), strict=True)
            ):
                if p < 0 or value is None or not str(value).strip():
                    continue
                text = str(value).strip()
                if text not in spec.snapshot_policies:
                    raise TraceFormatError(
                        f"unknown snapshot policy {text!r}; expected one of "
                        f"{', '.join(sorted(spec.snapshot_policies))}",
                        path=attributes_label or None,
                        line=2 + r,
                        column="snapshot_policy",
                    )
                reserve[p] = spec.snapshot_policies[text]
    if mirror is not None:
        mirrored[:] = mirror
    return cls.astype(np.str_), limit, mirrored, reserve


def _current(
    ids: npt.NDArray[np.str_], spec: StorageSpec, layout: pl.DataFrame, label: str, notes: list[str]
) -> npt.NDArray[np.int64]:
    index = {vm: i for i, vm in enumerate(ids.tolist())}
    pools = spec.pool_index()
    current = np.full((len(ids), 2), -1, dtype=np.int64)
    unknown_volumes = 0
    for vol, pool, line in layout.iter_rows():
        if pool not in pools:
            raise TraceFormatError(
                f"unknown pool {pool!r}; valid: {', '.join(pools)}",
                path=label or None,
                line=int(line),
                column="pool",
            )
        i = index.get(vol)
        if i is None:
            unknown_volumes += 1
            continue
        slot = 0 if current[i, 0] < 0 else 1
        if current[i, slot] >= 0 or current[i, 0] == pools[pool]:
            raise TraceFormatError(
                f"volume {vol!r} is listed in more than two pools or twice in one pool",
                path=label or None,
                line=int(line),
            )
        current[i, slot] = pools[pool]
    if unknown_volumes:
        notes.append(
            f"{unknown_volumes} row(s) of the current layout name volumes not in the workload; "
            "ignored"
        )
    missing = int((current[:, 0] < 0).sum())
    if missing:
        notes.append(f"{missing} volume(s) are not in the current layout (new volumes)")
    return current


def _growth(
    ids: npt.NDArray[np.str_],
    prov: FloatArray,
    used: FloatArray,
    spec: StorageSpec,
    history: UsedHistory | None,
    horizon_days: float,
    notes: list[str],
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], UsedHistory | None, str]:
    forecast, mu, sigma = assumed_growth(
        used, horizon_days, spec.growth_frac_per_year, spec.growth_sd_frac_per_sqrt_year
    )
    has = np.zeros(len(ids), dtype=bool)
    aligned: UsedHistory | None = None
    if history is not None:
        index = {vm: i for i, vm in enumerate(history.vm_ids.tolist())}
        rows = np.array([index.get(v, -1) for v in ids.tolist()], dtype=np.int64)
        series = np.full((len(ids), history.t_days.size), np.nan)
        hit = rows >= 0
        series[hit] = history.used_gib[rows[hit]]
        n_points = np.isfinite(series).sum(axis=1)
        has = n_points >= 2
        trend = linear_trend(history.t_days, series, prov, horizon_days)
        h_mu, h_sigma = drift_and_volatility(history.t_days, series)
        slope = np.where(np.isfinite(trend.slope_gib_per_day), trend.slope_gib_per_day, 0.0)
        forecast = np.where(has, used + slope * horizon_days, forecast)
        mu = np.where(has, np.nan_to_num(h_mu, nan=0.0), mu)
        sigma = np.where(has, np.nan_to_num(h_sigma, nan=0.0), sigma)
        aligned = UsedHistory(
            vm_ids=ids,
            t_days=history.t_days,
            used_gib=series,
            start=history.start,
            source=history.source,
        )
        n_extra = len(set(history.vm_ids.tolist()) - set(ids.tolist()))
        if n_extra:
            notes.append(f"{n_extra} volume(s) of the used-space history are not in the workload")
        window = forecast_window_days(history.t_days)
        if horizon_days > window:
            notes.append(
                f"the horizon ({horizon_days:g} days) is longer than half the history span "
                f"({window:g} days), beyond which HPE's forecast method does not extrapolate"
            )
    n_hist = int(has.sum())
    basis = "history" if n_hist == len(ids) else ("assumed" if n_hist == 0 else "mixed")
    if basis != "history":
        notes.append(
            f"{len(ids) - n_hist} volume(s) have no used-space history: their growth is the "
            f"assumed {spec.growth_frac_per_year:.1%} a year (compound)"
            + (
                f" with a noise of {spec.growth_sd_frac_per_sqrt_year:.1%} per square-root year"
                if spec.growth_sd_frac_per_sqrt_year > 0
                else " without noise, so their run-out probabilities are 0 or 1"
            )
        )
    forecast = np.clip(forecast, 0.0, prov)
    return forecast, mu, sigma, has, aligned, basis


def build_volumes(
    workload: Workload,
    spec: StorageSpec,
    *,
    horizon_days: float,
    attributes: pl.DataFrame | None = None,
    attributes_label: str = "",
    history: UsedHistory | None = None,
    current_layout: pl.DataFrame | None = None,
    layout_label: str = "",
    latency_class: str = "slo",
    mirror: bool | None = None,
    snapshot_policy: str | None = None,
    quantile: float = 0.95,
    used_missing: str = "error",
) -> Volumes:
    """Build the volumes of a workload.

    Parameters
    ----------
    workload
        Demand and inventory (one volume per VM).
    spec
        Pools and policy (latency classes, snapshot policies, growth assumption).
    horizon_days
        Planning horizon, days (> 0).
    attributes, attributes_label
        Optional per-volume attributes (:func:`capplan.storage.files.read_attributes`) and the
        file they came from (for error messages).
    history
        Optional used-space history.
    current_layout, layout_label
        Optional current layout (:func:`capplan.storage.files.read_layout`) and its file.
    latency_class
        Class of volumes the attributes do not classify.
    mirror
        What-if knob: True mirrors every volume, False none, None follows the attributes.
    snapshot_policy
        What-if knob: one policy for every volume; None follows the attributes (default
        policy ``catalog``).
    quantile
        Planning statistic of the I/O demand (0.95: p95).
    used_missing
        ``error`` (default) or ``provisioned`` (use the provisioned size for a missing used
        size, reported in the notes).

    Raises
    ------
    StorageDataError
        When the inventory lacks disk sizes ("not available").
    """
    if not (horizon_days > 0 and math.isfinite(horizon_days)):
        raise CapplanError(f"the horizon must be a positive number of days, got {horizon_days!r}")
    if not 0.0 <= quantile <= 1.0:
        raise CapplanError(f"the I/O quantile must be in [0, 1], got {quantile!r}")
    if used_missing not in ("error", "provisioned"):
        raise CapplanError(f"used_missing must be 'error' or 'provisioned', got {used_missing!r}")
    notes: list[str] = []
    ids = np.asarray(workload.vm_ids, dtype=np.str_)
    prov, used = _sizes(workload, used_missing, notes)
    io, reason = volume_io(workload, quantile)
    cls, limit, mirrored, reserve = _policies(
        ids, spec, attributes, attributes_label, latency_class, mirror, snapshot_policy
    )
    current = (
        _current(ids, spec, current_layout, layout_label, notes)
        if current_layout is not None
        else None
    )
    forecast, mu, sigma, has, aligned, basis = _growth(
        ids, prov, used, spec, history, horizon_days, notes
    )
    return Volumes(
        volume_ids=ids,
        vm_ids=ids,
        provisioned_gib=prov,
        used_gib=used,
        forecast_used_gib=forecast,
        growth_mu_gib_per_day=mu,
        growth_sigma_gib_per_sqrt_day=sigma,
        has_history=has,
        io=io,
        io_reason=reason,
        latency_class=cls,
        latency_limit_ms=limit,
        mirrored=mirrored,
        snapshot_reserve_frac=reserve,
        current_pool=current,
        history=aligned,
        horizon_days=float(horizon_days),
        forecast_basis=basis,
        notes=tuple(notes),
    )
