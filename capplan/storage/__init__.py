"""Storage planning: thin-provisioned volumes onto SAN pools and tiers, run-out risk, tiering.

Modules, one job each: :mod:`~capplan.storage.spec` (pools and policy), :mod:`~.files`
(history, attributes and layout CSVs), :mod:`~.volumes` (volumes from a workload),
:mod:`~.forecast` (trend, band, first-passage risk), :mod:`~.instance` (the prepared
placement problem), :mod:`~.placement` (OR-Tools solve with bound and gap),
:mod:`~.validator` (solver-free plan check), :mod:`~.tiering` (access-density lifecycle) and
:mod:`~.planner` (all of it end to end).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → module; loaded on first use so that importing the solver-free parts
#: (the validator) does not import OR-Tools.
_EXPORTS = {
    "StorageOptions": "capplan.storage.planner",
    "StoragePlanResult": "capplan.storage.planner",
    "plan_storage": "capplan.storage.planner",
    "StorageSpec": "capplan.storage.spec",
    "default_spec": "capplan.storage.spec",
    "load_storage_spec": "capplan.storage.spec",
    "StorageDataError": "capplan.storage.volumes",
    "Volumes": "capplan.storage.volumes",
    "build_volumes": "capplan.storage.volumes",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'capplan.storage' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
