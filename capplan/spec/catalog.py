"""The hardware catalog: host models, virtualization modes, SAN tiers and design, fabric.

A catalog is a folder of TOML files (the bundled one is ``models/`` at the repository root).
Every file may hold any of these top-level tables; entries are merged across files and a name
defined twice is an error:

``[hosts.NAME]``
    A server model (:class:`HostModel`), with its availability: ``status`` (``current`` or
    ``legacy``, see :class:`HostModel`), ``launch_year`` and the ``status_source`` they cite.
    :func:`current_models` names the current ones.
``[modes.NAME]``
    A virtualization mode (:class:`VirtMode`).
``[san_tiers.NAME]``
    A storage tier (:class:`SanTier`).
``[san]``
    The SAN design (:class:`SanDesign`).
``[fabric]``
    The network fabric (:class:`Fabric`).
``[memory]``
    Memory reclamation parameters (:class:`MemoryReclaim`).
``[sources]``
    Citation key → full reference. Every entry names its ``source`` as one key or a list of
    keys of this table; the loaded entry's ``source`` holds the resolved references.

A user catalog may start with ``extends = "bundled"`` in any of its files: the bundled
catalog is loaded first and the user's entries replace or add to it (whole entries for named
tables, single keys for ``san``, ``fabric`` and ``memory``).

The loaded catalog is frozen data; :func:`load_catalog` reports every problem it finds at
once in one :class:`capplan.errors.SpecError`, each with ``file:dotted.path``.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from capplan.errors import CapplanError, SpecError
from capplan.resources import bundled_dir
from capplan.spec.fields import MISSING, TableFields

#: Load levels of an 11-point SPECpower_ssj2008 power table: 0 (active idle), 10, ..., 100 %.
POWER_LOAD_FRACS: Final = tuple(i / 10 for i in range(11))

NAMED_TABLES: Final = ("hosts", "modes", "san_tiers", "sources")
SINGLE_TABLES: Final = ("san", "fabric", "memory", "guest")
TOP_LEVEL_KEYS: Final = (*NAMED_TABLES, *SINGLE_TABLES, "extends")

APPLIANCE_KINDS: Final = ("none", "in-band", "out-of-band")
MULTIPATH_MODES: Final = ("active-active", "active-passive")
MEM_OVERHEAD_KINDS: Final = ("none", "table", "linear")

#: Availability of a host model: ``current`` (sold or supported as a new purchase) or ``legacy``.
HOST_STATUSES: Final = ("current", "legacy")
#: Accepted range of ``launch_year`` (inclusive): x86 servers to a far-off planning horizon.
LAUNCH_YEAR_RANGE: Final = (1990, 2100)

FloatArray = npt.NDArray[np.float64]


def bundled_catalog_dir() -> Path:
    """Return the bundled ``models/`` folder (repository root, next to the package).

    Works from a source checkout and from an editable install, where the package directory
    is the checkout's ``capplan/``.

    Raises
    ------
    CapplanError
        If the folder is not there (a non-editable install without the models).
    """
    folder = bundled_dir("models")
    if not any(folder.glob("*.toml")):
        raise CapplanError(
            "the bundled catalog folder holds no TOML file; pass a catalog folder explicitly "
            "(--catalog DIR)",
            path=folder,
        )
    return folder


# ---------------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class HostModel:
    """A server model.

    Attributes
    ----------
    name
        Catalog key (what a placement's ``host_model`` column names).
    sockets, cores_per_socket, threads_per_core
        CPU topology.
    base_clock_mhz
        Base (not turbo) clock of one core, MHz.
    perf_factor
        Throughput of one core at 1 MHz relative to the reference core the demand was
        measured on (1.0 = same per-clock performance). Capacity and demand are both in
        *normalized* MHz.
    ram_mib
        Installed memory, MiB.
    nic_count, nic_speed_mbps
        Data network ports and the speed of each, Mbit/s.
    hba_ports
        Storage (Fibre Channel / iSCSI) host bus adapter ports.
    power_w
        Wall power at 0, 10, ..., 100 % load (11 points, W), non-decreasing: the published
        curve plus ``dimm_extra_w``.
    dimm_extra_w
        Power of the DIMMs installed beyond those of the measured configuration, W, added
        at every load: ``(dimms − tested_dimms) × dimm_w`` (entry fields, given together
        and cited; a SPECpower curve covers only the memory it was measured with).
    price_usd, rack_units
        Purchase price and height (NaN where no published figure was found).
    cpu_list_price_usd
        List price of one of its CPUs (NaN where not given): without ``price_usd`` the
        server is priced at least at its CPUs' list price.
    mtbf_h, mttr_h
        Mean time between failures and to repair, hours (NaN where not published).
    source
        The published sources of these figures.
    status
        Availability: ``"current"`` or ``"legacy"``. A model is current when it is still sold
        or supported as a new purchase in 2026 -- in practice a server launched within about
        the last five years, with an Intel Xeon 3rd Gen Scalable (Ice Lake-SP, 2021) or AMD
        EPYC 7003 (Milan, 2021) or newer CPU; every older model is legacy. A catalog entry
        that gives no ``status`` is current (a model a user adds is one they can buy).
    launch_year
        Year the model became available (the bundled catalog gives the year of the SPECpower
        result's "Hardware Availability" date, else of the result's publication); ``None`` if
        not given. Informative: ``status`` follows the CPU generation, not this year.
    status_source
        The sources of ``status`` and ``launch_year`` ("" when neither is given).
    """

    name: str
    sockets: int
    cores_per_socket: int
    threads_per_core: int
    base_clock_mhz: float
    perf_factor: float
    ram_mib: float
    nic_count: int
    nic_speed_mbps: float
    hba_ports: int
    power_w: tuple[float, ...]
    price_usd: float
    rack_units: float
    mtbf_h: float
    mttr_h: float
    source: str
    status: str = "current"
    launch_year: int | None = None
    status_source: str = ""
    dimm_extra_w: float = 0.0
    cpu_list_price_usd: float = math.nan

    @property
    def is_current(self) -> bool:
        """Whether the model is sold as a new purchase (``status == "current"``)."""
        return self.status == "current"

    @property
    def n_cores(self) -> int:
        """Physical cores: sockets × cores per socket."""
        return self.sockets * self.cores_per_socket

    @property
    def n_threads(self) -> int:
        """Hardware threads: cores × threads per core."""
        return self.n_cores * self.threads_per_core

    @property
    def cpu_capacity_mhz(self) -> float:
        """Normalized CPU capacity: cores × base clock × perf_factor, MHz."""
        return self.n_cores * self.base_clock_mhz * self.perf_factor

    @property
    def idle_w(self) -> float:
        """Power at active idle (0 % load), W."""
        return self.power_w[0]

    @property
    def max_w(self) -> float:
        """Power at 100 % load, W."""
        return self.power_w[-1]

    @property
    def nic_capacity_mbps(self) -> float:
        """Total NIC speed of the host, Mbit/s (each direction)."""
        return self.nic_count * self.nic_speed_mbps


@dataclass(frozen=True)
class MemOverhead:
    """Hypervisor memory overhead per VM.

    Attributes
    ----------
    kind
        ``"none"`` (0), ``"table"`` (bilinear in vCPUs and configured memory, extrapolated
        linearly beyond the table) or ``"linear"``.
    vcpus
        Table columns: vCPU counts, ascending.
    mem_mib
        Table rows: configured VM memory, MiB, ascending.
    table_mib
        Overhead, MiB, one row per ``mem_mib`` entry and one column per ``vcpus`` entry.
    base_mib, per_vcpu_mib, per_mem_frac
        The linear form: ``base + per_vcpu × n_vcpus + per_mem_frac × mem_mib``.
    """

    kind: str = "none"
    vcpus: tuple[float, ...] = ()
    mem_mib: tuple[float, ...] = ()
    table_mib: tuple[tuple[float, ...], ...] = ()
    base_mib: float = 0.0
    per_vcpu_mib: float = 0.0
    per_mem_frac: float = 0.0

    def __call__(self, n_vcpus: npt.ArrayLike, mem_mib: npt.ArrayLike) -> FloatArray:
        """Overhead per VM, MiB, float64 of the broadcast shape of the inputs."""
        vcpus = np.asarray(n_vcpus, dtype=np.float64)
        mem = np.asarray(mem_mib, dtype=np.float64)
        shape = np.broadcast_shapes(vcpus.shape, mem.shape)
        if self.kind == "none":
            return np.zeros(shape)
        if self.kind == "linear":
            out = self.base_mib + self.per_vcpu_mib * vcpus + self.per_mem_frac * mem
            return np.maximum(np.broadcast_to(out, shape), 0.0)
        vcpus_b = np.broadcast_to(np.maximum(vcpus, 1.0), shape)
        mem_b = np.broadcast_to(np.maximum(mem, 0.0), shape)
        xp = np.asarray(self.vcpus)
        rows = np.stack([_interp_linear(vcpus_b, xp, np.asarray(r)) for r in self.table_mib])
        # rows: (n_mem_rows, *shape); interpolate along memory for every element.
        yp = np.asarray(self.mem_mib)
        idx = np.clip(np.searchsorted(yp, mem_b, side="right") - 1, 0, len(yp) - 2)
        lo = np.take_along_axis(rows, idx[None, ...], axis=0)[0]
        hi = np.take_along_axis(rows, (idx + 1)[None, ...], axis=0)[0]
        t = (mem_b - yp[idx]) / (yp[idx + 1] - yp[idx])
        return np.maximum(lo + t * (hi - lo), 0.0)


def _interp_linear(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    """Piecewise-linear interpolation that extrapolates with the end segments' slopes."""
    idx = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    slope = (fp[idx + 1] - fp[idx]) / (xp[idx + 1] - xp[idx])
    return fp[idx] + slope * (x - xp[idx])


@dataclass(frozen=True)
class VirtMode:
    """A virtualization mode and what it costs.

    Attributes
    ----------
    name
        Catalog key (``bare-metal``, ``full-bt``, ``hw-assisted``, ``paravirt``, ``containers``).
    cpu_overhead_frac
        Share of native throughput lost to the mode on user-level code (CPU-bound work such as
        SPEC CPU): its ``u`` native MHz need ``u / (1 − cpu_overhead_frac)`` under the mode.
    cpu_kernel_slowdown_ratio
        Time kernel-mode code takes under the mode relative to native (system calls, page
        faults, process creation trap into the VMM); NaN: the user-level figure,
        ``1 / (1 − cpu_overhead_frac)`` (no separate kernel-level measurement).
    io_iops_factor
        IOPS the virtualized I/O path delivers relative to native (≤ 1).
    io_added_read_latency_ms, io_added_write_latency_ms
        Latency the mode's I/O path adds to each VM read and write, ms (writes: the read
        figure unless given).
    io_cpu_us_per_io
        CPU time the mode's I/O path adds per VM I/O, µs of one core.
    net_latency_factor
        Request/response network latency relative to native (≥ 1).
    net_throughput_factor
        Bulk network throughput relative to native (≤ 1), both directions unless
        ``net_tx_factor`` / ``net_rx_factor`` say otherwise.
    net_tx_factor, net_rx_factor
        Transmit and receive throughput relative to native (≤ 1; default
        ``net_throughput_factor``): a hosted VMM's receive path can be twice as fast as its
        transmit path (Barham et al.'s ttcp table).
    page_sharing
        Whether identical pages are shared between guests (transparent page sharing).
    page_sharing_savings_frac
        Share of guest memory saved by page sharing where it applies.
    live_migration
        Whether a running guest can be moved between hosts.
    same_os_kernel
        Guests share the host kernel (containers): all guests of a host need one OS family
        and cannot load their own drivers.
    needs_modified_guest
        Guests must run a modified (paravirtualized) kernel.
    supports_legacy_guests
        Legacy guests (OS family ``legacy``) can run.
    one_guest_per_host
        Bare metal: each workload owns its server.
    mem_overhead
        Per-VM memory overhead model.
    source
        The published sources of these figures.
    """

    name: str
    cpu_overhead_frac: float
    io_iops_factor: float
    net_latency_factor: float
    net_throughput_factor: float
    page_sharing: bool
    page_sharing_savings_frac: float
    live_migration: bool
    same_os_kernel: bool
    needs_modified_guest: bool
    supports_legacy_guests: bool
    one_guest_per_host: bool
    mem_overhead: MemOverhead
    source: str
    net_tx_factor: float = 1.0
    net_rx_factor: float = 1.0
    cpu_kernel_slowdown_ratio: float = math.nan
    io_added_read_latency_ms: float = 0.0
    io_added_write_latency_ms: float = 0.0
    io_cpu_us_per_io: float = 0.0

    def mem_overhead_mib(self, n_vcpus: npt.ArrayLike, mem_mib: npt.ArrayLike) -> FloatArray:
        """Memory the hypervisor needs per VM, MiB.

        Parameters
        ----------
        n_vcpus
            vCPUs per VM, shape ``(n_vms,)`` (or any shape broadcasting with ``mem_mib``).
        mem_mib
            Configured memory per VM, MiB.

        Returns
        -------
        ndarray
            float64 overhead, MiB, of the broadcast shape.
        """
        return self.mem_overhead(n_vcpus, mem_mib)

    @property
    def kernel_slowdown(self) -> float:
        """Kernel-mode time under the mode over native (the user-level figure when unknown)."""
        if math.isnan(self.cpu_kernel_slowdown_ratio):
            return 1.0 / (1.0 - self.cpu_overhead_frac)
        return self.cpu_kernel_slowdown_ratio

    @property
    def vm_iops_ceiling(self) -> float:
        """The most IOPS one VM's I/O path passes under this mode (``io_iops_factor`` ×
        :data:`NATIVE_VM_IOPS`)."""
        return self.io_iops_factor * NATIVE_VM_IOPS

    @property
    def io_cpu_mhz_per_iops(self) -> float:
        """Reference MHz one VM I/O per second costs on the mode's I/O path
        (``io_cpu_us_per_io`` of a core of :data:`IO_CPU_CORE_MHZ` reference MHz)."""
        return self.io_cpu_us_per_io * 1e-6 * IO_CPU_CORE_MHZ

    def cpu_multiplier(self, kernel_frac: npt.ArrayLike) -> FloatArray:
        """Native demand → demand under this mode, for a guest spending ``kernel_frac`` of its
        CPU time in kernel mode: ``(1 − k) / (1 − cpu_overhead_frac) + k · kernel_slowdown``.

        Parameters
        ----------
        kernel_frac
            Share of CPU time in kernel mode, any shape, in [0, 1].

        Returns
        -------
        ndarray
            float64 multiplier (≥ 1 for a mode that costs), of ``kernel_frac``'s shape.
        """
        k = np.asarray(kernel_frac, dtype=np.float64)
        return np.asarray(
            (1.0 - k) / (1.0 - self.cpu_overhead_frac) + k * self.kernel_slowdown,
            dtype=np.float64,
        )


@dataclass(frozen=True)
class SanTier:
    """A storage tier (a pool of one media type behind one RAID / mirroring scheme).

    Attributes
    ----------
    name
        Catalog key.
    media
        ``nvme``, ``ssd``, ``hdd-15k``, ``hdd-10k``, ``nl-sas`` ...
    usable_gib
        Usable capacity of one pool after RAID, GiB.
    max_iops
        Back-end IOPS the pool sustains (small random I/O).
    max_mib_s
        Sequential throughput the pool sustains, MiB/s.
    base_latency_ms
        Service time of one I/O at low load, ms.
    write_penalty
        Back-end I/Os per front-end write (RAID 1/10: 2, RAID 5: 4, RAID 6: 6).
    price_usd_per_gib
        Price per usable GiB (NaN where not published).
    watts_per_tib
        Power per usable TiB, W (NaN where not published).
    source
        The published sources of these figures.
    """

    name: str
    media: str
    usable_gib: float
    max_iops: float
    max_mib_s: float
    base_latency_ms: float
    write_penalty: float
    price_usd_per_gib: float
    watts_per_tib: float
    source: str


@dataclass(frozen=True)
class SanDesign:
    """How hosts reach the storage tiers.

    Attributes
    ----------
    appliance
        Storage virtualization appliance: ``none``, ``in-band`` (in the data path) or
        ``out-of-band`` (beside it, answering metadata lookups).
    appliance_max_iops, appliance_max_mib_s
        In-band ceiling on all I/O passing through it.
    appliance_latency_ms
        In-band: latency added to every I/O, ms.
    appliance_mirrored
        In-band: a mirrored pair (otherwise a single point of failure).
    metadata_latency_ms
        Out-of-band: latency of one metadata lookup, ms.
    metadata_lookup_frac
        Out-of-band: share of I/Os that need a lookup (the rest hit the host's map cache).
    multipath_paths
        Paths from each host to the SAN.
    multipath_mode
        ``active-active`` (all paths carry I/O) or ``active-passive`` (one carries, the others
        stand by).
    path_speed_mib_s
        Throughput of one path, MiB/s.
    snapshot_overhead_frac
        Extra capacity snapshots take, as a share of used capacity.
    thin_provisioning
        Whether capacity is allocated on write (used) rather than at creation (provisioned).
    default_tier
        Tier holding the VMs' disks.
    swap_tier
        Tier holding the hypervisor swap files (paging traffic lands there).
    latency_slo_ms
        Storage latency objective, ms; steps above it are breaches.
    source
        The published sources of these figures.
    """

    appliance: str
    appliance_max_iops: float
    appliance_max_mib_s: float
    appliance_latency_ms: float
    appliance_mirrored: bool
    metadata_latency_ms: float
    metadata_lookup_frac: float
    multipath_paths: int
    multipath_mode: str
    path_speed_mib_s: float
    snapshot_overhead_frac: float
    thin_provisioning: bool
    default_tier: str
    swap_tier: str
    latency_slo_ms: float
    source: str

    @property
    def single_point_of_failure(self) -> bool:
        """An in-band appliance that is not mirrored stops all I/O when it fails."""
        return self.appliance == "in-band" and not self.appliance_mirrored

    @property
    def needs_host_driver(self) -> bool:
        """Out-of-band virtualization needs a modified driver on every host."""
        return self.appliance == "out-of-band"

    @property
    def active_paths(self) -> int:
        """Paths carrying I/O in normal operation."""
        return self.multipath_paths if self.multipath_mode == "active-active" else 1

    @property
    def failover_paths(self) -> int:
        """Paths carrying I/O after one path fails (0: storage lost)."""
        if self.multipath_mode == "active-active":
            return self.multipath_paths - 1
        return 1 if self.multipath_paths >= 2 else 0

    @property
    def added_latency_ms(self) -> float:
        """Latency the appliance adds to an average I/O, ms."""
        if self.appliance == "in-band":
            return self.appliance_latency_ms
        if self.appliance == "out-of-band":
            return self.metadata_latency_ms * self.metadata_lookup_frac
        return 0.0


@dataclass(frozen=True)
class Fabric:
    """The data network: hosts → top-of-rack (ToR) switches → core.

    Attributes
    ----------
    hosts_per_tor
        Hosts attached to one ToR switch (one rack).
    tor_uplinks, uplink_speed_mbps
        Uplinks from each ToR to the core and the speed of each, Mbit/s.
    tor_downlink_ports, tor_port_speed_mbps
        Host-facing ports of a ToR and their speed, Mbit/s.
    core_port_speed_mbps
        Core switch port speed, Mbit/s.
    mtu_bytes
        IP MTU of the fabric.
    ethernet_overhead_bytes
        Per-frame wire overhead outside the IP packet: preamble + SFD, MAC header, FCS and
        inter-frame gap.
    vlan_tag_bytes
        IEEE 802.1Q tag added to each frame on a trunk.
    vlan_id_bits
        Width of the VLAN ID field.
    n_vlans_usable
        VLAN IDs usable for traffic (the all-zeros and all-ones IDs are reserved).
    east_west_frac
        Share of VM traffic that goes to other VMs in the data center (the rest leaves it).
    vpn_frac
        Share of north-south traffic that goes through VPN tunnels to remote sites.
    vpn_overhead_bytes
        Bytes a VPN tunnel adds to each packet (outer headers, padding, integrity check).
    source
        The published sources of these figures.
    """

    hosts_per_tor: int
    tor_uplinks: int
    uplink_speed_mbps: float
    tor_downlink_ports: int
    tor_port_speed_mbps: float
    core_port_speed_mbps: float
    mtu_bytes: int
    ethernet_overhead_bytes: int
    vlan_tag_bytes: int
    vlan_id_bits: int
    n_vlans_usable: int
    east_west_frac: float
    vpn_frac: float
    vpn_overhead_bytes: int
    source: str

    @property
    def oversubscription_ratio(self) -> float:
        """Host-facing bandwidth of a ToR over its uplink bandwidth."""
        return (self.tor_downlink_ports * self.tor_port_speed_mbps) / (
            self.tor_uplinks * self.uplink_speed_mbps
        )

    @property
    def uplink_capacity_mbps(self) -> float:
        """Total uplink bandwidth of one ToR, Mbit/s (each direction)."""
        return self.tor_uplinks * self.uplink_speed_mbps

    @property
    def wire_factor_untagged(self) -> float:
        """Wire bits per IP bit for full-size frames without a VLAN tag."""
        return (self.mtu_bytes + self.ethernet_overhead_bytes) / self.mtu_bytes

    @property
    def wire_factor_tagged(self) -> float:
        """Wire bits per IP bit for full-size frames on an 802.1Q trunk."""
        return (self.mtu_bytes + self.ethernet_overhead_bytes + self.vlan_tag_bytes) / (
            self.mtu_bytes
        )

    @property
    def vpn_factor(self) -> float:
        """Bits on the wire per payload bit through a VPN tunnel (inner MTU shrinks)."""
        return self.mtu_bytes / (self.mtu_bytes - self.vpn_overhead_bytes)


@dataclass(frozen=True)
class MemoryReclaim:
    """How an over-committed host reclaims memory.

    Attributes
    ----------
    balloon_max_frac
        Largest share of a VM's configured memory the balloon driver may take.
    active_window_s
        Period over which the reported active memory is touched; paging rates assume an
        active page not resident is touched (and faulted in) once per window.
    page_size_kib
        Size of one swapped page (one swap I/O), KiB.
    min_free_fracs
        The hypervisor's free-memory target (ESXi ``Mem.MinFree`` sliding scale): shares of
        host RAM kept free in the bands 0–4 GiB, 4–12 GiB, 12–28 GiB and above 28 GiB.
    compression_cache_frac
        Largest share of a VM's configured memory its compression cache may hold.
    compression_ratio
        Smallest compression ratio of a page kept in the cache (worse pages are swapped).
    decompress_vs_swap_frac
        Time to fault in a compressed page as a share of the swap device's unloaded latency.
    source
        The published sources of these figures.
    """

    balloon_max_frac: float
    active_window_s: float
    page_size_kib: float
    min_free_fracs: tuple[float, float, float, float]
    compression_cache_frac: float
    compression_ratio: float
    decompress_vs_swap_frac: float
    source: str


#: The most IOPS one VM's native I/O path drove in Felter et al. 2015 (fio, 4 KiB random
#: read, queue depth 128, native Linux on their SSD): the per-VM path ceiling a mode's
#: ``io_iops_factor`` scales (KVM: 42,543 of 84,044, the QEMU I/O path).
NATIVE_VM_IOPS: Final = 84_044.0

#: Reference MHz of the core Felter et al. 2015 measured the I/O path's CPU per I/O on (IBM
#: x3650 M4, Xeon E5-2665 Sandy Bridge-EP, 2.4 GHz), at the catalog's per-MHz factor of the same
#: microarchitecture (the E5-2670 host, perf_factor 1.149): turns µs of CPU per I/O into
#: reference MHz per IOPS.
IO_CPU_CORE_MHZ: Final = 2400.0 * 1.149

#: Share of a guest's CPU time in kernel mode when its trace does not say (Barham et al. 2003,
#: §4.1: native Linux spends "about 7 %" of the CPU time of a kernel build in the OS).
DEFAULT_KERNEL_FRAC: Final = 0.07

#: Resident memory of a Linux guest kernel at boot apart from its page map, MiB: Red Hat's
#: "~110Mi" for the default 2 GiB sandbox VM less that VM's page map (2,048 × 64 / 4,096 MiB).
DEFAULT_KERNEL_FIXED_MIB: Final = 110.0 - 2048.0 * 64.0 / 4096.0

#: The kernel's page map per MiB of guest memory: one 64-byte ``struct page`` per 4 KiB page
#: (Linux ``Documentation/mm/vmemmap_dedup.rst``).
DEFAULT_KERNEL_PAGE_MAP_FRAC: Final = 64.0 / 4096.0


@dataclass(frozen=True)
class GuestDefaults:
    """What the replay assumes of a guest its trace says nothing about.

    Attributes
    ----------
    cpu_kernel_frac
        Share of CPU time in kernel mode (a VM's inventory ``cpu_kernel_frac`` wins).
    kernel_fixed_mib
        Memory a guest's own kernel keeps resident at boot apart from its page map, MiB.
    kernel_page_map_frac
        The guest kernel's page map per MiB of the guest's configured memory.
    source
        The published sources of the figures.
    """

    cpu_kernel_frac: float = DEFAULT_KERNEL_FRAC
    kernel_fixed_mib: float = DEFAULT_KERNEL_FIXED_MIB
    kernel_page_map_frac: float = DEFAULT_KERNEL_PAGE_MAP_FRAC
    source: str = (
        "Barham et al. 2003, Xen and the Art of Virtualization, SOSP, section 4.1; Red Hat "
        "OpenShift sandboxed containers, default memory sizes; Linux vmemmap_dedup.rst"
    )

    def kernel_frac(self, per_vm: npt.ArrayLike) -> FloatArray:
        """Per VM the inventory's share, the default where it is missing (NaN)."""
        values = np.clip(np.asarray(per_vm, dtype=np.float64), 0.0, 1.0)
        return np.where(np.isnan(values), self.cpu_kernel_frac, values)

    def kernel_mem_mib(self, configured_mib: npt.ArrayLike) -> FloatArray:
        """Memory a guest's own kernel keeps resident, MiB per VM: the boot footprint plus the
        page map of its configured memory."""
        configured = np.asarray(configured_mib, dtype=np.float64)
        return self.kernel_fixed_mib + self.kernel_page_map_frac * configured


@dataclass(frozen=True)
class Catalog:
    """Everything the emulation and the economics need to know about hardware.

    Attributes
    ----------
    hosts, modes, san_tiers
        Entries by name.
    san, fabric, memory
        The single designs.
    sources
        Citation key → full reference.
    directory
        Where it was loaded from.
    """

    hosts: dict[str, HostModel]
    modes: dict[str, VirtMode]
    san_tiers: dict[str, SanTier]
    san: SanDesign
    fabric: Fabric
    sources: dict[str, str]
    memory: MemoryReclaim = field(
        default_factory=lambda: MemoryReclaim(
            0.65,
            60.0,
            4.0,
            (0.06, 0.04, 0.02, 0.01),
            0.10,
            2.0,
            0.1,
            "VMware ESX Mem.CtlMaxPercent 65 and Mem.SamplePeriod 60 s (ESX 4.0 Resource "
            "Management Guide, Table B-2); x86-64 4 KiB pages; ESXi Mem.MinFree sliding scale "
            "(vSphere 5.0); ESX 4.1 memory compression (10 % cache, pages compressed to 2 KB)",
        )
    )
    directory: str = ""
    guest: GuestDefaults = field(default_factory=GuestDefaults)

    def host(self, name: str) -> HostModel:
        """Return the host model ``name``; an unknown name lists the valid ones."""
        return _lookup(self.hosts, name, "host model")

    def mode(self, name: str) -> VirtMode:
        """Return the virtualization mode ``name``; an unknown name lists the valid ones."""
        return _lookup(self.modes, name, "virtualization mode")

    def tier(self, name: str) -> SanTier:
        """Return the SAN tier ``name``; an unknown name lists the valid ones."""
        return _lookup(self.san_tiers, name, "SAN tier")


def vm_multiplier(
    mode: VirtMode, guest: GuestDefaults | None, kernel_frac: npt.ArrayLike
) -> FloatArray:
    """Per VM, native CPU demand → demand under ``mode``, from each VM's kernel-mode share
    (``kernel_frac``, NaN where the trace does not say: ``guest``'s default then).

    Returns
    -------
    ndarray
        float64 ``(n_vms,)``.
    """
    defaults = guest if guest is not None else GuestDefaults()
    return mode.cpu_multiplier(defaults.kernel_frac(kernel_frac))


def guest_kernel_saved_mib(
    mode: VirtMode, guest: GuestDefaults | None, configured_mib: npt.ArrayLike
) -> FloatArray:
    """Per VM, the memory a guest no longer needs under ``mode``, MiB: its own kernel's, when
    the mode shares the host's kernel (containers); 0 otherwise.

    The traces are of guests that ran their own kernel, so their memory includes it.

    Returns
    -------
    ndarray
        float64 ``(n_vms,)``.
    """
    configured = np.asarray(configured_mib, dtype=np.float64)
    if not mode.same_os_kernel:
        return np.zeros(configured.shape)
    defaults = guest if guest is not None else GuestDefaults()
    return defaults.kernel_mem_mib(configured)


def current_models(catalog: Catalog) -> tuple[str, ...]:
    """Names of the catalog's current host models, in catalog order.

    Parameters
    ----------
    catalog
        A loaded catalog.

    Returns
    -------
    tuple of str
        The keys of ``catalog.hosts`` whose :attr:`HostModel.status` is ``"current"`` (see
        :class:`HostModel` for the rule); empty when every model is legacy, which the caller
        has to handle (offer every model, or report that none can be bought).
    """
    return tuple(name for name, host in catalog.hosts.items() if host.is_current)


def _lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise CapplanError(f"unknown {what} {name!r}; valid: {', '.join(sorted(table))}")
    return table[name]


# ---------------------------------------------------------------------------------- loading


class _Fields(TableFields):
    """Catalog fields: :class:`~capplan.spec.fields.TableFields` plus number lists and
    ``source`` keys resolved against the catalog's ``[sources]`` tables."""

    def __init__(
        self, table: Any, where: str, problems: list[tuple[str, str]], sources: Mapping[str, str]
    ) -> None:
        super().__init__(table, where, problems)
        self.sources = sources

    def numbers(self, key: str, *, default: Any = MISSING) -> tuple[float, ...]:
        value = self._get(key, default)
        if value is MISSING or value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            self.problems.append((self._path(key), f"expected a list of numbers, got {value!r}"))
            return ()
        return tuple(float(v) for v in value)

    def source(self, key: str = "source") -> str:
        """Resolve ``key`` (a source key or a list of keys) to the ``" | "``-joined references."""
        value = self._get(key, MISSING)
        keys = [value] if isinstance(value, str) else value
        if value is MISSING:
            return ""
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            self.problems.append(
                (self._path(key), f"expected a source key or a list of keys, got {value!r}")
            )
            return ""
        unknown = [k for k in keys if k not in self.sources]
        if unknown:
            self.problems.append(
                (
                    self._path(key),
                    f"unknown source key(s) {', '.join(map(repr, unknown))}; "
                    "add them to a [sources] table",
                )
            )
        return " | ".join(self.sources.get(k, k) for k in keys)


def _availability(f: _Fields) -> tuple[str, int | None, str]:
    """``status``, ``launch_year`` and ``status_source`` of a host entry (see :class:`HostModel`).

    Both fields are optional (no status: current; no year: None); whoever gives either must
    cite ``status_source``.
    """
    given = [key for key in ("status", "launch_year") if key in f.table]
    status = f.text("status", choices=HOST_STATUSES, default=None) or "current"
    year: int | None = None
    if "launch_year" in f.table:
        lo, hi = LAUNCH_YEAR_RANGE
        year = f.integer("launch_year", lo=lo, hi=hi)
    cited = f.source("status_source") if given or "status_source" in f.table else ""
    return status, year, cited


def _host(name: str, f: _Fields) -> HostModel:
    sockets = f.integer("sockets", lo=1)
    cores = f.integer("cores_per_socket", lo=1)
    threads = f.integer("threads_per_core", lo=1, hi=8, default=1)
    clock = f.num("base_clock_mhz", lo=0, lo_open=True)
    perf = f.num("perf_factor", lo=0, lo_open=True, default=1.0)
    ram = f.num("ram_mib", lo=0, lo_open=True)
    nic_count = f.integer("nic_count", lo=0)
    nic_speed = f.num("nic_speed_mbps", lo=0)
    hba = f.integer("hba_ports", lo=0, default=0)
    curve = f.numbers("power_w", default=None)
    idle = f.num("idle_w", lo=0, default=None)
    peak = f.num("max_w", lo=0, default=None)
    has_idle_max = not (math.isnan(idle) and math.isnan(peak))
    status, launch_year, status_source = _availability(f)
    power: tuple[float, ...] = ()
    if curve and has_idle_max:
        f.problems.append(
            (f.where, "give either power_w (11 points) or idle_w and max_w, not both")
        )
    elif curve:
        if len(curve) != len(POWER_LOAD_FRACS):
            f.problems.append(
                (
                    f._path("power_w"),
                    f"expected 11 values (0, 10, ..., 100 % load), got {len(curve)}",
                )
            )
        elif any(v < 0 for v in curve) or any(b < a for a, b in itertools.pairwise(curve)):
            f.problems.append(
                (f._path("power_w"), "expected non-negative watts that never fall as load rises")
            )
        else:
            power = curve
    elif has_idle_max:
        if math.isnan(idle) or math.isnan(peak):
            f.problems.append((f.where, "idle_w and max_w must be given together"))
        elif peak < idle:
            f.problems.append((f._path("max_w"), f"max_w {peak:g} is below idle_w {idle:g}"))
        else:
            power = tuple(idle + (peak - idle) * x for x in POWER_LOAD_FRACS)
    else:
        f.problems.append((f.where, "needs a power curve: power_w (11 points) or idle_w and max_w"))
    dimm_extra_w = _dimm_extra_w(f)
    power = tuple(w + dimm_extra_w for w in power)
    host = HostModel(
        name=name,
        sockets=sockets,
        cores_per_socket=cores,
        threads_per_core=threads,
        base_clock_mhz=clock,
        perf_factor=perf,
        ram_mib=ram,
        nic_count=nic_count,
        nic_speed_mbps=nic_speed,
        hba_ports=hba,
        power_w=power,
        price_usd=f.num("price_usd", lo=0, default=None),
        rack_units=f.num("rack_units", lo=0, lo_open=True, default=None),
        mtbf_h=f.num("mtbf_h", lo=0, lo_open=True, default=None),
        mttr_h=f.num("mttr_h", lo=0, lo_open=True, default=None),
        source=f.source(),
        status=status,
        launch_year=launch_year,
        status_source=status_source,
        dimm_extra_w=dimm_extra_w,
        cpu_list_price_usd=f.num("cpu_list_price_usd", lo=0, default=None),
    )
    f.finish()
    return host


def _dimm_extra_w(f: _Fields) -> float:
    """Watts of the DIMMs beyond the measured configuration (``dimms``, ``tested_dimms``,
    ``dimm_w``: all three or none)."""
    keys = ("dimms", "tested_dimms", "dimm_w")
    if not any(key in f.table for key in keys):
        return 0.0
    dimms = f.integer("dimms", lo=0, default=None)
    tested = f.integer("tested_dimms", lo=0, default=None)
    per_dimm_w = f.num("dimm_w", lo=0, default=None)
    missing = [key for key in keys if key not in f.table]
    if missing:
        f.problems.append(
            (f.where, f"dimms, tested_dimms and dimm_w go together; missing {', '.join(missing)}")
        )
        return 0.0
    if dimms < tested:
        f.problems.append(
            (
                f._path("dimms"),
                f"{dimms} is below tested_dimms {tested}: give the curve of a configuration "
                "with at most the DIMMs installed",
            )
        )
        return 0.0
    return (int(dimms) - int(tested)) * per_dimm_w


def _mem_overhead(table: Any, where: str, problems: list[tuple[str, str]]) -> MemOverhead:
    f = _Fields(table, where, problems, {})
    kind = f.text("kind", choices=MEM_OVERHEAD_KINDS)
    result = MemOverhead(kind=kind)
    if kind == "table":
        vcpus = f.numbers("vcpus")
        mem = f.numbers("mem_mib")
        raw = f._get("overhead_mib", MISSING)
        rows: list[tuple[float, ...]] = []
        if isinstance(raw, list) and all(isinstance(r, list) for r in raw):
            rows = [tuple(float(v) for v in r) for r in raw]
        elif raw is not MISSING:
            problems.append((f"{where}.overhead_mib", "expected a list of rows (lists of numbers)"))
        for label, axis in (("vcpus", vcpus), ("mem_mib", mem)):
            if len(axis) < 2 or any(b <= a for a, b in itertools.pairwise(axis)):
                problems.append(
                    (f"{where}.{label}", "expected at least 2 strictly ascending values")
                )
        if rows and (len(rows) != len(mem) or any(len(r) != len(vcpus) for r in rows)):
            problems.append(
                (
                    f"{where}.overhead_mib",
                    f"expected {len(mem)} rows (one per mem_mib) of {len(vcpus)} values "
                    "(one per vcpus)",
                )
            )
        result = MemOverhead(kind="table", vcpus=vcpus, mem_mib=mem, table_mib=tuple(rows))
    elif kind == "linear":
        result = MemOverhead(
            kind="linear",
            base_mib=f.num("base_mib", lo=0, default=0.0),
            per_vcpu_mib=f.num("per_vcpu_mib", lo=0, default=0.0),
            per_mem_frac=f.num("per_mem_frac", lo=0, hi=1, default=0.0),
        )
    f.finish()
    return result


def _mode(name: str, f: _Fields) -> VirtMode:
    problems = f.problems
    bulk = f.num("net_throughput_factor", lo=0, hi=1, lo_open=True)
    read_ms = f.num("io_added_read_latency_ms", lo=0, default=0.0)
    mode = VirtMode(
        name=name,
        cpu_overhead_frac=f.num("cpu_overhead_frac", lo=0, hi=0.95),
        io_iops_factor=f.num("io_iops_factor", lo=0, hi=1, lo_open=True),
        io_added_read_latency_ms=read_ms,
        io_added_write_latency_ms=f.num("io_added_write_latency_ms", lo=0, default=read_ms),
        io_cpu_us_per_io=f.num("io_cpu_us_per_io", lo=0, default=0.0),
        cpu_kernel_slowdown_ratio=f.num("cpu_kernel_slowdown_ratio", lo=1, default=None),
        net_latency_factor=f.num("net_latency_factor", lo=1),
        net_throughput_factor=bulk,
        net_tx_factor=f.num("net_tx_factor", lo=0, hi=1, lo_open=True, default=bulk),
        net_rx_factor=f.num("net_rx_factor", lo=0, hi=1, lo_open=True, default=bulk),
        page_sharing=f.flag("page_sharing"),
        page_sharing_savings_frac=f.num("page_sharing_savings_frac", lo=0, hi=0.95, default=0.0),
        live_migration=f.flag("live_migration"),
        same_os_kernel=f.flag("same_os_kernel"),
        needs_modified_guest=f.flag("needs_modified_guest"),
        supports_legacy_guests=f.flag("supports_legacy_guests"),
        one_guest_per_host=f.flag("one_guest_per_host", default=False),
        mem_overhead=_mem_overhead(
            f._get("mem_overhead", {"kind": "none"}), f._path("mem_overhead"), problems
        ),
        source=f.source(),
    )
    f.finish()
    return mode


def _tier(name: str, f: _Fields) -> SanTier:
    tier = SanTier(
        name=name,
        media=f.text("media"),
        usable_gib=f.num("usable_gib", lo=0, lo_open=True),
        max_iops=f.num("max_iops", lo=0, lo_open=True),
        max_mib_s=f.num("max_mib_s", lo=0, lo_open=True),
        base_latency_ms=f.num("base_latency_ms", lo=0, lo_open=True),
        write_penalty=f.num("write_penalty", lo=1),
        price_usd_per_gib=f.num("price_usd_per_gib", lo=0, default=None),
        watts_per_tib=f.num("watts_per_tib", lo=0, default=None),
        source=f.source(),
    )
    f.finish()
    return tier


def _san(f: _Fields, tiers: Mapping[str, Any]) -> SanDesign:
    appliance = f.text("appliance", choices=APPLIANCE_KINDS)
    design = SanDesign(
        appliance=appliance,
        appliance_max_iops=f.num("appliance_max_iops", lo=0, lo_open=True, default=math.inf),
        appliance_max_mib_s=f.num("appliance_max_mib_s", lo=0, lo_open=True, default=math.inf),
        appliance_latency_ms=f.num("appliance_latency_ms", lo=0, default=0.0),
        appliance_mirrored=f.flag("appliance_mirrored", default=False),
        metadata_latency_ms=f.num("metadata_latency_ms", lo=0, default=0.0),
        metadata_lookup_frac=f.num("metadata_lookup_frac", lo=0, hi=1, default=0.0),
        multipath_paths=f.integer("multipath_paths", lo=1, hi=32),
        multipath_mode=f.text("multipath_mode", choices=MULTIPATH_MODES),
        path_speed_mib_s=f.num("path_speed_mib_s", lo=0, lo_open=True),
        snapshot_overhead_frac=f.num("snapshot_overhead_frac", lo=0, hi=10),
        thin_provisioning=f.flag("thin_provisioning"),
        default_tier=f.text("default_tier"),
        swap_tier=f.text("swap_tier"),
        latency_slo_ms=f.num("latency_slo_ms", lo=0, lo_open=True),
        source=f.source(),
    )
    for key in ("default_tier", "swap_tier"):
        value = getattr(design, key)
        if value and value not in tiers:
            f.problems.append(
                (f._path(key), f"unknown SAN tier {value!r}; valid: {', '.join(sorted(tiers))}")
            )
    f.finish()
    return design


def _fabric(f: _Fields) -> Fabric:
    fabric = Fabric(
        hosts_per_tor=f.integer("hosts_per_tor", lo=1),
        tor_uplinks=f.integer("tor_uplinks", lo=1),
        uplink_speed_mbps=f.num("uplink_speed_mbps", lo=0, lo_open=True),
        tor_downlink_ports=f.integer("tor_downlink_ports", lo=1),
        tor_port_speed_mbps=f.num("tor_port_speed_mbps", lo=0, lo_open=True),
        core_port_speed_mbps=f.num("core_port_speed_mbps", lo=0, lo_open=True),
        mtu_bytes=f.integer("mtu_bytes", lo=576, hi=9216),
        ethernet_overhead_bytes=f.integer("ethernet_overhead_bytes", lo=0),
        vlan_tag_bytes=f.integer("vlan_tag_bytes", lo=0),
        vlan_id_bits=f.integer("vlan_id_bits", lo=1, hi=24),
        n_vlans_usable=f.integer("n_vlans_usable", lo=1),
        east_west_frac=f.num("east_west_frac", lo=0, hi=1),
        vpn_frac=f.num("vpn_frac", lo=0, hi=1, default=0.0),
        vpn_overhead_bytes=f.integer("vpn_overhead_bytes", lo=0, default=0),
        source=f.source(),
    )
    if fabric.vlan_id_bits and fabric.n_vlans_usable > 2**fabric.vlan_id_bits - 2:
        f.problems.append(
            (
                f._path("n_vlans_usable"),
                f"a {fabric.vlan_id_bits}-bit VLAN ID allows at most "
                f"{2**fabric.vlan_id_bits - 2} usable VLANs, got {fabric.n_vlans_usable}",
            )
        )
    if fabric.mtu_bytes and fabric.vpn_overhead_bytes >= fabric.mtu_bytes:
        f.problems.append((f._path("vpn_overhead_bytes"), "must be smaller than mtu_bytes"))
    f.finish()
    return fabric


#: ESXi's Mem.MinFree sliding scale (vmware-minfree-sliding), used when a catalog's
#: ``[memory]`` table predates these keys; the compression defaults are ESX 4.1's.
_DEFAULT_MIN_FREE = (0.06, 0.04, 0.02, 0.01)


def _memory(f: _Fields) -> MemoryReclaim:
    memory = MemoryReclaim(
        balloon_max_frac=f.num("balloon_max_frac", lo=0, hi=1),
        active_window_s=f.num("active_window_s", lo=0, lo_open=True),
        page_size_kib=f.num("page_size_kib", lo=0, lo_open=True),
        min_free_fracs=(
            f.num("min_free_frac_0_4gib", lo=0, hi=1, default=_DEFAULT_MIN_FREE[0]),
            f.num("min_free_frac_4_12gib", lo=0, hi=1, default=_DEFAULT_MIN_FREE[1]),
            f.num("min_free_frac_12_28gib", lo=0, hi=1, default=_DEFAULT_MIN_FREE[2]),
            f.num("min_free_frac_above_28gib", lo=0, hi=1, default=_DEFAULT_MIN_FREE[3]),
        ),
        compression_cache_frac=f.num("compression_cache_frac", lo=0, hi=1, default=0.10),
        compression_ratio=f.num("compression_ratio", lo=1, default=2.0),
        decompress_vs_swap_frac=f.num("decompress_vs_swap_frac", lo=0, hi=1, default=0.1),
        source=f.source(),
    )
    f.finish()
    return memory


def _guest(f: _Fields) -> GuestDefaults:
    guest = GuestDefaults(
        cpu_kernel_frac=f.num("cpu_kernel_frac", lo=0, hi=1),
        kernel_fixed_mib=f.num("kernel_fixed_mib", lo=0, default=DEFAULT_KERNEL_FIXED_MIB),
        kernel_page_map_frac=f.num(
            "kernel_page_map_frac", lo=0, hi=1, default=DEFAULT_KERNEL_PAGE_MAP_FRAC
        ),
        source=f.source(),
    )
    f.finish()
    return guest


def _read_files(directory: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    if directory.is_file():
        files = [directory]
    elif directory.is_dir():
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise SpecError([("", "no *.toml files in the catalog folder")], path=directory)
    else:
        raise SpecError([("", "no such catalog folder or file")], path=directory)
    docs: list[tuple[str, dict[str, Any]]] = []
    problems: list[tuple[str, str]] = []
    for file in files:
        try:
            docs.append((file.name, tomllib.loads(file.read_text(encoding="utf-8"))))
        except tomllib.TOMLDecodeError as exc:
            problems.append((file.name, f"not valid TOML: {exc}"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((file.name, f"cannot be read: {exc}"))
    return docs, problems


def _merge(
    docs: list[tuple[str, dict[str, Any]]],
    problems: list[tuple[str, str]],
    merged: dict[str, dict[str, Any]],
    origin: dict[str, str],
) -> None:
    """Merge TOML documents into ``merged`` (table → entries); record where each came from."""
    for file, doc in docs:
        for key, value in doc.items():
            if key == "extends":
                if value != "bundled":
                    problems.append((f"{file}:extends", f"expected 'bundled', got {value!r}"))
                continue
            if key not in TOP_LEVEL_KEYS:
                problems.append(
                    (f"{file}:{key}", f"unknown table; expected one of {', '.join(TOP_LEVEL_KEYS)}")
                )
                continue
            if not isinstance(value, dict):
                problems.append((f"{file}:{key}", "expected a table"))
                continue
            target = merged.setdefault(key, {})
            origin.setdefault(key, file)
            for name, entry in value.items():
                dotted = f"{key}.{name}"
                if name in target and origin.get(dotted) != "bundled":
                    problems.append(
                        (f"{file}:{dotted}", f"defined twice (also in {origin[dotted]})")
                    )
                    continue
                target[name] = entry
                origin[dotted] = file


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and validate a catalog.

    Parameters
    ----------
    directory
        A folder of ``*.toml`` files or a single TOML file; ``None`` loads the bundled
        ``models/`` folder.

    Returns
    -------
    Catalog
        Frozen entries, each with its resolved sources.

    Raises
    ------
    SpecError
        With every problem found, each as ``file:dotted.path`` and what was expected.
    """
    target = bundled_catalog_dir() if directory is None else Path(directory)
    docs, problems = _read_files(target)
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    if any(doc.get("extends") == "bundled" for _, doc in docs):
        bundled_docs, bundled_problems = _read_files(bundled_catalog_dir())
        problems.extend(bundled_problems)
        _merge(bundled_docs, problems, merged, origin)
        origin = {k: "bundled" for k in origin}
    _merge(docs, problems, merged, origin)

    def where(dotted: str) -> str:
        return f"{origin.get(dotted, target.name)}:{dotted}"

    sources: dict[str, str] = {}
    for key, text in merged.get("sources", {}).items():
        if not isinstance(text, str) or not text.strip():
            problems.append((where(f"sources.{key}"), "expected the full reference as a string"))
        else:
            sources[key] = text.strip()

    def entries(table: str, build: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, raw in merged.get(table, {}).items():
            out[name] = build(name, _Fields(raw, where(f"{table}.{name}"), problems, sources))
        if not out:
            problems.append((f"{target.name}:{table}", "no entries; at least one is required"))
        return out

    hosts = entries("hosts", _host)
    modes = entries("modes", _mode)
    tiers = entries("san_tiers", _tier)

    def single(table: str) -> _Fields:
        raw = merged.get(table)
        if raw is None:
            problems.append((f"{target.name}:{table}", "missing table"))
            raw = {}
        return _Fields(raw, where(table), problems, sources)

    san = _san(single("san"), tiers)
    fabric = _fabric(single("fabric"))
    memory = _memory(single("memory"))
    guest = (
        _guest(_Fields(merged["guest"], where("guest"), problems, sources))
        if ("guest" in merged)
        else GuestDefaults()
    )
    if problems:
        raise SpecError(problems, path=target)
    return Catalog(
        hosts=hosts,
        modes=modes,
        san_tiers=tiers,
        san=san,
        fabric=fabric,
        sources=sources,
        memory=memory,
        directory=str(target),
        guest=guest,
    )
