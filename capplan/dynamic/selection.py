"""VM selection policies: which VM to move off an overloaded host next.

A selection is ``select(view, candidates) -> int``: ``candidates`` are the host's VMs that are
not migrating, in the host's list order (the order they arrived on it), and the first VM wins
ties, as in CloudSim.

======  ==========================================================================
``mmt`` minimum migration time: the smallest RAM
``mu``  minimum utilisation: the lowest current CPU utilisation (fraction of its MIPS)
``mc``  maximum correlation: the VM whose history the other VMs' histories explain best
        (R² of an ordinary least squares fit with intercept); MMT when the histories are
        too short for the fit (samples ≤ number of VMs)
``rs``  random selection (seeded)
======  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from capplan.errors import CapplanError

if TYPE_CHECKING:
    from capplan.dynamic.engine import Simulation

Selection = Callable[["Simulation", list[int]], int]


def mmt(sim: Simulation, candidates: list[int]) -> int:
    """Smallest RAM first (fastest migration)."""
    ram = sim.vms.ram_mib[candidates]
    return candidates[int(np.argmin(ram))]


def mu(sim: Simulation, candidates: list[int]) -> int:
    """Lowest current utilisation first."""
    return candidates[int(np.argmin(sim.util_now[candidates]))]


def rs(sim: Simulation, candidates: list[int]) -> int:
    """A random VM (the simulation's seeded generator)."""
    return candidates[int(sim.rng.integers(len(candidates)))]


def correlation_r2(data: np.ndarray) -> np.ndarray:
    """R² of each row regressed (with intercept) on all other rows.

    Uses the identity ``R²_i = 1 − 1 / (C⁻¹_ii · C_ii)`` for the covariance ``C`` of the
    rows (one ``n × n`` inverse instead of ``n`` least-squares fits); falls back to one
    least-squares fit per row when ``C`` is singular.

    Parameters
    ----------
    data
        ``(n_vms, n_samples)`` utilisation histories.

    Returns
    -------
    numpy.ndarray
        ``(n_vms,)``; NaN where the row is constant.
    """
    n, m = data.shape
    centered = data - data.mean(axis=1, keepdims=True)
    cov = centered @ centered.T
    diag = np.diag(cov).copy()
    result = np.full(n, np.nan)
    varying = diag > 0
    if n == 1:
        result[varying] = 0.0
        return result
    if np.linalg.cond(cov) < 1e10:
        precision_diag = np.diag(np.linalg.inv(cov))
        result[varying] = 1.0 - 1.0 / (precision_diag[varying] * diag[varying])
        return result
    for i in np.flatnonzero(varying).tolist():
        y = data[i]
        design = np.column_stack([np.ones(m), np.delete(data, i, axis=0).T])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        result[i] = 1.0 - float((resid**2).sum()) / float(diag[i])
    return result


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
    if m <= n:
        return int(candidates[int(np.argmin(ram_mib[candidates]))])
    r2 = correlation_r2(hist[candidates, :m])
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
