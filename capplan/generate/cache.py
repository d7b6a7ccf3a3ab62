"""Generate a descriptor's workload once and keep it as canonical Parquet in the cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from capplan.generate.descriptor import cached_path, load_descriptor
from capplan.generate.synth import generate
from capplan.io.canonical import read_canonical_parquet, write_canonical_parquet
from capplan.io.registry import ReadOptions
from capplan.io.trace import Trace

log = logging.getLogger(__name__)


def _write_cache(trace: Trace, target: Path) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}")
        write_canonical_parquet(trace, tmp)
        tmp.replace(target)
    except OSError as exc:
        log.warning("cannot cache the generated workload in %s (%s)", target.parent, exc)
        return False
    return True


def load_descriptor_trace(path: Path) -> Trace:
    """The trace a descriptor file names: generated on first use, then read from the cache.

    When the cache cannot be written, the trace is generated in memory on every call.
    """
    descriptor = load_descriptor(path)
    sources = (str(path),)
    target = cached_path(descriptor)
    if not target.exists():
        trace = generate(descriptor.params, descriptor.seed).to_trace(sources=sources)
        if not _write_cache(trace, target):
            return trace
    read = read_canonical_parquet(target, ReadOptions())
    return Trace.build(
        read.usage,
        read.inventory,
        format="synthetic",
        sources=sources,
        native_step_s=float(descriptor.params.step_s),
    )
