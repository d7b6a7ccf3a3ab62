"""Exact optimum of a tiny packing instance by exhaustive search (a test oracle, not production).

It exists to check the optimizer: the bound it reports must never exceed the optimum found here,
and "optimal" must mean this optimum. It is written from the rules of
:mod:`capplan.optimize.instance` alone and imports nothing of the optimizer, the validator or
the failover checks (only the ``Instance`` and ``Solution`` data classes). It is plain,
exponential Python, meant for at most :data:`MAX_ITEMS` items and a few bin types.

Rules, as understood here
-------------------------
- Every item sits on one open bin. A bin of type t holds a set of items when, in every dimension
  and bucket, their summed demand is ≤ ``capacity[t]``; an item only goes on ``allowed`` types.
- A bin serves one zone; ``anti_affinity`` members sit on pairwise distinct bins; ``affinity``
  members on one bin; a bin of type t carries at most ``label_limit[t]`` distinct labels ≥ 0
  (-1: no limit).
- At most ``n_available[t]`` open bins of type t, empty (spare) bins included.
- Cost: ``cost[t]`` per open bin, empty or not, plus ``item_cost[i, t]`` for the type of the
  bin of item i.
- N+k with k = ``ha_spares``, in every zone that holds items, over the zone's open bins of
  types some item of the zone may use (empty spares included; a bin of a type no item of the
  zone may use cannot take over its load, so it does not count and is never opened as a
  spare here):

  - ``reserve``: the zone has more than k bins and, in every column (dimension × bucket), the
    capacity of its bins minus the k largest of them (per column) covers the zone's demand.
  - ``strict``: the reserve holds, and for every set of k bins of the zone, the items of those
    bins (item by item: an affinity group may be split) can be re-placed on the zone's
    surviving bins within what those leave free in every column, on allowed types, and never
    on a survivor that holds a member of an anti-affinity group of the moved item. As in
    ``failover.strict_failures``, labels, affinity and anti-affinity *among the moved items*
    are not required of the re-placement. The re-placement is searched exhaustively
    (``failover`` uses first-fit decreasing, which may reject a packing accepted here). The
    reserve is implied by the strict rule; it is checked first because it is cheap.

Not supported (:class:`Unsupported` is raised): pinned items, a migration budget, negative
demand, more than :data:`MAX_ITEMS` items. Existing bins are ordinary bins of their type here
(they matter only for pins and moves).

Method
------
Affinity groups are merged into units. Units, ordered by zone and then by decreasing size, are
put into blocks in restricted-growth order (a unit joins an earlier block of its zone or opens
the next block), so every set partition is produced once. A block keeps the set of bin types
it fits on and its cheapest cost over them; a branch is cut when the summed block costs reach
the best cost found. At a leaf the type of every block is chosen (cheapest first, cut by cost,
within ``n_available``), then spare bins are added per zone as multisets of types (cut by
cost). Adding a bin never breaks the reserve nor the strict rule, so a branch of the spare
search ends at the first multiset that passes. Capacity tests use packed integers: all
columns of a vector in one Python int, a guard bit per field flagging an overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import ceil

import numpy as np

from capplan.optimize.instance import Instance, Solution

#: Most items accepted (the search is exponential in the number of items).
MAX_ITEMS = 10


class Unsupported(ValueError):
    """The instance uses a rule the reference search does not implement."""


@dataclass(frozen=True, eq=False)
class ExactResult:
    """The optimum and a packing that reaches it.

    Attributes
    ----------
    objective
        Optimal cost (objective units).
    solution
        An optimal packing; spare bins are open and empty, ``bin_zone`` gives every bin's zone.
    n_nodes
        Search nodes visited.
    """

    objective: int
    solution: Solution
    n_nodes: int


def exact_optimum(inst: Instance) -> int | None:
    """Optimal cost of ``inst``, or None when no packing satisfies every rule."""
    res = exact_solve(inst)
    return None if res is None else res.objective


def exact_solve(inst: Instance) -> ExactResult | None:
    """Optimal cost and an optimal packing of ``inst``; None when it is infeasible.

    Raises
    ------
    Unsupported
        For pinned items, a migration budget, negative demand or too many items.
    """
    return _Search(inst).run()


_INF = 1 << 62


def _bits(mask: int) -> list[int]:
    return [t for t in range(mask.bit_length()) if mask >> t & 1]


class _Search:
    """State of one exhaustive search (see the module docstring for the method)."""

    def __init__(self, inst: Instance) -> None:
        n = inst.n_items
        if n > MAX_ITEMS:
            raise Unsupported(f"{n} items; the reference search takes at most {MAX_ITEMS}")
        if n and (inst.pinned >= 0).any():
            raise Unsupported("pinned items are not supported")
        if inst.migration_budget is not None:
            raise Unsupported("a migration budget is not supported")
        if (inst.demand < 0).any():
            raise Unsupported("negative demand is not supported")
        self.inst = inst
        self.n_items = n
        n_types = inst.n_types
        self.n_types = n_types
        self.k = int(inst.ha_spares)
        self.strict = inst.ha_policy == "strict"
        self.cost = [int(c) for c in inst.cost.tolist()]
        self.avail = [int(a) for a in inst.n_available.tolist()]
        self.limit = [int(x) for x in inst.label_limit.tolist()]
        item_cols: list[list[int]] = [[int(x) for x in row] for row in inst.flat_demand.tolist()]
        self.cap_cols: list[list[int]] = [
            [int(x) for x in row] for row in inst.flat_capacity.tolist()
        ]
        self.n_cols = len(self.cap_cols[0]) if n_types else 0
        # Packed vectors: field c holds column c in bits [c*w, (c+1)*w); the top bit of each
        # field is a guard that stays set in (cap + guard) - load exactly when load <= cap.
        top = max(
            [sum(max(row, default=0) for row in item_cols)]
            + [max(row, default=0) for row in self.cap_cols]
            + [1]
        )
        self.w = top.bit_length() + 2
        self.guard = sum(1 << (c * self.w + self.w - 1) for c in range(self.n_cols))
        self.cap_packed = [self._pack(row) for row in self.cap_cols]
        self.cap_guard = [p + self.guard for p in self.cap_packed]
        self.item_packed = [self._pack(row) for row in item_cols]
        self.item_allowed = [
            sum(1 << t for t in range(n_types) if inst.allowed[i, t]) for i in range(n)
        ]
        self.item_anti = [0] * n
        for g, members in enumerate(inst.anti_affinity):
            for i in members.tolist():
                self.item_anti[int(i)] |= 1 << g
        self.item_size = [
            sum(row[c] / max(max(cap[c] for cap in self.cap_cols), 1) for c in range(self.n_cols))
            for row in item_cols
        ]
        self.bits = [_bits(m) for m in range(1 << n_types)]
        self.infeasible = False
        self._build_units(inst, item_cols)
        self.nodes = 0
        self.best = _INF
        self.best_blocks: list[tuple[int, int, list[int]]] = []  # (type, zone, units)
        self.best_spares: list[tuple[int, int]] = []  # (type, zone)
        self.ok_cache: dict[tuple[object, ...], bool] = {}
        self.replace_cache: dict[tuple[object, ...], bool] = {}
        self.reserve_cache: dict[tuple[object, ...], tuple[bool, int, tuple[int, ...]]] = {}

    def _pack(self, row: list[int]) -> int:
        out = 0
        for c, x in enumerate(row):
            out |= int(x) << (c * self.w)
        return out

    def _unpack(self, value: int) -> list[int]:
        mask = (1 << self.w) - 1
        return [(value >> (c * self.w)) & mask for c in range(self.n_cols)]

    def _build_units(self, inst: Instance, item_cols: list[list[int]]) -> None:
        n = self.n_items
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for members in inst.affinity:
            ms = [int(i) for i in members.tolist()]
            for m in ms[1:]:
                ra, rb = find(ms[0]), find(m)
                if ra != rb:
                    parent[rb] = ra
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(find(i), []).append(i)
        label_index: dict[int, int] = {}
        for lab in inst.label.tolist():
            if lab >= 0 and lab not in label_index:
                label_index[int(lab)] = len(label_index)
        raw = []
        for items in groups.values():
            zones = {int(inst.zone[i]) for i in items}
            anti = 0
            for i in items:
                if anti & self.item_anti[i]:
                    self.infeasible = True  # two members of one anti-affinity group share it
                anti |= self.item_anti[i]
            if len(zones) > 1:
                self.infeasible = True
            allowed = (1 << self.n_types) - 1
            for i in items:
                allowed &= self.item_allowed[i]
            labels = 0
            for i in items:
                if inst.label[i] >= 0:
                    labels |= 1 << label_index[int(inst.label[i])]
            item_cost = [0] * self.n_types
            if inst.item_cost is not None:
                for t in range(self.n_types):
                    item_cost[t] = int(sum(int(inst.item_cost[i, t]) for i in items))
            dem = sum(self.item_packed[i] for i in items)
            n_lab = bin(labels).count("1")
            alone = 0
            for t in self.bits[allowed]:
                if (self.cap_guard[t] - dem) & self.guard == self.guard and (
                    self.limit[t] < 0 or n_lab <= self.limit[t]
                ):
                    alone |= 1 << t
            if not alone:
                self.infeasible = True
            size = sum(self.item_size[i] for i in items)
            raw.append((min(zones), -size, items, dem, allowed, labels, anti, item_cost, alone))
        raw.sort(key=lambda r: (r[0], r[1], r[2][0]))
        self.n_units = len(raw)
        self.u_zone = [r[0] for r in raw]
        self.u_items = [r[2] for r in raw]
        self.u_dem = [r[3] for r in raw]
        self.u_allowed = [r[4] for r in raw]
        self.u_lab = [r[5] for r in raw]
        self.u_anti = [r[6] for r in raw]
        self.u_icost = [r[7] for r in raw]
        self.u_alone = [r[8] for r in raw]
        self.zone_dem: dict[int, list[int]] = {}
        for u in range(self.n_units):
            z = self.u_zone[u]
            self.zone_dem[z] = [
                a + b
                for a, b in zip(
                    self.zone_dem.get(z, [0] * self.n_cols),
                    self._unpack(self.u_dem[u]),
                    strict=True,
                )
            ]
        self.zones = sorted(self.zone_dem)
        # Types some item of the zone may use: only bins of these count for the zone's N+k
        # (a host no VM of the zone may run on cannot take them over after a failure).
        self.zone_types: dict[int, int] = {}
        for i in range(n):
            z = int(inst.zone[i])
            self.zone_types[z] = self.zone_types.get(z, 0) | self.item_allowed[i]
        # Cheapest cost per unit of capacity in each column (for the spare bound).
        self.ratio: list[Fraction | None] = []
        for c in range(self.n_cols):
            rs = [
                Fraction(self.cost[t], self.cap_cols[t][c])
                for t in range(self.n_types)
                if self.cap_cols[t][c] > 0 and self.avail[t] > 0
            ]
            self.ratio.append(min(rs) if rs else None)
        self.min_cost = min(
            (self.cost[t] for t in range(self.n_types) if self.avail[t] > 0), default=_INF
        )

    # ------------------------------------------------------------------ driver
    def run(self) -> ExactResult | None:
        if self.infeasible:
            return None
        # Blocks: parallel stacks.
        self.b_zone: list[int] = []
        self.b_load: list[int] = []
        self.b_mask: list[int] = []
        self.b_lab: list[int] = []
        self.b_anti: list[int] = []
        self.b_tc: list[list[int]] = []
        self.b_min: list[int] = []
        self.b_units: list[list[int]] = []
        self.max_blocks = min(sum(self.avail), self.n_units)
        self._place(0, 0)
        if self.best >= _INF:
            return None
        return ExactResult(self.best, self._witness(), self.nodes)

    def _place(self, u: int, cur: int) -> None:
        self.nodes += 1
        if u == self.n_units:
            self._leaf(cur)
            return
        z = self.u_zone[u]
        dem = self.u_dem[u]
        allowed = self.u_allowed[u]
        ulab = self.u_lab[u]
        anti = self.u_anti[u]
        icost = self.u_icost[u]
        guard = self.guard
        cap_guard = self.cap_guard
        limit = self.limit
        for b in range(len(self.b_zone)):
            if self.b_zone[b] != z or self.b_anti[b] & anti:
                continue
            load = self.b_load[b] + dem
            lab = self.b_lab[b] | ulab
            n_lab = bin(lab).count("1")
            tc = self.b_tc[b]
            new_mask = 0
            new_min = _INF
            for t in self.bits[self.b_mask[b] & allowed]:
                if (cap_guard[t] - load) & guard == guard and (limit[t] < 0 or n_lab <= limit[t]):
                    new_mask |= 1 << t
                    c = tc[t] + icost[t]
                    if c < new_min:
                        new_min = c
            if not new_mask:
                continue
            new_cur = cur - self.b_min[b] + new_min
            if new_cur >= self.best:
                continue
            saved = (
                self.b_load[b],
                self.b_lab[b],
                self.b_mask[b],
                self.b_anti[b],
                tc,
                self.b_min[b],
            )
            self.b_load[b] = load
            self.b_lab[b] = lab
            self.b_mask[b] = new_mask
            self.b_anti[b] |= anti
            self.b_tc[b] = [tc[t] + icost[t] for t in range(self.n_types)]
            self.b_min[b] = new_min
            self.b_units[b].append(u)
            self._place(u + 1, new_cur)
            self.b_units[b].pop()
            (
                self.b_load[b],
                self.b_lab[b],
                self.b_mask[b],
                self.b_anti[b],
                self.b_tc[b],
                self.b_min[b],
            ) = saved
        if len(self.b_zone) >= self.max_blocks:
            return
        mask = self.u_alone[u]
        tc = [self.cost[t] + icost[t] for t in range(self.n_types)]
        new_min = min(tc[t] for t in self.bits[mask])
        if cur + new_min >= self.best:
            return
        self.b_zone.append(z)
        self.b_load.append(dem)
        self.b_lab.append(ulab)
        self.b_mask.append(mask)
        self.b_anti.append(anti)
        self.b_tc.append(tc)
        self.b_min.append(new_min)
        self.b_units.append([u])
        self._place(u + 1, cur + new_min)
        for stack in (
            self.b_zone,
            self.b_load,
            self.b_lab,
            self.b_mask,
            self.b_anti,
            self.b_tc,
            self.b_min,
            self.b_units,
        ):
            stack.pop()

    # ------------------------------------------------------------------ leaf: types, spares
    def _leaf(self, cur: int) -> None:
        nb = len(self.b_zone)
        self.suffix = [0] * (nb + 1)
        for j in range(nb - 1, -1, -1):
            self.suffix[j] = self.suffix[j + 1] + self.b_min[j]
        self.count = [0] * self.n_types
        self.types = [0] * nb
        if self.k > 0:
            # Before any type is chosen: each block may offer at most its largest capacity.
            bound = 0
            for z in self.zones:
                caps = [
                    [
                        max(self.cap_cols[t][c] for t in self.bits[self.b_mask[j]])
                        for c in range(self.n_cols)
                    ]
                    for j in range(nb)
                    if self.b_zone[j] == z
                ]
                bound += self._spare_bound(z, caps)
            if cur + bound >= self.best:
                return
        self._choose_types(0, 0)

    def _spare_bound(self, z: int, caps: list[list[int]]) -> int:
        """Lower bound on the cost of the spares zone z needs next to bins of ``caps``.

        The spares' capacity must make up, in every column, for the zone's demand minus what
        the bins other than the k largest offer; with per-column capacities at most ``caps``
        (``caps`` may over-state a bin) the bound stays valid.
        """
        k = self.k
        bound = max(0, k + 1 - len(caps)) * (self.min_cost if self.min_cost < _INF else 0)
        m = len(caps) - k
        dem = self.zone_dem[z]
        for c in range(self.n_cols):
            kept = sum(sorted(row[c] for row in caps)[:m]) if m > 0 else 0
            extra = dem[c] - kept
            if extra > 0:
                ratio = self.ratio[c]
                if ratio is None:
                    return _INF
                bound = max(bound, ceil(extra * ratio))
        return bound

    def _choose_types(self, j: int, cost: int) -> None:
        if cost + self.suffix[j] >= self.best:
            return
        if j == len(self.b_zone):
            self._spares_stage(cost)
            return
        tc = self.b_tc[j]
        for t in sorted(self.bits[self.b_mask[j]], key=lambda t: tc[t]):
            if self.count[t] >= self.avail[t]:
                continue
            self.count[t] += 1
            self.types[j] = t
            self._choose_types(j + 1, cost + tc[t])
            self.count[t] -= 1

    def _spares_stage(self, cost: int) -> None:
        if self.k <= 0 or not self.zones:
            self._record(cost, [])
            return
        # The cheapest spares for the reserve alone, per zone (cached on the zone's block
        # types): exact for the reserve policy, a lower bound for the strict one.
        left = tuple(a - c for a, c in zip(self.avail, self.count, strict=True))
        per_zone: list[tuple[int, tuple[int, ...]]] = []
        total = 0
        for z in self.zones:
            types = tuple(
                sorted(self.types[j] for j in range(len(self.b_zone)) if self.b_zone[j] == z)
            )
            found = self._reserve_spares(z, types, left, self.best - cost - total)
            if found is None:
                return
            per_zone.append(found)
            total += found[0]
        if not self.strict:
            used = [0] * self.n_types
            for _, spares in per_zone:
                for t in spares:
                    used[t] += 1
            if all(u <= a for u, a in zip(used, left, strict=True)):
                self._record(
                    cost + total,
                    [
                        (t, z)
                        for z, (_, spares) in zip(self.zones, per_zone, strict=True)
                        for t in spares
                    ],
                )
                return
        # Zone bins: (type, load, items) of every block.
        self.zone_bins: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
        for j in range(len(self.b_zone)):
            items = tuple(sorted(i for u in self.b_units[j] for i in self.u_items[u]))
            self.zone_bins.setdefault(self.b_zone[j], []).append(
                (self.types[j], self.b_load[j], items)
            )
        self.zone_lb = [value for value, _ in per_zone]
        self.rest_lb = [sum(self.zone_lb[zi + 1 :]) for zi in range(len(self.zones))]
        self.spares: list[tuple[int, int]] = []
        self._add_spares(0, 0, cost, 0)

    def _reserve_spares(
        self, z: int, types: tuple[int, ...], left: tuple[int, ...], budget: int
    ) -> tuple[int, tuple[int, ...]] | None:
        """Cheapest spare types making the reserve of zone z hold next to bins of ``types``.

        ``left`` bounds the spares per type. None when every such set costs ``budget`` or
        more. Results are cached: an exact answer, or "at least this budget".
        """
        key = (z, types, left)
        hit = self.reserve_cache.get(key)
        if hit is not None:
            exact, value, spares = hit
            if exact:
                return (value, spares) if value < budget else None
            if budget <= value:
                return None
        caps = [self.cap_cols[t] for t in types]
        dem = self.zone_dem[z]
        k = self.k
        best_cost = budget
        best_spares: tuple[int, ...] | None = None
        chosen: list[int] = []

        def holds() -> bool:
            n = len(caps) + len(chosen)
            if n <= k:
                return False
            for c in range(self.n_cols):
                col = sorted([row[c] for row in caps] + [self.cap_cols[t][c] for t in chosen])
                if sum(col[: n - k]) < dem[c]:
                    return False
            return True

        def rec(start: int, spent: int) -> None:
            nonlocal best_cost, best_spares
            if holds():
                if spent < best_cost:
                    best_cost, best_spares = spent, tuple(chosen)
                return
            for t in range(start, self.n_types):
                if not self.zone_types.get(z, 0) >> t & 1:
                    continue
                if chosen.count(t) >= left[t] or spent + self.cost[t] >= best_cost:
                    continue
                chosen.append(t)
                rec(t, spent + self.cost[t])
                chosen.pop()

        rec(0, 0)
        if best_spares is None:
            self.reserve_cache[key] = (False, budget, ())
            return None
        self.reserve_cache[key] = (True, best_cost, best_spares)
        return best_cost, best_spares

    def _add_spares(self, zi: int, start: int, cost: int, spent: int) -> None:
        """Spares of zone ``zones[zi]`` from type ``start`` on; ``spent`` already on them."""
        if cost + max(self.zone_lb[zi] - spent, 0) + self.rest_lb[zi] >= self.best:
            return
        z = self.zones[zi]
        mine = [t for t, zz in self.spares if zz == z]
        if self._zone_ok(z, mine):
            if zi + 1 == len(self.zones):
                self._record(cost, list(self.spares))
            else:
                self._add_spares(zi + 1, 0, cost, 0)
            return
        for t in range(start, self.n_types):
            if not self.zone_types.get(z, 0) >> t & 1:
                continue
            if self.count[t] >= self.avail[t] or cost + self.cost[t] >= self.best:
                continue
            self.count[t] += 1
            self.spares.append((t, z))
            self._add_spares(zi, t, cost + self.cost[t], spent + self.cost[t])
            self.spares.pop()
            self.count[t] -= 1

    def _record(self, cost: int, spares: list[tuple[int, int]]) -> None:
        if cost >= self.best:
            return
        self.best = cost
        self.best_blocks = [
            (self.types[j], self.b_zone[j], list(self.b_units[j])) for j in range(len(self.b_zone))
        ]
        self.best_spares = spares

    # ------------------------------------------------------------------ N+k rules
    def _zone_ok(self, z: int, spares: list[int]) -> bool:
        bins = self.zone_bins.get(z, [])
        key = (z, tuple(sorted((t, items) for t, _, items in bins)), tuple(sorted(spares)))
        hit = self.ok_cache.get(key)
        if hit is not None:
            return hit
        all_bins = list(bins) + [(t, 0, ()) for t in spares]
        ok = self._reserve_ok(z, all_bins) and (not self.strict or self._strict_ok(all_bins))
        self.ok_cache[key] = ok
        return ok

    def _reserve_ok(self, z: int, bins: list[tuple[int, int, tuple[int, ...]]]) -> bool:
        k = self.k
        if len(bins) <= k:
            return False
        dem = self.zone_dem[z]
        for c in range(self.n_cols):
            caps = sorted((self.cap_cols[t][c] for t, _, _ in bins), reverse=True)
            if sum(caps[k:]) < dem[c]:
                return False
        return True

    def _strict_ok(self, bins: list[tuple[int, int, tuple[int, ...]]]) -> bool:
        k = self.k
        occupied = []
        for _, _, items in bins:
            occ = 0
            for i in items:
                occ |= self.item_anti[i]
            occupied.append(occ)
        free = [self.cap_packed[t] - load for t, load, _ in bins]
        for failed in combinations(range(len(bins)), k):
            moved = [i for b in failed for i in bins[b][2]]
            if not moved:
                continue
            survivors = [b for b in range(len(bins)) if b not in failed]
            if not self._replace(moved, [(bins[b][0], free[b], occupied[b]) for b in survivors]):
                return False
        return True

    def _replace(self, moved: list[int], survivors: list[tuple[int, int, int]]) -> bool:
        """True when the moved items fit on the survivors ``(type, free, anti-occupancy)``."""
        key = (tuple(sorted(moved)), tuple(sorted(survivors)))
        hit = self.replace_cache.get(key)
        if hit is not None:
            return hit
        order = sorted(moved, key=lambda i: -self.item_size[i])
        free = [f for _, f, _ in survivors]
        kinds = [(t, occ) for t, _, occ in survivors]
        guard = self.guard

        def rec(j: int) -> bool:
            if j == len(order):
                return True
            i = order[j]
            d = self.item_packed[i]
            allowed = self.item_allowed[i]
            anti = self.item_anti[i]
            seen = set()
            for s, (t, occ) in enumerate(kinds):
                if not allowed >> t & 1 or anti & occ:
                    continue
                f = free[s]
                sig = (t, occ, f)
                if sig in seen:
                    continue
                seen.add(sig)
                if ((f + guard) - d) & guard != guard:
                    continue
                free[s] = f - d
                if rec(j + 1):
                    free[s] = f
                    return True
                free[s] = f
            return False

        ok = rec(0)
        self.replace_cache[key] = ok
        return ok

    # ------------------------------------------------------------------ witness
    def _witness(self) -> Solution:
        assign = np.full(self.n_items, -1, dtype=np.int64)
        types: list[int] = []
        zones: list[int] = []
        for b, (t, z, units) in enumerate(self.best_blocks):
            for u in units:
                for i in self.u_items[u]:
                    assign[i] = b
            types.append(t)
            zones.append(z)
        for t, z in self.best_spares:
            types.append(t)
            zones.append(z)
        n_bins = len(types)
        return Solution(
            assign,
            np.asarray(types, dtype=np.int64),
            np.full(n_bins, -1, dtype=np.int64),
            np.asarray(zones, dtype=np.int64),
        )
