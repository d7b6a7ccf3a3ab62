"""Synthetic workload descriptors read as traces (reader ``"synthetic"``).

A descriptor is a TOML file with a ``[synthetic]`` table (seed, VM count, days, step; see
:mod:`capplan.generate.descriptor`), or a folder holding one such file next to Markdown notes.
Reading it generates the workload with :mod:`capplan.generate` on first use, caches it as
canonical Parquet, and returns the cached trace afterwards; the bundled demo workload
(``workloads/demo/``) is one.
"""

from __future__ import annotations

from pathlib import Path

from capplan.errors import TraceFormatError
from capplan.io.files import Member, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Trace

_NOTE_SUFFIXES = (".md", ".txt", ".rst")


def _descriptor_members(members: list[Member]) -> list[Member]:
    return [m for m in members if m.name.lower().endswith(".toml") and _is_descriptor(m)]


def _is_descriptor(member: Member) -> bool:
    from capplan.generate.descriptor import is_descriptor_text

    return is_descriptor_text(member.head(16_384).decode("utf-8", errors="replace"))


def detect(members: list[Member]) -> float:
    """A single descriptor file, or a folder of one descriptor plus notes."""
    found = _descriptor_members(members)
    if len(found) != 1:
        return 0.0
    others = [m for m in members if m is not found[0]]
    if all(m.name.lower().endswith(_NOTE_SUFFIXES) for m in others):
        return 0.95
    return 0.0


@register_reader(
    "synthetic",
    detect=detect,
    description="capplan workload descriptor (TOML [synthetic]): generated, cached as Parquet",
)
def read_synthetic(path: Path, options: ReadOptions) -> Trace:
    """Generate (or load from the cache) the workload a descriptor names."""
    from capplan.generate.cache import load_descriptor_trace

    members = list_members(path, options.max_expanded_bytes, recursive=False)
    found = _descriptor_members(members)
    if len(found) != 1 or found[0].disk_path is None:
        raise TraceFormatError(
            f"expected one descriptor file with a [synthetic] table, found {len(found)}",
            path=path,
        )
    return load_descriptor_trace(found[0].disk_path)
