"""Consolidation optimizer: instances, greedy rules, CP-SAT, local search, bounds, validation.

Entry points: :func:`capplan.optimize.strategies.solve` for a prepared
:class:`capplan.optimize.instance.Instance`, and :func:`capplan.optimize.consolidate.consolidate`
from a Workload and a catalog. :mod:`capplan.optimize.validator` checks packings without the
solver.
"""
