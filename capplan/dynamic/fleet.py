"""Hosts and VMs as the dynamic simulation sees them: flat arrays, one row per entity.

A :class:`HostFleet` holds ``n_hosts`` servers (processing elements, RAM, network, an 11-point
power curve each); a :class:`VmSet` holds ``n_vms`` VMs with their capacities and their CPU
utilisation at regular sample times. Both are built from a :class:`capplan.demand.Workload`
and the hardware catalog (default mode) or from the fixed CloudSim PlanetLab setup
(:mod:`capplan.dynamic.compat`).

CPU throughput is in MIPS as in CloudSim; capplan reads a core's normalized MHz as MIPS and a
VM's ``cpu_capacity_mhz`` as its MIPS (the PlanetLab reader stores CloudSim's VM MIPS there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.dynamic.kernels import hostupdate
from capplan.errors import CapplanError, WorkloadError
from capplan.units import BITS_PER_BYTE, PERCENT

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Number of points of a SPECpower curve (0, 10, ..., 100 % load).
N_POWER_POINTS = 11


@dataclass(frozen=True)
class HostFleet:
    """The servers of a simulation.

    Attributes
    ----------
    model
        Catalog model name per host, shape ``(n_hosts,)``.
    n_pes
        Processing elements (cores) per host, int64 ``(n_hosts,)``.
    pe_mips
        Throughput of one PE, MIPS, ``(n_hosts,)``.
    ram_mib
        Memory per host, MiB, ``(n_hosts,)``.
    bw_mbps
        Network bandwidth per host, Mbit/s, ``(n_hosts,)``; half of it carries migrations.
    power_w
        Wall power at 0, 10, ..., 100 % CPU load, W, ``(n_hosts, 11)``.
    """

    model: npt.NDArray[np.str_]
    n_pes: IntArray
    pe_mips: FloatArray
    ram_mib: FloatArray
    bw_mbps: FloatArray
    power_w: FloatArray

    def __post_init__(self) -> None:
        n = len(self.model)
        for name in ("n_pes", "pe_mips", "ram_mib", "bw_mbps"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"HostFleet.{name} must have shape ({n},)")
        if self.power_w.shape != (n, N_POWER_POINTS):
            raise ValueError(f"HostFleet.power_w must have shape ({n}, {N_POWER_POINTS})")

    @property
    def n_hosts(self) -> int:
        """Number of hosts."""
        return len(self.model)

    @property
    def total_mips(self) -> FloatArray:
        """Total throughput per host (PEs × PE MIPS), ``(n_hosts,)``."""
        return self.n_pes * self.pe_mips

    @property
    def max_power_w(self) -> FloatArray:
        """Power at full load per host, W, ``(n_hosts,)``."""
        return self.power_w[:, -1]

    @classmethod
    def from_models(
        cls,
        models: Sequence[str],
        *,
        n_pes: Sequence[int],
        pe_mips: Sequence[float],
        ram_mib: Sequence[float],
        bw_mbps: Sequence[float],
        power_w: Sequence[Sequence[float]],
    ) -> HostFleet:
        """Build a fleet from per-host sequences (one entry per host)."""
        return cls(
            model=np.asarray(list(models), dtype=np.str_),
            n_pes=np.asarray(n_pes, dtype=np.int64),
            pe_mips=np.asarray(pe_mips, dtype=np.float64),
            ram_mib=np.asarray(ram_mib, dtype=np.float64),
            bw_mbps=np.asarray(bw_mbps, dtype=np.float64),
            power_w=np.asarray(power_w, dtype=np.float64).reshape(-1, N_POWER_POINTS),
        )


@dataclass(frozen=True)
class VmSet:
    """The VMs of a simulation and their CPU utilisation over time.

    Attributes
    ----------
    vm_ids
        VM names, ``(n_vms,)``.
    n_pes
        Virtual CPUs per VM, int64 ``(n_vms,)``.
    mips
        Total MIPS of a VM (all its PEs), ``(n_vms,)``.
    ram_mib
        Provisioned memory, MiB, ``(n_vms,)``; it sets the live-migration time.
    bw_mbps
        Network bandwidth reserved per VM, Mbit/s, ``(n_vms,)``.
    util_frac
        CPU utilisation (fraction of ``mips``) at sample ``k`` (time ``k × sample_s``),
        float64 ``(n_vms, n_samples)``. The simulation interpolates linearly between samples
        and holds the last one.
    sample_s
        Seconds between samples.
    exact_percent
        True when every sample is an integer percentage recovered exactly (PlanetLab data).
    mem_active_mib
        Active memory at each sample, MiB, ``(n_vms, n_samples)``, when the trace has it;
        the default mode pages (and slows) VMs whose host's active memory exceeds its RAM.
    """

    vm_ids: npt.NDArray[np.str_]
    n_pes: IntArray
    mips: FloatArray
    ram_mib: FloatArray
    bw_mbps: FloatArray
    util_frac: FloatArray
    sample_s: float
    exact_percent: bool = False
    mem_active_mib: FloatArray | None = None

    @property
    def n_vms(self) -> int:
        """Number of VMs."""
        return len(self.vm_ids)

    @property
    def n_samples(self) -> int:
        """Number of utilisation samples per VM."""
        return int(self.util_frac.shape[1])

    def util_at(self, time_s: float) -> FloatArray:
        """Utilisation of every VM at ``time_s``, ``(n_vms,)``.

        Linear interpolation between the two samples around ``time_s`` with CloudSim's
        arithmetic (``UtilizationModelPlanetLabInMemory``): the exact sample when ``time_s``
        is a multiple of ``sample_s``, otherwise ``u1 + (u2 - u1) / step × (t - k1 × step)``.
        Times past the last sample hold the last sample.
        """
        return hostupdate.util_at(self.util_frac, self.sample_s, time_s)

    def mem_active_at(self, time_s: float) -> FloatArray | None:
        """Active memory of every VM at ``time_s`` (interpolated as :meth:`util_at`), MiB."""
        if self.mem_active_mib is None:
            return None
        return hostupdate.util_at(self.mem_active_mib, self.sample_s, time_s)

    def subset(self, rows: IntArray) -> VmSet:
        """Return the VMs at ``rows`` (for tests and small experiments)."""
        return VmSet(
            self.vm_ids[rows],
            self.n_pes[rows],
            self.mips[rows],
            self.ram_mib[rows],
            self.bw_mbps[rows],
            self.util_frac[rows],
            self.sample_s,
            self.exact_percent,
            None if self.mem_active_mib is None else self.mem_active_mib[rows],
        )


def sum_by(index: IntArray, weights: npt.ArrayLike, n: int) -> FloatArray:
    """Σ ``weights`` per value of ``index`` in ``[0, n)``, float64 ``(n,)`` (a bincount)."""
    return np.bincount(index, weights=weights, minlength=n).astype(np.float64, copy=False)


def migration_rate_mib_s(bw_mbps: FloatArray, share_frac: float = 0.5) -> FloatArray:
    """Memory copy rate of a live migration: ``share_frac`` of the link, MiB/s.

    CloudSim (``PowerDatacenter``) gives migrations half of the host bandwidth and reads
    1 Gbit/s as 62.5 MB/s, so a 1,024 MB VM moves in about 16 s.
    """
    return np.asarray(bw_mbps, dtype=np.float64) * share_frac / BITS_PER_BYTE


def utilization_from_workload(workload: Workload) -> tuple[FloatArray, FloatArray, bool]:
    """Recover per-VM CPU capacity (MIPS) and utilisation fractions from a workload.

    Returns
    -------
    mips
        ``cpu_capacity_mhz`` per VM, ``(n_vms,)``; where the inventory lacks it, the VM's
        largest demand (a VM that never ran gets 1 MIPS so that its utilisation is 0).
    util
        ``cpu_demand_mhz / mips`` per VM and step, float64 ``(n_vms, n_steps)``. When every
        value is within 1e-3 of an integer percentage (PlanetLab: the files hold integers
        and the reader stores ``v / 100 × capacity``), the integer is recovered and the
        fraction is ``v / 100.0`` exactly, bit for bit what CloudSim computes.
    exact_percent
        Whether that integer recovery applied.

    Raises
    ------
    WorkloadError
        If the workload has no ``cpu_demand_mhz``.
    """
    demand = workload.demand("cpu_demand_mhz").astype(np.float64)
    capacity = workload.inventory_column("cpu_capacity_mhz")
    missing = ~np.isfinite(capacity) | (capacity <= 0)
    if missing.any():
        peak = demand.max(axis=1) if demand.shape[1] else np.zeros(len(capacity))
        capacity = np.where(missing, np.maximum(peak, 1.0), capacity)
    percent = demand / capacity[:, None] * PERCENT
    rounded = np.rint(percent)
    exact = bool(demand.size == 0 or np.abs(percent - rounded).max() < 1e-3)
    util = rounded / PERCENT if exact else percent / PERCENT
    return capacity, util, exact


def vms_from_workload(
    workload: Workload,
    *,
    default_bw_mbps: float,
    repeat_last: bool = True,
) -> VmSet:
    """Build the :class:`VmSet` of a workload (default mode).

    Parameters
    ----------
    workload
        Needs ``cpu_demand_mhz``; ``cpu_capacity_mhz``, ``n_vcpus`` and
        ``mem_provisioned_mib`` come from the inventory (missing: capacity = peak demand,
        1 vCPU, 0 MiB, which makes the migration instantaneous); ``mem_active_mib`` is used
        when the trace has it.
    default_bw_mbps
        Bandwidth reserved per VM (traces do not carry it).
    repeat_last
        Append a copy of the last sample, as CloudSim does, so that the last interval has a
        value at its end.
    """
    if workload.n_vms == 0:
        raise WorkloadError("the workload has no VMs; nothing to simulate")
    mips, util, exact = utilization_from_workload(workload)
    n_pes = np.maximum(workload.inventory_column("n_vcpus", 1.0), 1.0).astype(np.int64)
    ram = np.nan_to_num(workload.inventory_column("mem_provisioned_mib", 0.0), nan=0.0)
    active = workload.mean.get("mem_active_mib")
    mem_active = None if active is None else np.nan_to_num(active.astype(np.float64), nan=0.0)
    if repeat_last and util.shape[1]:
        util = np.concatenate([util, util[:, -1:]], axis=1)
        if mem_active is not None:
            mem_active = np.concatenate([mem_active, mem_active[:, -1:]], axis=1)
    return VmSet(
        vm_ids=np.asarray(workload.vm_ids, dtype=np.str_),
        n_pes=n_pes,
        mips=mips,
        ram_mib=np.maximum(ram, 0.0),
        bw_mbps=np.full(workload.n_vms, float(default_bw_mbps)),
        util_frac=util,
        sample_s=float(workload.step_s),
        exact_percent=exact,
        mem_active_mib=mem_active,
    )


def fleet_from_catalog(spec: str, catalog_dir: str | None = None) -> HostFleet:
    """Build a fleet from ``MODEL:N[,MODEL:N...]`` using the hardware catalog.

    Hosts are interleaved round-robin across the listed models (``a:2,b:2`` gives
    ``a, b, a, b``), the way CloudSim alternates its two PlanetLab host types. PE MIPS is the
    model's normalized core clock (``base_clock_mhz × perf_factor``); the migration network is
    one NIC (``nic_speed_mbps``).

    Raises
    ------
    CapplanError
        If the spec is malformed or names a model the catalog lacks (listing the valid ones).
    """
    from pathlib import Path

    from capplan.spec.catalog import load_catalog

    catalog = load_catalog(Path(catalog_dir)) if catalog_dir else load_catalog()
    parts: list[tuple[str, int]] = []
    for item in spec.split(","):
        name, sep, count = item.strip().rpartition(":")
        if not sep or not name or not count.strip().isdigit() or int(count) <= 0:
            raise CapplanError(
                f"host spec item {item.strip()!r} is not MODEL:N with N a positive integer",
                spec_path="--hosts",
            )
        if name not in catalog.hosts:
            valid = ", ".join(sorted(catalog.hosts))
            raise CapplanError(
                f"host model {name!r} is not in the catalog; valid models: {valid}",
                spec_path="--hosts",
            )
        parts.append((name, int(count)))
    order: list[str] = []
    remaining = [count for _, count in parts]
    while any(remaining):
        for index, (name, _) in enumerate(parts):
            if remaining[index]:
                order.append(name)
                remaining[index] -= 1
    hosts = [catalog.hosts[name] for name in order]
    return HostFleet.from_models(
        order,
        n_pes=[h.n_cores for h in hosts],
        pe_mips=[h.base_clock_mhz * h.perf_factor for h in hosts],
        ram_mib=[h.ram_mib for h in hosts],
        bw_mbps=[h.nic_speed_mbps for h in hosts],
        power_w=[h.power_w for h in hosts],
    )
