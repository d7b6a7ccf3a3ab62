"""What host-level traces leave out: CPU capacity, memory size and the local time zone.

perfmon, sadf and esxtop report CPU as a percentage, but ``cpu_demand_mhz`` needs the
capacity behind that percentage, which those files never carry. Readers take it from
``ReadOptions.extra``; each key holds one positive number for every host, or a mapping
``{host name: number}`` (hosts missing from the mapping get the default):

``host_cpu_mhz``
    Whole-host CPU capacity (all cores) in MHz.
``core_mhz``
    Capacity of one core in MHz; a host's capacity is ``n_cores × core_mhz`` when the file
    tells the core count (per-CPU columns, ``LINUX-RESTART (N CPU)`` records).
``host_mem_mib``
    Physical memory of the host in MiB (perfmon: active = this − ``Available MBytes``).

Without them the core MHz defaults to ``ReadOptions.default_vm_cpu_mhz`` (2,500 MHz, the
largest single-vCPU VM type of the CloudSim/PlanetLab study, Beloglazov & Buyya, CCPE 2012),
and a host whose core count is unknown counts as one core. Readers report every defaulted
host as a :class:`~capplan.io.trace.Problem`, so a defaulted capacity is never silent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from capplan.errors import SpecError
from capplan.io.registry import ReadOptions

HOST_CPU_MHZ_KEY = "host_cpu_mhz"
CORE_MHZ_KEY = "core_mhz"
HOST_MEM_MIB_KEY = "host_mem_mib"


@dataclass(frozen=True)
class CpuCapacity:
    """The CPU capacity assumed for one host.

    Attributes
    ----------
    total_mhz
        Whole-host capacity in MHz (what 100 % of all cores means).
    core_mhz
        Capacity of one core in MHz.
    n_cores
        Core count, when the file or the options tell it.
    source
        Where the figure came from, for problem messages.
    defaulted
        True when a default stood in for a missing figure of the whole-host capacity.
    core_assumed
        True when the per-core figure is an assumption (a default, or a whole-host figure
        divided by an unknown core count taken as one).
    """

    total_mhz: float
    core_mhz: float
    n_cores: int | None
    source: str
    defaulted: bool
    core_assumed: bool = False

    def problem_text(self, host: str) -> str:
        """One sentence saying which capacity was assumed for ``host`` and how to set it."""
        return (
            f"host {host!r}: CPU capacity {self.total_mhz:,.0f} MHz assumed ({self.source}); "
            f"set ReadOptions.extra[{HOST_CPU_MHZ_KEY!r}] or [{CORE_MHZ_KEY!r}] for real figures"
        )


def _lookup(options: ReadOptions, key: str, host: str) -> float | None:
    value = options.extra.get(key)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get(host)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(
            [(f"extra.{key}", "expected a positive number or a mapping of host name to number")]
        )
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise SpecError([(f"extra.{key}", f"expected a positive finite number, got {number!r}")])
    return number


def cpu_capacity(host: str, options: ReadOptions, *, n_cores: int | None = None) -> CpuCapacity:
    """Return the CPU capacity of ``host`` from the options, the core count and the defaults.

    Parameters
    ----------
    host
        Host name as the trace writes it.
    options
        Reader options; see the module docstring for the keys read from ``extra``.
    n_cores
        Core count found in the file, if any.
    """
    total = _lookup(options, HOST_CPU_MHZ_KEY, host)
    core = _lookup(options, CORE_MHZ_KEY, host)
    if total is not None:
        source = f"extra[{HOST_CPU_MHZ_KEY!r}]"
        if core is not None:
            return CpuCapacity(total, core, n_cores, source, False)
        if n_cores:
            return CpuCapacity(total, total / n_cores, n_cores, source, False)
        source += ", core count unknown so one core of that size"
        return CpuCapacity(total, total, None, source, False, core_assumed=True)
    cores = n_cores if n_cores else 1
    if core is not None:
        source = f"{cores} core(s) × extra[{CORE_MHZ_KEY!r}] {core:,.0f} MHz"
        if n_cores is None:
            source += ", core count unknown so 1 core"
        return CpuCapacity(core * cores, core, n_cores, source, n_cores is None)
    core = float(options.default_vm_cpu_mhz)
    source = f"{cores} core(s) × default {core:,.0f} MHz per core"
    if n_cores is None:
        source += ", core count unknown so 1 core"
    return CpuCapacity(core * cores, core, n_cores, source, True, core_assumed=True)


def host_mem_mib(host: str, options: ReadOptions) -> float | None:
    """Return the physical memory of ``host`` in MiB from ``extra['host_mem_mib']``, if set."""
    return _lookup(options, HOST_MEM_MIB_KEY, host)


def checked_timezone(options: ReadOptions) -> str:
    """Return ``options.local_timezone`` after checking it names an IANA time zone."""
    name = options.local_timezone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SpecError(
            [("local_timezone", f"unknown time zone {name!r}; expected an IANA name like 'UTC'")]
        ) from exc
    return name
