"""Seeded synthetic workloads whose statistics follow real traces.

``generate_trace(GeneratorParams(n_vms=200, days=7), seed=1)`` returns a canonical
:class:`capplan.io.Trace`; :func:`generate` returns the same workload as arrays. Default
statistics are fitted to the real traces in ``../shared/data`` by :mod:`capplan.generate.fit`
(figures and sources in ``docs/generator.md``).
"""

from __future__ import annotations

from capplan.generate.params import FITTED, FittedStats, GeneratorParams, IoStats
from capplan.generate.synth import SyntheticWorkload, generate, generate_trace, iter_blocks

__all__ = [
    "FITTED",
    "FittedStats",
    "GeneratorParams",
    "IoStats",
    "SyntheticWorkload",
    "generate",
    "generate_trace",
    "iter_blocks",
]
