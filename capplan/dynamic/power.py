"""Host power from an 11-point SPECpower curve, vectorized over hosts with their own curves.

The arithmetic follows CloudSim's ``PowerModelSpecPower.getPower`` step for step (floor and
ceiling of ``10 × u``, slope per 10 %), so that PABFD's power differences, which it compares
with a strict ``<``, break ties exactly as CloudSim does. The values equal plain linear
interpolation (:func:`capplan.emulate.power.power_w`) up to rounding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def curve_power_w(util_frac: FloatArray, curves_w: FloatArray) -> FloatArray:
    """Power of each host at its utilisation.

    Parameters
    ----------
    util_frac
        CPU utilisation per host, ``(n,)``; clipped to [0, 1].
    curves_w
        Power at 0, 10, ..., 100 % load per host, W, ``(n, 11)``.

    Returns
    -------
    numpy.ndarray
        Power per host, W, ``(n,)``.
    """
    u = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 1.0)
    scaled = u * 10.0
    lo = np.floor(scaled).astype(np.int64)
    hi = np.ceil(scaled).astype(np.int64)
    rows = np.arange(len(u))
    p_lo = curves_w[rows, lo]
    p_hi = curves_w[rows, hi]
    return p_lo + (p_hi - p_lo) / 10.0 * (u - lo / 10.0) * 100.0


def type_power_w(util_frac: FloatArray, type_of: IntArray, type_curves_w: FloatArray) -> FloatArray:
    """Like :func:`curve_power_w` for hosts grouped into types sharing a curve.

    Parameters
    ----------
    util_frac
        Utilisation per host, ``(n,)``.
    type_of
        Curve row of each host, ``(n,)``.
    type_curves_w
        One curve per type, ``(n_types, 11)``.
    """
    u = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 1.0)
    scaled = u * 10.0
    lo = np.floor(scaled).astype(np.int64)
    hi = np.ceil(scaled).astype(np.int64)
    p_lo = type_curves_w[type_of, lo]
    p_hi = type_curves_w[type_of, hi]
    return p_lo + (p_hi - p_lo) / 10.0 * (u - lo / 10.0) * 100.0
