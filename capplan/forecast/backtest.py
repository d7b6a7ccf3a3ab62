"""Backtests: plan on the first days of a trace, replay the plan on the days that follow.

A plan is made from history and then lives in a future it did not see. :func:`backtest` cuts
a workload into a training window (``train_days``) and the test window right after it
(``test_days``), plans the training window with the consolidation that ``capplan
consolidate`` runs (:func:`capplan.optimize.consolidate.consolidate`), replays the plan on
both windows on the emulated hardware (:func:`capplan.emulate.engine.emulate`), and puts
what the plan promised next to what the test window brought:

- **promised**: the replay of the training window (in-sample) and the plan's own sized
  loads (per host, resource and bucket) against the capacity it planned with;
- **experienced**: the replay of the test window (out-of-sample).

The KPIs compared are those of :mod:`capplan.emulate.kpis` (overloaded host-steps, SLATAH,
PDM, paging, storage latency SLO breaches, peak NIC load), plus, per sized resource (``cpu``
MHz, ``mem`` MiB, ``net_rx``/``net_tx`` Mbit/s):

- ``planned_peak_pct``: the highest load the plan sized on a host (over buckets), as a share
  of the capacity it planned with (host capacity × (1 − headroom)); at most 100 by
  construction;
- ``train_peak_pct`` / ``test_peak_pct``: the highest per-step load of a host in the
  window, sized the same way (same source perf factor, mode overhead, over-commit ratio and
  per-VM memory overhead), as a share of the planned capacity. Above 100: the window needed
  more than the plan gave;
- ``headroom_needed_frac``: the largest, over hosts, of (test-window peak load − planned peak
  load) / host capacity, and 0 if no host's load grew: the share of each host's capacity that
  would have had to stay free above what the plan sized for the test window to fit. Compare
  it with the headroom setting: when it is larger, the headroom was too small.

A rolling backtest walks the window through the trace: window ``k`` trains on days
``[k·B, k·B + A)`` and tests on ``[k·B + A, k·B + A + B)``, for every ``k`` whose test window
ends within the trace (``A`` = train days, ``B`` = test days; the step is ``B``).

VMs with no sample in the training window (they arrive later) are sized from their
configured CPU and memory, as consolidation does for any VM without usage data
(``new_vms="configured"``), or left out of the plan and of both replays (``"skip"``); the
window lists them either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.demand.reduce import Reduction
from capplan.demand.workload import Quality, Workload
from capplan.emulate.aggregate import HostMap, aggregate
from capplan.emulate.engine import emulate
from capplan.emulate.gaps import fill_interior_gaps
from capplan.forecast.checks import ForecastError
from capplan.optimize.consolidate import (
    IO_CPU_METRICS,
    ConsolidateOptions,
    ConsolidateResult,
    consolidate,
    get_mode,
    size_vms,
)
from capplan.outcomes import EmulationKpis
from capplan.placement import Placement
from capplan.spec.catalog import Catalog
from capplan.units import S_PER_DAY

#: Sized resources whose load is compared with the planned capacity (those the time series
#: can drive; vCPU and guest limits do not change over time).
RESOURCES = ("cpu", "mem", "net_rx", "net_tx")
#: Workload metric behind each sized resource.
_METRIC_OF = {
    "cpu": "cpu_demand_mhz",
    "mem": "mem_active_mib",
    "net_rx": "net_rx_mbps",
    "net_tx": "net_tx_mbps",
}
#: Emulation KPIs compared between the training replay (promised) and the test replay
#: (experienced), in display order; definitions in :mod:`capplan.emulate.kpis`.
KPI_KEYS = (
    "n_hosts_active",
    "overloaded_host_steps",
    "overloaded_frac",
    "slatah_frac",
    "pdm_frac",
    "slav",
    "peak_cpu_util_frac",
    "paging_mib",
    "peak_mem_used_frac",
    "mem_overcommitted_host_steps",
    "storage_slo_breach_steps",
    "storage_p95_latency_ms",
    "peak_nic_load_ratio",
)
NEW_VM_POLICIES = ("configured", "skip")

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class WindowSpan:
    """Steps of one backtest window: train ``[train_start, test_start)``, test
    ``[test_start, test_stop)``."""

    index: int
    train_start: int
    test_start: int
    test_stop: int


@dataclass(frozen=True)
class BacktestWindow:
    """Outcome of one window.

    Attributes
    ----------
    span
        Its steps.
    train_start, test_start, test_end
        UTC times of the first training step, the first test step and the last test step.
    status
        The consolidation status (``optimal``, ``feasible``, ``infeasible``, ``unknown``).
    n_hosts, hosts_by_model
        Hosts of the plan.
    promised, experienced
        :data:`KPI_KEYS` → value, from the replay of the training and of the test window
        (empty when the plan found no placement).
    resources
        Resource → ``{"planned_peak_pct", "train_peak_pct", "test_peak_pct",
        "headroom_needed_frac"}`` (see the module docstring).
    new_vms
        VMs without a sample in the training window.
    notes
        Remarks (consolidation notes and what was done with new VMs).
    """

    span: WindowSpan
    train_start: datetime
    test_start: datetime
    test_end: datetime
    status: str
    n_hosts: int
    hosts_by_model: dict[str, int]
    promised: dict[str, Any]
    experienced: dict[str, Any]
    resources: dict[str, dict[str, float]]
    new_vms: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "window": self.span.index,
            "train_start": self.train_start.isoformat(),
            "test_start": self.test_start.isoformat(),
            "test_end": self.test_end.isoformat(),
            "train_steps": self.span.test_start - self.span.train_start,
            "test_steps": self.span.test_stop - self.span.test_start,
            "status": self.status,
            "n_hosts": self.n_hosts,
            "hosts_by_model": self.hosts_by_model,
            "promised": self.promised,
            "experienced": self.experienced,
            "resources": self.resources,
            "new_vms": list(self.new_vms),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class BacktestResult:
    """Every window of a backtest, with its settings."""

    windows: tuple[BacktestWindow, ...]
    train_days: float
    test_days: float
    rolling: bool
    headroom_frac: float
    sizing: str
    mode: str
    n_vms: int
    step_s: int
    trace_start: datetime
    trace_days: float
    new_vm_policy: str = "configured"
    sources: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``capplan backtest --json`` prints)."""
        return {
            "train_days": self.train_days,
            "test_days": self.test_days,
            "rolling": self.rolling,
            "n_windows": len(self.windows),
            "headroom_frac": self.headroom_frac,
            "sizing": self.sizing,
            "mode": self.mode,
            "n_vms": self.n_vms,
            "step_s": self.step_s,
            "trace_start": self.trace_start.isoformat(),
            "trace_days": self.trace_days,
            "new_vms": self.new_vm_policy,
            "windows": [w.to_dict() for w in self.windows],
        }


# ------------------------------------------------------------------------------ windows
def _steps(days: float, step_s: int) -> int:
    return round(days * S_PER_DAY / step_s)


def plan_windows(
    n_steps: int,
    step_s: int,
    train_days: float,
    test_days: float,
    *,
    rolling: bool = False,
    trace_start: datetime | None = None,
) -> list[WindowSpan]:
    """The windows of a backtest, in steps.

    Parameters
    ----------
    n_steps, step_s
        Length of the trace in steps, and seconds per step.
    train_days, test_days
        Days planned on (A) and days replayed after them (B).
    rolling
        False: one window (train on the first A days). True: windows ``k = 0, 1, ...``
        train on ``[k·B, k·B + A)`` and test on ``[k·B + A, k·B + A + B)`` while the test
        window ends within the trace.
    trace_start
        Start of the trace, only quoted in error messages.

    Raises
    ------
    ForecastError
        A non-positive or sub-step length (naming ``--train-days`` / ``--test-days``), or
        train + test longer than the trace (giving the trace's span).
    """
    problems = []
    for option, days in (("--train-days", train_days), ("--test-days", test_days)):
        if not (math.isfinite(days) and days > 0):
            problems.append(f"{option}: must be a number of days > 0, got {days}")
        elif _steps(days, step_s) < 1:
            problems.append(
                f"{option}: {days:g} days is shorter than one step of the trace ({step_s} s)"
            )
    if problems:
        raise ForecastError("; ".join(problems))
    n_train, n_test = _steps(train_days, step_s), _steps(test_days, step_s)
    trace_days = n_steps * step_s / S_PER_DAY
    if n_train + n_test > n_steps:
        where = f" from {trace_start.isoformat()}" if trace_start is not None else ""
        raise ForecastError(
            f"--train-days {train_days:g} + --test-days {test_days:g} = "
            f"{train_days + test_days:g} days is longer than the trace, which spans "
            f"{trace_days:.2f} days ({n_steps:,} steps of {step_s} s{where}); expected "
            f"train + test <= {trace_days:.2f} days"
        )
    spans = []
    k = 0
    while True:
        start = k * n_test
        stop = start + n_train + n_test
        if stop > n_steps:
            break
        spans.append(WindowSpan(k, start, start + n_train, stop))
        if not rolling:
            break
        k += 1
    return spans


def slice_steps(workload: Workload, start: int, stop: int) -> Workload:
    """The steps ``[start, stop)`` of a workload (every VM kept; quality recomputed).

    Parameters
    ----------
    workload
        Any workload.
    start, stop
        Step indices, ``0 <= start < stop <= n_steps``.
    """
    if not 0 <= start < stop <= workload.n_steps:
        raise ForecastError(
            f"step range [{start}, {stop}) is outside the workload's {workload.n_steps} steps"
        )
    observed = workload.observed[:, start:stop]
    seen = observed.any(axis=1)
    n = stop - start
    first = np.where(seen, observed.argmax(axis=1), 0)
    last = np.where(seen, n - 1 - observed[:, ::-1].argmax(axis=1), -1)
    expected = np.maximum(last - first + 1, 1)
    vm_frac = np.where(seen, observed.sum(axis=1) / expected, 0.0).astype(np.float64)
    overall = float(observed.sum() / expected[seen].sum()) if seen.any() else 0.0
    return Workload(
        vm_ids=workload.vm_ids,
        inventory=workload.inventory,
        start=datetime.fromtimestamp(workload.start.timestamp() + start * workload.step_s, tz=UTC),
        step_s=workload.step_s,
        mean={k: v[:, start:stop] for k, v in workload.mean.items()},
        peak={k: v[:, start:stop] for k, v in workload.peak.items()},
        observed=observed,
        quality=Quality(vm_frac, overall, workload.quality.problems),
        format=workload.format,
        sources=workload.sources,
    )


# ------------------------------------------------------------------------------ figures
def _kpi_subset(kpis: EmulationKpis) -> dict[str, Any]:
    breaches = [t.slo_breach_steps for t in kpis.storage.values()]
    out = {k: getattr(kpis, k) for k in KPI_KEYS if k != "storage_slo_breach_steps"}
    out["storage_slo_breach_steps"] = int(sum(breaches)) if breaches else None
    return {k: out[k] for k in KPI_KEYS}


def _host_types(prep_type_names: tuple[str, ...], host_models: npt.NDArray[np.str_]) -> list[int]:
    names = [t.removesuffix(" (owned)") for t in prep_type_names]
    return [names.index(str(m)) for m in host_models]


def _sized_per_step(
    window: Workload, catalog: Catalog, opts: ConsolidateOptions
) -> dict[str, npt.NDArray[np.float64]]:
    """Per-VM, per-step demand sized as the plan sizes it: ``(n_vms, n_steps)`` per resource.

    Interior gaps are filled as the emulator fills them; a VM without any sample of a metric
    in the window counts 0 (it is absent), unless the workload lacks the metric altogether
    (then consolidation's inventory sizing applies, as in the plan). The per-step mean is
    used, as the emulator replays it; a plan sized on finer peaks (``statistic="peak"`` with
    a workload that keeps them) is therefore compared with a slightly lower load.
    """
    filled, _ = fill_interior_gaps(window)
    metrics = [m for m in (*_METRIC_OF.values(), *IO_CPU_METRICS) if m in filled.mean]
    names = tuple(str(i) for i in range(filled.n_steps))
    red = Reduction(
        values={m: filled.mean[m].astype(np.float64) for m in metrics},
        has_data={m: np.ones(filled.n_vms, dtype=np.bool_) for m in metrics},
        bucket_names=names,
        period="steps",
        statistic="mean",
    )
    mode = get_mode(catalog, opts.mode)
    factor = (
        catalog.hosts[opts.source_host].perf_factor
        if opts.source_host is not None
        else opts.source_perf_factor
    )
    demand, _, _ = size_vms(filled, red, mode, opts, factor, catalog.guest)
    return {r: demand[r] for r in RESOURCES if r in demand}


def _resource_figures(
    result: ConsolidateResult,
    placement: Placement,
    train: Workload,
    test: Workload,
    catalog: Catalog,
    opts: ConsolidateOptions,
) -> dict[str, dict[str, float]]:
    """Planned, training and test peaks per resource against the planned capacity."""
    inst = result.prepared.instance
    placed = placement.aligned_to(train.vm_ids, label="plan")
    host_map = HostMap(placed.host_of_vm, placed.n_hosts)
    types = _host_types(inst.type_names, placed.host_models)
    headroom_keep = 1.0 - opts.headroom_frac
    train_sized = _sized_per_step(train, catalog, opts)
    test_sized = _sized_per_step(test, catalog, opts)
    item = {name: i for i, name in enumerate(inst.item_names)}
    rows = np.array([item[str(v)] for v in train.vm_ids], dtype=np.int64)
    out: dict[str, dict[str, float]] = {}
    for d, dim in enumerate(inst.dim_names):
        if dim not in RESOURCES:
            continue
        scale = float(inst.dim_scale[d])
        cap_planned = inst.capacity[types, d].astype(np.float64) * scale  # (n_hosts,)
        cap_raw = cap_planned / headroom_keep
        planned = aggregate(inst.demand[rows, d, :].astype(np.float64) * scale, host_map)
        planned_peak = planned.max(axis=1).astype(np.float64)
        peaks = {}
        for label, sized in (("train", train_sized), ("test", test_sized)):
            load = aggregate(sized[dim], host_map).max(axis=1).astype(np.float64)
            peaks[label] = load
        safe = np.where(cap_planned > 0, cap_planned, np.inf)
        grown = (peaks["test"] - planned_peak) / np.where(cap_raw > 0, cap_raw, np.inf)
        out[dim] = {
            "planned_capacity_total": float(cap_planned.sum()),
            "planned_peak_pct": 100.0 * float((planned_peak / safe).max()),
            "train_peak_pct": 100.0 * float((peaks["train"] / safe).max()),
            "test_peak_pct": 100.0 * float((peaks["test"] / safe).max()),
            "headroom_needed_frac": max(0.0, float(grown.max())),
        }
    return out


# ------------------------------------------------------------------------------ backtest
def backtest(
    workload: Workload,
    catalog: Catalog,
    opts: ConsolidateOptions,
    *,
    train_days: float,
    test_days: float,
    rolling: bool = False,
    new_vms: str = "configured",
    switch_off_empty: bool = True,
    progress: ProgressFn | None = None,
) -> BacktestResult:
    """Plan on ``train_days`` of ``workload``, replay the plan on the ``test_days`` after.

    Parameters
    ----------
    workload
        The whole trace.
    catalog
        Hosts, modes, SAN and fabric (the plan and both replays use it).
    opts
        Consolidation settings (sizing, headroom, HA, hosts offered, solver limits...).
    train_days, test_days
        Days planned on (A) and replayed after them (B).
    rolling
        Walk the window through the trace in steps of ``test_days``.
    new_vms
        ``"configured"``: VMs without a sample in the training window are planned from
        their configured size; ``"skip"``: they are left out of the plan and both replays.
    switch_off_empty
        Passed to :func:`capplan.emulate.engine.emulate`.
    progress
        Called with a one-line message before each window.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ForecastError
        Bad window lengths, or train + test longer than the trace.
    """
    if new_vms not in NEW_VM_POLICIES:
        raise ForecastError(f"--new-vms: {new_vms!r} is not one of {list(NEW_VM_POLICIES)}")
    spans = plan_windows(
        workload.n_steps,
        workload.step_s,
        train_days,
        test_days,
        rolling=rolling,
        trace_start=workload.start,
    )
    windows = []
    for span in spans:
        if progress is not None:
            progress(f"window {span.index + 1}/{len(spans)}: planning")
        windows.append(_one_window(workload, catalog, opts, span, new_vms, switch_off_empty))
    return BacktestResult(
        windows=tuple(windows),
        train_days=train_days,
        test_days=test_days,
        rolling=rolling,
        headroom_frac=opts.headroom_frac,
        sizing=opts.sizing,
        mode=opts.mode,
        n_vms=workload.n_vms,
        step_s=workload.step_s,
        trace_start=workload.start,
        trace_days=workload.n_steps * workload.step_s / S_PER_DAY,
        new_vm_policy=new_vms,
        sources=workload.sources,
    )


def _one_window(
    workload: Workload,
    catalog: Catalog,
    opts: ConsolidateOptions,
    span: WindowSpan,
    new_vm_policy: str,
    switch_off_empty: bool,
) -> BacktestWindow:
    train = slice_steps(workload, span.train_start, span.test_start)
    test = slice_steps(workload, span.test_start, span.test_stop)
    unseen: npt.NDArray[np.bool_] = np.logical_not(train.observed.any(axis=1))
    new_ids = tuple(str(v) for v in train.vm_ids[unseen])
    notes: list[str] = []
    if new_ids and new_vm_policy == "skip":
        keep: npt.NDArray[np.bool_] = np.logical_not(unseen)
        train, test = train.select_vms(keep), test.select_vms(keep)
        notes.append(
            f"{len(new_ids)} VM(s) without a sample in the training window left out of the "
            "plan and of both replays"
        )
    elif new_ids:
        notes.append(
            f"{len(new_ids)} VM(s) without a sample in the training window planned from their "
            "configured CPU and memory"
        )
    if train.n_vms == 0:
        raise ForecastError(
            f"window {span.index}: no VM has a sample in the training window; nothing to plan"
        )
    result = consolidate(train, catalog, opts)
    summary = result.summary
    notes.extend(summary.notes)
    promised: dict[str, Any] = {}
    experienced: dict[str, Any] = {}
    resources: dict[str, dict[str, float]] = {}
    if result.placement is not None:
        for label, part in (("train", train), ("test", test)):
            em = emulate(
                part, result.placement, catalog, opts.mode, switch_off_empty=switch_off_empty
            )
            kpis = _kpi_subset(em.kpis())
            if label == "train":
                promised = kpis
            else:
                experienced = kpis
        resources = _resource_figures(result, result.placement, train, test, catalog, opts)
    else:
        notes.append(f"no plan ({summary.status}): {summary.reason or 'no reason given'}")
    return BacktestWindow(
        span=span,
        train_start=train.start,
        test_start=test.start,
        test_end=test.end,
        status=str(summary.status),
        n_hosts=summary.n_hosts,
        hosts_by_model=dict(summary.hosts_by_model),
        promised=promised,
        experienced=experienced,
        resources=resources,
        new_vms=new_ids,
        notes=tuple(notes),
    )
