"""A plan's horizon figures: when each resource of each zone runs out, and what to buy when.

The plan was sized for the horizon (:func:`capplan.optimize.consolidate.prepare` grows the
demand with :class:`capplan.forecast.horizon.Growth`); this module reads the plan's usable
capacity per zone and resource and hands it, with today's sized demand, to
:func:`capplan.forecast.horizon.run_out` and :func:`~capplan.forecast.horizon.purchase_schedule`.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.forecast.horizon import Growth, purchase_schedule, run_out
from capplan.optimize.instance import Instance, Solution

#: Days looked ahead: this many times the horizon, and at least a year (fixed growth; trends
#: stop at :data:`capplan.forecast.horizon.MAX_EXTRAPOLATION_RATIO` × the history).
WINDOW_FACTOR: Final = 3
MIN_WINDOW_DAYS: Final = 365


def bin_zones(inst: Instance, sol: Solution) -> npt.NDArray[np.int64]:
    """Zone of each open bin: its items' zone; an empty bin its own zone (or zone 0)."""
    zone = np.zeros(sol.n_bins, dtype=np.int64)
    if sol.bin_zone is not None:
        zone = np.where(sol.bin_zone >= 0, sol.bin_zone, 0).astype(np.int64)
    zone[sol.assign] = inst.zone
    return zone


def usable_capacity(inst: Instance, sol: Solution) -> dict[tuple[int, str], float]:
    """``(zone, dim)`` → capacity of the zone's open bins less the ``ha_spares`` largest."""
    zones = bin_zones(inst, sol)
    out: dict[tuple[int, str], float] = {}
    for z in np.unique(zones).tolist():
        caps = inst.capacity[sol.bin_type[zones == z]].astype(np.float64)  # (bins, dims)
        for d, dim in enumerate(inst.dim_names):
            column = np.sort(caps[:, d])[::-1]
            out[(int(z), dim)] = float(column[inst.ha_spares :].sum())
    return out


def horizon_summary(
    inst: Instance,
    sol: Solution,
    growth: Growth,
    demand_today: dict[str, npt.NDArray[np.float64]],
    workload: Workload,
) -> dict[str, Any]:
    """JSON-ready horizon figures of a plan (see the module docstring)."""
    history_days = workload.n_steps * workload.step_s / 86_400
    window = growth.window_days(history_days, WINDOW_FACTOR, MIN_WINDOW_DAYS)
    capacity = usable_capacity(inst, sol)
    units = dict(zip(inst.dim_names, inst.dim_units, strict=True))
    rows = run_out(demand_today, units, inst.zone, inst.zone_names, capacity, growth, window)
    model_counts = Counter(inst.type_names[t].removesuffix(" (owned)") for t in sol.bin_type)
    model, _ = model_counts.most_common(1)[0]
    t_model = next(t for t, name in enumerate(inst.type_names) if name == model)
    host_cap = {dim: float(inst.capacity[t_model, d]) for d, dim in enumerate(inst.dim_names)}
    schedule = purchase_schedule(
        demand_today, inst.zone, inst.zone_names, capacity, host_cap, model, growth, window
    )
    end = workload.end

    def date(day: int | None) -> str | None:
        return None if day is None else (end + timedelta(days=day)).date().isoformat()

    run_rows = []
    for r in rows:
        row = r.to_dict()
        row.update(
            expected_date=date(r.expected_days),
            earliest_date=date(r.earliest_days),
            latest_date=date(r.latest_days),
        )
        run_rows.append(row)
    for step in schedule:
        step["date"] = date(step["day"])
    return {
        "horizon_days": growth.horizon_days,
        "growth": growth.describe(),
        "confidence": growth.level,
        "window_days": window,
        "history_end": end.isoformat(),
        "run_out": run_rows,
        "purchases": schedule,
        "method": (
            "aggregate test: the peak bucket of the zone's summed sized demand against the "
            "plan's capacity less the HA reserve; packing losses come on top, so a run-out "
            "date is the latest it can be"
        ),
    }
