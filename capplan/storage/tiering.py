"""Lifecycle tiering by access density: which tier each volume belongs on, over time.

Access density is back-end IOPS per used GiB. A tier can sustain, when full, its pool IOPS
over its usable GiB (``max_iops / usable_gib``, IOPS per GiB); a volume fits a tier in a
window when its density there (read + the tier's write penalty × write, at the window's
quantile) is at most that figure. The recommended tier is the cheapest one (price per GiB plus
energy) that the volume fits in every window and that its latency class allows; the
window-by-window recommendation shows how often automated tiering would move it, and the
migration traffic that costs. This is the lifecycle management of the seed chapter (data
wandering between expensive fast and cheap mass storage by demand,
``seed-storage-virtualization``).

Windows are whole days of the trace (a shorter trace is one window).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.storage.volumes import Volumes, row_quantile
from capplan.units import MIB_PER_GIB, S_PER_DAY, S_PER_HOUR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TierOption:
    """A tier the tiering may use.

    Attributes
    ----------
    name
        Tier name.
    density_iops_per_gib
        IOPS per usable GiB the tier sustains when full.
    write_penalty
        Back-end I/Os per front-end write.
    unit_cost_usd_per_gib
        Cost of one consumed GiB over the horizon (price + energy).
    latency_ms
        Latency of one I/O (tier + appliance), ms.
    """

    name: str
    density_iops_per_gib: float
    write_penalty: float
    unit_cost_usd_per_gib: float
    latency_ms: float


@dataclass(frozen=True)
class TieringResult:
    """Where volumes belong by access density, and what moving them saves and costs.

    Attributes
    ----------
    available
        False when the trace has no IOPS metrics (then only ``reason`` is meaningful).
    reason
        Why tiering is not (fully) available.
    tiers
        The tiers considered, cheapest first.
    recommended
        ``(n_volumes,)`` index into ``tiers`` of the recommended tier.
    exceeds_every_tier
        ``(n_volumes,)`` volumes too dense for every allowed tier (recommended: the densest).
    per_window
        ``(n_volumes, n_windows)`` cheapest fitting tier per window.
    window_s
        Length of a window, s.
    migrations_per_window_gib
        ``(n_windows - 1,)`` GiB moved between consecutive windows if tiering followed
        ``per_window``.
    baseline
        What the savings compare with (``current layout`` or ``catalog default tier X``).
    baseline_cost_usd, recommended_cost_usd
        Cost of the baseline and of the recommendation over the horizon.
    n_moves
        Volumes whose recommended tier differs from the baseline tier.
    move_gib
        Data those moves copy (used GiB × copies).
    migration_mib_s
        Throughput assumed for migrations.
    migration_hours
        Time to copy ``move_gib`` at that throughput.
    """

    available: bool
    reason: str = ""
    tiers: tuple[TierOption, ...] = ()
    recommended: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    exceeds_every_tier: npt.NDArray[np.bool_] = field(
        default_factory=lambda: np.zeros(0, dtype=bool)
    )
    per_window: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    window_s: float = 0.0
    migrations_per_window_gib: FloatArray = field(default_factory=lambda: np.zeros(0))
    baseline: str = ""
    baseline_cost_usd: float = float("nan")
    recommended_cost_usd: float = float("nan")
    n_moves: int = 0
    move_gib: float = 0.0
    migration_mib_s: float = float("nan")
    migration_hours: float = float("nan")

    @property
    def savings_usd(self) -> float:
        """Baseline cost minus recommended cost (positive: tiering saves money)."""
        return self.baseline_cost_usd - self.recommended_cost_usd

    def summary(self) -> dict[str, object]:
        """JSON-ready summary."""
        if not self.available:
            return {"available": False, "reason": self.reason}
        counts = np.bincount(self.recommended, minlength=len(self.tiers))
        churn = self.migrations_per_window_gib
        return {
            "available": True,
            "reason": self.reason,
            "tiers": [
                {
                    "tier": t.name,
                    "density_limit_iops_per_gib": t.density_iops_per_gib,
                    "n_volumes": int(c),
                }
                for t, c in zip(self.tiers, counts, strict=True)
            ],
            "n_too_dense_for_every_tier": int(self.exceeds_every_tier.sum()),
            "baseline": self.baseline,
            "baseline_cost_usd": self.baseline_cost_usd,
            "recommended_cost_usd": self.recommended_cost_usd,
            "savings_usd": self.savings_usd,
            "n_moves": self.n_moves,
            "move_gib": self.move_gib,
            "migration_mib_s": self.migration_mib_s,
            "migration_hours": self.migration_hours,
            "window_s": self.window_s,
            "n_windows": int(self.per_window.shape[1]) if self.per_window.ndim == 2 else 0,
            "daily_migration_gib_mean": float(churn.mean()) if churn.size else 0.0,
            "daily_migration_gib_max": float(churn.max()) if churn.size else 0.0,
        }


def _window_quantile(
    values: npt.NDArray[np.float32],
    observed: npt.NDArray[np.bool_],
    steps_per_window: int,
    q: float,
) -> FloatArray:
    """Quantile per row and window: ``(n, n_steps)`` → ``(n, n_windows)``."""
    n, n_steps = values.shape
    n_win = max(n_steps // steps_per_window, 1)
    width = n_steps // n_win
    cut = values[:, : n_win * width].reshape(n * n_win, width)
    mask = observed[:, : n_win * width].reshape(n * n_win, width)
    return row_quantile(cut, mask, q).reshape(n, n_win)


def recommend_tiers(
    volumes: Volumes,
    workload: Workload,
    tiers: list[TierOption],
    *,
    baseline_tier: IntArray,
    baseline: str,
    migration_mib_s: float,
) -> TieringResult:
    """Recommend a tier per volume from its access density over time.

    Parameters
    ----------
    volumes
        The volumes (used GiB, latency limits, copies, consumed GiB via the forecast).
    workload
        The same workload (its IOPS arrays, ``(n_volumes, n_steps)``).
    tiers
        Candidate tiers (any order; sorted cheapest first here).
    baseline_tier
        ``(n_volumes,)`` index into ``tiers`` of each volume's tier today (-1: unknown).
    baseline
        Label of the baseline for the report.
    migration_mib_s
        Throughput available for migrations, MiB/s.
    """
    if volumes.io is None or not volumes.io.has_iops:
        return TieringResult(
            False, reason="not available: " + (volumes.io_reason or "no IOPS metrics")
        )
    if not tiers:
        return TieringResult(False, reason="not available: no priced tier has a pool")
    order = np.argsort([t.unit_cost_usd_per_gib for t in tiers], kind="stable")
    sorted_tiers = [tiers[i] for i in order]
    remap = np.empty(len(tiers), dtype=np.int64)
    remap[order] = np.arange(len(tiers))
    base = np.where(baseline_tier >= 0, remap[np.maximum(baseline_tier, 0)], -1)
    steps_per_day = max(round(S_PER_DAY / workload.step_s), 1)
    reads = _window_quantile(
        workload.demand("disk_read_iops"), workload.observed, steps_per_day, volumes.io.quantile
    )
    writes = _window_quantile(
        workload.demand("disk_write_iops"), workload.observed, steps_per_day, volumes.io.quantile
    )
    n_win = reads.shape[1]
    used = np.maximum(volumes.used_gib, 1e-9)[:, None]
    k = len(sorted_tiers)
    fits = np.zeros((volumes.n_volumes, n_win, k), dtype=bool)
    allowed = np.zeros((volumes.n_volumes, k), dtype=bool)
    for t, tier in enumerate(sorted_tiers):
        density = (reads + tier.write_penalty * writes) / used
        fits[:, :, t] = density <= tier.density_iops_per_gib
        allowed[:, t] = tier.latency_ms <= volumes.latency_limit_ms
    fits &= allowed[:, None, :]
    densest = np.argmax(
        np.where(allowed, [t.density_iops_per_gib for t in sorted_tiers], -np.inf), axis=1
    )
    any_window = fits.any(axis=2)
    per_window = np.where(any_window, np.argmax(fits, axis=2), densest[:, None])
    all_windows = np.asarray(fits.all(axis=1), dtype=bool)
    exceeds = np.asarray(~all_windows.any(axis=1), dtype=bool)
    recommended = np.where(exceeds, densest, np.argmax(all_windows, axis=1)).astype(np.int64)
    copies = volumes.n_copies.astype(np.float64)
    consumed = volumes.forecast_used_gib * (1 + volumes.snapshot_reserve_frac) * copies
    unit = np.array([t.unit_cost_usd_per_gib for t in sorted_tiers])
    rec_cost = float((consumed * unit[recommended]).sum())
    known = base >= 0
    base_cost = float(
        (consumed[known] * unit[base[known]]).sum()
        + (consumed[~known] * unit[recommended[~known]]).sum()
    )
    moves = known & (base != recommended)
    move_gib = float((volumes.used_gib * copies)[moves].sum())
    changes = per_window[:, 1:] != per_window[:, :-1]
    churn = (changes * (volumes.used_gib * copies)[:, None]).sum(axis=0)
    reason = "" if n_win >= 2 else "the trace is shorter than two days: one window only"
    hours = (
        move_gib * MIB_PER_GIB / migration_mib_s / S_PER_HOUR
        if migration_mib_s > 0
        else float("inf")
    )
    return TieringResult(
        available=True,
        reason=reason,
        tiers=tuple(sorted_tiers),
        recommended=recommended,
        exceeds_every_tier=exceeds,
        per_window=per_window.astype(np.int64),
        window_s=float(steps_per_day * workload.step_s),
        migrations_per_window_gib=churn.astype(np.float64),
        baseline=baseline,
        baseline_cost_usd=base_cost,
        recommended_cost_usd=rec_cost,
        n_moves=int(moves.sum()),
        move_gib=move_gib,
        migration_mib_s=float(migration_mib_s),
        migration_hours=float(hours),
    )
