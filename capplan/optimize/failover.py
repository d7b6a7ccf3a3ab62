"""N+k failover checks on a packing (numpy only; no solver import).

Two policies, as in :mod:`capplan.optimize.instance`:

- ``reserve``: in every zone, dimension and bucket, the capacity of the open bins minus the
  k largest of them still covers the zone's demand. Only bins of a type some item of the zone
  may use count (a host no VM of the zone may run on cannot take over its load). This is the
  percentage-reservation idea of vSphere HA admission control ("cluster resource
  percentage", VMware vSphere Availability guide, section "Admission control"), with the
  percentage set by the k largest hosts so that it also holds for mixed host models.
- ``strict``: for every set of k failed bins of a zone, the items of the failed bins can be
  re-placed on the surviving bins of the zone (capacity in every dimension and bucket). The
  re-placement is searched by first-fit decreasing, so a reported failure means "FFD found no
  restart placement" (a sufficient, not a necessary, test). With more than ``max_sets`` sets
  only the sets made of the most loaded bins are tried, and the result says so.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution

#: Most failure sets tried exhaustively per zone by the strict check.
MAX_FAILURE_SETS = 5000


def bin_zones(inst: Instance, sol: Solution, bin_zone: IntArray | None = None) -> IntArray:
    """Zone of each open bin: the zone of its items, else the declared one, else -1.

    The declared zone is ``bin_zone`` if given, else ``sol.bin_zone``. With a single zone,
    every bin serves it.
    """
    zones = np.full(sol.n_bins, -1, dtype=np.int64)
    declared = bin_zone if bin_zone is not None else sol.bin_zone
    if declared is not None:
        zones[:] = declared
    if inst.n_items:
        zones[sol.assign] = inst.zone
    if inst.n_zones == 1:
        zones[:] = 0
    return zones


def zone_usable_types(inst: Instance) -> BoolArray:
    """bool ``(n_zones, n_types)``: some item of the zone may use the type."""
    out = np.zeros((inst.n_zones, inst.n_types), dtype=np.bool_)
    np.logical_or.at(out, inst.zone, inst.allowed)
    return out


def reserve_shortfall(
    inst: Instance, sol: Solution, bin_zone: IntArray | None = None
) -> list[tuple[int, int, int]]:
    """Return ``(zone, column, missing)`` for each zone and column where the reserve fails.

    ``missing`` is the capacity (integer demand units) that is lacking.
    """
    k = inst.ha_spares
    if k <= 0:
        return []
    zones = bin_zones(inst, sol, bin_zone)
    loads = sol.loads(inst)
    caps = inst.flat_capacity[sol.bin_type]
    out: list[tuple[int, int, int]] = []
    usable_type = zone_usable_types(inst)
    for z in range(inst.n_zones):
        if not (inst.zone == z).any():
            continue
        in_zone = (zones == z) & usable_type[z][sol.bin_type]
        cz = caps[in_zone]
        demand = inst.flat_demand[inst.zone == z].sum(axis=0)
        if len(cz) <= k:
            lacking = demand + (cz.sum(axis=0) if len(cz) else 0)
            cols = np.flatnonzero(lacking > 0)
            out.extend((z, int(c), int(lacking[c])) for c in cols[:1])
            if not len(cols):
                out.append((z, 0, 1))
            continue
        top = -np.partition(-cz, k - 1, axis=0)[:k].sum(axis=0)
        spare = cz.sum(axis=0) - top - loads[in_zone].sum(axis=0)
        for c in np.flatnonzero(spare < 0).tolist():
            out.append((z, int(c), int(-spare[c])))
    return out


def replace_items(demand: IntArray, residual: IntArray, allowed: BoolArray) -> bool:
    """First-fit decreasing of ``demand`` rows into ``residual`` rows; True when all fit.

    Parameters
    ----------
    demand
        int64 ``(n_items, n_columns)``.
    residual
        int64 ``(n_bins, n_columns)``: free capacity of the surviving bins (modified copy).
    allowed
        bool ``(n_items, n_bins)``: item may go on the bin (type, zone, anti-affinity).
    """
    free = residual.copy()
    order = np.argsort(-demand.sum(axis=1), kind="stable")
    for i in order.tolist():
        ok = allowed[i] & np.all(free >= demand[i], axis=1)
        hit = np.flatnonzero(ok)
        if not len(hit):
            return False
        free[hit[0]] -= demand[i]
    return True


def strict_failures(
    inst: Instance,
    sol: Solution,
    bin_zone: IntArray | None = None,
    max_sets: int = MAX_FAILURE_SETS,
) -> tuple[list[tuple[int, ...]], bool]:
    """Failure sets of k bins whose items FFD cannot restart on the survivors.

    Returns
    -------
    failures
        Tuples of bin indices (at most 20 are listed).
    exhaustive
        False when some zone had more than ``max_sets`` sets and only the most loaded bins
        were combined.
    """
    k = inst.ha_spares
    if k <= 0:
        return [], True
    zones = bin_zones(inst, sol, bin_zone)
    loads = sol.loads(inst)
    caps = inst.flat_capacity[sol.bin_type]
    residual_all = caps - loads
    items_of = [np.flatnonzero(sol.assign == b) for b in range(sol.n_bins)]
    failures: list[tuple[int, ...]] = []
    exhaustive = True
    for z in range(inst.n_zones):
        bins = np.flatnonzero(zones == z)
        if not len(bins):
            continue
        if len(bins) <= k:
            if any(len(items_of[b]) for b in bins):
                failures.append(tuple(int(b) for b in bins))
            continue
        if comb(len(bins), k) > max_sets:
            exhaustive = False
            frac = (loads[bins] / np.maximum(caps[bins], 1)).max(axis=1)
            keep = bins[np.argsort(-frac, kind="stable")[: _pool_size(k, max_sets)]]
            candidates = combinations(sorted(keep.tolist()), k)
        else:
            candidates = combinations(bins.tolist(), k)
        for failed in candidates:
            moved = np.concatenate([items_of[b] for b in failed])
            if not len(moved):
                continue
            survivors = np.setdiff1d(bins, failed)
            allowed = inst.allowed[moved][:, sol.bin_type[survivors]]
            for members in inst.anti_affinity:
                hit = np.isin(moved, members)
                if hit.any():
                    occupied = np.isin(survivors, sol.assign[members])
                    allowed[np.ix_(hit, occupied)] = False
            if not replace_items(inst.flat_demand[moved], residual_all[survivors], allowed):
                failures.append(tuple(int(b) for b in failed))
                if len(failures) >= 20:
                    return failures, exhaustive
    return failures, exhaustive


def _pool_size(k: int, max_sets: int) -> int:
    """Largest pool size p with C(p, k) <= max_sets (at least k)."""
    p = k
    while comb(p + 1, k) <= max_sets:
        p += 1
    return p
