"""Time-stepped dynamic consolidation with live migration.

:func:`run_dynamic` is the entry point: a workload, a policy name, and either the CloudSim
PlanetLab setup (``compat="cloudsim"``, reproducing Beloglazov & Buyya, CCPE 2012) or a
fleet from the hardware catalog (default mode, CloudSim's quirks fixed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capplan.dynamic.config import CLOUDSIM_CONFIG, DEFAULT_CONFIG, SimConfig
    from capplan.dynamic.contract import Policy
    from capplan.dynamic.engine import DynamicResult, simulate
    from capplan.dynamic.fleet import HostFleet, VmSet
    from capplan.dynamic.policies import get_policy, policy_names
    from capplan.dynamic.run import run_dynamic
    from capplan.dynamic.state import Simulation

#: Public name → the submodule defining it. Loaded on first use (PEP 562), so importing one
#: submodule (``capplan.dynamic.kernels.hostupdate``) does not import the whole package, and
#: the package imports no module that imports it back.
_HOME = {
    "CLOUDSIM_CONFIG": "config",
    "DEFAULT_CONFIG": "config",
    "SimConfig": "config",
    "DynamicResult": "engine",
    "Simulation": "state",
    "simulate": "engine",
    "HostFleet": "fleet",
    "VmSet": "fleet",
    "Policy": "contract",
    "get_policy": "policies",
    "policy_names": "policies",
    "run_dynamic": "run",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'capplan.dynamic' has no attribute {name!r}")
    return getattr(importlib.import_module(f"capplan.dynamic.{home}"), name)


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
