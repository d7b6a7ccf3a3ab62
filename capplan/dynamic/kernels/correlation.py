"""CloudSim's maximum-correlation R², compiled (for the MC selection of
:mod:`capplan.dynamic.selection`)."""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def correlation_r2(data: np.ndarray) -> np.ndarray | None:
    """R² of each row regressed (with intercept) on all other rows, as CloudSim computes it.

    CloudSim's MC (``PowerVmSelectionPolicyMaximumCorrelation``) fits each VM's history on
    the others' with commons-math's ``OLSMultipleLinearRegression``: Householder QR of the
    design ``[1 | X]`` without pivoting, ``Qᵀy``, back substitution, then
    ``1 − RSS / SecondMoment(y)``. :func:`commons_math_r2` repeats that arithmetic in the
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
    r2, singular = commons_math_r2(np.ascontiguousarray(data, dtype=np.float64))
    return None if singular else r2


@numba.njit(cache=True, nogil=True)
def commons_math_r2(data: FloatArray) -> tuple[FloatArray, bool]:  # pragma: no cover
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
