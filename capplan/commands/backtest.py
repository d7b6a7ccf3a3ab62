"""``capplan backtest``: plan on the first days of a trace, replay the plan on the days after."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.commands.scenario_options import (
    BucketsOpt,
    CatalogOpt,
    CpuOvercommitOpt,
    CpuReadyLimitOpt,
    D,
    HaOpt,
    HaPolicyOpt,
    HeadroomOpt,
    HostsOpt,
    MemBasisOpt,
    MemOvercommitOpt,
    ModeOpt,
    ObjectiveOpt,
    PeriodOpt,
    SizingOpt,
    SourceHostOpt,
    StatisticOpt,
    StrategyOpt,
    TimeLimitOpt,
    VcpuRatioOpt,
    WorkersOpt,
)
from capplan.demand import load_workload
from capplan.forecast.backtest import NEW_VM_POLICIES, BacktestResult, BacktestWindow, backtest
from capplan.optimize.consolidate import ConsolidateOptions, HostOffer
from capplan.spec.catalog import load_catalog


@app.command("backtest")
@user_errors
def backtest_command(
    workload: Annotated[
        list[str], typer.Option("--workload", help="Trace path(s), FORMAT:PATH or Parquet.")
    ],
    train_days: Annotated[
        float, typer.Option("--train-days", help="Days the plan is made on (from the start).")
    ],
    test_days: Annotated[
        float, typer.Option("--test-days", help="Days after them the plan is replayed on.")
    ],
    rolling: Annotated[
        bool,
        typer.Option(
            "--rolling",
            help="Walk the window through the trace: train A days, test B days, step B days.",
        ),
    ] = False,
    new_vms: Annotated[
        str,
        typer.Option(
            "--new-vms",
            help="VMs with no sample in the training days: 'configured' (planned from their "
            "configured CPU and memory) or 'skip' (left out of plan and replays).",
        ),
    ] = "configured",
    catalog: CatalogOpt = None,
    hosts: HostsOpt = None,
    mode: ModeOpt = D["mode"],
    source_host: SourceHostOpt = D["source_host"],
    buckets: BucketsOpt = D["buckets"],
    period: PeriodOpt = D["period"],
    statistic: StatisticOpt = D["statistic"],
    sizing: SizingOpt = D["sizing"],
    cpu_overcommit: CpuOvercommitOpt = D["cpu_overcommit_ratio"],
    mem_overcommit: MemOvercommitOpt = D["mem_overcommit_ratio"],
    mem_basis: MemBasisOpt = D["mem_basis"],
    headroom: HeadroomOpt = D["headroom_frac"],
    ha: HaOpt = D["ha_hosts"],
    ha_policy: HaPolicyOpt = D["ha_policy"],
    vcpu_ratio: VcpuRatioOpt = D["vcpu_per_core_ratio"],
    cpu_ready_limit: CpuReadyLimitOpt = D["cpu_ready_limit_frac"],
    objective: ObjectiveOpt = D["objective"],
    time_limit: TimeLimitOpt = D["time_limit_s"],
    workers: WorkersOpt = D["workers"],
    strategy: StrategyOpt = D["strategy"],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Also write an HTML report (chart: promised vs experienced)."
        ),
    ] = None,
) -> None:
    """Plan on the first --train-days, replay on the next --test-days; promised vs experienced."""
    if new_vms not in NEW_VM_POLICIES:
        from capplan.errors import CapplanError

        raise CapplanError(f"--new-vms: {new_vms!r} is not one of {list(NEW_VM_POLICIES)}")
    cat = load_catalog(catalog)
    wl = load_workload(workload if len(workload) > 1 else workload[0])
    opts = ConsolidateOptions(
        hosts=tuple(HostOffer.parse(h) for h in hosts or []),
        mode=mode,
        source_host=source_host,
        buckets=buckets,
        period=period,
        statistic=statistic,
        sizing=sizing,
        cpu_overcommit_ratio=cpu_overcommit,
        mem_overcommit_ratio=mem_overcommit,
        mem_basis=mem_basis,
        headroom_frac=headroom,
        ha_hosts=ha,
        ha_policy=ha_policy,
        vcpu_per_core_ratio=vcpu_ratio,
        cpu_ready_limit_frac=cpu_ready_limit,
        objective=objective,
        time_limit_s=time_limit,
        workers=workers,
        strategy=strategy,
    )

    def progress(message: str) -> None:
        if not quiet and sys.stderr.isatty():
            err_console.print(message, highlight=False)

    result = backtest(
        wl,
        cat,
        opts,
        train_days=train_days,
        test_days=test_days,
        rolling=rolling,
        new_vms=new_vms,
        progress=progress,
    )
    if report is not None:
        from capplan.reporting.backtest import write_backtest_report

        write_backtest_report(result.to_dict(), report)
    if json:
        print_json(result.to_dict())
    elif rolling:
        _print_rolling(result)
    else:
        _print_window(result, result.windows[0])
    if report is not None and not json:
        console.print(f"report: {report}", highlight=False)


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else format(value, spec) + unit


#: (KPI key, label, format spec, unit) of the promised-vs-experienced table.
_ROWS = (
    ("n_hosts_active", "hosts with VMs", ",d", ""),
    ("overloaded_host_steps", "overloaded host-steps", ",d", ""),
    ("slatah_frac", "SLA violation time (SLATAH)", ".2%", ""),
    ("pdm_frac", "performance degradation (PDM)", ".3%", ""),
    ("peak_cpu_util_frac", "peak CPU utilization", ".1%", ""),
    ("paging_mib", "paging volume", ",.0f", " MiB"),
    ("peak_mem_used_frac", "peak memory demand / RAM", ".1%", ""),
    ("storage_slo_breach_steps", "storage latency SLO breaches (steps)", ",d", ""),
    ("storage_p95_latency_ms", "storage p95 latency", ".2f", " ms"),
    ("peak_nic_load_ratio", "peak NIC load", ".1%", ""),
)


def _span(w: BacktestWindow) -> str:
    return (
        f"train {w.train_start:%Y-%m-%d %H:%M} → test {w.test_start:%Y-%m-%d %H:%M} – "
        f"{w.test_end:%Y-%m-%d %H:%M} UTC"
    )


def _print_window(r: BacktestResult, w: BacktestWindow) -> None:
    hosts = ", ".join(f"{k} × {v}" for k, v in w.hosts_by_model.items()) or "none"
    console.print(
        f"[bold]Backtest[/] of {r.n_vms} VMs: plan on {r.train_days:g} days, replay on "
        f"{r.test_days:g} days ({r.sizing}, headroom {r.headroom_frac:.0%}, {r.mode})",
        highlight=False,
    )
    console.print(f"{_span(w)}; plan {w.status}: {w.n_hosts} hosts ({hosts})", highlight=False)
    if w.promised:
        table = Table(title="Promised (training days) vs experienced (test days)")
        table.add_column("figure")
        table.add_column("promised", justify="right")
        table.add_column("experienced", justify="right")
        for key, label, spec, unit in _ROWS:
            table.add_row(
                label, _fmt(w.promised[key], spec, unit), _fmt(w.experienced[key], spec, unit)
            )
        console.print(table)
        res = Table(title="Peak load per resource, % of the capacity planned (after headroom)")
        for name in ("resource", "plan sized", "training", "test", "headroom needed"):
            res.add_column(name, justify="right" if name != "resource" else "left")
        for name, f in w.resources.items():
            res.add_row(
                name,
                f"{f['planned_peak_pct']:.1f} %",
                f"{f['train_peak_pct']:.1f} %",
                f"{f['test_peak_pct']:.1f} %",
                f"{f['headroom_needed_frac']:.1%}",
            )
        console.print(res)
        console.print(
            "headroom needed: largest (test peak − planned peak) / host capacity over hosts; "
            f"the plan kept {r.headroom_frac:.0%}",
            highlight=False,
        )
    if w.new_vms:
        console.print(
            f"new VMs (no sample in the training days): {len(w.new_vms)}, e.g. "
            f"{', '.join(w.new_vms[:5])}",
            highlight=False,
        )
    for note in w.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)


#: Columns of the rolling table: header and width.
_ROLLING_COLUMNS = (
    ("#", 2),
    ("test from", 11),
    ("hosts", 5),
    ("overl.", 6),
    ("SLATAH", 6),
    ("PDM", 6),
    ("paging", 6),
    ("SAN", 4),
    ("CPU %", 7),
    ("mem %", 7),
    ("needed", 6),
)


def _line(cells: list[str]) -> str:
    parts = []
    for k, (cell, (_, width)) in enumerate(zip(cells, _ROLLING_COLUMNS, strict=False)):
        parts.append(cell.ljust(width) if k == 1 else cell.rjust(width))
    return " ".join(parts)


def _print_rolling(r: BacktestResult) -> None:
    console.print(
        f"[bold]Rolling backtest[/] of {r.n_vms} VMs: train {r.train_days:g} d, test "
        f"{r.test_days:g} d, step {r.test_days:g} d ({r.sizing}, headroom "
        f"{r.headroom_frac:.0%}, {r.mode}); figures of the test days",
        highlight=False,
    )
    header = _line([name for name, _ in _ROLLING_COLUMNS])
    console.print(header, highlight=False, soft_wrap=True)
    console.print("-" * len(header), highlight=False, soft_wrap=True)
    for w in r.windows:
        if not w.promised:
            console.print(
                _line([str(w.span.index), f"{w.test_start:%m-%d %H:%M}", "none", w.status]),
                highlight=False,
                soft_wrap=True,
            )
            continue
        e = w.experienced

        def peak(dim: str, w: BacktestWindow = w) -> str:
            f = w.resources.get(dim)
            return "n/a" if f is None else f"{f['planned_peak_pct']:.0f}→{f['test_peak_pct']:.0f}"

        needed = max((f["headroom_needed_frac"] for f in w.resources.values()), default=0.0)
        cells = [
            str(w.span.index),
            f"{w.test_start:%m-%d %H:%M}",
            str(w.n_hosts),
            _fmt(e["overloaded_host_steps"], ",d"),
            _fmt(e["slatah_frac"], ".2%"),
            _fmt(e["pdm_frac"], ".3%"),
            _fmt(e["paging_mib"], ",.0f"),
            _fmt(e["storage_slo_breach_steps"], ",d"),
            peak("cpu"),
            peak("mem"),
            f"{needed:.1%}",
        ]
        console.print(_line(cells), highlight=False, soft_wrap=True)
    planned = [w for w in r.windows if w.promised]
    if planned:
        worst = max(planned, key=lambda w: w.promised["slatah_frac"] or 0.0)
        console.print(
            "promised (the plan replayed on its own training days): at most "
            f"{max(w.promised['overloaded_host_steps'] or 0 for w in planned):,d} overloaded "
            f"host-steps, SLATAH {_fmt(worst.promised['slatah_frac'], '.2%')} (window "
            f"{worst.span.index}); --json gives every figure of both replays",
            highlight=False,
        )
    console.print(
        "test from: first test step (UTC); overl.: overloaded host-steps; paging: MiB paged; "
        "SAN: storage latency SLO breaches (steps); "
        "CPU %/mem %: the plan's sized peak → the test days' peak, % of the capacity planned "
        "(after headroom); needed: headroom needed, the largest over resources and hosts of "
        "(test peak − planned peak) / host capacity",
        highlight=False,
    )
