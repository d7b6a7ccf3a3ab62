"""Consolidation options shared by the commands that plan (``consolidate``, ``backtest``).

Each alias is the option's declaration (flag and help); the default stays on the parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOpt = Annotated[
    Path | None, typer.Option("--catalog", help="Catalog folder (default: bundled models/).")
]
HostsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--hosts",
        help="Host model offered, MODEL or MODEL:COUNT (repeatable; "
        "default: the catalog's current models, unlimited).",
    ),
]
SourceHostOpt = Annotated[
    str | None,
    typer.Option(
        "--source-host",
        help="Catalog model the CPU demand was measured on (its perf_factor scales the demand).",
    ),
]
StrategyOpt = Annotated[str, typer.Option("--strategy", help="Solve strategy.")]
ModeOpt = Annotated[str, typer.Option("--mode", help="Virtualization mode.")]
BucketsOpt = Annotated[
    int, typer.Option("--buckets", help="Time buckets of the typical period (K).")
]
PeriodOpt = Annotated[str, typer.Option("--period", help="'day' or 'week'.")]
StatisticOpt = Annotated[
    str, typer.Option("--statistic", help="Per-bucket statistic: 'peak' or 'p95' etc.")
]
SizingOpt = Annotated[
    str, typer.Option("--sizing", help="'time-aware' (buckets) or 'peak' (baseline).")
]
CpuOvercommitOpt = Annotated[float, typer.Option("--cpu-overcommit", help="CPU over-commit ratio.")]
MemOvercommitOpt = Annotated[
    float, typer.Option("--mem-overcommit", help="Memory over-commit ratio.")
]
MemBasisOpt = Annotated[
    str,
    typer.Option(
        "--mem-basis",
        help=(
            "Memory sized on: 'consumed' (the trace's usage), 'configured' (the inventory), "
            "or 'auto' (consumed when measured). The over-commit ratio divides it once."
        ),
    ),
]
HorizonDaysOpt = Annotated[
    float,
    typer.Option(
        "--horizon-days",
        help="Plan for this many days of growth (0: for the history as it is).",
    ),
]
GrowthOpt = Annotated[
    str,
    typer.Option(
        "--growth",
        help="With --horizon-days: 'auto' (each VM's own trend) or an annual rate (0.2, '20%').",
    ),
]
NewVmsOpt = Annotated[
    str,
    typer.Option(
        "--new-vms-per-month",
        help=(
            "With --horizon-days: new VMs a month, each like its zone's average VM; 'auto' "
            "fits the rate to the inventory's creation dates."
        ),
    ),
]


def new_vms_value(text: str) -> float | str:
    """``--new-vms-per-month``: ``"auto"`` or a number (checked by the consolidation)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a number of VMs a month or 'auto'",
            param_hint="--new-vms-per-month",
        ) from None


ConfidenceOpt = Annotated[
    float,
    typer.Option(
        "--confidence", help="With --horizon-days: confidence level of the sized growth (0.5-1)."
    ),
]
HeadroomOpt = Annotated[
    float, typer.Option("--headroom", help="Share of capacity kept free (0-1).")
]
HaOpt = Annotated[
    int, typer.Option("--ha", help="N+k: host failures absorbed (k); 0 for no reserve.")
]
HaPolicyOpt = Annotated[
    str, typer.Option("--ha-policy", help="'reserve' (aggregate) or 'strict' (per host).")
]
VcpuRatioOpt = Annotated[
    float | None, typer.Option("--vcpu-ratio", help="Most vCPUs per physical core.")
]
ObjectiveOpt = Annotated[
    str, typer.Option("--objective", help="'cost', 'hosts', 'power' or 'balance'.")
]
