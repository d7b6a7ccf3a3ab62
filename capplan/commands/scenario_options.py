"""Consolidation options shared by the commands that plan (``consolidate``, ``backtest``).

Each option that sets a scenario setting is derived from its one declaration,
:class:`capplan.spec.study.Scenario`: the help is the setting's description and unit, and the
default on the command's parameter is the declared object (``D["headroom_frac"]``).
:data:`CLI_SETTINGS` maps each parameter to its setting; a test holds the commands to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

import typer

from capplan.spec.study import scenario_default, scenario_help


class _Defaults:
    """``D["name"]``: the declared default of a scenario setting."""

    def __getitem__(self, path: str) -> Any:
        return scenario_default(path)


D: Final = _Defaults()

#: Command parameter → the scenario setting it sets (same default, same help).
CLI_SETTINGS: Final = {
    "mode": "mode",
    "source_host": "source_host",
    "buckets": "buckets",
    "period": "period",
    "statistic": "statistic",
    "sizing": "sizing",
    "cpu_overcommit": "cpu_overcommit_ratio",
    "mem_overcommit": "mem_overcommit_ratio",
    "mem_basis": "mem_basis",
    "horizon_days": "horizon_days",
    "growth": "growth",
    "confidence": "confidence",
    "new_vms_per_month": "new_vms_per_month",
    "headroom": "headroom_frac",
    "ha": "ha_hosts",
    "ha_policy": "ha_policy",
    "vcpu_ratio": "vcpu_per_core_ratio",
    "cpu_ready_limit": "cpu_ready_limit_frac",
    "vlan_limit": "vlan_limit",
    "objective": "objective",
    "time_limit": "time_limit_s",
    "workers": "workers",
    "expected_cpu_util": "expected_cpu_util_frac",
    "strategy": "strategy",
    "seed": "seed",
}

#: Scenario fields the commands take in a command-line syntax of their own: trace paths,
#: a catalog folder, hosts as ``MODEL[:COUNT]``.
CLI_INPUTS: Final = ("workload", "catalog", "hosts")

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
    str | None, typer.Option("--source-host", help=scenario_help("source_host"))
]
StrategyOpt = Annotated[str, typer.Option("--strategy", help=scenario_help("strategy"))]
ModeOpt = Annotated[str, typer.Option("--mode", help=scenario_help("mode"))]
BucketsOpt = Annotated[int, typer.Option("--buckets", help=scenario_help("buckets"))]
PeriodOpt = Annotated[str, typer.Option("--period", help=scenario_help("period"))]
StatisticOpt = Annotated[str, typer.Option("--statistic", help=scenario_help("statistic"))]
SizingOpt = Annotated[str, typer.Option("--sizing", help=scenario_help("sizing"))]
CpuOvercommitOpt = Annotated[
    float, typer.Option("--cpu-overcommit", help=scenario_help("cpu_overcommit_ratio"))
]
MemOvercommitOpt = Annotated[
    float, typer.Option("--mem-overcommit", help=scenario_help("mem_overcommit_ratio"))
]
MemBasisOpt = Annotated[str, typer.Option("--mem-basis", help=scenario_help("mem_basis"))]
HorizonDaysOpt = Annotated[
    float, typer.Option("--horizon-days", help=scenario_help("horizon_days"))
]
GrowthOpt = Annotated[
    str,
    typer.Option("--growth", help=scenario_help("growth") + " (0.2 or '20%')"),
]
NewVmsOpt = Annotated[
    str, typer.Option("--new-vms-per-month", help=scenario_help("new_vms_per_month"))
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


ConfidenceOpt = Annotated[float, typer.Option("--confidence", help=scenario_help("confidence"))]
HeadroomOpt = Annotated[float, typer.Option("--headroom", help=scenario_help("headroom_frac"))]
HaOpt = Annotated[int, typer.Option("--ha", help=scenario_help("ha_hosts"))]
HaPolicyOpt = Annotated[str, typer.Option("--ha-policy", help=scenario_help("ha_policy"))]
VcpuRatioOpt = Annotated[
    float | None, typer.Option("--vcpu-ratio", help=scenario_help("vcpu_per_core_ratio"))
]
CpuReadyLimitOpt = Annotated[
    float | None,
    typer.Option("--cpu-ready-limit", help=scenario_help("cpu_ready_limit_frac")),
]
VlanLimitOpt = Annotated[int | None, typer.Option("--vlan-limit", help=scenario_help("vlan_limit"))]
ObjectiveOpt = Annotated[
    str,
    typer.Option("--objective", help=scenario_help("objective") + " ('purchase': the price alone)"),
]
MigrationBudgetOpt = Annotated[
    int | None,
    typer.Option(
        "--migration-budget",
        help="Most VMs moved away from their current, owned host (with --existing; a study "
        "cannot name the owned hosts, so this is a command-line setting only).",
    ),
]
TimeLimitOpt = Annotated[float, typer.Option("--time-limit", help=scenario_help("time_limit_s"))]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        help=scenario_help("workers") + " (a deterministic search runs one, whose result does "
        "not depend on the machine's load; consolidate --nondeterministic uses them all)",
    ),
]
ExpectedCpuOpt = Annotated[
    float, typer.Option("--expected-cpu-util", help=scenario_help("expected_cpu_util_frac"))
]
SeedOpt = Annotated[int, typer.Option("--seed", help=scenario_help("seed"))]
