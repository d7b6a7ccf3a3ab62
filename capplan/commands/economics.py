"""``capplan economics``: power, energy, TCO and availability of a placement, before and after."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from capplan.cli_app import app, console, print_json, user_errors
from capplan.demand import load_workload
from capplan.economics.evaluate import economics_report
from capplan.economics.replay import emulation_replay
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog
from capplan.spec.economics import load_economics


@app.command()
@user_errors
def economics(
    workload: Annotated[
        list[str], typer.Option("--workload", help="Trace path(s), FORMAT:PATH or Parquet.")
    ],
    placement: Annotated[
        Path, typer.Option("--placement", help="Placement CSV (vm_id,host_id,host_model).")
    ],
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Catalog folder (default: bundled models/).")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="Virtualization mode of the plan.")] = (
        "hw-assisted"
    ),
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="Economics settings TOML (default: bundled)."),
    ] = None,
    mc_runs: Annotated[
        int | None, typer.Option("--mc-runs", min=2, help="Monte Carlo replicates.")
    ] = None,
    detail: Annotated[
        bool, typer.Option("--detail", help="List every VM and service, not only the worst.")
    ] = False,
    plan_reserve: Annotated[
        int | None,
        typer.Option(
            "--plan-reserve",
            min=0,
            help="The placement keeps its own N+K spare capacity (as `consolidate --ha K` "
            "plans): no spare host is added and availability takes K from the plan. "
            "Default: add the settings' reserve_hosts spare hosts.",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Energy, cost (TCO) and availability of a placement, compared with today's estate."""
    wl = load_workload(workload if len(workload) > 1 else workload[0])
    cat = load_catalog(catalog)
    econ = load_economics(settings)
    plc = Placement.read_csv(placement)
    report = economics_report(
        wl,
        plc,
        cat,
        econ,
        mode,
        emulation_replay(cat),
        mc_runs=mc_runs,
        detail=detail,
        plan_reserve_hosts=plan_reserve,
    )
    if json:
        print_json(report)
        return
    _print_human(report)


def _fmt(value: Any, spec: str = ",.0f") -> str:
    return "n/a" if value is None else format(value, spec)


def _print_human(report: dict[str, Any]) -> None:
    base = report["baseline"]
    table = Table(title=f"Economics ({report['mode']}, {report['horizon_years']:g}-year TCO)")
    table.add_column("")
    table.add_column("today", justify="right")
    table.add_column("plan", justify="right")
    table.add_row("hosts", str(base["n_hosts"]), str(report["n_hosts"]))
    table.add_row("mean power (W)", _fmt(base["power_w_mean"]), _fmt(report["power_w_mean"]))
    table.add_row(
        "energy (kWh/year)", _fmt(base["energy_kwh_per_year"]), _fmt(report["energy_kwh_per_year"])
    )
    table.add_row("CO2 (kg/year)", _fmt(base["co2_kg_per_year"]), _fmt(report["co2_kg_per_year"]))
    for key, value in report["tco_breakdown"].items():
        table.add_row(f"  {key} (USD)", _fmt(base["tco_breakdown"][key]), _fmt(value))
    table.add_row("TCO (USD)", _fmt(base["tco_usd"]), _fmt(report["tco_usd"]))
    table.add_row(
        "min availability",
        _fmt(base["availability_frac_min"], ".6f"),
        _fmt(report["availability_frac_min"], ".6f"),
    )
    table.add_row(
        "max downtime (min/year)",
        _fmt(base["downtime_min_per_year_max"], ",.1f"),
        _fmt(report["downtime_min_per_year_max"], ",.1f"),
    )
    npv = report["comparison"]
    table.add_row(
        f"NPV at {npv['discount_rate_frac']:g} (USD)",
        _fmt(npv["npv_usd_today"]),
        _fmt(npv["npv_usd_plan"]),
    )
    console.print(table)
    print_assumptions(report)
    mc = report["availability"]["monte_carlo"]
    console.print(
        f"Monte Carlo ({mc['runs']} runs x {mc['years_per_run']:g} years, seed {mc['seed']}, "
        f"{mc['estimator'].split(':')[0]} estimator): largest |z| per VM "
        f"{_fmt(mc['vm_max_abs_z'], '.2f')}, per service {_fmt(mc['service_max_abs_z'], '.2f')} "
        f"({mc['service_never_down_in_simulation']} service(s) never down in the simulation)",
        highlight=False,
    )
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False)


def print_assumptions(report: dict[str, Any]) -> None:
    """The saving with the baseline it rests on, the assumptions and the tornado table."""
    comp = report["comparison"]
    a = comp["assumptions"]
    sens = comp["sensitivity"]
    console.print(
        f"saving: TCO USD {_fmt(comp['tco_savings_usd'])}, NPV USD "
        f"{_fmt(comp['npv_savings_usd'])} — against today's estate: {a['baseline']}",
        highlight=False,
    )
    console.print(f"labour: {a['labor']}", highlight=False)
    console.print(f"availability: {a['availability']}", highlight=False)
    ci = report["availability"].get("vm_mean_ci95") or {}
    if ci:
        console.print(
            "plan, mean VM downtime (Monte Carlo 95 % interval): "
            f"{_fmt(ci['downtime_min_per_year_low'], ',.1f')}–"
            f"{_fmt(ci['downtime_min_per_year_high'], ',.1f')} min/year",
            highlight=False,
        )
    tornado = Table(title="Sensitivity of the saving (NPV, USD)")
    for col in ("assumption", "low", "high", "saving at low", "saving at high"):
        tornado.add_column(col, justify="left" if col == "assumption" else "right")
    for row in sens["rows"]:
        tornado.add_row(
            row["label"],
            row["low"],
            row["high"],
            _fmt(row["npv_savings_usd_low"]),
            _fmt(row["npv_savings_usd_high"]),
        )
    console.print(tornado)
    console.print(
        "ranges: " + "; ".join(f"{r['label']}: {r['basis']}" for r in sens["rows"]),
        highlight=False,
    )
    flips = sens["flips"]
    console.print(
        "could flip the verdict: " + ", ".join(flips)
        if flips
        else "no single assumption within its stated range flips the verdict",
        highlight=False,
    )
