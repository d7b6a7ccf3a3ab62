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

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.javarandom import next_int
from capplan.errors import CapplanError

if TYPE_CHECKING:
    from capplan.dynamic.engine import Simulation

Selection = Callable[["Simulation", list[int]], int]
FloatArray = npt.NDArray[np.float64]


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


def correlation_r2(data: np.ndarray) -> np.ndarray | None:
    """R² of each row regressed (with intercept) on all other rows, as CloudSim computes it.

    CloudSim's MC (``PowerVmSelectionPolicyMaximumCorrelation``) fits each VM's history on
    the others' with commons-math's ``OLSMultipleLinearRegression``: Householder QR of the
    design ``[1 | X]`` without pivoting, ``Qᵀy``, back substitution, then
    ``1 − RSS / SecondMoment(y)``. :func:`_commons_math_r2` repeats that arithmetic in the
    same order, so rank-deficient designs (which any other solver resolves differently) give
    CloudSim's values too.

    Parameters
    ----------
    data
        ``(n_vms, n_samples)`` utilisation histories, ``n_samples ≥ n_vms``.

    Returns
    -------
    numpy.ndarray or None
        ``(n_vms,)`` (NaN or -inf where a row is constant), or None when a design is exactly
        singular: commons-math then raises and CloudSim falls back to MMT.
    """
    r2, singular = _commons_math_r2(np.ascontiguousarray(data, dtype=np.float64))
    return None if singular else r2


@numba.njit(cache=True, nogil=True)
def _commons_math_r2(data: FloatArray) -> tuple[FloatArray, bool]:  # pragma: no cover
    """R² per row and whether a design was singular; see :func:`correlation_r2`."""
    n, m = data.shape
    out = np.empty(n)
    design = np.empty((n, m))  # column-major copy of [1 | X]: design[column, sample]
    qrt = np.empty((n, m))
    rdiag = np.empty(min(n, m))
    y = np.empty(m)
    beta = np.empty(n)
    for i in range(n):
        design[0, :] = 1.0
        k = 1
        for j in range(n):
            if j != i:
                design[k, :] = data[j]
                k += 1
        qrt[:, :] = design
        for minor in range(min(n, m)):  # QRDecomposition.performHouseholderReflection
            x_norm_sqr = 0.0
            for row in range(minor, m):
                x_norm_sqr += qrt[minor, row] * qrt[minor, row]
            a = -math.sqrt(x_norm_sqr) if qrt[minor, minor] > 0 else math.sqrt(x_norm_sqr)
            rdiag[minor] = a
            if a != 0.0:
                qrt[minor, minor] -= a
                for col in range(minor + 1, n):
                    alpha = 0.0
                    for row in range(minor, m):
                        alpha -= qrt[col, row] * qrt[minor, row]
                    alpha /= a * qrt[minor, minor]
                    for row in range(minor, m):
                        qrt[col, row] -= alpha * qrt[minor, row]
        for minor in range(len(rdiag)):
            if abs(rdiag[minor]) <= 0.0:  # threshold 0: SingularMatrixException
                return out, True
        y[:] = data[i]
        for minor in range(min(n, m)):  # solver: apply the reflections to y
            dot = 0.0
            for row in range(minor, m):
                dot += y[row] * qrt[minor, row]
            dot /= rdiag[minor] * qrt[minor, minor]
            for row in range(minor, m):
                y[row] += dot * qrt[minor, row]
        for row in range(len(rdiag) - 1, -1, -1):  # back substitution
            y[row] /= rdiag[row]
            beta[row] = y[row]
            for above in range(row):
                y[above] -= beta[row] * qrt[row, above]
        rss = 0.0
        for row in range(m):
            fitted = 0.0
            for col in range(n):
                fitted += design[col, row] * beta[col]
            residual = data[i, row] - fitted
            rss += residual * residual
        mean = 0.0  # SecondMoment.increment, sample by sample
        second = 0.0
        for count in range(1, m + 1):
            dev = data[i, count - 1] - mean
            n_dev = dev / count
            mean += n_dev
            second += (count - 1.0) * dev * n_dev
        out[i] = 1.0 - rss / second if second != 0.0 else (np.nan if rss == 0.0 else -np.inf)
    return out, False


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
