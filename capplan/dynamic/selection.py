"""VM selection policies: which VM to move off an overloaded host next.

A selection is ``select(view, candidates) -> int``: ``candidates`` are the host's VMs that are
not migrating, in the host's list order (the order they arrived on it), and the first VM wins
ties, as in CloudSim.

======  ==========================================================================
``mmt`` minimum migration time: the smallest RAM
``mu``  minimum utilisation: the lowest current CPU utilisation (fraction of its MIPS)
``mc``  maximum correlation: the VM whose history the other VMs' histories explain best
        (R² of an ordinary least squares fit with intercept); MMT when the fit is
        impossible (fewer samples than VMs, or a singular design)
``rs``  random selection (seeded)
======  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from capplan.dynamic.kernels.correlation import correlation_r2
from capplan.dynamic.kernels.javarandom import next_int
from capplan.errors import CapplanError

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation

Selection = Callable[["Simulation", list[int]], int]


def mmt(sim: Simulation, candidates: list[int]) -> int:
    """Smallest RAM first (fastest migration)."""
    ram = sim.vms.ram_mib[candidates]
    return candidates[int(np.argmin(ram))]


def mu(sim: Simulation, candidates: list[int]) -> int:
    """Lowest current utilisation first.

    The key is ``u × MIPS / MIPS``, CloudSim's ``getTotalUtilizationOfCpuMips / getMips``:
    two VMs with the same ``u`` and different MIPS can differ in the last bit after the
    round trip, and that breaks their tie as in CloudSim.
    """
    mips = sim.vms.mips[candidates]
    return candidates[int(np.argmin(sim.util_now[candidates] * mips / mips))]


def rs(sim: Simulation, candidates: list[int]) -> int:
    """A random VM: ``nextInt(len(candidates))`` of the run's ``java.util.Random`` generator."""
    return candidates[int(next_int(sim.rs_state, len(candidates)))]


def mc(sim: Simulation, candidates: list[int]) -> int:
    """Maximum correlation, falling back to :func:`mmt` with too short histories."""
    return mc_choice(sim.hist, sim.hist_count, sim.vms.ram_mib, candidates)


def mc_choice(
    hist: np.ndarray, hist_count: int, ram_mib: np.ndarray, candidates: Sequence[int] | np.ndarray
) -> int:
    """:func:`mc` on arrays (the compiled round calls it from its object-mode block).

    Parameters
    ----------
    hist
        Utilisation history of every VM, newest first, ``(n_vms, history_length)``.
    hist_count
        Samples the history holds.
    ram_mib
        RAM of every VM (the MMT fallback).
    candidates
        The host's VMs that may move, in list order.
    """
    m = int(hist_count)
    n = len(candidates)
    fallback = int(candidates[int(np.argmin(ram_mib[candidates]))])
    if m < n:  # commons-math needs as many samples as regressors + intercept
        return fallback
    r2 = correlation_r2(hist[candidates, :m])
    if r2 is None:
        return fallback
    best = 0
    best_value = float(np.nextafter(0.0, 1.0))  # Java Double.MIN_VALUE
    for index, value in enumerate(r2.tolist()):
        if value > best_value:
            best_value = value
            best = index
    return int(candidates[best])


#: VM selection policies by name.
VM_SELECTIONS: Final[dict[str, Selection]] = {"mmt": mmt, "mu": mu, "mc": mc, "rs": rs}


def get_selection(name: str) -> Selection:
    """Look up a selection policy; an unknown name lists the valid ones."""
    try:
        return VM_SELECTIONS[name]
    except KeyError:
        valid = ", ".join(sorted(VM_SELECTIONS))
        raise CapplanError(
            f"unknown VM selection {name!r}; valid: {valid}", spec_path="--policy"
        ) from None
