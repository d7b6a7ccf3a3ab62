"""The emulated hardware: replay per-VM demand on hosts, tiers and links.

Pure functions per subsystem (:mod:`~capplan.emulate.cpu`, :mod:`~capplan.emulate.memory`,
:mod:`~capplan.emulate.storage`, :mod:`~capplan.emulate.network`,
:mod:`~capplan.emulate.power`), one VM → host aggregation
(:mod:`~capplan.emulate.aggregate`) and one engine composing them
(:func:`~capplan.emulate.engine.emulate`).
"""

from capplan.emulate.engine import Emulation, emulate
from capplan.emulate.power import power_w

__all__ = ["Emulation", "emulate", "power_w"]
