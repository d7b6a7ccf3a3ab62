"""Explanations: what binds each bin and the whole plan, and why an instance is infeasible.

For a packing: per bin, the column (dimension × bucket) with the highest utilisation; for the
plan, how many bins each dimension binds, the utilisation per dimension, and the lower bound
that sets the number of bins ("why N bins": which resource in which bucket, a conflict clique,
an anti-affinity group). For an infeasible instance: the smallest reason found, checked from the
most specific (one item, one group) to the most global (total capacity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capplan.optimize import rules
from capplan.optimize.bounds import BoundReport, ZoneBound
from capplan.optimize.instance import Instance, Solution


@dataclass(frozen=True)
class BinBinding:
    """What limits one bin.

    Attributes
    ----------
    bin
        Bin index.
    type_name
        Bin type.
    dim
        Dimension with the highest utilisation.
    bucket
        Bucket where it peaks.
    util_frac
        That utilisation (0–1).
    n_items
        Items on the bin.
    """

    bin: int
    type_name: str
    dim: str
    bucket: str
    util_frac: float
    n_items: int


@dataclass(frozen=True)
class Explanation:
    """Why the plan looks the way it does.

    Attributes
    ----------
    binding
        Dimension the lower bound on the bin count rests on (so the plan's "why" and its
        bound name the same resource); when the bound rests on no resource (conflicts,
        anti-affinity), the dimension that binds the most bins.
    binding_bucket
        Bucket of that bound (or in which that dimension peaks most often).
    bins_bound_by
        Dimension name → number of bins it binds.
    util_peak_frac
        Dimension name → mean over bins of the peak-bucket utilisation.
    util_mean_frac
        Dimension name → mean over bins and buckets of the utilisation.
    why
        Sentences explaining the number of bins (the bound's source, in words).
    bins
        Per-bin detail.
    """

    binding: str
    binding_bucket: str
    bins_bound_by: dict[str, int]
    util_peak_frac: dict[str, float]
    util_mean_frac: dict[str, float]
    why: tuple[str, ...]
    bins: tuple[BinBinding, ...] = field(default=())

    def to_dict(self, max_bins: int = 50) -> dict[str, object]:
        """JSON-ready form (at most ``max_bins`` bins listed)."""
        return {
            "binding": self.binding,
            "binding_bucket": self.binding_bucket,
            "bins_bound_by": self.bins_bound_by,
            "util_peak_frac": self.util_peak_frac,
            "util_mean_frac": self.util_mean_frac,
            "why": list(self.why),
            "bins": [b.__dict__ for b in self.bins[:max_bins]],
        }


def explain_solution(inst: Instance, sol: Solution, bound: BoundReport | None) -> Explanation:
    """Explain a packing: binding resource per bin and for the plan, and the bin count.

    Parameters
    ----------
    inst
        The instance (original, not contracted).
    sol
        A valid packing.
    bound
        The lower bound report computed for the instance (or its contraction), if any.
    """
    loads = sol.loads(inst).reshape(sol.n_bins, inst.n_dims, inst.n_buckets).astype(np.float64)
    caps = inst.capacity[sol.bin_type].astype(np.float64)[:, :, None]
    util = np.divide(loads, caps, out=np.zeros_like(loads), where=caps > 0)
    peak_bucket = util.argmax(axis=2)  # (n_bins, n_dims)
    peak = util.max(axis=2)
    bind_dim = peak.argmax(axis=1) if inst.n_dims else np.zeros(sol.n_bins, dtype=np.int64)
    counts = (
        np.bincount(sol.assign, minlength=sol.n_bins)
        if inst.n_items
        else np.zeros(sol.n_bins, dtype=np.int64)
    )
    bins = tuple(
        BinBinding(
            bin=b,
            type_name=inst.type_names[sol.bin_type[b]],
            dim=inst.dim_names[bind_dim[b]],
            bucket=inst.bucket_names[peak_bucket[b, bind_dim[b]]],
            util_frac=round(float(peak[b, bind_dim[b]]), 4),
            n_items=int(counts[b]),
        )
        for b in range(sol.n_bins)
    )
    used = counts > 0
    by_dim = {inst.dim_names[d]: int(((bind_dim == d) & used).sum()) for d in range(inst.n_dims)}
    binding_d = int(max(range(inst.n_dims), key=lambda d: by_dim[inst.dim_names[d]]))
    buckets = peak_bucket[used, binding_d]
    bucket_idx = int(np.bincount(buckets, minlength=inst.n_buckets).argmax()) if len(buckets) else 0
    util_peak = {
        inst.dim_names[d]: round(float(peak[used, d].mean()) if used.any() else 0.0, 4)
        for d in range(inst.n_dims)
    }
    util_mean = {
        inst.dim_names[d]: round(float(util[used, d, :].mean()) if used.any() else 0.0, 4)
        for d in range(inst.n_dims)
    }
    why = _why(inst, sol, bound)
    binding, binding_bucket = inst.dim_names[binding_d], inst.bucket_names[bucket_idx]
    if bound is not None and bound.zones:
        # The plan's binding resource is the one the bound rests on, so that the two agree.
        column = bound_reason(inst, bound)[3]
        if column is not None:
            binding, binding_bucket = inst.column_name(column)
    return Explanation(
        binding=binding,
        binding_bucket=binding_bucket,
        bins_bound_by=by_dim,
        util_peak_frac=util_peak,
        util_mean_frac=util_mean,
        why=why,
        bins=bins,
    )


def bound_reason(inst: Instance, bound: BoundReport) -> tuple[ZoneBound, int, str, int | None]:
    """What sets the bin-count bound of the largest zone.

    Returns
    -------
    zone, n_bins, text, column
        The zone's bound, the bins that reason forces, a sentence naming it, and the
        instance column (dimension × bucket) it rests on (None for clique and anti-affinity
        bounds, which rest on no single resource).
    """
    z = max(bound.zones, key=lambda zb: zb.n_bins)
    vol_dim, vol_bucket = inst.column_name(z.volume_column)
    l2_dim, l2_bucket = inst.column_name(z.l2_column)
    parts: dict[str, tuple[int, str, int | None]] = {
        "volume": (z.volume_bins, f"volume of {vol_dim} in bucket {vol_bucket}", z.volume_column),
        "l2": (
            z.l2_bins,
            f"large items in {l2_dim}, bucket {l2_bucket} (Martello–Toth L2)",
            z.l2_column,
        ),
        "patterns": (
            z.pattern_bins,
            "the item sizes of {} in bucket {} (exact one-resource packing)".format(
                *inst.column_name(z.pattern_column)
            ),
            z.pattern_column,
        ),
        "clique": (z.clique_bins, "items that pairwise cannot share a bin", None),
        "anti_affinity": (z.anti_affinity_bins, "the largest anti-affinity group", None),
    }
    kind = max(parts, key=lambda k: parts[k][0])
    n, text, column = parts[kind]
    return z, n, text, column


def _why(inst: Instance, sol: Solution, bound: BoundReport | None) -> tuple[str, ...]:
    """Sentences on the bin count: per-resource volume need, and the bound that decides."""
    out: list[str] = [f"{sol.n_bins} bins are open"]
    total = inst.flat_demand.sum(axis=0).astype(np.float64)
    cap_max = inst.flat_capacity.max(axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(cap_max > 0, total / cap_max, 0.0)
    for d in range(inst.n_dims):
        cols = slice(d * inst.n_buckets, (d + 1) * inst.n_buckets)
        k = int(np.argmax(need[cols])) if inst.n_buckets else 0
        out.append(
            f"{inst.dim_names[d]}: demand peaks in bucket {inst.bucket_names[k]} at "
            f"{need[cols][k]:.2f} bins' worth of the largest bin type "
            f"(mean over buckets {need[cols].mean():.2f})"
        )
    if bound is not None and bound.zones:
        z, n, text, _ = bound_reason(inst, bound)
        if len(bound.zones) > 1:
            out.append(
                f"lower bound: at least {bound.n_bins} bins over {len(bound.zones)} zones (a "
                f"bin serves one zone); the largest, {inst.zone_names[z.zone]!r}, needs at "
                f"least {n}, set by {text}"
            )
        else:
            out.append(f"lower bound: at least {bound.n_bins} bins; {n} set by {text}")
        if inst.ha_spares:
            out.append(
                f"N+{inst.ha_spares} ({inst.ha_policy}): every zone keeps the capacity of its "
                f"{inst.ha_spares} largest bin(s) spare, included in the bound"
            )
    return tuple(out)


# -------------------------------------------------------------------------- infeasible
def infeasibility_reason(inst: Instance) -> str | None:
    """The smallest reason found why ``inst`` has no packing, or None if none is found.

    Each rule of :mod:`capplan.optimize.rules` is asked first, in registry order (an item no
    bin type can take, naming the binding dimension and bucket; a zone with no usable bin
    type; an anti-affinity group larger than the bins it may use; an affinity group no bin
    type can hold; pinned items that overload their bin); then the total demand is checked
    against the capacity of every available bin.
    """
    return rules.infeasibility(inst) or _total_capacity(inst)


def _total_capacity(inst: Instance) -> str | None:
    for z in range(inst.n_zones):
        members = inst.zone == z
        if not members.any():
            continue
        usable = inst.allowed[members].any(axis=0)
        total_cap = (inst.flat_capacity[usable] * inst.n_available[usable, None]).sum(axis=0)
        need = inst.flat_demand[members].sum(axis=0)
        over = np.flatnonzero(need > total_cap)
        if len(over):
            dim, bucket = inst.column_name(int(over[0]))
            zone = f" of zone {inst.zone_names[z]!r}" if inst.n_zones > 1 else ""
            return (
                f"the demand{zone} for {dim} in bucket {bucket} ({need[over[0]]}) exceeds "
                f"the capacity of every available bin together ({total_cap[over[0]]})"
            )
    return None
