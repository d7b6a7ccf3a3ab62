"""``capplan dynamic``: time-stepped consolidation with live migration on a workload."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from capplan.cli_app import app, console, print_json, user_errors
from capplan.demand import load_workload
from capplan.errors import CapplanError

WorkloadOpt = Annotated[
    list[str],
    typer.Option(
        "--workload", help="Trace path(s), FORMAT:PATH (e.g. planetlab:DIR) or ingested Parquet."
    ),
]


@app.command("dynamic")
@user_errors
def dynamic(
    workload: WorkloadOpt,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help=(
                "lr-mmt, thr-mu-0.9, ... (DETECTOR-SELECTION[-PARAM]), npa, dvfs, capplan-fb "
                "or capplan-fb-pabfd."
            ),
        ),
    ] = "lr-mmt",
    compat: Annotated[
        str | None,
        typer.Option("--compat", help="'cloudsim': the 800-host PlanetLab setup of the paper."),
    ] = None,
    hosts: Annotated[
        str | None,
        typer.Option(
            "--hosts",
            help=(
                "Default mode: MODEL:N[,MODEL:N...] from the catalog (default: one host per "
                "four VMs, of a model every VM fits on)."
            ),
        ),
    ] = None,
    catalog: Annotated[
        str | None, typer.Option("--catalog", help="Catalog folder (default: bundled).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of random selections.")] = 42,
    series: Annotated[
        bool, typer.Option("--series", help="With --json: add the per-round arrays.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    mem_overcommit: Annotated[
        float,
        typer.Option(
            "--mem-overcommit",
            help=(
                "Default mode: VMs may book this multiple of each host's RAM (1 = none); "
                "memory beyond RAM is paged and slows the host's VMs."
            ),
        ),
    ] = 1.0,
    trace_order: Annotated[
        str | None,
        typer.Option(
            "--trace-order",
            help=(
                "PlanetLab: VM order from FILE (a TSV with a 'file' column, e.g. "
                "cloudsim-order/<day>.tsv, or one file name a line) instead of name-sorted; "
                "sets CloudSim's VM types (i // ceil(n/4))."
            ),
        ),
    ] = None,
) -> None:
    """Simulate dynamic consolidation (overload detection, VM selection, placement, live
    migration, host switch-off) and report energy, SLA violation and migrations."""
    from capplan.dynamic import run_dynamic

    options = None
    if trace_order is not None:
        from capplan.io.planetlab import order_options

        options = order_options(trace_order)
    loaded = load_workload(workload if len(workload) > 1 else workload[0], options=options)
    if trace_order is not None and loaded.format != "planetlab":
        raise CapplanError(
            f"--trace-order orders the files of a PlanetLab day folder; the workload is "
            f"{loaded.format!r}",
            path=trace_order,
        )
    result = run_dynamic(
        loaded,
        policy,
        compat=compat,
        hosts=hosts,
        catalog_dir=catalog,
        seed=seed,
        mem_overcommit_ratio=mem_overcommit,
    )
    summary = result.summary()
    if json:
        if series:
            summary["series"] = {
                "round_times_s": result.round_times_s.tolist(),
                "active_hosts": result.active_hosts.tolist(),
                "power_w": result.power_w.tolist(),
                "energy_kwh_per_round": result.energy_kwh_per_round.tolist(),
                "migrations_per_round": result.migrations_per_round.tolist(),
            }
        print_json(summary)
        return
    table = Table(title=f"{result.policy} ({result.mode} mode)", show_header=False)
    rows = [
        ("hosts / VMs", f"{result.n_hosts:,} / {result.n_vms:,}"),
        ("energy", f"{result.energy_kwh:,.2f} kWh"),
        ("VM migrations", f"{result.n_migrations:,}"),
        ("SLATAH", f"{result.slatah_frac * 100:.2f} %"),
        ("PDM", f"{result.pdm_frac * 100:.4f} %"),
        ("SLAV (SLATAH × PDM)", f"{result.slav:.3e}"),
        ("overall SLA violation", f"{result.sla_overall_frac * 100:.3f} %"),
        ("average SLA violation", f"{result.sla_average_frac * 100:.2f} %"),
        ("host shutdowns", f"{result.n_host_shutdowns:,}"),
        ("mean time before a shutdown", f"{result.mean_time_before_shutdown_s:,.0f} s"),
        ("mean active hosts", f"{summary['mean_active_hosts']:.1f}"),
        ("VMs vanished (CloudSim quirk)", f"{result.n_vms_vanished:,}"),
        ("memory over-commit", f"{result.mem_overcommit_ratio:g} × RAM"),
        ("paging", f"{result.paging_host_s:,.0f} host-s"),
        ("worst paging slowdown", f"{result.max_slowdown_frac * 100:.1f} %"),
        ("wall time", f"{result.wall_s:.2f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
