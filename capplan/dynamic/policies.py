"""Consolidation policies by name.

``DETECTOR-SELECTION[-PARAM]`` combines an overload test of :mod:`capplan.dynamic.detection`
(``thr iqr mad lr lrr``) with a VM selection of :mod:`capplan.dynamic.selection`
(``mmt mu mc rs``), e.g. ``lr-mmt`` or ``thr-mu-0.9``; these start from PABFD at full MIPS and
run the compiled CloudSim round (:func:`capplan.dynamic.kernels.round.run_round`) every
round. Besides them:

``npa``
    Non-power-aware baseline: first-fit placement, no migrations, every host draws its full
    power all the time.
``dvfs``
    First-fit placement, no migrations, power follows utilisation (idle hosts draw 0 W).
``capplan-fb`` (and its parameterised forms, see :mod:`capplan.dynamic.forecast`)
    capplan's own forecast-driven, budget-limited policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from capplan.dynamic.contract import Policy
from capplan.dynamic.detection import OVERLOAD_TESTS, get_overload_test
from capplan.dynamic.forecast import FORECAST_POLICIES
from capplan.dynamic.kernels.round import run_round, supports
from capplan.dynamic.placement import place_first_fit, place_pabfd
from capplan.dynamic.selection import VM_SELECTIONS, get_selection
from capplan.errors import CapplanError

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation


def _cloudsim_policy(detector: str, selection: str, param: float | None) -> Policy:
    test, default = get_overload_test(detector)
    select = get_selection(selection)
    value = default if param is None else param
    if not supports(test, select):
        raise CapplanError(
            f"policy {detector}-{selection}: the compiled round has no such pair; add it to "
            "capplan/dynamic/kernels/round.py (and the reference round)",
            spec_path="--policy",
        )

    def optimize(sim: Simulation, time_s: float) -> list[tuple[int, int]]:
        return run_round(sim, test, value, select)

    return Policy(f"{detector}-{selection}-{value:g}", place_pabfd, optimize)


#: Baselines without migrations.
BASELINES: Final[dict[str, Policy]] = {
    "npa": Policy("npa", place_first_fit, None, "max"),
    "dvfs": Policy("dvfs", place_first_fit, None, "trapezoid"),
}

#: The 20 CloudSim combinations, in the paper's order.
CLOUDSIM_POLICIES: Final[tuple[str, ...]] = tuple(
    f"{d}-{s}" for d in OVERLOAD_TESTS for s in VM_SELECTIONS
)


def policy_names() -> list[str]:
    """Every name :func:`get_policy` accepts without a parameter suffix."""
    return [*BASELINES, *CLOUDSIM_POLICIES, *FORECAST_POLICIES]


def get_policy(name: str) -> Policy:
    """Return the policy called ``name``.

    Raises
    ------
    CapplanError
        For an unknown name or a bad parameter, listing the valid names.
    """
    key = name.strip().lower()
    if key in BASELINES:
        return BASELINES[key]
    if key in FORECAST_POLICIES:
        return FORECAST_POLICIES[key]()
    parts = key.split("-")
    if len(parts) in (2, 3) and parts[0] in OVERLOAD_TESTS and parts[1] in VM_SELECTIONS:
        param: float | None = None
        if len(parts) == 3:
            try:
                param = float(parts[2])
            except ValueError:
                param = -1.0
            if not param >= 0:
                raise CapplanError(
                    f"policy {name!r}: parameter {parts[2]!r} is not a non-negative number",
                    spec_path="--policy",
                )
        return _cloudsim_policy(parts[0], parts[1], param)
    valid = ", ".join(policy_names())
    raise CapplanError(
        f"unknown policy {name!r}; valid: {valid} (CloudSim ones take an optional "
        "parameter suffix, e.g. thr-mmt-0.9)",
        spec_path="--policy",
    )
