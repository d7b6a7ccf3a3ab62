"""Lower bounds on the objective, so every plan can state how far from optimal it may be.

Bounds on the number of bins, per zone (a bin serves one zone, so zones add up):

- **Volume**, per column (dimension × bucket): the summed demand over the largest capacity.
- **L2** of Martello & Toth ("Lower bounds and reduction procedures for the bin packing
  problem", Discrete Applied Mathematics 28, 1990), per column: items larger than half a bin
  need a bin each, and the small items must fit into what those leave free.
- **Patterns** (Gilmore & Gomory's cutting-stock model, "A linear programming approach to the
  cutting-stock problem", Operations Research 9, 1961), per column with few distinct sizes:
  every maximal way of filling one bin is enumerated and the fewest bins covering all items
  is found exactly. VM memory comes in a few standard sizes, so this is where memory-bound
  plans get a tight bound.
- **Conflict clique**: items that pairwise cannot share a bin (together they exceed the
  capacity in some column, or they are in one anti-affinity group) need one bin each; a greedy
  clique over the large items, as in Mommessin et al.'s benchmark code ("lower_bounds.cpp").

The count bound and the per-column volumes then go into a small integer program over the bin
types (how many of each type, at least cost, so that the capacity covers the volume plus the
N+k reserve and the count covers the count bound), whose optimum bounds the cost. The solver's
own bound (CP-SAT's best objective bound) is combined with these by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from capplan.optimize.instance import BoolArray, Instance, IntArray

#: Most large items put in the conflict graph.
MAX_CLIQUE_ITEMS = 1500


@dataclass(frozen=True)
class ZoneBound:
    """Bounds of one zone.

    Attributes
    ----------
    zone
        Zone index.
    n_bins
        Lower bound on the number of bins of the zone.
    cost
        Lower bound on the zone's objective contribution.
    volume_bins
        Largest per-column volume bound (bins of the largest capacity).
    volume_column
        Column (flat index) giving ``volume_bins``.
    l2_bins
        Largest per-column L2 bound.
    l2_column
        Column giving ``l2_bins``.
    clique_bins
        Size of the conflict clique found.
    anti_affinity_bins
        Size of the largest anti-affinity group in the zone.
    pattern_bins, pattern_column
        Exact one-column bound from the pattern model, and its column (0 when not computed).
    proven
        True when the cost program was solved to optimality (else its bound is used).
    """

    zone: int
    n_bins: int
    cost: int
    volume_bins: int
    volume_column: int
    l2_bins: int
    l2_column: int
    clique_bins: int
    anti_affinity_bins: int
    proven: bool = True
    pattern_bins: int = 0
    pattern_column: int = 0


@dataclass(frozen=True)
class BoundReport:
    """Lower bound on the objective and where it comes from.

    Attributes
    ----------
    value
        Lower bound on the objective (objective units).
    n_bins
        Lower bound on the number of bins.
    zones
        Per-zone detail.
    infeasible_reason
        Set when the bounds alone prove the instance infeasible.
    """

    value: int
    n_bins: int
    zones: tuple[ZoneBound, ...] = field(default=())
    infeasible_reason: str = ""

    def source(self) -> str:
        """The kind of bound that decides the bin count (``volume``, ``l2``, ``clique``...)."""
        kinds: dict[str, int] = {
            "volume": 0,
            "l2": 0,
            "patterns": 0,
            "clique": 0,
            "anti_affinity": 0,
        }
        for z in self.zones:
            kinds["volume"] += z.volume_bins
            kinds["l2"] += z.l2_bins
            kinds["patterns"] += z.pattern_bins
            kinds["clique"] += z.clique_bins
            kinds["anti_affinity"] += z.anti_affinity_bins
        return max(kinds, key=lambda k: kinds[k])


# ------------------------------------------------------------------------ 1-D bounds
def l2_bound(sizes: IntArray, cap: int) -> int:
    """Martello–Toth L2 bound on the bins needed for 1-D ``sizes`` (int64) of capacity ``cap``.

    Sizes must be ≥ 0; zero sizes are ignored. Items larger than ``cap`` count as one bin each.
    """
    w = np.sort(sizes[sizes > 0])
    if not len(w):
        return 0
    if cap <= 0:
        return len(w)
    n = len(w)
    prefix = np.concatenate([[0], np.cumsum(w)])
    half_idx = int(np.searchsorted(w, cap / 2, side="right"))
    ks = np.unique(np.concatenate([[0], w[:half_idx]]))
    cmk_idx = np.searchsorted(w, cap - ks, side="right")
    n_j1 = n - cmk_idx
    n_j2 = cmk_idx - half_idx
    sum_j2 = prefix[cmk_idx] - prefix[half_idx]
    k_idx = np.searchsorted(w, ks, side="left")
    sum_j3 = prefix[half_idx] - prefix[np.minimum(k_idx, half_idx)]
    free = n_j2 * cap - sum_j2
    extra = np.maximum(0, -((free - sum_j3) // cap))
    best = int((n_j1 + n_j2 + extra).max())
    return max(best, int(-(-int(w.sum()) // cap)))


def column_bounds(demand: IntArray, cap: IntArray) -> tuple[IntArray, IntArray]:
    """Per-column volume and L2 bounds on bin counts.

    Parameters
    ----------
    demand
        int64 ``(n_items, n_columns)``.
    cap
        int64 ``(n_columns,)``: largest capacity per column.

    Returns
    -------
    volume, l2
        int64 ``(n_columns,)`` each. Columns holding negative sizes get the volume bound only
        (L2 assumes sizes ≥ 0).
    """
    total = demand.sum(axis=0)
    safe = np.maximum(cap, 1)
    volume = np.where(total > 0, -(-total // safe), 0).astype(np.int64)
    volume[(cap <= 0) & (total > 0)] = np.iinfo(np.int64).max // 4
    l2 = volume.copy()
    # L2 only where it can beat the volume bound: some item above half the capacity.
    candidates = np.flatnonzero(
        (demand.max(axis=0, initial=0) * 2 > cap) & (demand.min(axis=0, initial=0) >= 0) & (cap > 0)
    )
    for c in candidates.tolist():
        l2[c] = max(l2[c], l2_bound(demand[:, c], int(cap[c])))
    return volume, l2


# ------------------------------------------------------------------------- patterns
#: Most distinct item sizes, and most maximal patterns, the pattern bound accepts.
MAX_PATTERN_SIZES = 10
MAX_PATTERNS = 20_000


def pattern_bound(sizes: IntArray, cap: int, time_limit_s: float = 1.0) -> int:
    """Exact fewest bins for 1-D ``sizes`` of capacity ``cap`` by the pattern model, or 0.

    Returns 0 (no bound) when the sizes are too varied, the patterns too many, or a size is
    negative. The CP-SAT program's proven bound is used, so a time-out still gives a valid
    (possibly weaker) bound.
    """
    w = sizes[sizes > 0]
    if not len(w) or (sizes < 0).any() or cap <= 0 or (w > cap).any():
        return 0
    values, counts = np.unique(w, return_counts=True)
    if len(values) > MAX_PATTERN_SIZES:
        return 0
    values = values[::-1]
    counts = counts[::-1]
    patterns: list[list[int]] = []
    current = [0] * len(values)

    def rec(j: int, room: int) -> bool:
        if len(patterns) > MAX_PATTERNS:
            return False
        if j == len(values):
            # Maximal: no item of any size still fits.
            if all(current[k] >= counts[k] or values[k] > room for k in range(len(values))):
                patterns.append(current.copy())
            return True
        most = min(int(counts[j]), room // int(values[j]))
        for n in range(most, -1, -1):
            current[j] = n
            if not rec(j + 1, room - n * int(values[j])):
                return False
        current[j] = 0
        return True

    if not rec(0, int(cap)):
        return 0
    model = cp_model.CpModel()
    upper = int(counts.sum())
    x = [model.new_int_var(0, upper, f"p{k}") for k in range(len(patterns))]
    for j in range(len(values)):
        model.add(cp_model.LinearExpr.weighted_sum(x, [p[j] for p in patterns]) >= int(counts[j]))
    model.minimize(sum(x))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return 0
    return int(np.ceil(solver.best_objective_bound - 1e-6))


def _pattern_bound(
    d: IntArray, cap: IntArray, volume: IntArray, n_columns: int = 3
) -> tuple[int, int]:
    """The pattern bound on the columns with the largest volume bound (distinct ones only)."""
    best, best_col = 0, 0
    seen: set[bytes] = set()
    for c in np.argsort(-volume, kind="stable").tolist():
        if len(seen) >= n_columns:
            break
        key = d[:, c].tobytes() + int(cap[c]).to_bytes(8, "little", signed=True)
        if key in seen:
            continue
        seen.add(key)
        value = pattern_bound(d[:, c], int(cap[c]))
        if value > best:
            best, best_col = value, int(c)
    return best, best_col


# --------------------------------------------------------------------- conflict clique
def conflict_clique(inst: Instance, items: IntArray) -> IntArray:
    """A greedy clique of pairwise-conflicting items among ``items`` (indices into ``inst``).

    Two items conflict when no bin type allowed for both can hold them together, or when they
    are in one anti-affinity group.
    """
    if len(items) < 2:
        return items[:1]
    d = inst.flat_demand[items]
    cap = inst.flat_capacity
    half = cap.max(axis=0) / 2.0
    large = np.flatnonzero((d > half).any(axis=1))
    anti_members = np.zeros(inst.n_items, dtype=np.bool_)
    for g in inst.anti_affinity:
        anti_members[g] = True
    pool = np.union1d(large, np.flatnonzero(anti_members[items]))
    if len(pool) > MAX_CLIQUE_ITEMS:
        size = (d[pool] / np.maximum(cap.max(axis=0), 1)).max(axis=1)
        pool = pool[np.argsort(-size, kind="stable")[:MAX_CLIQUE_ITEMS]]
    if not len(pool):
        return items[:1]
    conflict = _conflicts(inst, items[pool], items[pool])
    best = _johnson_clique(conflict)
    size = (d[pool] / np.maximum(cap.max(axis=0), 1)).max(axis=1)
    order = np.argsort(-size, kind="stable")
    members: list[int] = []
    alive = np.ones(len(pool), dtype=np.bool_)
    for p in order.tolist():
        if alive[p]:
            members.append(p)
            alive &= conflict[p]
    if len(members) > len(best):
        best = np.asarray(members, dtype=np.int64)
    clique = items[pool[best]]
    # One more item (any size) that conflicts with every clique member.
    rest = np.setdiff1d(items, clique)
    if len(rest) and len(clique):
        extra = _conflicts(inst, rest, clique).all(axis=1)
        if extra.any():
            clique = np.append(clique, rest[np.argmax(extra)])
    return clique


def _johnson_clique(conflict: BoolArray, n_starts: int = 2) -> IntArray:
    """Greedy clique: repeatedly take the vertex of highest degree among the candidates left.

    Johnson, "Approximation algorithms for combinatorial problems", JCSS 9, 1974; the degree
    is recomputed within the shrinking candidate set. The greedy is also restarted from each
    of the ``n_starts`` vertices of highest degree, and the largest clique is kept.
    """
    degree = conflict.sum(axis=1)
    starts = [-1, *np.argsort(-degree, kind="stable")[:n_starts].tolist()]
    best: list[int] = [0] if len(conflict) else []
    for start in starts:
        alive = np.flatnonzero(degree > 0)
        members: list[int] = []
        if start >= 0:
            members.append(start)
            alive = alive[conflict[start, alive]]
        while len(alive):
            sub = conflict[np.ix_(alive, alive)]
            v = int(alive[np.argmax(sub.sum(axis=1))])
            members.append(v)
            alive = alive[conflict[v, alive]]
        if len(members) > len(best):
            best = members
    return np.asarray(best, dtype=np.int64)


def _conflicts(inst: Instance, a: IntArray, b: IntArray) -> BoolArray:
    """bool ``(len(a), len(b))``: item pairs that cannot share a bin."""
    out = np.ones((len(a), len(b)), dtype=np.bool_)
    da, db = inst.flat_demand[a], inst.flat_demand[b]
    step = max(1, 4_000_000 // max(len(b) * da.shape[1], 1))
    for t in range(inst.n_types):
        both = inst.allowed[a, t][:, None] & inst.allowed[b, t][None, :]
        cap = inst.flat_capacity[t]
        for lo in range(0, len(a), step):
            over = ((da[lo : lo + step, None, :] + db[None, :, :]) > cap).any(axis=2)
            out[lo : lo + step] &= over | ~both[lo : lo + step]
    same = a[:, None] == b[None, :]
    out[same] = False
    for g in inst.anti_affinity:
        ina, inb = np.isin(a, g), np.isin(b, g)
        out[np.ix_(ina, inb)] = True
        out[same] = False
    return out


# ------------------------------------------------------------------------ cost program
def min_cost_cover(
    cap: IntArray,
    cost: IntArray,
    avail: IntArray,
    need: IntArray,
    n_min: int,
    time_limit_s: float = 2.0,
    reserve_k: int = 0,
) -> tuple[int, int, IntArray, bool]:
    """Cheapest bin mix whose capacity covers ``need`` per column and counts ≥ ``n_min``.

    With ``reserve_k`` = k > 0 the mix must also keep the N+k reserve: capacity minus the k
    largest bins still covers ``need``. The k largest bins hold at least the largest used
    type once plus the smallest usable type k − 1 times, which is what the program charges
    (exact for one type, a valid relaxation for several).

    Parameters
    ----------
    cap
        int64 ``(n_types, n_columns)``.
    cost
        int64 ``(n_types,)``.
    avail
        int64 ``(n_types,)``: most bins of each type (0 for types not usable).
    need
        int64 ``(n_columns,)``.
    n_min
        Lower bound on the number of bins.

    Returns
    -------
    cost, n_bins, counts, proven
        Optimal (or lower-bounding, when not ``proven``) cost, the bin count of the mix, the mix
        (int64 ``(n_types,)``), and whether the program was solved to optimality. A cost of -1
        means no mix can cover the need.
    """
    usable = avail > 0
    if reserve_k > 0 and usable.any():
        smallest = np.where(usable[:, None], cap, np.iinfo(np.int64).max // 4).min(axis=0)
        need = need + (reserve_k - 1) * smallest
    keep = (need > 0) | (reserve_k > 0)
    cap_k, need_k = cap[:, keep], need[keep]
    if cap_k.shape[1]:
        stacked = np.unique(np.vstack([cap_k, need_k[None, :]]).T, axis=0).T
        cap_k, need_k = stacked[:-1], stacked[-1]
    n_types = cap.shape[0]
    if n_types == 1:
        if reserve_k > 0:
            need_k = need_k + cap_k[0]
        with np.errstate(divide="ignore"):
            per = np.where(cap_k[0] > 0, -(-need_k // np.maximum(cap_k[0], 1)), np.inf)
        n = int(max(n_min, per.max() if len(per) else 0))
        if not np.isfinite(per).all() or n > avail[0]:
            return -1, n, np.array([n]), True
        return int(n * cost[0]), n, np.array([n], dtype=np.int64), True
    model = cp_model.CpModel()
    x = [model.new_int_var(0, int(avail[t]), f"n{t}") for t in range(n_types)]
    used = []
    if reserve_k > 0:
        for t in range(n_types):
            y = model.new_bool_var(f"y{t}")
            model.add(x[t] <= int(avail[t]) * y)
            used.append(y)
    for c in range(cap_k.shape[1]):
        supply = sum(int(cap_k[t, c]) * x[t] for t in range(n_types))
        if reserve_k > 0:
            largest = model.new_int_var(0, int(cap_k[:, c].max()), f"r{c}")
            for t in range(n_types):
                model.add(largest >= int(cap_k[t, c]) * used[t])
            model.add(supply - largest >= int(need_k[c]))
        else:
            model.add(supply >= int(need_k[c]))
    model.add(sum(x) >= n_min)
    model.minimize(sum(int(cost[t]) * x[t] for t in range(n_types)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return -1, n_min, np.zeros(n_types, dtype=np.int64), True
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        counts = np.array([solver.value(v) for v in x], dtype=np.int64)
        bound = int(np.ceil(solver.best_objective_bound - 1e-6))
        return bound, int(counts.sum()), counts, status == cp_model.OPTIMAL
    return 0, n_min, np.zeros(n_types, dtype=np.int64), False


def _fullest_column(volume: IntArray, need: IntArray, cap_max: IntArray) -> int:
    """Among the columns of largest volume bound, the one whose demand fills most bins.

    Ties of the rounded-up bound are broken by the exact ratio demand / capacity, so that
    the column named is the one that binds hardest (e.g. memory at night, not by day).
    """
    if not len(volume):
        return 0
    ratio = np.where(cap_max > 0, need / np.maximum(cap_max, 1), 0.0)
    ratio = np.where(volume == volume.max(), ratio, -1.0)
    return int(np.argmax(ratio))


# -------------------------------------------------------------------------- all bounds
def lower_bound(inst: Instance) -> BoundReport:
    """Lower bounds on bins and objective of ``inst`` (affinity groups already contracted).

    Returns
    -------
    BoundReport
        ``value`` is the objective bound; ``infeasible_reason`` is set when no mix of the
        available bins can cover a zone's demand.
    """
    zones: list[ZoneBound] = []
    total_cost = 0
    total_bins = 0
    reason = ""
    item_floor = 0
    if inst.item_cost is not None and inst.n_items:
        masked = np.where(inst.allowed, inst.item_cost, np.iinfo(np.int64).max // 4)
        item_floor = int(masked.min(axis=1).sum())
    for z in range(inst.n_zones):
        items = np.flatnonzero(inst.zone == z)
        if not len(items):
            continue
        usable = np.asarray(inst.allowed[items].any(axis=0), dtype=np.bool_)
        cap = np.where(usable[:, None], inst.flat_capacity, 0)
        cap_max = cap.max(axis=0)
        d = inst.flat_demand[items]
        volume, l2 = column_bounds(d, cap_max)
        clique = conflict_clique(inst, items)
        anti = max((int(np.isin(g, items).sum()) for g in inst.anti_affinity), default=0)
        pattern, pattern_col = _pattern_bound(d, cap_max, volume)
        n_min = int(max(volume.max(initial=0), l2.max(initial=0), pattern, len(clique), anti, 1))
        need = d.sum(axis=0)
        avail = np.where(usable, inst.n_available, 0)
        cost, _, _, proven = min_cost_cover(
            inst.flat_capacity, inst.cost, avail, need, n_min, reserve_k=inst.ha_spares
        )
        # The bin count bound: the same program with every bin costing 1.
        n_bins, _, _, _ = min_cost_cover(
            inst.flat_capacity,
            np.ones(inst.n_types, dtype=np.int64),
            avail,
            need,
            n_min,
            reserve_k=inst.ha_spares,
        )
        if cost < 0:
            reason = reason or (
                f"zone {inst.zone_names[z]!r}: the available bins cannot hold the zone's "
                f"demand (at least {n_min} bins needed)"
            )
            cost = 0
        zones.append(
            ZoneBound(
                zone=z,
                n_bins=max(n_bins, n_min),
                cost=cost,
                volume_bins=int(volume.max(initial=0)),
                volume_column=_fullest_column(volume, need, cap_max),
                l2_bins=int(l2.max(initial=0)),
                l2_column=int(l2.argmax()) if len(l2) else 0,
                clique_bins=len(clique),
                anti_affinity_bins=anti,
                proven=proven,
                pattern_bins=pattern,
                pattern_column=pattern_col,
            )
        )
        total_cost += cost
        total_bins += max(n_bins, n_min)
    return BoundReport(total_cost + item_floor, total_bins, tuple(zones), reason)
