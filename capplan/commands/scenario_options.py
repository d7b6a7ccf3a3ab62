"""Consolidation options shared by the commands that plan (``consolidate``, ``backtest``).

Each alias is the option's declaration (flag and help); the default stays on the parameter.
"""

from __future__ import annotations

from typing import Annotated

import typer

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
