"""Time-stepped dynamic consolidation with live migration.

:func:`run_dynamic` is the entry point: a workload, a policy name, and either the CloudSim
PlanetLab setup (``compat="cloudsim"``, reproducing Beloglazov & Buyya, CCPE 2012) or a
fleet from the hardware catalog (default mode, CloudSim's quirks fixed).
"""

from __future__ import annotations

from capplan.dynamic.config import CLOUDSIM_CONFIG, DEFAULT_CONFIG, SimConfig
from capplan.dynamic.engine import DynamicResult, Simulation, simulate
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.policies import Policy, get_policy, policy_names
from capplan.dynamic.run import run_dynamic

__all__ = [
    "CLOUDSIM_CONFIG",
    "DEFAULT_CONFIG",
    "DynamicResult",
    "HostFleet",
    "Policy",
    "SimConfig",
    "Simulation",
    "VmSet",
    "get_policy",
    "policy_names",
    "run_dynamic",
    "simulate",
]
