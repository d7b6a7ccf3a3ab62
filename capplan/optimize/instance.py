"""The prepared, integer-scaled packing instance and its solution.

Everything the solvers need is computed here once, before any model is built [CP-SAT Primer:
no data preparation inside model-building code]. Demand is integer per item, dimension and time
bucket; capacity is integer per bin type and dimension (the same in every bucket). A bin may
hold a set of items when, in every dimension and every bucket, their summed demand stays within
the bin type's capacity, and every rule holds.

Rules carried by an instance
----------------------------
Each rule's derivation, CP-SAT constraints, heuristic mask and check live in its own module of
:mod:`capplan.optimize.rules`.

- ``allowed``: which bin types each item may use (mode, OS and legacy-guest restrictions).
- ``zone``: a bin serves one zone (security zone, or OS family in container mode).
- ``anti_affinity``: groups whose members must sit on distinct bins.
- ``affinity``: groups whose members must share one bin.
- ``label`` / ``label_limit``: at most ``label_limit[t]`` distinct labels (VLANs) per bin of type t.
- ``existing_type`` / ``pinned`` / ``current`` / ``migration_budget``: bins that exist already,
  items fixed to one of them, the current placement and how many moves are allowed.
- ``ha_spares`` / ``ha_policy``: N+k high availability, as an aggregate reserve of the k largest
  used bins (``"reserve"``, the percentage-reservation idea of vSphere admission control) or as a
  strict per-bin failover check (``"strict"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from capplan.errors import SolverError

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

HA_POLICIES: tuple[str, ...] = ("reserve", "strict")


@dataclass(frozen=True, eq=False)
class Instance:
    """A multi-dimensional, time-bucketed bin packing instance with placement rules.

    Attributes
    ----------
    demand
        int64 ``(n_items, n_dims, n_buckets)``: what each item needs of each dimension in each
        bucket, in the integer unit of that dimension. Consolidation instances are never
        negative; benchmark files may hold a few negative sizes, which every solver and the
        validator accept (a negative size frees capacity) and the bounds handle soundly.
    capacity
        int64 ``(n_types, n_dims)``, ≥ 0: what a bin of each type offers in every bucket.
    cost
        int64 ``(n_types,)``, ≥ 0: objective units charged for each open bin of the type.
    n_available
        int64 ``(n_types,)``: most bins of each type that may be open (existing ones included).
    item_names, type_names, dim_names, bucket_names
        Labels for reports and explanations.
    allowed
        bool ``(n_items, n_types)``: item may be placed on a bin of the type.
    zone
        int64 ``(n_items,)`` in ``[0, len(zone_names))``: a bin holds items of one zone only.
    zone_names
        Zone labels.
    anti_affinity
        Groups (int64 arrays of item indices) whose members must be on pairwise distinct bins.
    affinity
        Groups whose members must all be on the same bin.
    label
        int64 ``(n_items,)``: a label (VLAN index) per item, -1 for none.
    label_limit
        int64 ``(n_types,)``: most distinct labels on one bin of the type, -1 for no limit.
    existing_type
        int64 ``(n_existing,)``: type of each bin that exists already (owned hosts).
    existing_names
        Names of the existing bins.
    pinned
        int64 ``(n_items,)``: existing bin the item must stay on, -1 for free items.
    current
        int64 ``(n_items,)``: existing bin the item is on now, -1 when new or unknown.
    move_weight
        int64 ``(n_items,)``: moves counted when the item leaves ``current`` (1 per VM; more for
        items that stand for a contracted affinity group).
    migration_budget
        Most moves (weighted) allowed relative to ``current``; None for no limit.
    ha_spares
        k of N+k: number of simultaneous bin failures the plan must absorb (per zone).
    ha_policy
        ``"reserve"`` (aggregate capacity minus the k largest used bins covers the demand in
        every dimension and bucket) or ``"strict"`` (the items of any k failed bins can be
        re-placed on the survivors).
    item_cost
        int64 ``(n_items, n_types)`` added to the objective for the item's bin type, or None.
    objective_unit, objective_scale
        What one objective unit is, and its value in that unit (1 unit = ``objective_scale``).
    dim_scale
        float64 ``(n_dims,)``: value of one integer demand unit in the dimension's report unit.
    dim_units
        Report unit of each dimension (``"mhz"``, ``"mib"``, ``"vcpus"``...).
    """

    demand: IntArray
    capacity: IntArray
    cost: IntArray
    n_available: IntArray
    item_names: tuple[str, ...]
    type_names: tuple[str, ...]
    dim_names: tuple[str, ...]
    bucket_names: tuple[str, ...]
    allowed: BoolArray
    zone: IntArray
    zone_names: tuple[str, ...]
    anti_affinity: tuple[IntArray, ...]
    affinity: tuple[IntArray, ...]
    label: IntArray
    label_limit: IntArray
    existing_type: IntArray
    existing_names: tuple[str, ...]
    pinned: IntArray
    current: IntArray
    move_weight: IntArray
    migration_budget: int | None
    ha_spares: int
    ha_policy: str
    item_cost: IntArray | None
    objective_unit: str
    objective_scale: float
    dim_scale: FloatArray
    dim_units: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise SolverError("invalid packing instance: " + "; ".join(problems))

    # ----------------------------------------------------------------- sizes
    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.demand.shape[0])

    @property
    def n_dims(self) -> int:
        """Number of dimensions (resources)."""
        return int(self.demand.shape[1])

    @property
    def n_buckets(self) -> int:
        """Number of time buckets."""
        return int(self.demand.shape[2])

    @property
    def n_types(self) -> int:
        """Number of bin types."""
        return int(self.capacity.shape[0])

    @property
    def n_existing(self) -> int:
        """Number of bins that exist already."""
        return int(self.existing_type.shape[0])

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return len(self.zone_names)

    # ------------------------------------------------------- flat column view
    @cached_property
    def flat_demand(self) -> IntArray:
        """Demand as int64 ``(n_items, n_dims * n_buckets)``; column ``d * n_buckets + t``."""
        return np.ascontiguousarray(self.demand.reshape(self.n_items, -1))

    @cached_property
    def flat_capacity(self) -> IntArray:
        """Capacity as int64 ``(n_types, n_dims * n_buckets)``, matching :attr:`flat_demand`."""
        return np.repeat(self.capacity, self.n_buckets, axis=1)

    @cached_property
    def anti_groups_of(self) -> tuple[tuple[int, ...], ...]:
        """For each item, the indices of the anti-affinity groups it belongs to."""
        groups: list[list[int]] = [[] for _ in range(self.n_items)]
        for g, members in enumerate(self.anti_affinity):
            for i in members.tolist():
                groups[i].append(g)
        return tuple(tuple(g) for g in groups)

    @cached_property
    def fits_alone(self) -> BoolArray:
        """bool ``(n_items, n_types)``: alone within the type's capacity (allowed or not)."""
        fit = np.ones((self.n_items, self.n_types), dtype=np.bool_)
        for t in range(self.n_types):
            fit[:, t] = np.all(self.flat_demand <= self.flat_capacity[t], axis=1)
        return fit

    @cached_property
    def fits_type(self) -> BoolArray:
        """bool ``(n_items, n_types)``: allowed and alone within the type's capacity."""
        return self.fits_alone & self.allowed

    def column_name(self, column: int) -> tuple[str, str]:
        """Return ``(dimension, bucket)`` names of a flat column index."""
        d, t = divmod(int(column), self.n_buckets)
        return self.dim_names[d], self.bucket_names[t]


@dataclass(frozen=True, eq=False)
class Solution:
    """A packing: the open bins and the bin of every item.

    Attributes
    ----------
    assign
        int64 ``(n_items,)``: index of each item's bin in ``[0, n_bins)``.
    bin_type
        int64 ``(n_bins,)``: type of each open bin. Every open bin is paid for, empty or not
        (an empty open bin is an HA spare).
    bin_existing
        int64 ``(n_bins,)``: index of the existing bin each open bin is, or -1 for a new bin.
    bin_zone
        int64 ``(n_bins,)`` or None: zone each bin serves, -1 where it follows from the bin's
        items. It matters only for empty (spare) bins in instances with several zones.
    """

    assign: IntArray
    bin_type: IntArray
    bin_existing: IntArray
    bin_zone: IntArray | None = None

    @property
    def n_bins(self) -> int:
        """Number of open bins."""
        return int(self.bin_type.shape[0])

    def objective(self, inst: Instance) -> int:
        """Objective value: bin costs plus item costs, in objective units."""
        value = int(inst.cost[self.bin_type].sum())
        if inst.item_cost is not None and inst.n_items:
            types = self.bin_type[self.assign]
            value += int(inst.item_cost[np.arange(inst.n_items), types].sum())
        return value

    def loads(self, inst: Instance) -> IntArray:
        """Summed demand per bin, int64 ``(n_bins, n_dims * n_buckets)``."""
        out = np.zeros((self.n_bins, inst.flat_demand.shape[1]), dtype=np.int64)
        np.add.at(out, self.assign, inst.flat_demand)
        return out

    def bins_by_type(self, inst: Instance) -> dict[str, int]:
        """Number of open bins per type name (types with none are left out)."""
        counts = np.bincount(self.bin_type, minlength=inst.n_types)
        return {inst.type_names[t]: int(c) for t, c in enumerate(counts) if c}

    def compact(self) -> Solution:
        """Drop empty bins (keeping the order of the others)."""
        used = np.zeros(self.n_bins, dtype=np.bool_)
        used[self.assign] = True
        if used.all():
            return self
        new_index = np.cumsum(used) - 1
        return Solution(
            new_index[self.assign].astype(np.int64),
            self.bin_type[used],
            self.bin_existing[used],
            None if self.bin_zone is None else self.bin_zone[used],
        )

    def without_bins(self, drop: BoolArray) -> Solution:
        """The packing without the bins where ``drop`` is True (they must be empty)."""
        keep = ~drop
        index = np.cumsum(keep) - 1
        return Solution(
            index[self.assign].astype(np.int64),
            self.bin_type[keep],
            self.bin_existing[keep],
            None if self.bin_zone is None else self.bin_zone[keep],
        )


def make_instance(
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    *,
    cost: npt.ArrayLike | None = None,
    n_available: npt.ArrayLike | None = None,
    item_names: Sequence[str] | None = None,
    type_names: Sequence[str] | None = None,
    dim_names: Sequence[str] | None = None,
    bucket_names: Sequence[str] | None = None,
    allowed: npt.ArrayLike | None = None,
    zone: npt.ArrayLike | None = None,
    zone_names: Sequence[str] | None = None,
    anti_affinity: Sequence[Sequence[int]] = (),
    affinity: Sequence[Sequence[int]] = (),
    label: npt.ArrayLike | None = None,
    label_limit: npt.ArrayLike | None = None,
    existing_type: npt.ArrayLike | None = None,
    existing_names: Sequence[str] | None = None,
    pinned: npt.ArrayLike | None = None,
    current: npt.ArrayLike | None = None,
    move_weight: npt.ArrayLike | None = None,
    migration_budget: int | None = None,
    ha_spares: int = 0,
    ha_policy: str = "reserve",
    item_cost: npt.ArrayLike | None = None,
    objective_unit: str = "bins",
    objective_scale: float = 1.0,
    dim_scale: npt.ArrayLike | None = None,
    dim_units: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> Instance:
    """Build an :class:`Instance`, filling every rule left out with its neutral default.

    ``demand`` may be ``(n_items, n_dims)`` (one bucket) or ``(n_items, n_dims, n_buckets)``;
    ``capacity`` may be ``(n_dims,)`` (one bin type) or ``(n_types, n_dims)``. Without
    ``n_available`` every type may open one bin per item, plus the existing bins and the N+k
    spares (never a binding limit). Without
    ``cost`` every bin costs 1, so the objective is the number of bins.
    """
    dem = np.asarray(demand, dtype=np.int64)
    if dem.ndim == 2:
        dem = dem[:, :, None]
    cap = np.asarray(capacity, dtype=np.int64)
    if cap.ndim == 1:
        cap = cap[None, :]
    if dem.ndim != 3 or cap.ndim != 2:
        raise SolverError("demand must be 2-D or 3-D and capacity 1-D or 2-D")
    n_items, n_dims, n_buckets = dem.shape
    n_types = cap.shape[0]
    n_exist = 0 if existing_type is None else len(np.atleast_1d(existing_type))

    def ints(value: npt.ArrayLike | None, fill: int, size: int) -> IntArray:
        if value is None:
            return np.full(size, fill, dtype=np.int64)
        return np.asarray(value, dtype=np.int64).reshape(-1)

    zones = ints(zone, 0, n_items)
    n_zone = int(zones.max()) + 1 if n_items else 1
    n_zone_names = len(zone_names) if zone_names is not None else max(n_zone, 1)
    return Instance(
        demand=dem,
        capacity=cap,
        cost=ints(cost, 1, n_types),
        n_available=ints(
            n_available, max(n_items, 1) + n_exist + ha_spares * n_zone_names, n_types
        ),
        item_names=tuple(item_names)
        if item_names is not None
        else tuple(f"item{i}" for i in range(n_items)),
        type_names=tuple(type_names)
        if type_names is not None
        else tuple(f"type{t}" for t in range(n_types)),
        dim_names=tuple(dim_names)
        if dim_names is not None
        else tuple(f"dim{d}" for d in range(n_dims)),
        bucket_names=tuple(bucket_names)
        if bucket_names is not None
        else tuple(f"b{t}" for t in range(n_buckets)),
        allowed=(
            np.ones((n_items, n_types), dtype=np.bool_)
            if allowed is None
            else np.asarray(allowed, dtype=np.bool_)
        ),
        zone=zones,
        zone_names=tuple(zone_names)
        if zone_names is not None
        else tuple(f"zone{z}" for z in range(max(n_zone, 1))),
        anti_affinity=tuple(
            np.unique(np.asarray(g, dtype=np.int64)) for g in anti_affinity if len(g) >= 2
        ),
        affinity=tuple(np.unique(np.asarray(g, dtype=np.int64)) for g in affinity if len(g) >= 2),
        label=ints(label, -1, n_items),
        label_limit=ints(label_limit, -1, n_types),
        existing_type=ints(existing_type, 0, 0)
        if existing_type is None
        else ints(existing_type, 0, n_exist),
        existing_names=tuple(existing_names)
        if existing_names is not None
        else tuple(f"existing{e}" for e in range(n_exist)),
        pinned=ints(pinned, -1, n_items),
        current=ints(current, -1, n_items),
        move_weight=ints(move_weight, 1, n_items),
        migration_budget=migration_budget,
        ha_spares=int(ha_spares),
        ha_policy=ha_policy,
        item_cost=None if item_cost is None else np.asarray(item_cost, dtype=np.int64),
        objective_unit=objective_unit,
        objective_scale=float(objective_scale),
        dim_scale=(
            np.ones(n_dims, dtype=np.float64)
            if dim_scale is None
            else np.asarray(dim_scale, dtype=np.float64)
        ),
        dim_units=tuple(dim_units) if dim_units is not None else ("",) * n_dims,
        notes=tuple(notes),
    )


def _check(inst: Instance) -> list[str]:
    """Return every structural problem of an instance (empty when it is well formed)."""
    problems: list[str] = []
    if inst.demand.ndim != 3 or inst.capacity.ndim != 2:
        return ["demand must be (n_items, n_dims, n_buckets) and capacity (n_types, n_dims)"]
    n_items, n_dims, n_buckets = inst.demand.shape
    n_types = inst.capacity.shape[0]
    n_exist = inst.existing_type.shape[0]
    expect = {
        "capacity": (inst.capacity.shape, (n_types, n_dims)),
        "cost": (inst.cost.shape, (n_types,)),
        "n_available": (inst.n_available.shape, (n_types,)),
        "allowed": (inst.allowed.shape, (n_items, n_types)),
        "zone": (inst.zone.shape, (n_items,)),
        "label": (inst.label.shape, (n_items,)),
        "label_limit": (inst.label_limit.shape, (n_types,)),
        "pinned": (inst.pinned.shape, (n_items,)),
        "current": (inst.current.shape, (n_items,)),
        "move_weight": (inst.move_weight.shape, (n_items,)),
        "dim_scale": (inst.dim_scale.shape, (n_dims,)),
    }
    for name, (got, want) in expect.items():
        if got != want:
            problems.append(f"{name} has shape {got}, expected {want}")
    lengths = {
        "item_names": (len(inst.item_names), n_items),
        "type_names": (len(inst.type_names), n_types),
        "dim_names": (len(inst.dim_names), n_dims),
        "bucket_names": (len(inst.bucket_names), n_buckets),
        "existing_names": (len(inst.existing_names), n_exist),
        "dim_units": (len(inst.dim_units), n_dims),
    }
    for name, (count, want_count) in lengths.items():
        if count != want_count:
            problems.append(f"{name} has {count} entries, expected {want_count}")
    if problems:
        return problems
    if n_types == 0:
        problems.append("no bin type given")
    if (inst.capacity < 0).any():
        problems.append("capacity holds negative values")
    if (inst.cost < 0).any():
        problems.append("cost holds negative values")
    if inst.item_cost is not None:
        if inst.item_cost.shape != (n_items, n_types):
            problems.append(
                f"item_cost has shape {inst.item_cost.shape}, expected {(n_items, n_types)}"
            )
        elif (inst.item_cost < 0).any():
            problems.append("item_cost holds negative values")
    if n_items and (inst.zone.min() < 0 or inst.zone.max() >= len(inst.zone_names)):
        problems.append("zone holds an index outside zone_names")
    for name, groups in (("anti_affinity", inst.anti_affinity), ("affinity", inst.affinity)):
        for g, members in enumerate(groups):
            if len(members) and (members.min() < 0 or members.max() >= n_items):
                problems.append(f"{name}[{g}] holds an item index outside [0, {n_items})")
    for name, arr in (("pinned", inst.pinned), ("current", inst.current)):
        if n_items and (arr.min() < -1 or arr.max() >= n_exist):
            problems.append(f"{name} holds an existing-bin index outside [-1, {n_exist})")
    if n_exist and (inst.existing_type.min() < 0 or inst.existing_type.max() >= n_types):
        problems.append("existing_type holds a type index outside the bin types")
    if n_exist:
        owned = np.bincount(inst.existing_type, minlength=n_types)
        short = np.flatnonzero(owned > inst.n_available)
        for t in short.tolist():
            problems.append(
                f"type {inst.type_names[t]!r} has {owned[t]} existing bins but n_available "
                f"{inst.n_available[t]}"
            )
    if (inst.n_available < 0).any():
        problems.append("n_available holds negative values")
    if inst.ha_policy not in HA_POLICIES:
        problems.append(f"ha_policy {inst.ha_policy!r} is not one of {list(HA_POLICIES)}")
    if inst.ha_spares < 0:
        problems.append("ha_spares must be >= 0")
    if inst.migration_budget is not None and inst.migration_budget < 0:
        problems.append("migration_budget must be >= 0")
    if (inst.move_weight < 0).any():
        problems.append("move_weight holds negative values")
    return problems
