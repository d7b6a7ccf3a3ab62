"""The contract between the time loop and the policies: what a policy is.

A policy places every VM at time 0 and, each round, reads the
:class:`~capplan.dynamic.state.Simulation` as of the round's host update and returns the
migrations to start. The loop (:mod:`capplan.dynamic.engine`) knows nothing else about it;
the policies (:mod:`capplan.dynamic.policies`, :mod:`capplan.dynamic.forecast`) know only
this and the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation

Optimizer = Callable[["Simulation", float], list[tuple[int, int]]]


@dataclass(frozen=True)
class Policy:
    """A named consolidation policy.

    Attributes
    ----------
    name
        Canonical name (``lr-mmt-1.2``, ``npa``, ...).
    place_initial
        Places every VM at time 0 (sets ``sim.host_of``).
    optimize
        Returns the round's migrations ``[(vm, target), ...]``; None for no migrations.
    energy_model
        ``"trapezoid"`` (power follows utilisation) or ``"max"`` (every host at full power).
    """

    name: str
    place_initial: Callable[[Simulation], None]
    optimize: Optimizer | None
    energy_model: str = "trapezoid"
