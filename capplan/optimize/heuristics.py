"""Greedy packings: first-fit / best-fit decreasing and the bin-centric rules of Panigrahy et al.

Item-centric rules (FFD, BFD) sort the items by a *size measure* and put each item in the first
(or the tightest) open bin where it fits in every dimension and every time bucket, opening a
new bin otherwise. Bin-centric rules open one bin at a time and keep adding the remaining item
that scores best against the bin's free capacity: the dot product of item size and free space,
or the smallest L2 norm of the free space left (Panigrahy, Talwar, Uyeda, Wieder, "Heuristics
for Vector Bin Packing", Microsoft Research, 2011; evaluated with many variants by Mommessin,
Erlebach, Shakhlevich, "Classification and evaluation of the algorithms for vector bin
packing", Computers & Operations Research, 2025).

Sizes are normalised per column (dimension × bucket) by the largest capacity any bin type
offers there, optionally weighted by the average normalised demand of the column (the
"average" weights of Panigrahy et al.), so a scarce resource counts more.

Every rule respects the instance's rules: the :class:`Packer` asks each placement rule of
:mod:`capplan.optimize.rules` for its mask of the open bins (allowed types, zones,
anti-affinity, label limits, pinned items) and checks type availability itself. Affinity
groups are merged beforehand (:func:`capplan.optimize.rules.affinity.contract_affinity`).
N+k is met by adding spare bins at the end. The checks per item are vectorised over the open
bins; only the loop over items is Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from capplan.optimize import rules
from capplan.optimize.clock import UNIT_PER_PACK_CELL, UNIT_PER_STEP, Clock, wall_clock
from capplan.optimize.failover import reserve_shortfall, strict_failures
from capplan.optimize.instance import BoolArray, FloatArray, Instance, IntArray, Solution

#: Item-centric size measures.
MEASURES: tuple[str, ...] = ("sum", "avg_sum", "max", "l2", "avg_l2")
#: Bin-centric scores.
BIN_SCORES: tuple[str, ...] = ("dot", "avg_dot", "l2", "avg_l2")


class PackingFailed(Exception):
    """A greedy rule could not place an item (carries the item index and the reason)."""

    def __init__(self, item: int, reason: str) -> None:
        self.item = item
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class HeuristicResult:
    """Outcome of one greedy rule.

    Attributes
    ----------
    name
        Rule name, e.g. ``ffd-avg_sum`` or ``bin-dot``.
    solution
        The packing, or None when the rule failed.
    objective
        Objective value of the packing (None when failed).
    reason
        Why it failed, if it did.
    wall_s
        Seconds spent.
    """

    name: str
    solution: Solution | None
    objective: int | None
    reason: str = ""
    wall_s: float = 0.0


# ---------------------------------------------------------------------------- measures
def normaliser(inst: Instance) -> FloatArray:
    """Largest capacity per column over the bin types, float64 ``(n_columns,)`` (≥ 1)."""
    return np.maximum(inst.flat_capacity.max(axis=0), 1).astype(np.float64)


def column_weights(inst: Instance, items: IntArray | None = None) -> FloatArray:
    """Average normalised demand per column, float64 ``(n_columns,)``, scaled to mean 1."""
    d = inst.flat_demand if items is None else inst.flat_demand[items]
    if not len(d):
        return np.ones(inst.flat_demand.shape[1])
    w = d.mean(axis=0) / normaliser(inst)
    mean = w.mean()
    return w / mean if mean > 0 else np.ones_like(w)


def item_sizes(inst: Instance, measure: str) -> FloatArray:
    """Size of each item under ``measure``, float64 ``(n_items,)``."""
    dn = inst.flat_demand / normaliser(inst)
    if measure == "sum":
        return dn.sum(axis=1)
    if measure == "avg_sum":
        return dn @ column_weights(inst)
    if measure == "max":
        return dn.max(axis=1) + 1e-6 * dn.sum(axis=1)
    if measure == "l2":
        return np.sqrt((dn * dn).sum(axis=1))
    if measure == "avg_l2":
        return np.sqrt((dn * dn) @ column_weights(inst))
    raise ValueError(f"unknown measure {measure!r}; expected one of {list(MEASURES)}")


def type_preference(inst: Instance) -> list[int]:
    """Bin types ordered by estimated cost of packing everything into that type alone."""
    total = inst.flat_demand.sum(axis=0).astype(np.float64)
    estimate = np.empty(inst.n_types)
    for t in range(inst.n_types):
        cap = inst.flat_capacity[t].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total > 0, total / np.where(cap > 0, cap, np.nan), 0.0)
        need = np.nanmax(np.where(np.isnan(ratio), np.inf, ratio)) if len(ratio) else 0.0
        estimate[t] = max(float(inst.cost[t]), 1e-9) * need
        if inst.item_cost is not None:
            estimate[t] += float(inst.item_cost[:, t].sum())
        if not inst.fits_type[:, t].any():
            estimate[t] = np.inf
    return [int(t) for t in np.argsort(estimate, kind="stable")]


# ------------------------------------------------------------------------------ packer
class Packer:
    """Mutable packing state shared by the greedy rules (open bins, loads, rule bookkeeping).

    Parameters
    ----------
    inst
        The instance (affinity already contracted).
    """

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.d = inst.flat_demand
        n_cols = self.d.shape[1]
        spare = (inst.ha_spares + 2) * max(inst.n_zones, 1) * max(inst.n_types, 1)
        self.max_bins = inst.n_items + inst.n_existing + spare + 8
        self.resid = np.zeros((self.max_bins, n_cols), dtype=np.int64)
        self.btype = np.zeros(self.max_bins, dtype=np.int64)
        self.bexist = np.full(self.max_bins, -1, dtype=np.int64)
        self.bzone = np.full(self.max_bins, -1, dtype=np.int64)
        self.nb = 0
        self.assign = np.full(inst.n_items, -1, dtype=np.int64)
        self.open_count = np.zeros(inst.n_types, dtype=np.int64)
        self.existing_open = np.zeros(inst.n_existing, dtype=np.bool_)
        self.trackers = rules.trackers(self)

    # -------------------------------------------------------------- bins
    def open_bin(self, t: int, existing: int = -1, zone: int = -1) -> int:
        """Open a bin of type ``t`` (an existing one if ``existing`` ≥ 0); return its index."""
        if self.nb >= self.max_bins:
            raise PackingFailed(-1, "too many bins opened")
        if existing < 0:
            unopened = np.flatnonzero((self.inst.existing_type == t) & ~self.existing_open)
            if len(unopened):
                existing = int(unopened[0])
        b = self.nb
        self.nb += 1
        self.resid[b] = self.inst.flat_capacity[t]
        self.btype[b] = t
        self.bexist[b] = existing
        self.bzone[b] = zone
        self.open_count[t] += 1
        if existing >= 0:
            self.existing_open[existing] = True
        for tracker in self.trackers:
            tracker.opened(b, t)
        return b

    def can_open(self, t: int) -> bool:
        """True when another bin of type ``t`` may be opened."""
        return bool(self.open_count[t] < self.inst.n_available[t])

    def bin_of_existing(self, e: int) -> int:
        """Index of the open bin that is existing bin ``e``, opening it if needed."""
        if self.existing_open[e]:
            return int(np.flatnonzero(self.bexist[: self.nb] == e)[0])
        return self.open_bin(int(self.inst.existing_type[e]), existing=e)

    # -------------------------------------------------------------- items
    def candidates(self, i: int, upto: int | None = None) -> BoolArray:
        """bool ``(nb,)``: open bins where item ``i`` may go now (capacity and every rule)."""
        nb = self.nb if upto is None else upto
        ok: BoolArray = np.all(self.resid[:nb] >= self.d[i], axis=1)
        for tracker in self.trackers:
            mask = tracker.mask(i, nb)
            if mask is not None:
                ok &= mask
        return ok

    def admits(self, items: IntArray, b: int, slack: IntArray | None = None) -> BoolArray:
        """bool ``(len(items),)``: which of ``items`` may go on open bin ``b`` now.

        ``slack`` (per column) is added to the bin's free capacity: the room a partner with
        negative sizes could make (benchmark files only).
        """
        free = self.resid[b] if slack is None else self.resid[b] + slack
        ok: BoolArray = np.all(self.d[items] <= free, axis=1)
        for tracker in self.trackers:
            mask = tracker.admits(items, b)
            if mask is not None:
                ok &= mask
        return ok

    def rule_mask(self, i: int) -> BoolArray:
        """bool ``(nb,)``: open bins the rules admit item ``i`` to, capacity aside.

        The rules an eviction can satisfy (anti-affinity) are left out too: the ejection
        search evicts the mates instead.
        """
        ok = np.ones(self.nb, dtype=np.bool_)
        for tracker in self.trackers:
            if not tracker.evictable:
                mask = tracker.mask(i, self.nb)
                if mask is not None:
                    ok &= mask
        return ok

    def place(self, i: int, b: int) -> None:
        """Put item ``i`` on open bin ``b`` (no check)."""
        self.assign[i] = b
        self.resid[b] -= self.d[i]
        for tracker in self.trackers:
            tracker.placed(i, b)

    def remove(self, i: int) -> None:
        """Take item ``i`` off its bin (the rules' marks are recomputed)."""
        b = int(self.assign[i])
        self.assign[i] = -1
        self.resid[b] += self.d[i]
        if self.trackers:
            on_b = self.assign == b
            for tracker in self.trackers:
                tracker.removed(i, b, on_b)

    def new_bin_for(self, i: int, prefs: Sequence[int]) -> int:
        """Open the first preferred type that can take item ``i`` alone; raise if none."""
        inst = self.inst
        fits = inst.fits_type[i]
        cur = int(inst.current[i])
        if cur >= 0 and not self.existing_open[cur] and fits[inst.existing_type[cur]]:
            return self.open_bin(int(inst.existing_type[cur]), existing=cur)
        for t in prefs:
            if fits[t] and self.can_open(t):
                return self.open_bin(t)
        if not fits.any():
            raise PackingFailed(i, f"item {inst.item_names[i]!r} fits no allowed bin type")
        raise PackingFailed(
            i, f"item {inst.item_names[i]!r}: every bin type it fits is used up (n_available)"
        )

    def place_pinned(self) -> None:
        """Put every pinned item on its existing bin; raise if they do not fit."""
        inst = self.inst
        for i in np.flatnonzero(inst.pinned >= 0).tolist():
            b = self.bin_of_existing(int(inst.pinned[i]))
            if not self.candidates(i)[b]:
                raise PackingFailed(
                    i,
                    f"pinned item {inst.item_names[i]!r} does not fit on "
                    f"{inst.existing_names[inst.pinned[i]]!r} with the "
                    "items pinned there",
                )
            self.place(i, b)

    @classmethod
    def from_solution(cls, inst: Instance, sol: Solution) -> Packer:
        """A packer holding the packing ``sol`` (its bins opened in order)."""
        pk = cls(inst)
        pk.grow(sol.n_bins + pk.max_bins)
        for b in range(sol.n_bins):
            zone = -1 if sol.bin_zone is None else int(sol.bin_zone[b])
            pk.open_bin(int(sol.bin_type[b]), existing=int(sol.bin_existing[b]), zone=zone)
        for i in range(inst.n_items):
            pk.place(i, int(sol.assign[i]))
        return pk

    def grow(self, max_bins: int) -> None:
        """Let the packer hold up to ``max_bins`` bins (before any item is placed)."""
        if max_bins <= self.max_bins:
            return
        extra = max_bins - self.max_bins
        self.max_bins = max_bins
        self.resid = np.vstack([self.resid, np.zeros((extra, self.resid.shape[1]), dtype=np.int64)])
        self.btype = np.concatenate([self.btype, np.zeros(extra, dtype=np.int64)])
        self.bexist = np.concatenate([self.bexist, np.full(extra, -1, dtype=np.int64)])
        self.bzone = np.concatenate([self.bzone, np.full(extra, -1, dtype=np.int64)])
        for tracker in self.trackers:
            tracker.grown(extra)

    def solution(self) -> Solution:
        """The current packing as a :class:`Solution` (open bins in opening order)."""
        return Solution(
            self.assign.copy(),
            self.btype[: self.nb].copy(),
            self.bexist[: self.nb].copy(),
            self.bzone[: self.nb].copy(),
        )

    # -------------------------------------------------------------- N+k
    def add_ha_spares(self, prefs: Sequence[int]) -> None:
        """Open empty spare bins until the N+k rule holds in every zone."""
        inst = self.inst
        if inst.ha_spares <= 0:
            return
        zone_types = _zone_spare_types(inst, prefs)
        for _ in range(self.max_bins):
            sol = self.solution()
            short = reserve_shortfall(inst, sol, self.bzone[: self.nb])
            if short:
                zone = short[0][0]
            else:
                if inst.ha_policy != "strict":
                    return
                failures, _ = strict_failures(inst, sol, self.bzone[: self.nb])
                if not failures:
                    return
                zone = int(self._zone_of_bin(failures[0][0]))
            for t in zone_types[zone]:
                if self.can_open(t):
                    self.open_bin(t, zone=zone)
                    break
            else:
                raise PackingFailed(
                    -1,
                    f"zone {inst.zone_names[zone]!r}: no bin type left "
                    f"for the N+{inst.ha_spares} spare capacity",
                )
        raise PackingFailed(-1, "N+k spare bins could not be added")

    def _zone_of_bin(self, b: int) -> int:
        on = np.flatnonzero(self.assign == b)
        return int(self.inst.zone[on[0]]) if len(on) else int(max(self.bzone[b], 0))


def add_spares(inst: Instance, sol: Solution) -> Solution:
    """Open spare bins on a packing until the N+k rule holds (no change when it holds).

    Raises
    ------
    PackingFailed
        When no bin type is left for the spares.
    """
    if inst.ha_spares <= 0:
        return sol
    pk = Packer.from_solution(inst, sol)
    pk.add_ha_spares(type_preference(inst))
    return pk.solution()


def _zone_spare_types(inst: Instance, prefs: Sequence[int]) -> list[list[int]]:
    """Per zone, spare types to try: largest normalised capacity first, allowed in the zone."""
    size = (inst.flat_capacity / normaliser(inst)).sum(axis=1)
    out: list[list[int]] = []
    for z in range(inst.n_zones):
        members = inst.zone == z
        usable = (
            inst.allowed[members].any(axis=0)
            if members.any()
            else np.zeros(inst.n_types, dtype=np.bool_)
        )
        order = sorted((t for t in prefs if usable[t]), key=lambda t: -size[t])
        out.append(order)
    return out


# ------------------------------------------------------------------------ item-centric
def pack_items(
    inst: Instance,
    order: IntArray,
    *,
    rule: str = "first",
    prefs: Sequence[int] | None = None,
) -> Solution:
    """Item-centric greedy packing (first fit or best fit) of the items in ``order``.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    order
        Item indices in the order they are placed (pinned items are placed first anyway).
    rule
        ``"first"``: the first open bin that fits; ``"best"``: the open bin left with the least
        normalised free capacity.
    prefs
        Bin types to try, in order, when a new bin must be opened.

    Raises
    ------
    PackingFailed
        When an item fits nowhere.
    """
    prefs = list(prefs) if prefs is not None else type_preference(inst)
    pk = Packer(inst)
    pk.place_pinned()
    norm = 1.0 / normaliser(inst)
    pinned = inst.pinned >= 0
    for i in order.tolist():
        if pinned[i]:
            continue
        ok = pk.candidates(i)
        hit = np.flatnonzero(ok)
        if len(hit):
            if rule == "first":
                b = int(hit[0])
            else:
                slack = (pk.resid[hit] - pk.d[i]) @ norm
                b = int(hit[np.argmin(slack)])
        else:
            b = pk.new_bin_for(i, prefs)
        pk.place(i, b)
    pk.add_ha_spares(prefs)
    return pk.solution()


# ------------------------------------------------------------------------- bin-centric
def pack_bins(
    inst: Instance, score: str = "dot", prefs: Sequence[int] | None = None, pair: bool = False
) -> Solution:
    """Bin-centric greedy packing (Panigrahy et al.'s dot-product and norm-based rules).

    A new bin is opened for the largest remaining item (by weighted normalised sum); then the
    remaining item with the best score that fits is added until none fits.

    Parameters
    ----------
    score
        ``dot`` (maximise size · free space), ``l2`` (minimise the L2 norm of the free space
        left), each with ``avg_`` prefix for columns weighted by the remaining items' average
        normalised demand.
    pair
        After the first item, add the pair of remaining items that fills the bin most (in
        weighted normalised volume) before continuing one item at a time: a one-step
        look-ahead in the spirit of Gupta & Ho's minimum bin slack, which finds the exact
        complements that triplet-like instances are made of.
    """
    if score not in BIN_SCORES:
        raise ValueError(f"unknown score {score!r}; expected one of {list(BIN_SCORES)}")
    prefs = list(prefs) if prefs is not None else type_preference(inst)
    pk = Packer(inst)
    pk.place_pinned()
    d = inst.flat_demand
    norm = 1.0 / normaliser(inst)
    dn = d * norm
    weighted = score.startswith("avg_")
    base = score.removeprefix("avg_")
    remaining = inst.pinned < 0
    has_negative = bool((d < 0).any())
    # Bins opened for pinned items are filled first, then new bins.
    fill_queue = list(range(pk.nb))
    while remaining.any():
        rem_idx = np.flatnonzero(remaining)
        w = column_weights(inst, rem_idx) if weighted else np.ones(d.shape[1])
        if fill_queue:
            b = fill_queue.pop(0)
        else:
            first = int(rem_idx[np.argmax(dn[rem_idx] @ w)])
            b = pk.new_bin_for(first, prefs)
            pk.place(first, b)
            remaining[first] = False
        cand = np.flatnonzero(remaining)
        if pair and len(cand) >= 2:
            slack = -np.minimum(d[cand].min(axis=0), 0) if has_negative else None
            pc = cand[pk.admits(cand, b, slack)]
            duo = _best_pair(dn[pc], pk.resid[b] * norm, w)
            if duo is not None:
                i, j = int(pc[duo[0]]), int(pc[duo[1]])
                mates = any(j in inst.anti_affinity[g] for g in inst.anti_groups_of[i])
                if not mates:
                    for k in (i, j):
                        pk.place(k, b)
                        remaining[k] = False
            cand = cand[remaining[cand]]
        while len(cand):
            cand = cand[pk.admits(cand, b)]
            if not len(cand):
                break
            free = pk.resid[b] * norm
            if base == "dot":
                pick = int(np.argmax((dn[cand] * free) @ w))
            else:
                left = free - dn[cand]
                pick = int(np.argmin((left * left) @ w))
            i = int(cand[pick])
            pk.place(i, b)
            remaining[i] = False
            cand = np.delete(cand, pick)
    pk.add_ha_spares(prefs)
    return pk.solution()


def _best_pair(dn: FloatArray, free: FloatArray, w: FloatArray) -> tuple[int, int] | None:
    """Indices of the pair of rows of ``dn`` that fit ``free`` together and fill it most.

    Rows are scanned by decreasing fill; for each row the first partner that fits (the one
    with the largest fill) is found with one vectorised test, and the scan stops as soon as
    no later row can beat the best pair found.
    """
    m = len(dn)
    if m < 2:
        return None
    fill = dn @ w
    order = np.argsort(-fill, kind="stable")
    d = dn[order]
    f = fill[order]
    best, best_pair = -np.inf, None
    eps = 1e-9
    cols = np.arange(m)
    block = max(1, min(64, int(4e6 // max(m * d.shape[1], 1))))
    for a0 in range(0, m - 1, block):
        if f[a0] + f[a0 + 1] <= best:
            break
        a1 = min(a0 + block, m - 1)
        ok = np.all(d[None, :, :] <= (free + eps) - d[a0:a1, None, :], axis=2)
        ok &= cols[None, :] > np.arange(a0, a1)[:, None]
        has = ok.any(axis=1)
        if not has.any():
            continue
        first = np.argmax(ok, axis=1)
        value = np.where(has, f[a0:a1] + f[first], -np.inf)
        r = int(np.argmax(value))
        if value[r] > best:
            best, best_pair = float(value[r]), (int(order[a0 + r]), int(order[first[r]]))
    return best_pair


# ------------------------------------------------------------------- current placement
def pack_from_current(inst: Instance, max_moves: int | None = None) -> Solution:
    """Start from the current placement, place new items by FFD, then empty light bins.

    Items stay on their current existing bin when they still fit there (largest first);
    the others are placed first fit decreasing. Then, lightest bin first, a bin is emptied
    when all its items fit on other open bins and the move count stays within ``max_moves``
    (default: the instance's migration budget).

    Raises
    ------
    PackingFailed
        When an item fits nowhere.
    """
    budget = inst.migration_budget if max_moves is None else max_moves
    prefs = type_preference(inst)
    pk = Packer(inst)
    pk.place_pinned()
    order = np.argsort(-item_sizes(inst, "avg_sum"), kind="stable")
    free_items: list[int] = []
    for i in order.tolist():
        if inst.pinned[i] >= 0:
            continue
        e = int(inst.current[i])
        if e >= 0:
            b = pk.bin_of_existing(e)
            if pk.candidates(i)[b]:
                pk.place(i, b)
                continue
        free_items.append(i)
    for i in free_items:
        hit = np.flatnonzero(pk.candidates(i))
        pk.place(i, int(hit[0]) if len(hit) else pk.new_bin_for(i, prefs))
    moves = _moves(inst, pk)
    norm = 1.0 / normaliser(inst)
    caps = inst.flat_capacity[pk.btype[: pk.nb]] * norm
    fill = ((caps - pk.resid[: pk.nb] * norm).sum(axis=1)) / np.maximum(caps.sum(axis=1), 1e-9)
    for b in np.argsort(fill, kind="stable").tolist():
        on = np.flatnonzero(pk.assign == b)
        if not len(on) or (inst.pinned[on] >= 0).any():
            continue
        cost = int(inst.move_weight[on][inst.current[on] == pk.bexist[b]].sum())
        if budget is not None and moves + cost > budget:
            continue
        moved: list[int] = []
        for i in on[np.argsort(-inst.flat_demand[on].sum(axis=1), kind="stable")].tolist():
            pk.remove(i)
            ok = pk.candidates(i)
            ok[b] = False
            hit = np.flatnonzero(ok)
            if not len(hit):
                pk.place(i, b)
                break
            pk.place(i, int(hit[0]))
            moved.append(i)
        else:
            moves = _moves(inst, pk)
            continue
        for i in moved:  # undo a partial emptying
            pk.remove(i)
            pk.place(i, b)
        for i in on.tolist():
            if pk.assign[i] != b:
                pk.remove(i)
                pk.place(i, b)
    pk.add_ha_spares(prefs)
    return pk.solution().compact() if inst.ha_spares == 0 else pk.solution()


def _moves(inst: Instance, pk: Packer) -> int:
    """Weighted moves of the packer's placement relative to the current placement."""
    at = pk.bexist[np.maximum(pk.assign, 0)]
    moved = (inst.current >= 0) & (at != inst.current) & (pk.assign >= 0)
    return int(inst.move_weight[moved].sum())


# ------------------------------------------------------------------------ multi-bin
def pack_fixed(
    inst: Instance, bin_types: Sequence[int], order: IntArray, rule: str = "worst"
) -> Solution | None:
    """Place the items in ``order`` on a fixed set of bins (no new bin); None if one fails.

    This is the multi-bin family of Mommessin et al.: with the number of bins fixed (found by
    binary search), each item goes to the feasible bin that the rule prefers: ``worst`` (most
    normalised free capacity left: balances the bins, which suits items large in one
    dimension), ``dot`` (largest dot product of item size and free capacity) or ``best``
    (least free capacity left).
    """
    pk = Packer(inst)
    try:
        pk.place_pinned()
    except PackingFailed:
        return None
    for t in bin_types:
        if pk.open_count[t] >= inst.n_available[t]:
            continue
        pk.open_bin(int(t))
    norm = 1.0 / normaliser(inst)
    dn = inst.flat_demand * norm
    pinned = inst.pinned >= 0
    for i in order.tolist():
        if pinned[i]:
            continue
        hit = np.flatnonzero(pk.candidates(i))
        if not len(hit):
            return None
        free = pk.resid[hit] * norm
        if rule == "worst":
            b = int(hit[np.argmax(free.sum(axis=1))])
        elif rule == "dot":
            b = int(hit[np.argmax(free @ dn[i])])
        else:
            b = int(hit[np.argmin(free.sum(axis=1))])
        pk.place(i, b)
    try:
        pk.add_ha_spares(type_preference(inst))
    except PackingFailed:
        return None
    return pk.solution().compact() if inst.ha_spares == 0 else pk.solution()


def multi_bin_search(
    inst: Instance,
    upper: Solution,
    lower_bins: int,
    rule: str,
    measure: str,
    deadline: float | None = None,
    clock: Clock | None = None,
) -> Solution | None:
    """Binary search on the number of bins with :func:`pack_fixed`; best packing or None.

    Bins are of the types of ``upper`` (the cheapest packing known); the search drops bins of
    its most common type. Returns a packing with fewer bins than ``upper``, or None.
    ``deadline`` is a reading of ``clock`` (default: the wall clock); each trial packing is
    charged to the clock.
    """
    clock = clock or wall_clock()
    order = np.argsort(-item_sizes(inst, measure), kind="stable")
    counts = np.bincount(upper.bin_type, minlength=inst.n_types)
    main = int(np.argmax(counts))
    others = [int(t) for t in upper.bin_type.tolist() if t != main]
    lo = max(lower_bins - len(others), 1)
    hi = int(counts[main]) - 1
    best: Solution | None = None
    while lo <= hi:
        if deadline is not None and clock.past(deadline):
            break
        mid = (lo + hi) // 2
        sol = pack_fixed(inst, [main] * mid + others, order, rule)
        clock.charge(pack_work(inst, mid + len(others)))
        if sol is not None:
            best = sol
            hi = min(mid, int(np.bincount(sol.bin_type, minlength=inst.n_types)[main])) - 1
        else:
            lo = mid + 1
    return best


# ------------------------------------------------------------------------- portfolio
def portfolio(
    inst: Instance,
    *,
    rules: Sequence[str] | None = None,
    deadline: float | None = None,
    on_result: Callable[[HeuristicResult], None] | None = None,
    clock: Clock | None = None,
) -> list[HeuristicResult]:
    """Run several greedy rules and return their results, best (lowest objective) first.

    Parameters
    ----------
    inst
        Instance without affinity groups.
    rules
        Rule names (see :func:`rule_names`); default: all that suit the instance size.
    deadline
        Reading of ``clock`` (default: the wall clock) after which no further rule is
        started (the first rule always runs). Each rule is charged to the clock.
    on_result
        Called after every rule.
    """
    clock = clock or wall_clock()
    names = list(rules) if rules is not None else rule_names(inst)
    results: list[HeuristicResult] = []
    for name in names:
        if deadline is not None and results and clock.past(deadline):
            break
        res = run_rule(inst, name)
        n_bins = res.solution.n_bins if res.solution is not None else inst.n_items
        clock.charge(pack_work(inst, n_bins) * (2.0 if name.startswith(("bin-", "pair-")) else 1.0))
        results.append(res)
        if on_result is not None:
            on_result(res)
    return sorted(results, key=lambda r: (r.objective is None, r.objective or 0))


def pack_work(inst: Instance, n_bins: int) -> float:
    """Work units (:mod:`capplan.optimize.clock`) of one greedy pass over ``n_bins`` bins."""
    cells = inst.n_items * max(n_bins, 1) * inst.flat_demand.shape[1]
    return UNIT_PER_PACK_CELL * cells + UNIT_PER_STEP


def rule_names(inst: Instance) -> list[str]:
    """Rules worth running on ``inst``: item-centric always, bin-centric when it is cheap."""
    names = [f"ffd-{m}" for m in MEASURES] + [f"bfd-{m}" for m in ("avg_sum", "sum", "l2")]
    work = inst.n_items * inst.n_items * inst.flat_demand.shape[1]
    if work <= 4e8:
        names += [f"bin-{s}" for s in BIN_SCORES]
    if work <= 4e8:
        names += ["pair-dot", "pair-avg_dot"]
    if inst.n_types > 1:
        names += [f"ffd-avg_sum@{name}" for name in inst.type_names]
    return names


def run_rule(inst: Instance, name: str) -> HeuristicResult:
    """Run one rule by name (``ffd-MEASURE``, ``bfd-MEASURE``, ``bin-SCORE``, ``...@TYPE``)."""
    start = time.perf_counter()
    base, _, type_first = name.partition("@")
    prefs = type_preference(inst)
    if type_first:
        if type_first not in inst.type_names:
            raise ValueError(f"unknown bin type {type_first!r} in rule {name!r}")
        t = inst.type_names.index(type_first)
        prefs = [t] + [p for p in prefs if p != t]
    kind, _, variant = base.partition("-")
    try:
        if kind in ("ffd", "bfd"):
            if variant not in MEASURES:
                raise ValueError(f"unknown measure {variant!r}; expected one of {list(MEASURES)}")
            order = np.argsort(-item_sizes(inst, variant), kind="stable")
            sol = pack_items(inst, order, rule="first" if kind == "ffd" else "best", prefs=prefs)
        elif kind in ("bin", "pair"):
            sol = pack_bins(inst, variant, prefs, pair=kind == "pair")
        else:
            raise ValueError(f"unknown rule {name!r}")
    except PackingFailed as exc:
        return HeuristicResult(name, None, None, exc.reason, time.perf_counter() - start)
    return HeuristicResult(name, sol, sol.objective(inst), "", time.perf_counter() - start)
