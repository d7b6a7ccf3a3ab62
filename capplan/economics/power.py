"""Power and energy: host power models, facility overhead (PUE), energy, CO2.

Pure functions on arrays. Host arrays are ``(n_hosts, n_steps)`` with time on the last axis;
per-host parameters are ``(n_hosts,)`` and broadcast over time. Power is in W, energy in kWh
(float64 accumulations).

The 11-point SPECpower interpolation is :func:`capplan.emulate.power.power_w` (the emulation
owns it); this module adds the linear idle-to-max model and the non-linear model of Fan,
Weber and Barroso (ISCA 2007), and switches empty hosts off.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan.emulate.power import power_w
from capplan.units import GIB_PER_TIB, KWH_PER_WS, S_PER_YEAR

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _col(values: npt.ArrayLike, ndim: int) -> FloatArray:
    """Per-host values ``(n_hosts,)`` as a column that broadcasts over time."""
    arr = np.asarray(values, dtype=np.float64)
    return arr.reshape(arr.shape + (1,) * (ndim - arr.ndim)) if arr.ndim >= 1 else arr


def linear_power_w(
    util_frac: npt.ArrayLike, idle_w: npt.ArrayLike, max_w: npt.ArrayLike
) -> FloatArray:
    """Linear power model ``P(u) = P_idle + (P_max − P_idle) · u``.

    Parameters
    ----------
    util_frac
        CPU utilization, ``(n_hosts, n_steps)`` (or any shape), clipped to [0, 1].
    idle_w, max_w
        Power at 0 % and 100 % load per host, W, ``(n_hosts,)`` or scalars.

    Returns
    -------
    ndarray
        float64 power, W, of the shape of ``util_frac``.
    """
    u = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 1.0)
    idle = _col(idle_w, u.ndim)
    peak = _col(max_w, u.ndim)
    return idle + (peak - idle) * u


def fan_power_w(
    util_frac: npt.ArrayLike, idle_w: npt.ArrayLike, max_w: npt.ArrayLike, r: float = 1.4
) -> FloatArray:
    """Non-linear power model of Fan, Weber, Barroso (ISCA 2007).

    ``P(u) = P_idle + (P_max − P_idle) · (2u − u^r)``; with ``r = 1.4`` (the paper's
    calibration) power rises faster than linearly at low load and meets ``P_max`` at ``u = 1``.

    Parameters
    ----------
    util_frac
        CPU utilization, any shape (``(n_hosts, n_steps)``), clipped to [0, 1].
    idle_w, max_w
        Power at 0 % and 100 % load per host, W, ``(n_hosts,)`` or scalars.
    r
        Calibration exponent (≥ 1).

    Returns
    -------
    ndarray
        float64 power, W, of the shape of ``util_frac``.
    """
    u = np.clip(np.asarray(util_frac, dtype=np.float64), 0.0, 1.0)
    idle = _col(idle_w, u.ndim)
    peak = _col(max_w, u.ndim)
    return idle + (peak - idle) * (2.0 * u - u**r)


def curve_power_w(util_frac: npt.ArrayLike, curves_w: npt.ArrayLike) -> FloatArray:
    """SPECpower 11-point interpolation per host (delegates to the emulation's ``power_w``).

    Parameters
    ----------
    util_frac
        CPU utilization ``(n_hosts, n_steps)``.
    curves_w
        Power at 0, 10, ..., 100 % load, ``(n_hosts, 11)`` W (one curve per host), or one
        curve ``(11,)`` for all hosts.

    Returns
    -------
    ndarray
        float64 power, W, ``(n_hosts, n_steps)``.
    """
    util = np.asarray(util_frac, dtype=np.float64)
    return np.asarray(power_w(util, np.asarray(curves_w, dtype=np.float64)), dtype=np.float64)


def host_power_w(
    util_frac: npt.ArrayLike,
    curves_w: npt.ArrayLike,
    *,
    model: str = "curve",
    fan_r: float = 1.4,
    powered: npt.ArrayLike | None = None,
) -> FloatArray:
    """Wall power of each host in each step.

    Parameters
    ----------
    util_frac
        CPU utilization ``(n_hosts, n_steps)``.
    curves_w
        Power tables ``(n_hosts, 11)``, W; the linear and Fan models use the first (idle)
        and last (100 %) points.
    model
        ``curve``, ``linear`` or ``fan``.
    fan_r
        Exponent of the Fan et al. model.
    powered
        Bool ``(n_hosts, n_steps)`` (or ``(n_hosts, 1)``): False where the host is switched
        off and draws 0 W. ``None``: always on.

    Returns
    -------
    ndarray
        float64 power, W, ``(n_hosts, n_steps)``.
    """
    util = np.asarray(util_frac, dtype=np.float64)
    curves = np.atleast_2d(np.asarray(curves_w, dtype=np.float64))
    if model == "curve":
        power = curve_power_w(util, curves)
    elif model == "linear":
        power = linear_power_w(util, curves[:, 0], curves[:, -1])
    elif model == "fan":
        power = fan_power_w(util, curves[:, 0], curves[:, -1], fan_r)
    else:
        raise ValueError(f"unknown power model {model!r}; expected curve, linear or fan")
    if powered is not None:
        power = np.where(np.asarray(powered, dtype=bool), power, 0.0)
    return power


def energy_kwh(power_w: npt.ArrayLike, step_s: float) -> FloatArray:
    """Energy of each row over the trace: ``Σ_t P[i, t] · step_s``, kWh.

    Parameters
    ----------
    power_w
        Power ``(n_entities, n_steps)``, W.
    step_s
        Seconds per step.

    Returns
    -------
    ndarray
        float64 ``(n_entities,)`` kWh.
    """
    power = np.asarray(power_w, dtype=np.float64)
    return power.sum(axis=-1, dtype=np.float64) * float(step_s) * KWH_PER_WS


def per_year(value: npt.ArrayLike, duration_s: float) -> FloatArray:
    """Scale a quantity accumulated over ``duration_s`` seconds to one year (365 days)."""
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    return np.asarray(value, dtype=np.float64) * (S_PER_YEAR / float(duration_s))


def facility_kwh(it_kwh: npt.ArrayLike, pue_ratio: float) -> FloatArray:
    """Facility energy including cooling and power distribution: ``IT kWh × PUE``."""
    if pue_ratio < 1.0:
        raise ValueError("a PUE below 1 is not physical")
    return np.asarray(it_kwh, dtype=np.float64) * float(pue_ratio)


def co2_kg(kwh: npt.ArrayLike, grid_co2_kg_per_kwh: float) -> FloatArray:
    """CO2 emitted for energy drawn from the grid: ``kWh × kg/kWh``, kg."""
    return np.asarray(kwh, dtype=np.float64) * float(grid_co2_kg_per_kwh)


def storage_power_w(used_gib: npt.ArrayLike, watts_per_tib: npt.ArrayLike) -> FloatArray:
    """Power of SAN capacity: ``used GiB / 1024 × W per TiB`` per tier, W.

    Parameters
    ----------
    used_gib
        Capacity in use per tier, ``(n_tiers,)`` GiB.
    watts_per_tib
        Power per TiB of each tier, ``(n_tiers,)`` W.
    """
    return (
        np.asarray(used_gib, dtype=np.float64)
        / GIB_PER_TIB
        * np.asarray(watts_per_tib, dtype=np.float64)
    )


def powered_hosts(active_vms: npt.ArrayLike, policy: str) -> BoolArray:
    """Which hosts are on in each step under the host on/off policy.

    Parameters
    ----------
    active_vms
        Number of VMs running on each host in each step, ``(n_hosts, n_steps)`` (or
        ``(n_hosts, 1)`` for a static placement).
    policy
        ``always-on`` (every host on) or ``off-when-empty`` (a host without running VMs is
        switched off).

    Returns
    -------
    ndarray
        Bool of the shape of ``active_vms``.
    """
    counts = np.asarray(active_vms)
    if policy == "always-on":
        return np.ones(counts.shape, dtype=bool)
    if policy == "off-when-empty":
        return counts > 0
    raise ValueError(f"unknown host power policy {policy!r}")
