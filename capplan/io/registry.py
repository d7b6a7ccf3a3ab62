"""Reader registry: one reader per trace format, chosen by name or by detection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capplan.errors import UnknownFormatError
from capplan.io.files import DEFAULT_MAX_EXPANDED_BYTES, Member, list_members
from capplan.io.trace import CPU_SHARE_FORMATS, INVENTORY_ONLY_FORMATS, Trace


@dataclass(frozen=True)
class ReadOptions:
    """Settings a reader may need that the file itself does not carry.

    Attributes
    ----------
    max_expanded_bytes
        Refuse archives and compressed files that expand beyond this.
    default_vm_cpu_mhz
        CPU capacity of a VM when neither the trace nor an inventory says (PlanetLab).
    default_vm_mem_mib
        Provisioned memory of a VM when neither the trace nor an inventory says.
    vm_types
        ``"cloudsim"``: PlanetLab VMs get the four VM types of the CloudSim study by file
        order; ``"default"``: every VM gets the two defaults above.
    local_timezone
        IANA zone for formats that write local time without a zone (sadf, esxtop).
    progress
        Optional ``progress(done, total)`` callback that readers of many files call after
        each file, so the CLI can draw a progress bar.
    """

    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES
    default_vm_cpu_mhz: float = 2500.0
    default_vm_mem_mib: float = 870.0
    vm_types: str = "cloudsim"
    local_timezone: str = "UTC"
    extra: dict[str, object] = field(default_factory=dict)
    progress: Callable[[int, int], None] | None = None


ReadFn = Callable[[Path, ReadOptions], Trace]
DetectFn = Callable[[list[Member]], float]


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader.

    Attributes
    ----------
    name
        Registry key, used in ``FORMAT:PATH`` and ``--format``.
    read
        ``read(path, options) -> Trace``.
    detect
        ``detect(members) -> score`` in [0, 1]; 0 means "not this format".
    description
        One line for ``capplan formats`` and error messages.
    inventory_only
        The format carries an inventory and no usage.
    cpu_share
        The format's CPU demand is a share of the capacity in the reader's inventory
        (:data:`capplan.io.trace.CPU_SHARE_FORMATS`).
    """

    name: str
    read: ReadFn
    detect: DetectFn
    description: str
    inventory_only: bool = False
    cpu_share: bool = False


READERS: dict[str, ReaderInfo] = {}


def register_reader(
    name: str,
    *,
    detect: DetectFn,
    description: str,
    inventory_only: bool = False,
    cpu_share: bool = False,
) -> Callable[[ReadFn], ReadFn]:
    """Register a reader function under ``name`` (decorator)."""

    def decorator(read: ReadFn) -> ReadFn:
        if name in READERS:
            raise ValueError(f"reader {name!r} registered twice")
        READERS[name] = ReaderInfo(name, read, detect, description, inventory_only, cpu_share)
        if inventory_only:
            INVENTORY_ONLY_FORMATS.add(name)
        if cpu_share:
            CPU_SHARE_FORMATS.add(name)
        return read

    return decorator


def get_reader(name: str) -> ReaderInfo:
    """Return the reader registered as ``name``; an unknown name lists the valid ones."""
    try:
        return READERS[name]
    except KeyError:
        valid = ", ".join(sorted(READERS))
        raise UnknownFormatError(f"unknown format {name!r}; expected one of: {valid}") from None


def detect_format(path: Path, options: ReadOptions | None = None) -> str:
    """Return the name of the reader that best recognises ``path``.

    Raises
    ------
    UnknownFormatError
        When no reader recognises it; the message lists the formats tried.
    """
    opts = options or ReadOptions()
    members = list_members(path, opts.max_expanded_bytes)
    scores = {name: info.detect(members) for name, info in READERS.items()}
    best = max(scores, key=lambda name: scores[name], default=None)
    if best is None or scores[best] <= 0.0:
        valid = ", ".join(sorted(READERS))
        raise UnknownFormatError(
            f"format not recognised; tried: {valid}. Name it with --format or FORMAT:PATH",
            path=path,
        )
    return best
