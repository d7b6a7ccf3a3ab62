"""Server power from CPU utilization: linear interpolation in an 11-point SPECpower table.

SPECpower_ssj2008 reports the wall power of a server at active idle and at 10 %, 20 %, ...,
100 % of its maximum throughput. Between two measured points the power is interpolated
linearly, the method CloudSim's ``PowerModelSpecPower`` uses. Utilization outside [0, 1] is
clipped: an overloaded host draws its 100 % power.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from capplan.errors import CapplanError

#: Number of points of a SPECpower table (0, 10, ..., 100 % load).
N_POWER_POINTS: Final = 11
N_SEGMENTS: Final = N_POWER_POINTS - 1


def _check_curves(curves: npt.NDArray[np.float64]) -> None:
    if curves.shape[-1] != N_POWER_POINTS:
        raise CapplanError(
            f"a power curve needs {N_POWER_POINTS} points (0, 10, ..., 100 % load); "
            f"got shape {curves.shape}"
        )
    if not np.all(np.isfinite(curves)):
        raise CapplanError("a power curve holds a non-finite value")


def segment_tables(curves_w: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of each 10 % segment, for ``power = a[i] + b[i] × 10 × util``.

    Parameters
    ----------
    curves_w
        Watts at 0, 10, ..., 100 % load, shape ``(11,)`` or ``(n_curves, 11)``.

    Returns
    -------
    (a_w, b_w)
        float64 arrays of shape ``(..., 10)``: segment ``i`` covers ``10·util ∈ [i, i+1]``
        with ``power = a_w[i] + b_w[i] · 10·util``.
    """
    curves = np.asarray(curves_w, dtype=np.float64)
    _check_curves(curves)
    b = np.diff(curves, axis=-1)
    a = curves[..., :-1] - np.arange(N_SEGMENTS) * b
    return a, b


def power_w(util_frac: npt.ArrayLike, curve_w: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Wall power for a CPU utilization, by linear interpolation in a SPECpower table.

    ``power = P[i] + (P[i+1] − P[i]) · (10·u − i)`` with ``i = floor(10·u)`` and
    ``u = clip(util_frac, 0, 1)``.

    Parameters
    ----------
    util_frac
        CPU utilization, any shape ``S``; values are clipped to [0, 1].
    curve_w
        Watts at 0, 10, ..., 100 % load: shape ``(11,)`` (one curve for all) or
        ``(*S[:-1], 11)`` / ``(n_hosts, 11)`` for a ``(n_hosts, n_steps)`` utilization (one
        curve per row).

    Returns
    -------
    ndarray
        float64 watts of shape ``S``.

    Examples
    --------
    >>> power_w(0.25, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    array(25.)
    """
    u = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 1.0)
    curve = np.asarray(curve_w, dtype=np.float64)
    _check_curves(curve)
    x = u * N_SEGMENTS
    i = np.minimum(np.floor(x).astype(np.intp), N_SEGMENTS - 1)
    if curve.ndim == 1:
        lo = curve[i]
        hi = curve[i + 1]
    else:
        if u.ndim == 0 or curve.shape[:-1] != u.shape[:-1]:
            raise CapplanError(
                f"per-row power curves of shape {curve.shape} do not match utilization "
                f"of shape {u.shape}"
            )
        lo = np.take_along_axis(curve, i, axis=-1)
        hi = np.take_along_axis(curve, i + 1, axis=-1)
    return np.asarray(lo + (hi - lo) * (x - i), dtype=np.float64)


def power_rows_w(
    util_frac: npt.NDArray[np.float32],
    curve_of_row: npt.NDArray[np.intp],
    curves_w: npt.ArrayLike,
) -> npt.NDArray[np.float32]:
    """Fast float32 power for a ``(n_hosts, n_steps)`` utilization, one curve per host row.

    Same formula as :func:`power_w` (agrees to float32 rounding) but built for the replay's
    large arrays: one gather per element from a tiny table that stays in the L1 cache (the
    intercept and slope of each 10 % segment packed as one complex64), instead of two
    gathers. (A 65,536-level lookup table of the curve was measured slower here: its
    256 KiB do not stay in L1.)

    Parameters
    ----------
    util_frac
        float32 ``(n_hosts, n_steps)`` utilization (clipped to [0, 1]).
    curve_of_row
        Index into ``curves_w`` for each host, ``(n_hosts,)``.
    curves_w
        ``(n_curves, 11)`` watts.

    Returns
    -------
    ndarray
        float32 watts ``(n_hosts, n_steps)``.
    """
    a, b = segment_tables(np.atleast_2d(np.asarray(curves_w, dtype=np.float64)))
    n_curves = a.shape[0]
    table = (a + 1j * b).astype(np.complex64).ravel()
    x = np.multiply(util_frac, np.float32(N_SEGMENTS), dtype=np.float32)
    np.clip(x, 0.0, np.float32(N_SEGMENTS), out=x)
    idx_dtype = np.uint8 if n_curves * N_SEGMENTS <= 255 else np.int32
    idx: npt.NDArray[np.integer] = x.astype(idx_dtype)
    np.minimum(idx, N_SEGMENTS - 1, out=idx)
    if n_curves > 1:
        offset = (np.asarray(curve_of_row, dtype=np.int64) * N_SEGMENTS).astype(idx_dtype)
        np.add(idx, offset[:, None], out=idx)
    z = np.take(table, idx)
    out = z.imag.copy()
    out *= x
    out += z.real
    return out
