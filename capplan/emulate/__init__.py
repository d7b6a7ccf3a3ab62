"""The emulated hardware: replay per-VM demand on hosts, tiers and links.

Pure functions per subsystem (:mod:`~capplan.emulate.cpu`, :mod:`~capplan.emulate.memory`,
:mod:`~capplan.emulate.storage`, :mod:`~capplan.emulate.network`,
:mod:`~capplan.emulate.power`), one VM → host aggregation
(:mod:`~capplan.emulate.aggregate`) and one engine composing them
(:func:`~capplan.emulate.engine.emulate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capplan.emulate.engine import Emulation, emulate
    from capplan.emulate.power import power_w

__all__ = ["Emulation", "emulate", "power_w"]


def __getattr__(name: str) -> Any:
    """Import the engine on first use: a model module alone (``memory``) stays light."""
    if name in ("Emulation", "emulate"):
        from capplan.emulate import engine

        return getattr(engine, name)
    if name == "power_w":
        from capplan.emulate.power import power_w

        return power_w
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
