"""Planning for a horizon: demand growth per VM, run-out of a plan's capacity, what to buy when.

A plan for a horizon of ``D`` days must hold from today until day ``D``. Each VM's sized demand
(per resource and time bucket, as the optimizer sees it) is multiplied by a growth factor
``g(t)``:

- ``growth="auto"``: the trend of each group's (security zone's) summed demand, fitted by
  :func:`capplan.forecast.forecast_clusters` (slope per day and its standard error), relative
  to the trend line's level at the end of the history (the group's mean plus the slope over
  half the history): ``g(t) = 1 + (slope + z·se) · t / level`` for every VM of the group,
  where ``z`` is the normal quantile of the confidence level (the upper trajectory;
  ``− z·se`` gives the lower one, ``z = 0`` the expected one). The plan is sized on the
  upper trajectory of the trends the data supports (the fit keeps a slope only when
  ``|slope| ≥ t_min · se``); a rejected trend is not sized (a week of history cannot tell a
  +4 %/day trend from noise, and sizing for it would double the estate), but its range still
  shows in the run-out dates. Per-VM trends were tried first and
  rejected: on the demo's 7 days the median per-VM upper rate was +6 %/day for CPU and
  +25 %/day for network (single bursty VMs reached +100 %/day), which no planner would size
  on; a group's sum averages that noise out.
- ``growth=FRAC``: every VM grows at the compound annual rate ``FRAC``:
  ``g(t) = (1 + FRAC)^(t / 365)`` (no interval: the rate is the user's).

New VMs arriving at ``N`` a month (the user's figure) add, in each zone, ``N`` × the zone's
share of today's VMs, each like the zone's average VM: the zone's demand grows by
``a·t`` with ``a = N_zone / (30.44 · n_zone)`` per day, added to every VM's ``g(t)`` (arrivals
are not themselves grown). The aggregate figures (run-out, purchases) are exact for that
model; in the packing, arrivals are spread over the zone's VMs in proportion to their size,
which approximates many small new VMs by slightly larger old ones.

Sizing for the horizon takes ``max(1, g(D))`` of the sized trajectory (a linear or compound
``g`` peaks at an end of ``[0, D]``; today's demand must fit as well).

The plan's capacity runs out on the first day the cluster's peak bucket of grown demand,
``max_b Σ_v g_v(t) · d_v,b``, exceeds the plan's usable capacity (hosts less the HA reserve,
headroom already taken off), per resource and zone. That is the aggregate test of
vRealize/Aria Operations' "time remaining"; packing losses come on top, so the date is an
upper bound on the true run-out. The purchase schedule adds hosts of one model, as the sized
trajectory needs them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from capplan.forecast.checks import ForecastError
from capplan.forecast.clusters import forecast_clusters

F64 = npt.NDArray[np.float64]

#: Sized dimension → workload metric whose trend grows it (``growth="auto"``).
TREND_METRIC: Final[dict[str, str]] = {
    "cpu": "cpu_demand_mhz",
    "mem": "mem_active_mib",
    "net_rx": "net_rx_mbps",
    "net_tx": "net_tx_mbps",
}
#: Dimensions a fixed growth rate applies to (counts such as vCPUs and guests do not grow).
GROWING_DIMS: Final = tuple(TREND_METRIC)
DAYS_PER_YEAR: Final = 365.0
#: ``growth="auto"`` extrapolates a trend at most this many times the history's length.
MAX_EXTRAPOLATION_RATIO: Final = 3.0


def parse_growth(value: str | float) -> str | float:
    """``"auto"`` or a compound annual growth fraction (``0.2`` or ``"20%"``), checked.

    Raises
    ------
    ForecastError
        For anything else, or a rate ≤ −1 (demand cannot fall below zero).
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        try:
            rate = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            raise ForecastError(
                f"growth must be 'auto' or an annual fraction such as 0.2 or '20%'; got {value!r}"
            ) from None
    else:
        rate = float(value)
    if not math.isfinite(rate) or rate <= -1.0:
        raise ForecastError(f"growth must be a finite annual fraction > -1; got {value!r}")
    return rate


@dataclass(frozen=True)
class Growth:
    """Growth of every VM's sized demand over a planning horizon.

    Attributes
    ----------
    horizon_days
        Days the plan must hold for.
    level
        Confidence level of the upper (sized) trajectory.
    annual_frac
        Compound annual rate (fixed growth), or None (zone trends).
    rates_per_day
        Trends only: dimension → ``(expected, lower, upper, sized)`` relative slopes per
        day, float64 ``(n_vms,)`` each (``sized``: the upper one where the trend was kept,
        else 0). Dimensions not listed do not grow.
    notes
        What was assumed (trend rejections, extrapolation beyond the history).
    arrivals_per_day, new_vms_per_month, new_vms_range
        Relative demand added per day by new VMs at the expected rate, float64 ``(n_vms,)``
        (the VM's zone's ``a``), or None for no arrivals; the expected rate (VMs a month) it
        came from, and its (lower, upper) bounds (the same as the rate when it is the user's;
        the upper one is sized).
    """

    horizon_days: float
    level: float
    annual_frac: float | None
    rates_per_day: dict[str, tuple[F64, F64, F64, F64]]
    notes: tuple[str, ...] = ()
    arrivals_per_day: F64 | None = None
    new_vms_per_month: float = 0.0
    new_vms_range: tuple[float, float] | None = None

    def grows(self, dim: str) -> bool:
        """Whether dimension ``dim`` grows."""
        if self.annual_frac is not None or self.arrivals_per_day is not None:
            return dim in GROWING_DIMS
        return dim in self.rates_per_day

    def factors(self, dim: str, days: F64, which: str = "upper") -> F64:
        """``g_v(t)`` for every VM and day: float64 ``(len(days), n_vms)``, ``(len(days), 1)``
        when one factor holds for all VMs; ones for a dimension that does not grow. Arrivals
        (``arrivals_per_day``) are added to the growth of the estate.

        ``which``: ``"expected"``, ``"lower"``, ``"upper"`` or ``"sized"``.
        """
        g = self._growth(dim, days, which)
        if self.arrivals_per_day is None or dim not in GROWING_DIMS:
            return g
        t = np.asarray(days, dtype=np.float64)[:, None]
        return g + self.arrivals_per_day[None, :] * t * self._arrival_scale(which)

    def _arrival_scale(self, which: str) -> float:
        """The arrival rate of trajectory ``which`` relative to the expected one."""
        if self.new_vms_range is None or which == "expected" or self.new_vms_per_month <= 0:
            return 1.0
        low, high = self.new_vms_range
        return (low if which == "lower" else high) / self.new_vms_per_month

    def _growth(self, dim: str, days: F64, which: str) -> F64:
        """The estate's own growth (without arrivals), as :meth:`factors`."""
        t = np.asarray(days, dtype=np.float64)[:, None]
        if self.annual_frac is not None:
            if dim not in GROWING_DIMS:
                return np.ones_like(t)
            return (1.0 + self.annual_frac) ** (t / DAYS_PER_YEAR)
        if dim not in self.rates_per_day:
            return np.ones_like(t)
        k = ("expected", "lower", "upper", "sized").index(which)
        rate = self.rates_per_day[dim][k]
        return np.maximum(1.0 + rate[None, :] * t, 0.0)

    def sizing_factor(self, dim: str, n_vms: int) -> F64:
        """What each VM's sized demand is multiplied by so the plan holds until the horizon:
        ``max(1, g(D))`` of the sized trajectory, float64 ``(n_vms,)``."""
        g = self.factors(dim, np.array([self.horizon_days]), "sized")[0]
        return np.broadcast_to(np.maximum(g, 1.0), (n_vms,)).copy()

    def window_days(self, history_days: float, factor: float = 3.0, floor: float = 365.0) -> int:
        """Days the run-out is looked for: ``factor`` × the horizon, at least ``floor``; trends
        no further than :data:`MAX_EXTRAPOLATION_RATIO` × the history (but the horizon)."""
        window = max(factor * self.horizon_days, floor)
        if self.annual_frac is None:
            window = min(window, max(MAX_EXTRAPOLATION_RATIO * history_days, self.horizon_days))
        return math.ceil(window)

    def describe(self) -> str:
        """One line for reports."""
        if self.annual_frac is not None:
            text = (
                f"{self.annual_frac:.1%} a year compound over {self.horizon_days:g} days "
                f"(× {(1 + self.annual_frac) ** (self.horizon_days / DAYS_PER_YEAR):.3f})"
            )
        else:
            text = (
                f"each zone's trend at the {self.level:.0%} upper bound over "
                f"{self.horizon_days:g} days (trends the history supports)"
            )
        if self.arrivals_per_day is not None:
            text += f", plus {self.new_vms_per_month:.3g} new VM(s) a month"
            if self.new_vms_range is not None and self.new_vms_range[0] != self.new_vms_range[1]:
                low, high = self.new_vms_range
                text += f" ({low:.3g}–{high:.3g}; the upper figure sized)"
        return text


def fit_growth(
    workload: Any,
    dims: tuple[str, ...],
    horizon_days: float,
    growth: str | float,
    *,
    level: float = 0.9,
    usage_dims: tuple[str, ...] | None = None,
    group_of_vm: npt.ArrayLike | None = None,
    new_vms_per_month: float = 0.0,
    new_vms_range: tuple[float, float] | None = None,
) -> Growth:
    """Growth of each VM over ``horizon_days`` for the sized dimensions ``dims``.

    Parameters
    ----------
    workload
        The :class:`~capplan.demand.Workload` the plan is sized on.
    dims
        The instance's dimensions (``cpu``, ``mem``, ``net_rx``...).
    horizon_days
        Days the plan must hold for (> 0).
    growth
        ``"auto"`` (per-VM trends) or a compound annual fraction (see :func:`parse_growth`).
    level
        Confidence level of the sized (upper) trajectory, in (0.5, 1).
    usage_dims
        Dimensions sized on the trace's usage (trends apply only to them; default: every
        dimension with a trend metric in the workload).
    group_of_vm
        Group (zone) index of each VM, ints ``(n_vms,)``; default: one group.
    new_vms_per_month, new_vms_range
        New VMs a month (≥ 0), each like the average VM of its zone, and its (lower, upper)
        bounds when the rate was fitted (:func:`arrivals_from_created`).

    Raises
    ------
    ForecastError
        Bad horizon, level or growth; ``auto`` on a history too short to fit a trend, or
        with a horizon beyond :data:`MAX_EXTRAPOLATION_RATIO` times the history.
    """
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ForecastError(f"horizon_days must be > 0; got {horizon_days}")
    if not 0.5 < level < 1.0:
        raise ForecastError(f"the confidence level must be in (0.5, 1); got {level}")
    rate = parse_growth(growth)
    if not (math.isfinite(new_vms_per_month) and new_vms_per_month >= 0):
        raise ForecastError(f"new_vms_per_month must be >= 0; got {new_vms_per_month}")
    groups = (
        np.zeros(workload.n_vms, dtype=np.int64)
        if group_of_vm is None
        else np.asarray(group_of_vm, dtype=np.int64)
    )
    arrivals = _arrival_rates(groups, new_vms_per_month)
    if rate != "auto":
        return Growth(
            horizon_days,
            level,
            float(rate),
            {},
            (),
            arrivals,
            new_vms_per_month,
            new_vms_range,
        )
    z = NormalDist().inv_cdf(level)
    step_s = int(workload.step_s)
    per_day = max(1, round(86_400 / step_s))
    history_days = workload.n_steps / per_day
    notes: list[str] = []
    if horizon_days > MAX_EXTRAPOLATION_RATIO * history_days:
        raise ForecastError(
            f"--growth auto extrapolates each VM's trend at most {MAX_EXTRAPOLATION_RATIO:g}× "
            f"the history; {history_days:.1f} days of history allow a horizon of "
            f"{MAX_EXTRAPOLATION_RATIO * history_days:.0f} days, not {horizon_days:g}. Give "
            "more history, a shorter --horizon-days, or a fixed annual rate (--growth 0.1)"
        )
    allowed = usage_dims if usage_dims is not None else dims
    n_groups = int(groups.max()) + 1 if len(groups) else 1
    rates: dict[str, tuple[F64, F64, F64, F64]] = {}
    for dim in dims:
        metric = TREND_METRIC.get(dim)
        if metric is None or dim not in allowed or metric not in workload.metrics:
            continue
        values = np.nan_to_num(workload.demand(metric), nan=0.0)
        observed = np.asarray(workload.observed, dtype=np.bool_)
        try:
            fc = forecast_clusters(
                values, groups, step_s, 1, observed=observed, n_groups=n_groups, level=level
            )
        except ForecastError as exc:
            raise ForecastError(
                f"--growth auto needs a trend of {metric}: {exc.message}; "
                "give a fixed annual rate (--growth 0.1) instead"
            ) from None
        sums = np.zeros((n_groups, values.shape[1]))
        np.add.at(sums, groups, np.where(observed, values, 0.0))
        seen = np.zeros((n_groups, values.shape[1]), dtype=np.bool_)
        np.logical_or.at(seen, groups, observed)
        mean = np.where(seen, sums, 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
        slope, se = fc.slope_per_day, fc.slope_se_per_day
        # The trend line at the end of the history: growth is relative to where demand is.
        level_end = mean + slope * history_days / 2.0
        scale = np.where(level_end > 0, 1.0 / np.maximum(level_end, 1e-300), 0.0)
        upper = (slope + z * se) * scale
        sized = np.where(slope != 0, upper, 0.0)
        per_group = (slope * scale, (slope - z * se) * scale, upper, sized)
        rates[dim] = (
            per_group[0][groups],
            per_group[1][groups],
            per_group[2][groups],
            per_group[3][groups],
        )
        shown = [_pct(float(e), float(u)) for e, u in zip(per_group[0], upper, strict=True)]
        notes.append(f"{dim} trend per zone: {'; '.join(shown)}")
    return Growth(
        horizon_days,
        level,
        None,
        rates,
        tuple(notes),
        arrivals,
        new_vms_per_month,
        new_vms_range,
    )


#: Days in an average month (365.25 / 12).
DAYS_PER_MONTH: Final = 30.4375


def _arrival_rates(groups: npt.NDArray[np.int64], new_vms_per_month: float) -> F64 | None:
    """Each VM's zone's relative demand added per day by arrivals (None: no arrivals).

    A zone with ``n_z`` of the ``n`` VMs gets ``N · n_z / n`` new VMs a month, each like its
    average VM: ``N · n_z / n / (DAYS_PER_MONTH · n_z) = N / (DAYS_PER_MONTH · n)`` per day,
    the same relative rate for every zone.
    """
    if new_vms_per_month <= 0 or not len(groups):
        return None
    return np.full(len(groups), new_vms_per_month / (DAYS_PER_MONTH * len(groups)))


def _pct(expected_per_day: float, upper_per_day: float) -> str:
    if expected_per_day == 0:
        return f"none significant (upper bound {upper_per_day * DAYS_PER_YEAR:+.0%} a year)"
    return (
        f"{expected_per_day * DAYS_PER_YEAR:+.1%} a year "
        f"(upper bound {upper_per_day * DAYS_PER_YEAR:+.1%})"
    )


@dataclass(frozen=True)
class RunOut:
    """When one resource of one zone runs out, and what to buy when.

    Attributes
    ----------
    zone, dim, unit
        Where and what.
    capacity
        Usable capacity of the plan (hosts less the HA reserve), integer sizing units.
    demand_today, demand_at_horizon
        Peak bucket of the summed sized demand today and at the horizon (the trajectory the
        plan is sized on).
    expected_days, earliest_days, latest_days
        First day the expected, upper and lower trajectories exceed the capacity (None: not
        within ``window_days``).
    window_days
        Days looked at.
    trajectory
        For charts: ``days`` (about :data:`TRAJECTORY_POINTS` of them) and the ``expected``,
        ``lower`` and ``upper`` demand on those days as a share of the capacity.
    """

    zone: str
    dim: str
    unit: str
    capacity: float
    demand_today: float
    demand_at_horizon: float
    expected_days: int | None
    earliest_days: int | None
    latest_days: int | None
    window_days: int
    trajectory: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def _first_day(total: F64, capacity: float) -> int | None:
    above = np.flatnonzero(total > capacity)
    return int(above[0]) if len(above) else None


def run_out(
    base: dict[str, F64],
    units: dict[str, str],
    zone_of_vm: npt.NDArray[np.int64],
    zone_names: tuple[str, ...],
    capacity: dict[tuple[int, str], float],
    growth: Growth,
    window_days: int,
) -> list[RunOut]:
    """Run-out day of every (zone, dimension) of a plan over ``window_days`` days.

    Parameters
    ----------
    base
        Dimension → today's sized demand per VM and bucket, float64 ``(n_vms, n_buckets)``.
    units
        Dimension → unit label.
    zone_of_vm
        Zone index of each VM.
    zone_names
        Zone labels.
    capacity
        ``(zone, dim)`` → usable capacity of the plan in that zone.
    growth
        The growth model.
    window_days
        Days to look ahead (≥ the horizon).
    """
    days = np.arange(window_days + 1, dtype=np.float64)
    horizon = min(round(growth.horizon_days), window_days)
    rows: list[RunOut] = []
    for (z, dim), cap in sorted(capacity.items()):
        members = zone_of_vm == z
        d = base[dim][members]
        traj = {}
        for which in ("expected", "lower", "upper", "sized"):
            g = growth.factors(dim, days, which)
            g = g if g.shape[1] == 1 else g[:, members]
            traj[which] = (g @ d).max(axis=1) if g.shape[1] > 1 else g[:, 0] * d.sum(0).max()
        rows.append(
            RunOut(
                zone=zone_names[z],
                dim=dim,
                unit=units[dim],
                capacity=float(cap),
                demand_today=float(traj["sized"][0]),
                demand_at_horizon=float(traj["sized"][horizon]),
                expected_days=_first_day(traj["expected"], cap),
                earliest_days=_first_day(traj["upper"], cap),
                latest_days=_first_day(traj["lower"], cap),
                window_days=window_days,
                trajectory=_thinned(days, traj, cap),
            )
        )
    return rows


#: Points kept of each run-out trajectory (for charts).
TRAJECTORY_POINTS: Final = 61


def _thinned(days: F64, traj: dict[str, F64], capacity: float) -> dict[str, list[float]]:
    pick = np.unique(np.linspace(0, len(days) - 1, TRAJECTORY_POINTS).round().astype(int))
    out = {"days": days[pick].tolist()}
    for which in ("expected", "lower", "upper"):
        out[which] = (traj[which][pick] / capacity).round(5).tolist()
    return out


def purchase_schedule(
    base: dict[str, F64],
    zone_of_vm: npt.NDArray[np.int64],
    zone_names: tuple[str, ...],
    capacity: dict[tuple[int, str], float],
    host_capacity: dict[str, float],
    host_model: str,
    growth: Growth,
    window_days: int,
) -> list[dict[str, Any]]:
    """Days on which each zone needs one more ``host_model`` host (sized trajectory).

    Hosts needed on day ``t``: the most, over dimensions, of ``ceil((demand(t) − capacity) /
    host capacity)``. Returns one row per purchase step: zone, day, hosts to add by then
    (cumulative) and the dimension that calls for them.
    """
    days = np.arange(window_days + 1, dtype=np.float64)
    rows: list[dict[str, Any]] = []
    for z, zone in enumerate(zone_names):
        members = zone_of_vm == z
        need = np.zeros(len(days), dtype=np.int64)
        why = np.full(len(days), "", dtype=object)
        for (zz, dim), cap in capacity.items():
            if zz != z or host_capacity.get(dim, 0.0) <= 0:
                continue
            g = growth.factors(dim, days, "sized")
            d = base[dim][members]
            total = (g[:, members] @ d).max(axis=1) if g.shape[1] > 1 else g[:, 0] * d.sum(0).max()
            hosts = np.ceil(np.maximum(total - cap, 0.0) / host_capacity[dim] - 1e-9)
            hosts = hosts.astype(np.int64)
            more = hosts > need
            why[more] = dim
            need = np.maximum(need, hosts)
        need = np.maximum.accumulate(need)
        for t in np.flatnonzero(np.diff(need, prepend=0) > 0):
            rows.append(
                {
                    "zone": zone,
                    "day": int(t),
                    "add_hosts_total": int(need[t]),
                    "host_model": host_model,
                    "binding": str(why[t]),
                }
            )
    return rows


@dataclass(frozen=True)
class ArrivalFit:
    """VM arrivals fitted from creation dates.

    Attributes
    ----------
    per_month, lower, upper
        VMs created a month over the window, and the two-sided interval of a Poisson rate
        at the confidence level (Garwood's exact interval).
    n_created, window_days, until
        VMs created in the window, its length, and its end.
    notes
        What the figure does not see.
    """

    per_month: float
    lower: float
    upper: float
    n_created: int
    window_days: float
    until: datetime
    notes: tuple[str, ...]


#: Days of creation history the arrival rate is fitted on.
ARRIVAL_WINDOW_DAYS: Final = 365.0


def arrivals_from_created(
    created: Sequence[datetime | None],
    until: datetime,
    *,
    level: float = 0.9,
    window_days: float = ARRIVAL_WINDOW_DAYS,
) -> ArrivalFit:
    """New VMs a month from the inventory's creation dates (RVTools vInfo ``Creation date``).

    The window is the ``window_days`` before ``until`` (or before the latest creation, if
    later). An estate younger than the window is fitted over its own age, and the notes say
    the rate includes its initial build-out.

    Raises
    ------
    ForecastError
        No VM has a creation date.
    """
    from scipy.stats import chi2

    known = [c for c in created if c is not None]
    if not known:
        raise ForecastError(
            "new VMs 'auto' needs the inventory's VM creation dates (RVTools vInfo 'Creation "
            "date', or a 'created' inventory column); none of the VMs has one. Give a number "
            "of new VMs a month instead"
        )
    end = max(until, max(known))
    oldest = min(known)
    span_days = min(window_days, max((end - oldest).total_seconds() / 86_400, 1.0))
    start = end - timedelta(days=span_days)
    n = sum(1 for c in known if c >= start)
    alpha = 1.0 - level
    low = 0.0 if n == 0 else 0.5 * float(chi2.ppf(alpha / 2, 2 * n))
    high = 0.5 * float(chi2.ppf(1 - alpha / 2, 2 * n + 2))
    months = span_days / DAYS_PER_MONTH
    notes = [
        f"new VMs fitted from creation dates: {n} created in the {span_days:.0f} days to "
        f"{end.date().isoformat()}, {n / months:.3g} a month ({level:.0%} interval "
        f"{low / months:.3g}–{high / months:.3g}); deleted VMs leave no trace in an "
        "inventory, so this is gross arrivals, not net growth"
    ]
    if len(known) < len(created):
        notes.append(f"{len(created) - len(known)} VM(s) have no creation date")
    if span_days < window_days:
        notes.append(
            f"the oldest VM is {span_days:.0f} days old: the rate includes the estate's "
            "initial build-out"
        )
    return ArrivalFit(
        per_month=n / months,
        lower=low / months,
        upper=high / months,
        n_created=n,
        window_days=span_days,
        until=end,
        notes=tuple(notes),
    )
