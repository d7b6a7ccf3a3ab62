"""Cluster-level and workload-level forecasts.

A cluster's demand is forecast from its own summed series (not by adding per-VM intervals,
which would assume every VM errs in the same direction at once): the VM rows are summed with
:func:`capplan.emulate.aggregate.aggregate`, the project's one VM → group aggregation, and the
sum is forecast like any series, so its interval is calibrated on the sum's own errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.forecast.checks import ForecastError, as_mask, as_series, steps_per_day
from capplan.forecast.model import Forecast, fit_forecast


def forecast_clusters(
    values: npt.ArrayLike,
    group_of_vm: npt.ArrayLike,
    step_s: int,
    horizon_steps: int,
    *,
    observed: npt.ArrayLike | None = None,
    n_groups: int | None = None,
    **options: Any,
) -> Forecast:
    """Forecast the summed demand of each group (cluster) of VMs.

    Parameters
    ----------
    values
        Per-VM demand ``(n_vms, n_steps)``.
    group_of_vm
        Group index of each VM, ints in ``[0, n_groups)``, ``(n_vms,)``.
    step_s, horizon_steps
        As for :func:`fit_forecast`.
    observed
        Per-VM observed mask; a group's step counts as observed when any of its VMs is.
    n_groups
        Number of groups (default ``max(group_of_vm) + 1``).
    **options
        Passed to :func:`fit_forecast` (``level``, ``weekly``, ...).

    Returns
    -------
    Forecast
        One row per group.
    """
    from capplan.emulate.aggregate import HostMap, aggregate

    y = as_series(values)
    mask = as_mask(observed, y.shape)
    groups = np.asarray(group_of_vm, dtype=np.int64)
    if groups.shape != (y.shape[0],):
        raise ForecastError(
            f"group_of_vm must have one entry per VM ({y.shape[0]}); got shape {groups.shape}"
        )
    if groups.size and groups.min() < 0:
        raise ForecastError("group_of_vm must be ≥ 0")
    count = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    if groups.size and groups.max() >= count:
        raise ForecastError(f"group_of_vm holds {int(groups.max())}, not below n_groups={count}")
    host_map = HostMap(groups, count)
    sums = aggregate(np.where(mask, y, 0.0).astype(np.float32), host_map).astype(np.float64)
    seen = aggregate(mask.astype(np.float32), host_map) > 0
    return fit_forecast(sums, step_s, horizon_steps, observed=seen, **options)


def forecast_workload(
    workload: Any,
    horizon_days: float,
    *,
    metrics: tuple[str, ...] | None = None,
    group_of_vm: npt.ArrayLike | None = None,
    **options: Any,
) -> dict[str, Forecast]:
    """Forecast each metric of a :class:`~capplan.demand.Workload`, per VM or per group.

    Parameters
    ----------
    workload
        The workload (its mean demand and observed mask are used).
    horizon_days
        Days to forecast past the workload's last step (> 0).
    metrics
        Canonical metric names (default: every metric present).
    group_of_vm
        If given, forecast group sums (clusters) instead of VMs.
    **options
        Passed to :func:`fit_forecast`.
    """
    if not horizon_days > 0:
        raise ForecastError(f"horizon_days must be > 0; got {horizon_days}")
    m = steps_per_day(workload.step_s)
    horizon = max(1, round(horizon_days * m))
    out: dict[str, Forecast] = {}
    for metric in metrics or workload.metrics:
        values = workload.demand(metric)
        if group_of_vm is None:
            out[metric] = fit_forecast(
                values, workload.step_s, horizon, observed=workload.observed, **options
            )
        else:
            out[metric] = forecast_clusters(
                values, group_of_vm, workload.step_s, horizon, observed=workload.observed, **options
            )
    return out
