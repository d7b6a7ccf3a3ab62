"""``capplan storage-plan``: place volumes on SAN pools, forecast run-out risk, recommend tiers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.errors import CapplanError
from capplan.spec.catalog import load_catalog
from capplan.spec.economics import load_economics
from capplan.storage.files import read_attributes, read_layout, read_used_history, write_layout
from capplan.storage.planner import StorageOptions, StoragePlanResult, plan_storage
from capplan.storage.spec import load_storage_spec
from capplan.storage.volumes import load_storage_workload


def _pairs(items: list[str] | None, option: str) -> dict[str, float]:
    """Parse ``NAME=NUMBER`` items of a repeated option."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number) or number < 0:
            raise CapplanError(f"{option} expects NAME=NUMBER with a number >= 0, got {item!r}")
        out[name.strip()] = number
    return out


@app.command("storage-plan")
@user_errors
def storage_plan(
    workload: Annotated[
        list[str],
        typer.Option(
            "--workload",
            help="Trace path(s) with disk sizes (inventory) and I/O; an inventory alone "
            "(RVTools) plans capacity without I/O limits.",
        ),
    ],
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Catalog folder (default: bundled models/).")
    ] = None,
    pools: Annotated[
        Path | None,
        typer.Option("--pools", help="Pools and policy TOML (default: one pool per tier)."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="Economics settings TOML for energy prices."),
    ] = None,
    ratio: Annotated[
        float | None,
        typer.Option(
            "--ratio", help="Over-subscription ratio for every pool (Cinder's fallback: 20)."
        ),
    ] = None,
    horizon_days: Annotated[
        float, typer.Option("--horizon-days", help="Planning horizon, days.")
    ] = 365.0,
    provisioning: Annotated[
        str | None, typer.Option("--provisioning", help="thin or thick (default: catalog).")
    ] = None,
    appliance: Annotated[
        str | None,
        typer.Option("--appliance", help="none, in-band or out-of-band (default: catalog)."),
    ] = None,
    appliance_max_iops: Annotated[
        float | None, typer.Option("--appliance-max-iops", help="In-band IOPS ceiling.")
    ] = None,
    appliance_max_mib_s: Annotated[
        float | None, typer.Option("--appliance-max-mib-s", help="In-band MiB/s ceiling.")
    ] = None,
    appliance_mirrored: Annotated[
        bool | None,
        typer.Option(
            "--appliance-mirrored/--appliance-single",
            help="In-band appliance as a mirrored pair or a single box (default: catalog).",
        ),
    ] = None,
    mirror: Annotated[
        str,
        typer.Option("--mirror", help="all, none, or attributes (per --attributes file)."),
    ] = "attributes",
    snapshot_policy: Annotated[
        str | None,
        typer.Option("--snapshot-policy", help="Snapshot policy for every volume."),
    ] = None,
    price: Annotated[
        list[str] | None,
        typer.Option("--price", help="TIER=USD_PER_GIB or POOL=USD_PER_GIB (repeatable)."),
    ] = None,
    latency_class: Annotated[
        str, typer.Option("--latency-class", help="Class of unclassified volumes.")
    ] = "slo",
    paging_mib_s: Annotated[
        float,
        typer.Option("--paging-mib-s", help="Paging MiB/s from memory over-commit (swap tier)."),
    ] = 0.0,
    paging: Annotated[
        list[str] | None,
        typer.Option("--paging", help="POOL=MIB_S paging traffic on a pool (repeatable)."),
    ] = None,
    current: Annotated[
        Path | None, typer.Option("--current", help="Current layout CSV (volume_id,pool).")
    ] = None,
    max_moved_gib: Annotated[
        float | None,
        typer.Option("--max-moved-gib", help="Most data moved from the current layout, GiB."),
    ] = None,
    used_history: Annotated[
        Path | None,
        typer.Option("--used-history", help="Used-space history CSV (vm_id,timestamp,used_gib)."),
    ] = None,
    attributes: Annotated[
        Path | None,
        typer.Option(
            "--attributes", help="Volume attributes CSV (latency_class, mirrored, snapshot)."
        ),
    ] = None,
    used_missing: Annotated[
        str,
        typer.Option("--used-missing", help="error, or provisioned (bound missing used sizes)."),
    ] = "error",
    quantile: Annotated[
        float, typer.Option("--quantile", help="I/O planning quantile (0.95: p95).")
    ] = 0.95,
    migration_mib_s: Annotated[
        float | None,
        typer.Option("--migration-mib-s", help="Tiering migration throughput (default: 1 path)."),
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver limit, s.")] = 60.0,
    workers: Annotated[int, typer.Option("--workers", help="CP-SAT worker threads.")] = 2,
    target_gap: Annotated[
        float,
        typer.Option("--target-gap", help="Stop within this share of the bound (0: prove)."),
    ] = 1e-3,
    max_moves: Annotated[
        int | None, typer.Option("--max-moves", help="List at most this many moves.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the layout (one row per copy) as CSV.")
    ] = None,
) -> None:
    """Place volumes on storage pools at least cost, with run-out risk and tiering advice.

    JSON: status, cost_usd, bound, gap_frac, pools (per pool: provisioned_gib, used_now_gib,
    forecast_used_gib, forecast_band_gib, days_to_full*, p_run_out_frac, p_alert_frac, IOPS
    and MiB/s utilization), moves, appliance, tiering, notes, sources. null stands for
    "never" (days to full) or "not known".
    """
    if provisioning not in (None, "thin", "thick"):
        raise CapplanError(f"--provisioning expects thin or thick, got {provisioning!r}")
    if mirror not in ("all", "none", "attributes"):
        raise CapplanError(f"--mirror expects all, none or attributes, got {mirror!r}")
    if ratio is not None and not (math.isfinite(ratio) and ratio >= 1.0):
        raise CapplanError(f"--ratio expects a number >= 1.0, got {ratio!r}")
    if not (time_limit > 0):
        raise CapplanError(f"--time-limit expects a positive number of seconds, got {time_limit}")
    cat = load_catalog(catalog)
    spec = load_storage_spec(pools, cat)
    econ = load_economics(settings)
    wl = load_storage_workload(workload)
    options = StorageOptions(
        horizon_days=horizon_days,
        ratio=ratio,
        thin=None if provisioning is None else provisioning == "thin",
        appliance=appliance,
        appliance_max_iops=appliance_max_iops,
        appliance_max_mib_s=appliance_max_mib_s,
        appliance_mirrored=appliance_mirrored,
        mirror={"all": True, "none": False}.get(mirror),
        snapshot_policy=snapshot_policy,
        prices=_pairs(price, "--price"),
        latency_class=latency_class,
        paging_mib_s=_pairs(paging, "--paging"),
        paging_total_mib_s=paging_mib_s,
        max_moved_gib=math.inf if max_moved_gib is None else max_moved_gib,
        quantile=quantile,
        used_missing=used_missing,
        migration_mib_s=migration_mib_s,
        time_limit_s=time_limit,
        workers=workers,
        target_gap_frac=target_gap,
    )
    result = plan_storage(
        wl,
        cat,
        spec,
        options,
        electricity_usd_per_kwh=econ.energy.electricity_usd_per_kwh,
        pue_ratio=econ.energy.pue_ratio,
        attributes=read_attributes(attributes) if attributes is not None else None,
        attributes_label=str(attributes or ""),
        history=read_used_history(used_history) if used_history is not None else None,
        current_layout=read_layout(current) if current is not None else None,
        layout_label=str(current or ""),
    )
    payload = result.to_json(max_moves=max_moves)
    if out is not None:
        if result.solution.has_plan:
            write_layout(out, result.layout())
            payload["out"] = str(out)
        else:
            err_console.print(f"no plan ({result.solution.status}); {out} not written")
    if json:
        print_json(payload)
        return
    _print_human(result, payload)


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "never"
    return format(value, spec)


def _print_human(result: StoragePlanResult, payload: dict[str, Any]) -> None:
    sol = result.solution
    console.print(
        f"[bold]storage plan[/]: {payload['status']} — {payload['n_volumes']:,} volumes "
        f"({payload['n_mirrored']:,} mirrored), {payload['horizon_days']:g}-day horizon, "
        f"{'thin' if payload['thin'] else 'thick'} provisioning"
    )
    if not sol.has_plan:
        for reason in sol.reasons:
            console.print(f"  reason: {reason}")
    else:
        console.print(
            f"  cost {_fmt(payload['cost_usd'], ',.2f')} USD, bound "
            f"{_fmt(payload['bound'], ',.2f')} USD, gap {payload['gap_frac']:.4%} "
            f"({sol.method}, {sol.wall_s:.1f} s)"
        )
        table = Table(show_header=True, header_style="bold")
        for col in (
            "pool",
            "tier",
            "copies",
            "prov/phys",
            "used GiB",
            "fcst GiB",
            "days→full",
            "P(out)",
            "P(alert)",
            "IOPS",
        ):
            table.add_column(col, justify="left" if col in ("pool", "tier") else "right")
        for p in payload["pools"]:
            days = p.get("days_to_full")
            table.add_row(
                p["name"],
                p["tier"],
                str(p["n_copies"]),
                _fmt(p["provisioned_ratio"], ".2f"),
                _fmt(p.get("used_now_gib")),
                _fmt(p.get("forecast_used_gib")),
                "never" if days is None and "used_now_gib" in p else _fmt(days),
                _fmt(p.get("p_run_out_frac"), ".0%"),
                _fmt(p.get("p_alert_frac"), ".0%"),
                _fmt(p["iops_util_frac"], ".0%"),
            )
        console.print(table)
        console.print(
            f"  moves: {payload['n_moves']:,} ({_fmt(payload['moved_gib'])} GiB); forecast basis: "
            f"{payload['forecast_basis']}"
        )
    app_section = payload["appliance"]
    console.print(
        f"  appliance: {app_section['kind']}"
        + (" — single point of failure" if app_section["single_point_of_failure"] else "")
        + (" — needs modified host drivers" if app_section["needs_host_driver"] else "")
    )
    tiering = payload["tiering"]
    if tiering["available"]:
        savings = tiering["savings_usd"] or 0.0
        effect = (
            f"saving {_fmt(savings, ',.2f')} USD"
            if savings >= 0
            else f"costing {_fmt(-savings, ',.2f')} USD more"
        )
        console.print(
            f"  tiering by access density: {tiering['n_moves']:,} volume(s) to move "
            f"({_fmt(tiering['move_gib'])} GiB, {_fmt(tiering['migration_hours'], ',.1f')} h), "
            f"{effect} than {tiering['baseline']}"
        )
    else:
        console.print(f"  tiering: {tiering['reason']}")
    for note in payload["notes"]:
        console.print(f"  note: {note}")
    if "out" in payload:
        console.print(f"  layout written to {payload['out']}")
