"""``capplan emulate``: replay a workload on a placement and print the hardware KPIs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from capplan.cli_app import app, console, print_json, user_errors
from capplan.demand import load_workload
from capplan.emulate.engine import emulate as run_emulation
from capplan.outcomes import EmulationKpis
from capplan.placement import Placement
from capplan.spec.catalog import load_catalog


@app.command("emulate")
@user_errors
def emulate_command(
    workload: Annotated[
        list[str], typer.Option("--workload", help="Trace path(s), FORMAT:PATH or Parquet.")
    ],
    placement: Annotated[
        Path, typer.Option("--placement", help="Placement CSV (vm_id,host_id,host_model).")
    ],
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Catalog folder (default: bundled models/).")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="Virtualization mode (a catalog modes entry).")
    ] = "hw-assisted",
    keep_empty_on: Annotated[
        bool,
        typer.Option(
            "--keep-empty-on", help="Hosts without VMs idle at their 0 % power (default: off)."
        ),
    ] = False,
    per_vm: Annotated[
        bool, typer.Option("--per-vm", help="Also compute the per-VM mean degradation.")
    ] = False,
    storage_layout: Annotated[
        Path | None,
        typer.Option(
            "--storage-layout",
            help="Layout CSV (vm_id, pool, copy; what `capplan storage --out` writes): each "
            "VM's I/O goes to its pools (default: all on the SAN design's default tier).",
        ),
    ] = None,
    storage_spec: Annotated[
        Path | None,
        typer.Option(
            "--storage-spec",
            help="Storage spec TOML naming the layout's pools (default: one "
            "pool per catalog tier).",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay the demand on the placed hosts, SAN tiers and links; print the KPIs."""
    cat = load_catalog(catalog)
    plc = Placement.read_csv(placement)
    wl = load_workload(workload if len(workload) > 1 else workload[0])
    routing = None
    if storage_layout is not None:
        from capplan.storage.routing import read_layout
        from capplan.storage.spec import load_storage_spec

        routing = read_layout(storage_layout, load_storage_spec(storage_spec, cat))
    result = run_emulation(
        wl, plc, cat, mode, switch_off_empty=not keep_empty_on, storage_routing=routing
    )
    kpis = result.kpis(per_vm=per_vm)
    if json:
        doc = kpis.to_dict()
        if not per_vm:  # the per-VM figures are there only with --per-vm
            for key in PER_VM_KEYS:
                del doc[key]
        print_json(doc)
        return
    _print_human(kpis)


#: KPIs computed only with ``--per-vm``.
PER_VM_KEYS = ("pdm_vm_mean_frac", "vms_over_cpu_ready_limit", "worst_cpu_ready_vms")


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else format(value, spec) + unit


def _print_human(k: EmulationKpis) -> None:
    table = Table(title=f"Emulation ({k.mode}): {k.n_vms} VMs on {k.n_hosts_active} hosts")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    rows = [
        ("energy", _fmt(k.energy_kwh, ",.1f", " kWh")),
        ("mean power", _fmt(k.mean_power_w, ",.0f", " W")),
        (
            "p95 / peak CPU utilization",
            f"{_fmt(k.p95_cpu_util_frac, '.1%')} / {_fmt(k.peak_cpu_util_frac, '.1%')}",
        ),
        ("overloaded host-steps", _fmt(k.overloaded_host_steps, ",d")),
        ("SLATAH", _fmt(k.slatah_frac, ".2%")),
        ("PDM", _fmt(k.pdm_frac, ".3%")),
        ("peak CPU ready (%RDY)", _fmt(k.peak_cpu_ready_frac, ".2%")),
        ("paging volume", _fmt(k.paging_mib, ",.0f", " MiB")),
        ("storage p95 latency", _fmt(k.storage_p95_latency_ms, ".2f", " ms")),
        ("peak NIC load", _fmt(k.peak_nic_load_ratio, ".1%")),
        ("peak uplink load", _fmt(k.peak_uplink_load_ratio, ".1%")),
        ("incompatible VMs", _fmt(k.n_incompatible_vms, ",d")),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for vm in k.worst_cpu_ready_vms:
        console.print(
            f"CPU ready: {vm['vm_id']} on {vm['host_id']}: peak "
            f"{vm['peak_cpu_ready_frac']:.2%}, p95 {vm['p95_cpu_ready_frac']:.2%}",
            highlight=False,
        )
    for problem in k.compat_problems:
        console.print(f"[yellow]compatibility:[/] {problem}", highlight=False)
    for note in k.notes:
        console.print(f"note: {note}", highlight=False)
    if k.missing_metrics:
        console.print(
            "not replayed (metric absent): " + ", ".join(k.missing_metrics), highlight=False
        )
