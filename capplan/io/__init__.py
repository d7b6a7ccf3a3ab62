"""Trace readers: one module per format, registered by name, with format detection.

Importing this package registers every reader listed in :data:`READER_MODULES`.
"""

from __future__ import annotations

import importlib

from capplan.io.api import merge_traces, parse_source, read_trace, read_traces
from capplan.io.registry import READERS, ReadOptions, detect_format, get_reader
from capplan.io.trace import Problem, Trace

#: Modules that register readers (each is imported once, here).
READER_MODULES: tuple[str, ...] = (
    "canonical",
    "alibaba",
    "azure",
    "bitbrains",
    "opendc",
    "planetlab",
    "perfmon",
    "esxtop",
    "sadf",
    "rvtools",
    "synthetic",
)

for _module in READER_MODULES:
    importlib.import_module(f"capplan.io.{_module}")

__all__ = [
    "READERS",
    "Problem",
    "ReadOptions",
    "Trace",
    "detect_format",
    "get_reader",
    "merge_traces",
    "parse_source",
    "read_trace",
    "read_traces",
]
