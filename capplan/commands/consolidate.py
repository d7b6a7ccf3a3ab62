"""``capplan consolidate``: choose hosts and place every VM, with a bound and a gap."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.commands.scenario_options import (
    BucketsOpt,
    CatalogOpt,
    ConfidenceOpt,
    CpuOvercommitOpt,
    CpuReadyLimitOpt,
    D,
    ExpectedCpuOpt,
    GrowthOpt,
    HaOpt,
    HaPolicyOpt,
    HeadroomOpt,
    HorizonDaysOpt,
    HostsOpt,
    MemBasisOpt,
    MemOvercommitOpt,
    MigrationBudgetOpt,
    ModeOpt,
    NewVmsOpt,
    ObjectiveOpt,
    PeriodOpt,
    SeedOpt,
    SizingOpt,
    SourceHostOpt,
    StatisticOpt,
    StrategyOpt,
    TimeLimitOpt,
    VcpuRatioOpt,
    VlanLimitOpt,
    WorkersOpt,
    new_vms_value,
)
from capplan.demand import load_workload
from capplan.optimize.consolidate import ConsolidateOptions, HostOffer, consolidate
from capplan.optimize.strategies import ProgressEvent
from capplan.outcomes import PlanSummary
from capplan.spec.catalog import load_catalog
from capplan.status import SolveStatus


@app.command("consolidate")
@user_errors
def consolidate_command(
    workload: Annotated[
        list[str], typer.Option("--workload", help="Trace path(s), FORMAT:PATH or Parquet.")
    ],
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
    horizon_days: HorizonDaysOpt = D["horizon_days"],
    growth: GrowthOpt = D["growth"],
    confidence: ConfidenceOpt = D["confidence"],
    new_vms_per_month: NewVmsOpt = str(D["new_vms_per_month"]),
    headroom: HeadroomOpt = D["headroom_frac"],
    ha: HaOpt = D["ha_hosts"],
    ha_policy: HaPolicyOpt = D["ha_policy"],
    vcpu_ratio: VcpuRatioOpt = D["vcpu_per_core_ratio"],
    cpu_ready_limit: CpuReadyLimitOpt = D["cpu_ready_limit_frac"],
    vlan_limit: VlanLimitOpt = D["vlan_limit"],
    objective: ObjectiveOpt = D["objective"],
    existing: Annotated[
        str | None,
        typer.Option(
            "--existing",
            help="Host model of the current hosts named in the "
            "inventory's current_host (they are owned).",
        ),
    ] = None,
    migration_budget: MigrationBudgetOpt = None,
    time_limit: TimeLimitOpt = D["time_limit_s"],
    workers: WorkersOpt = D["workers"],
    expected_cpu_util: ExpectedCpuOpt = D["expected_cpu_util_frac"],
    nondeterministic: Annotated[
        bool,
        typer.Option(
            "--nondeterministic",
            help="Search until the wall-clock limit with every worker (may give a better "
            "plan; two runs may differ).",
        ),
    ] = False,
    strategy: StrategyOpt = D["strategy"],
    seed: SeedOpt = D["seed"],
    out: Annotated[Path | None, typer.Option("--out", help="Write the placement CSV here.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Pick hosts and place every VM at least cost; print the plan, its bound and gap."""
    cat = load_catalog(catalog)
    wl = load_workload(workload if len(workload) > 1 else workload[0], inventory_only_ok=True)
    existing_hosts: dict[str, str] = {}
    if existing is not None:
        current = wl.inventory.get_column("current_host").drop_nulls().unique().to_list()
        existing_hosts = {h: existing for h in current}
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
        horizon_days=horizon_days,
        growth=growth,
        confidence=confidence,
        new_vms_per_month=new_vms_value(new_vms_per_month),
        headroom_frac=headroom,
        ha_hosts=ha,
        ha_policy=ha_policy,
        vcpu_per_core_ratio=vcpu_ratio,
        cpu_ready_limit_frac=cpu_ready_limit,
        vlan_limit=vlan_limit,
        objective=objective,
        existing_hosts=existing_hosts,
        migration_budget=migration_budget,
        time_limit_s=time_limit,
        workers=workers,
        strategy=strategy,
        seed=seed,
        deterministic=not nondeterministic,
        expected_cpu_util_frac=expected_cpu_util,
    )

    def progress(event: ProgressEvent) -> None:
        if quiet or not sys.stderr.isatty():
            return
        obj = "-" if event.objective is None else str(event.objective)
        err_console.print(
            f"[{event.elapsed_s:6.1f} s] {event.phase}: best {obj}, bound "
            f"{event.bound} {event.message}",
            highlight=False,
        )

    result = consolidate(wl, cat, opts, progress=progress)
    doc = result.summary.to_dict()
    if doc["horizon"] is None:  # the key is there only for a plan made for a horizon
        del doc["horizon"]
    if out is not None and result.placement is not None:
        result.placement.write_csv(out)
        doc["placement_csv"] = str(out)
    if json:
        print_json(doc)
    else:
        _print_human(result.summary)
    code = EXIT_CODES.get(result.summary.status, 0)
    if code:
        raise typer.Exit(code)


#: Exit code of each solve status: 0 a plan (optimal or feasible), 3 proven infeasible (the
#: reason is printed), 4 no plan found within the time limit.
EXIT_CODES = {
    SolveStatus.OPTIMAL: 0,
    SolveStatus.FEASIBLE: 0,
    SolveStatus.INFEASIBLE: 3,
    SolveStatus.UNKNOWN: 4,
}


def _print_human(s: PlanSummary) -> None:
    basis = {
        "usage": "",
        "allocation": ", ALLOCATION-BASED: no usage data, configured CPU and memory",
        "mixed": ", some VMs sized from their configuration",
    }[s.sizing_basis]
    table = Table(title=f"Consolidation of {s.n_vms} VMs ({s.sizing}, {s.mode}{basis}): {s.status}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("hosts", str(s.n_hosts)),
        ("hosts by model", ", ".join(f"{k} × {v}" for k, v in s.hosts_by_model.items())),
        ("cost (purchase)", "n/a" if s.cost_usd is None else f"{s.cost_usd:,.0f} USD"),
        ("host-count lower bound", str(s.bound_hosts)),
        ("objective / bound", f"{_num(s.objective)} / {_num(s.bound)} {s.objective_unit}"),
        (
            f"gap ({s.objective_unit})",
            "n/a" if s.gap_frac is None else f"{100 * s.gap_frac:.2f} %",
        ),
        ("search stopped by", str(s.stopped_by)),
        ("binding resource", f"{s.binding} (bucket {s.binding_bucket})"),
        ("solve time", f"{s.wall_s:.3f} s ({s.method})"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if s.reason:
        console.print(f"[bold]reason:[/] {s.reason}", highlight=False)
    for line in s.why:
        console.print(f"  {line}", highlight=False)
    for note in s.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
    if s.horizon is not None:
        _print_horizon(s.horizon)


def _num(value: float | None) -> str:
    """An objective or bound as the solver gives it (whole numbers without decimals)."""
    if value is None:
        return "None"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:,.2f}"


#: Purchase steps printed (the JSON has all).
MAX_PURCHASE_LINES = 12


def _print_horizon(h: Mapping[str, Any]) -> None:
    table = Table(
        title=(
            f"Capacity over time: sized for {h['horizon_days']:g} days ({h['growth']}); "
            f"days to run-out after {h['history_end'][:10]}: earliest/expected/latest"
        )
    )
    for col in ("zone", "resource", "capacity", "peak today", "at horizon", "runs out", "days"):
        table.add_column(col, justify="left" if col in ("zone", "resource") else "right")
    later = f">{h['window_days']}"
    for r in h["run_out"]:
        days = [r[k] for k in ("earliest_days", "expected_days", "latest_days")]
        shown = [later if d is None else str(d) for d in days]
        table.add_row(
            r["zone"],
            f"{r['dim']} {r['unit']}",
            f"{r['capacity']:,.0f}",
            f"{r['demand_today']:,.0f}",
            f"{r['demand_at_horizon']:,.0f}",
            r["expected_date"] or "-",
            shown[1] if len(set(shown)) == 1 else f"{shown[0]}/{shown[1]}/{shown[2]}",
        )
    console.print(table)
    if not h["purchases"]:
        console.print(f"no purchase needed within {h['window_days']} days", highlight=False)
    shown = h["purchases"][:MAX_PURCHASE_LINES]
    for p in shown:
        console.print(
            f"buy by {p['date']} (day {p['day']}): {p['add_hosts_total']} × {p['host_model']} "
            f"in total for zone {p['zone']} ({p['binding']} binds)",
            highlight=False,
        )
    if len(h["purchases"]) > len(shown):
        console.print(f"… {len(h['purchases']) - len(shown)} more (--json lists all)")
    console.print(f"[dim]{h['method']}[/]", highlight=False)
