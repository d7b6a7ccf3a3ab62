"""What an optimizer rule gives, and the state each of its parts works on.

A rule (:class:`Rule`) is one placement constraint of the packing instance, held in one module
of :mod:`capplan.optimize.rules` with all of its parts side by side:

- **derive**: the instance fields it sets, from the workload and the options
  (:class:`RuleSource`), as keyword arguments of :func:`capplan.optimize.instance.make_instance`;
- **applies**: whether it constrains a given instance at all;
- **pairs**: for CP-SAT, the (item, candidate bin) pairs it allows, before any variable is made;
- **constrain**: its CP-SAT constraints (:class:`ModelContext`);
- **tracker**: for the greedy heuristics, a vectorised mask of the open bins an item may go to
  now, with the bookkeeping that keeps the mask current as items come and go (:class:`Tracker`);
- **check**: its validator check, listing every violation of a packing (:class:`Violation`);
- **infeasible**: a quick reason why the rule alone leaves no packing, for the explanation.

Nothing here imports the solver, so the validator does not either: the CP-SAT types are named
for the type checker only, and the builder hands the context its ``weighted_sum``. A rule that
needs more of the solver (the HA rule's integer domains) imports it inside its ``constrain``,
which runs only while a model is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from capplan.optimize.instance import BoolArray, Instance, IntArray, Solution
from capplan.optimize.subproblem import SubProblem

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from capplan.demand.workload import Workload
    from capplan.optimize.options import ConsolidateOptions
    from capplan.spec.catalog import VirtMode

#: Most violations of one kind that are listed individually.
MAX_PER_KIND = 50


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    kind
        ``structure``, ``availability``, ``allowed``, ``capacity``, ``zone``, ``anti_affinity``,
        ``affinity``, ``label``, ``pinned``, ``migration``, ``ha_reserve`` or ``ha_strict``.
    message
        What is wrong, with names and numbers.
    items
        Item indices concerned.
    bins
        Bin indices concerned.
    """

    kind: str
    message: str
    items: tuple[int, ...] = ()
    bins: tuple[int, ...] = ()


@dataclass
class RuleSource:
    """What the rules derive their instance fields from (one consolidation's inputs).

    Attributes
    ----------
    workload
        The VMs, with their inventory (security zone, OS family, HA group, VLAN...).
    opts
        The consolidation's settings.
    mode
        The virtualization mode the hosts run.
    n_types
        Number of bin types (host models offered and owned).
    current_bin
        int64 ``(n_vms,)``: owned host each VM is on now (index into the owned hosts), -1 when
        unknown or not owned.
    has_owned
        True when some current host's model is known (``existing_hosts``).
    notes
        Remarks for the plan; a rule appends what the user should know.
    reasons
        Why the plan cannot hold every VM, when a rule finds that while deriving.
    """

    workload: Workload
    opts: ConsolidateOptions
    mode: VirtMode
    n_types: int
    current_bin: IntArray
    has_owned: bool
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @cached_property
    def vm_index(self) -> dict[str, int]:
        """Row of each VM id."""
        return {v: i for i, v in enumerate(self.workload.vm_ids.tolist())}


@dataclass
class ModelContext:
    """The CP-SAT model of one sub-problem while it is built.

    Attributes
    ----------
    inst, sub
        The instance and the sub-problem (its items and candidate bins).
    model
        The model the rules add their constraints to.
    weighted_sum
        ``cp_model.LinearExpr.weighted_sum``, handed in so that the rules need not import the
        solver.
    cols
        The flat columns (dimension × bucket) that can bind in this sub-problem.
    x
        ``x[p, b]``: item at position p of ``sub.items`` on candidate bin b (only the pairs
        every rule allows, and symmetry breaking keeps, exist).
    u
        ``u[b]``: candidate bin b is open.
    z
        ``z[b, zone]``: candidate bin b serves the zone (made by the zone rule when there are
        several zones).
    on_bin
        Positions of the items that may go on each candidate bin.
    """

    inst: Instance
    sub: SubProblem
    model: cp_model.CpModel
    weighted_sum: Callable[[Sequence[Any], Sequence[int]], cp_model.LinearExpr]
    cols: IntArray
    x: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    u: list[cp_model.IntVar] = field(default_factory=list)
    z: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    on_bin: list[list[int]] = field(default_factory=list)

    @cached_property
    def zones(self) -> IntArray:
        """Zones of the sub-problem's items, ascending."""
        return np.unique(self.inst.zone[self.sub.items])

    @property
    def multi_zone(self) -> bool:
        """True when the instance has several zones (and the model ``z`` variables)."""
        return self.inst.n_zones > 1

    @cached_property
    def cand_existing(self) -> dict[int, int]:
        """Candidate position of each existing bin among the candidates."""
        return {int(e): b for b, e in enumerate(self.sub.bin_existing.tolist()) if e >= 0}

    @cached_property
    def pos_of(self) -> dict[int, int]:
        """Position in ``sub.items`` of each item of the sub-problem."""
        return {int(i): p for p, i in enumerate(self.sub.items.tolist())}

    def opened(self, zone: int) -> list[cp_model.IntVar]:
        """Per candidate bin, the variable that says it is open in ``zone``."""
        if self.multi_zone:
            return [self.z[b, zone] for b in range(self.sub.n_cand)]
        return list(self.u)


class PackState(Protocol):
    """The part of a greedy packer's state a tracker reads (see ``heuristics.Packer``)."""

    inst: Instance
    nb: int
    max_bins: int
    assign: IntArray
    btype: IntArray
    bexist: IntArray
    bzone: IntArray


class Tracker:
    """A rule's mask over the open bins of a greedy packer, kept current as items move.

    Subclasses override what their rule needs; the defaults track nothing and allow every
    bin.

    Attributes
    ----------
    evictable
        True when a bin the mask refuses can be made acceptable by evicting items (as for
        anti-affinity): the ejection search then evicts instead of skipping the bin.
    """

    evictable = False

    def __init__(self, pk: PackState) -> None:
        self.pk = pk
        self.inst = pk.inst

    def mask(self, i: int, nb: int) -> BoolArray | None:
        """bool ``(nb,)``: open bins item ``i`` may go to now (None: every bin)."""
        return None

    def admits(self, items: IntArray, b: int) -> BoolArray | None:
        """bool ``(len(items),)``: which of ``items`` may go on open bin ``b`` now (None: all).

        The transpose of :meth:`mask`, for the packers that fill one bin at a time.
        """
        return None

    def opened(self, b: int, t: int) -> None:
        """Bin ``b`` of type ``t`` was opened."""

    def placed(self, i: int, b: int) -> None:
        """Item ``i`` was put on bin ``b``."""

    def removed(self, i: int, b: int, on_b: BoolArray) -> None:
        """Item ``i`` was taken off bin ``b``; ``on_b`` marks the items still there."""

    def grown(self, extra: int) -> None:
        """The packer can hold ``extra`` more bins (called before any item is placed)."""


def no_constraint(ctx: ModelContext) -> None:
    """A rule with no CP-SAT constraint of its own."""


def nothing_derived(src: RuleSource) -> dict[str, Any]:
    """A rule whose instance fields come from elsewhere."""
    return {}


@dataclass(frozen=True)
class Rule:
    """One placement rule: every part the optimizer needs, in one place.

    Attributes
    ----------
    name
        Short name (the module's).
    kinds
        The :attr:`Violation.kind` values its check reports.
    fields
        The :class:`~capplan.optimize.instance.Instance` fields the rule reads.
    applies
        True when the rule constrains the instance.
    check
        The validator's check: every violation of a packing.
    derive
        The rule's instance fields from one consolidation's inputs.
    pairs
        bool ``(n_sub_items, n_cand)``: the (item, candidate bin) pairs the rule allows in a
        CP-SAT model (None: all).
    constrain
        Adds the rule's CP-SAT constraints.
    tracker
        Builds the rule's heuristic mask for a packer (None: no per-bin mask).
    infeasible
        A reason the rule alone leaves no packing, or None.
    needs_clean
        Violation kinds that must be absent before the check runs (its result means nothing
        otherwise).
    """

    name: str
    kinds: tuple[str, ...]
    fields: tuple[str, ...]
    applies: Callable[[Instance], bool]
    check: Callable[[Instance, Solution, IntArray | None], list[Violation]]
    derive: Callable[[RuleSource], dict[str, Any]] = nothing_derived
    pairs: Callable[[ModelContext], BoolArray] | None = None
    constrain: Callable[[ModelContext], None] = no_constraint
    tracker: Callable[[PackState], Tracker] | None = None
    infeasible: Callable[[Instance], str | None] | None = None
    needs_clean: tuple[str, ...] = ()
