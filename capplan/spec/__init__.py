"""Frozen, validated specs loaded from TOML (catalog, scenario, study).

Specs hold data only (no I/O after loading) and report *all* their problems at once through
:class:`capplan.errors.SpecError`, each with a dotted path.
"""
