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

Each table is checked by its pydantic model (:class:`HostEntry`, :class:`ModeEntry`,
:class:`TierEntry`, :class:`SanEntry`, :class:`FabricEntry`, :class:`MemoryEntry`,
:class:`GuestEntry`; a file as a whole is :class:`CatalogFile`, whose JSON Schema ``capplan
validate --catalog-schema`` prints). The loaded catalog is frozen data; :func:`load_catalog`
reports every problem it finds at once in one :class:`capplan.errors.SpecError`, each with
``file:dotted.path``, in the style of every spec file (:mod:`capplan.spec.problems`).
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from capplan.errors import CapplanError, SpecError
from capplan.resources import bundled_dir
from capplan.spec.problems import several
from capplan.spec.tables import (
    SPEC_CONFIG,
    Flag,
    Int,
    Num,
    SpecTable,
    Text,
    attribute_docs,
    one_of,
    validated,
)

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
# What a catalog file may hold, table by table, checked by pydantic (``SPEC_CONFIG``: unknown
# keys refused). Entries cite ``source`` keys, checked against the catalog's ``[sources]``
# handed in as the validation context. ``capplan validate --catalog-schema`` prints the schema.


def _source_keys(value: Any) -> str | list[str]:
    """A citation's shape: one non-blank key, or a non-empty list of them."""
    keys = [value] if isinstance(value, str) else value
    if isinstance(keys, list) and keys and all(isinstance(k, str) and k.strip() for k in keys):
        return value
    raise ValueError(f"expected a source key or a non-empty list of keys, got {value!r}")


#: A citation: one key of a ``[sources]`` table or a non-empty list of keys.
SourceKeys = Annotated[
    str | list[str],
    PlainValidator(_source_keys),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]


def _cited(keys: str | list[str] | None, info: ValidationInfo) -> str | list[str] | None:
    """Refuse source keys the catalog's ``[sources]`` tables do not define."""
    known = (info.context or {}).get("sources")
    if keys is None or known is None:
        return keys
    unknown = [k for k in ([keys] if isinstance(keys, str) else keys) if k not in known]
    if unknown:
        raise ValueError(
            f"unknown source key(s) {', '.join(map(repr, unknown))}; add them to a [sources] table"
        )
    return keys


def _resolve(keys: str | list[str] | None, sources: Mapping[str, str]) -> str:
    """The ``" | "``-joined references of ``keys`` ("" for none)."""
    if keys is None:
        return ""
    return " | ".join(sources.get(k, k) for k in ([keys] if isinstance(keys, str) else keys))


class _Entry(SpecTable):
    """A catalog table that cites its sources."""

    source: SourceKeys = Field(description="Source key(s) of the figures ([sources] table).")

    _check_source = field_validator("source")(_cited)


def _or_nan(value: float | None) -> float:
    """An optional figure as the loaded types hold it: NaN when the file leaves it out."""
    return math.nan if value is None else value


class HostEntry(_Entry):
    """A ``[hosts.NAME]`` table: one server model (see :class:`HostModel`)."""

    sockets: Annotated[Int, Field(ge=1)]
    cores_per_socket: Annotated[Int, Field(ge=1)]
    threads_per_core: Annotated[Int, Field(ge=1, le=8)] = 1
    base_clock_mhz: Annotated[Num, Field(gt=0)]
    perf_factor: Annotated[Num, Field(gt=0)] = 1.0
    ram_mib: Annotated[Num, Field(gt=0)]
    nic_count: Annotated[Int, Field(ge=0)]
    nic_speed_mbps: Annotated[Num, Field(ge=0)]
    hba_ports: Annotated[Int, Field(ge=0)] = 0
    power_w: list[Annotated[Num, Field(ge=0)]] | None = Field(
        None, description="Watts at 0, 10, ..., 100 % load (11 points, never falling)."
    )
    idle_w: Annotated[Num, Field(ge=0)] | None = None
    max_w: Annotated[Num, Field(ge=0)] | None = None
    price_usd: Annotated[Num, Field(ge=0)] | None = None
    rack_units: Annotated[Num, Field(gt=0)] | None = None
    mtbf_h: Annotated[Num, Field(gt=0)] | None = None
    mttr_h: Annotated[Num, Field(gt=0)] | None = None
    status: Annotated[Text, one_of(*HOST_STATUSES)] | None = None
    launch_year: Annotated[Int, Field(ge=LAUNCH_YEAR_RANGE[0], le=LAUNCH_YEAR_RANGE[1])] | None = (
        None
    )
    status_source: SourceKeys | None = None
    dimms: Annotated[Int, Field(ge=0)] | None = None
    tested_dimms: Annotated[Int, Field(ge=0)] | None = None
    dimm_w: Annotated[Num, Field(ge=0)] | None = None
    cpu_list_price_usd: Annotated[Num, Field(ge=0)] | None = None

    _check_status_source = field_validator("status_source")(_cited)

    @field_validator("power_w")
    @classmethod
    def _curve(cls, curve: list[float] | None) -> list[float] | None:
        if curve is None:
            return None
        if len(curve) != len(POWER_LOAD_FRACS):
            raise ValueError(f"expected 11 values (0, 10, ..., 100 % load), got {len(curve)}")
        if any(b < a for a, b in itertools.pairwise(curve)):
            raise ValueError("expected watts that never fall as load rises")
        return curve

    @classmethod
    def key_problems(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """A power curve or idle and max watts (not both); the DIMM keys together; a cited
        status."""
        out: list[tuple[str, str]] = []
        idle_max = [k for k in ("idle_w", "max_w") if k in raw]
        if "power_w" in raw and idle_max:
            out.append(("", "give either power_w (11 points) or idle_w and max_w, not both"))
        elif "power_w" not in raw and not idle_max:
            out.append(("", "needs a power curve: power_w (11 points) or idle_w and max_w"))
        elif len(idle_max) == 1:
            out.append(("", "idle_w and max_w must be given together"))
        dimm_keys = ("dimms", "tested_dimms", "dimm_w")
        missing = [k for k in dimm_keys if k not in raw]
        if 0 < len(missing) < len(dimm_keys):
            out.append(
                ("", f"dimms, tested_dimms and dimm_w go together; missing {', '.join(missing)}")
            )
        if ("status" in raw or "launch_year" in raw) and "status_source" not in raw:
            out.append(("status_source", "is required"))
        return out

    @model_validator(mode="after")
    def _ordered(self) -> HostEntry:
        problems = []
        if self.idle_w is not None and self.max_w is not None and self.max_w < self.idle_w:
            problems.append(("max_w", f"max_w {self.max_w:g} is below idle_w {self.idle_w:g}"))
        dimms, tested = self.dimms, self.tested_dimms
        if dimms is not None and tested is not None and dimms < tested:
            problems.append(
                (
                    "dimms",
                    f"{dimms} is below tested_dimms {tested}: give the curve of a "
                    "configuration with at most the DIMMs installed",
                )
            )
        if problems:
            raise several(problems)
        return self

    def build(self, name: str, sources: Mapping[str, str]) -> HostModel:
        """The host model, its curve with the extra DIMMs' watts."""
        if self.power_w is not None:
            curve = tuple(self.power_w)
        else:
            assert self.idle_w is not None and self.max_w is not None
            curve = tuple(self.idle_w + (self.max_w - self.idle_w) * x for x in POWER_LOAD_FRACS)
        extra_w = 0.0
        if self.dimms is not None and self.tested_dimms is not None and self.dimm_w is not None:
            extra_w = (self.dimms - self.tested_dimms) * self.dimm_w
        return HostModel(
            name=name,
            sockets=self.sockets,
            cores_per_socket=self.cores_per_socket,
            threads_per_core=self.threads_per_core,
            base_clock_mhz=self.base_clock_mhz,
            perf_factor=self.perf_factor,
            ram_mib=self.ram_mib,
            nic_count=self.nic_count,
            nic_speed_mbps=self.nic_speed_mbps,
            hba_ports=self.hba_ports,
            power_w=tuple(w + extra_w for w in curve),
            price_usd=_or_nan(self.price_usd),
            rack_units=_or_nan(self.rack_units),
            mtbf_h=_or_nan(self.mtbf_h),
            mttr_h=_or_nan(self.mttr_h),
            source=_resolve(self.source, sources),
            status=self.status or "current",
            launch_year=self.launch_year,
            status_source=_resolve(self.status_source, sources),
            dimm_extra_w=extra_w,
            cpu_list_price_usd=_or_nan(self.cpu_list_price_usd),
        )


_TABLE_KEYS = ("vcpus", "mem_mib", "overhead_mib")
_LINEAR_KEYS = ("base_mib", "per_vcpu_mib", "per_mem_frac")


class MemOverheadEntry(SpecTable):
    """A mode's ``mem_overhead`` table (see :class:`MemOverhead`)."""

    kind: Annotated[Text, one_of(*MEM_OVERHEAD_KINDS)]
    vcpus: list[Num] | None = None
    mem_mib: list[Num] | None = None
    overhead_mib: list[list[Num]] | None = None
    base_mib: Annotated[Num, Field(ge=0)] = 0.0
    per_vcpu_mib: Annotated[Num, Field(ge=0)] = 0.0
    per_mem_frac: Annotated[Num, Field(ge=0, le=1)] = 0.0

    @field_validator("vcpus", "mem_mib")
    @classmethod
    def _axis(cls, axis: list[float] | None) -> list[float] | None:
        if axis is not None and (len(axis) < 2 or any(b <= a for a, b in itertools.pairwise(axis))):
            raise ValueError("expected at least 2 strictly ascending values")
        return axis

    @classmethod
    def key_problems(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The keys of the kind given: the table's three for ``table``, the linear form's
        (optional) for ``linear``, none for ``none``."""
        kind = raw.get("kind")
        if kind not in MEM_OVERHEAD_KINDS:
            return []
        allowed = {"table": _TABLE_KEYS, "linear": _LINEAR_KEYS, "none": ()}[kind]
        out = [
            (key, f"does not apply to kind {kind!r}")
            for key in (*_TABLE_KEYS, *_LINEAR_KEYS)
            if key in raw and key not in allowed
        ]
        if kind == "table":
            out += [(key, "is required for kind 'table'") for key in _TABLE_KEYS if key not in raw]
        return out

    @model_validator(mode="after")
    def _shape(self) -> MemOverheadEntry:
        if self.vcpus is None or self.mem_mib is None or self.overhead_mib is None:
            return self
        rows = self.overhead_mib
        if len(rows) != len(self.mem_mib) or any(len(r) != len(self.vcpus) for r in rows):
            raise several(
                [
                    (
                        "overhead_mib",
                        f"expected {len(self.mem_mib)} rows (one per mem_mib) of "
                        f"{len(self.vcpus)} values (one per vcpus)",
                    )
                ]
            )
        return self

    def build(self) -> MemOverhead:
        """The overhead model."""
        return MemOverhead(
            kind=self.kind,
            vcpus=tuple(self.vcpus or ()),
            mem_mib=tuple(self.mem_mib or ()),
            table_mib=tuple(tuple(r) for r in self.overhead_mib or ()),
            base_mib=self.base_mib,
            per_vcpu_mib=self.per_vcpu_mib,
            per_mem_frac=self.per_mem_frac,
        )


Factor = Annotated[Num, Field(gt=0, le=1)]


class ModeEntry(_Entry):
    """A ``[modes.NAME]`` table: one virtualization mode (see :class:`VirtMode`)."""

    cpu_overhead_frac: Annotated[Num, Field(ge=0, le=0.95)]
    io_iops_factor: Factor
    io_added_read_latency_ms: Annotated[Num, Field(ge=0)] = 0.0
    io_added_write_latency_ms: Annotated[Num, Field(ge=0)] | None = Field(
        None, description="Default: io_added_read_latency_ms."
    )
    io_cpu_us_per_io: Annotated[Num, Field(ge=0)] = 0.0
    cpu_kernel_slowdown_ratio: Annotated[Num, Field(ge=1)] | None = None
    net_latency_factor: Annotated[Num, Field(ge=1)]
    net_throughput_factor: Factor
    net_tx_factor: Factor | None = Field(None, description="Default: net_throughput_factor.")
    net_rx_factor: Factor | None = Field(None, description="Default: net_throughput_factor.")
    page_sharing: Flag
    page_sharing_savings_frac: Annotated[Num, Field(ge=0, le=0.95)] = 0.0
    live_migration: Flag
    same_os_kernel: Flag
    needs_modified_guest: Flag
    supports_legacy_guests: Flag
    one_guest_per_host: Flag = False
    mem_overhead: MemOverheadEntry = Field(
        default_factory=lambda: MemOverheadEntry(kind="none"),
        description="Hypervisor memory overhead per VM (default: none).",
    )

    @classmethod
    def key_problems(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The ``mem_overhead`` table's keys for its kind."""
        table = raw.get("mem_overhead")
        if not isinstance(table, Mapping):
            return []
        return [(f"mem_overhead.{key}", msg) for key, msg in MemOverheadEntry.key_problems(table)]

    def build(self, name: str, sources: Mapping[str, str]) -> VirtMode:
        """The mode, its defaults filled from the figures they follow."""
        bulk = self.net_throughput_factor
        return VirtMode(
            name=name,
            cpu_overhead_frac=self.cpu_overhead_frac,
            io_iops_factor=self.io_iops_factor,
            io_added_read_latency_ms=self.io_added_read_latency_ms,
            io_added_write_latency_ms=(
                self.io_added_read_latency_ms
                if self.io_added_write_latency_ms is None
                else self.io_added_write_latency_ms
            ),
            io_cpu_us_per_io=self.io_cpu_us_per_io,
            cpu_kernel_slowdown_ratio=_or_nan(self.cpu_kernel_slowdown_ratio),
            net_latency_factor=self.net_latency_factor,
            net_throughput_factor=bulk,
            net_tx_factor=bulk if self.net_tx_factor is None else self.net_tx_factor,
            net_rx_factor=bulk if self.net_rx_factor is None else self.net_rx_factor,
            page_sharing=self.page_sharing,
            page_sharing_savings_frac=self.page_sharing_savings_frac,
            live_migration=self.live_migration,
            same_os_kernel=self.same_os_kernel,
            needs_modified_guest=self.needs_modified_guest,
            supports_legacy_guests=self.supports_legacy_guests,
            one_guest_per_host=self.one_guest_per_host,
            mem_overhead=self.mem_overhead.build(),
            source=_resolve(self.source, sources),
        )


class TierEntry(_Entry):
    """A ``[san_tiers.NAME]`` table: one storage tier (see :class:`SanTier`)."""

    media: Text
    usable_gib: Annotated[Num, Field(gt=0)]
    max_iops: Annotated[Num, Field(gt=0)]
    max_mib_s: Annotated[Num, Field(gt=0)]
    base_latency_ms: Annotated[Num, Field(gt=0)]
    write_penalty: Annotated[Num, Field(ge=1)]
    price_usd_per_gib: Annotated[Num, Field(ge=0)] | None = None
    watts_per_tib: Annotated[Num, Field(ge=0)] | None = None

    def build(self, name: str, sources: Mapping[str, str]) -> SanTier:
        """The tier."""
        return SanTier(
            name=name,
            **self.model_dump(exclude={"source", "price_usd_per_gib", "watts_per_tib"}),
            price_usd_per_gib=_or_nan(self.price_usd_per_gib),
            watts_per_tib=_or_nan(self.watts_per_tib),
            source=_resolve(self.source, sources),
        )


class SanEntry(_Entry):
    """The ``[san]`` table: the SAN design (see :class:`SanDesign`)."""

    appliance: Annotated[Text, one_of(*APPLIANCE_KINDS)]
    appliance_max_iops: Annotated[Num, Field(gt=0)] = math.inf
    appliance_max_mib_s: Annotated[Num, Field(gt=0)] = math.inf
    appliance_latency_ms: Annotated[Num, Field(ge=0)] = 0.0
    appliance_mirrored: Flag = False
    metadata_latency_ms: Annotated[Num, Field(ge=0)] = 0.0
    metadata_lookup_frac: Annotated[Num, Field(ge=0, le=1)] = 0.0
    multipath_paths: Annotated[Int, Field(ge=1, le=32)]
    multipath_mode: Annotated[Text, one_of(*MULTIPATH_MODES)]
    path_speed_mib_s: Annotated[Num, Field(gt=0)]
    snapshot_overhead_frac: Annotated[Num, Field(ge=0, le=10)]
    thin_provisioning: Flag
    default_tier: Text
    swap_tier: Text
    latency_slo_ms: Annotated[Num, Field(gt=0)]

    @field_validator("default_tier", "swap_tier")
    @classmethod
    def _known_tier(cls, tier: str, info: ValidationInfo) -> str:
        tiers = (info.context or {}).get("tiers")
        if tiers is not None and tier not in tiers:
            raise ValueError(f"unknown SAN tier {tier!r}; valid: {', '.join(sorted(tiers))}")
        return tier

    def build(self, sources: Mapping[str, str]) -> SanDesign:
        """The SAN design."""
        return SanDesign(
            **self.model_dump(exclude={"source"}), source=_resolve(self.source, sources)
        )


class FabricEntry(_Entry):
    """The ``[fabric]`` table: the data network (see :class:`Fabric`)."""

    hosts_per_tor: Annotated[Int, Field(ge=1)]
    tor_uplinks: Annotated[Int, Field(ge=1)]
    uplink_speed_mbps: Annotated[Num, Field(gt=0)]
    tor_downlink_ports: Annotated[Int, Field(ge=1)]
    tor_port_speed_mbps: Annotated[Num, Field(gt=0)]
    core_port_speed_mbps: Annotated[Num, Field(gt=0)]
    mtu_bytes: Annotated[Int, Field(ge=576, le=9216)]
    ethernet_overhead_bytes: Annotated[Int, Field(ge=0)]
    vlan_tag_bytes: Annotated[Int, Field(ge=0)]
    vlan_id_bits: Annotated[Int, Field(ge=1, le=24)]
    n_vlans_usable: Annotated[Int, Field(ge=1)]
    east_west_frac: Annotated[Num, Field(ge=0, le=1)]
    vpn_frac: Annotated[Num, Field(ge=0, le=1)] = 0.0
    vpn_overhead_bytes: Annotated[Int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> FabricEntry:
        problems = []
        most = 2**self.vlan_id_bits - 2
        if self.n_vlans_usable > most:
            problems.append(
                (
                    "n_vlans_usable",
                    f"a {self.vlan_id_bits}-bit VLAN ID allows at most {most} "
                    f"usable VLANs, got {self.n_vlans_usable}",
                )
            )
        if self.vpn_overhead_bytes >= self.mtu_bytes:
            problems.append(("vpn_overhead_bytes", "must be smaller than mtu_bytes"))
        if problems:
            raise several(problems)
        return self

    def build(self, sources: Mapping[str, str]) -> Fabric:
        """The fabric."""
        return Fabric(**self.model_dump(exclude={"source"}), source=_resolve(self.source, sources))


#: ESXi's Mem.MinFree sliding scale (vmware-minfree-sliding), used when a catalog's
#: ``[memory]`` table predates these keys; the compression defaults are ESX 4.1's.
_DEFAULT_MIN_FREE = (0.06, 0.04, 0.02, 0.01)
#: A share in [0, 1].
Frac = Annotated[Num, Field(ge=0, le=1)]


class MemoryEntry(_Entry):
    """The ``[memory]`` table: memory reclamation (see :class:`MemoryReclaim`)."""

    balloon_max_frac: Frac
    active_window_s: Annotated[Num, Field(gt=0)]
    page_size_kib: Annotated[Num, Field(gt=0)]
    min_free_frac_0_4gib: Frac = _DEFAULT_MIN_FREE[0]
    min_free_frac_4_12gib: Frac = _DEFAULT_MIN_FREE[1]
    min_free_frac_12_28gib: Frac = _DEFAULT_MIN_FREE[2]
    min_free_frac_above_28gib: Frac = _DEFAULT_MIN_FREE[3]
    compression_cache_frac: Frac = 0.10
    compression_ratio: Annotated[Num, Field(ge=1)] = 2.0
    decompress_vs_swap_frac: Frac = 0.1

    def build(self, sources: Mapping[str, str]) -> MemoryReclaim:
        """The reclamation parameters."""
        return MemoryReclaim(
            balloon_max_frac=self.balloon_max_frac,
            active_window_s=self.active_window_s,
            page_size_kib=self.page_size_kib,
            min_free_fracs=(
                self.min_free_frac_0_4gib,
                self.min_free_frac_4_12gib,
                self.min_free_frac_12_28gib,
                self.min_free_frac_above_28gib,
            ),
            compression_cache_frac=self.compression_cache_frac,
            compression_ratio=self.compression_ratio,
            decompress_vs_swap_frac=self.decompress_vs_swap_frac,
            source=_resolve(self.source, sources),
        )


class GuestEntry(_Entry):
    """The ``[guest]`` table: guest defaults (see :class:`GuestDefaults`)."""

    cpu_kernel_frac: Frac
    kernel_fixed_mib: Annotated[Num, Field(ge=0)] = DEFAULT_KERNEL_FIXED_MIB
    kernel_page_map_frac: Frac = DEFAULT_KERNEL_PAGE_MAP_FRAC

    def build(self, sources: Mapping[str, str]) -> GuestDefaults:
        """The guest defaults."""
        return GuestDefaults(
            **self.model_dump(exclude={"source"}), source=_resolve(self.source, sources)
        )


#: The entries of named tables, and of single tables.
_Named = HostEntry | ModeEntry | TierEntry
_Single = SanEntry | FabricEntry | MemoryEntry | GuestEntry


class CatalogFile(BaseModel):
    """One catalog file: any of the tables, each entry as its model says."""

    model_config = SPEC_CONFIG

    extends: Literal["bundled"] | None = Field(
        None, description="Load the bundled catalog first; this file's entries replace its own."
    )
    hosts: dict[str, HostEntry] = {}
    modes: dict[str, ModeEntry] = {}
    san_tiers: dict[str, TierEntry] = {}
    san: SanEntry | None = None
    fabric: FabricEntry | None = None
    memory: MemoryEntry | None = None
    guest: GuestEntry | None = None
    sources: dict[str, Text] = Field({}, description="Citation key -> full reference.")


#: The loaded type each entry model builds (its docstring describes the entry's keys).
_BUILDS: Final[dict[type[BaseModel], type]] = {
    HostEntry: HostModel,
    ModeEntry: VirtMode,
    MemOverheadEntry: MemOverhead,
    TierEntry: SanTier,
    SanEntry: SanDesign,
    FabricEntry: Fabric,
    MemoryEntry: MemoryReclaim,
    GuestEntry: GuestDefaults,
}


#: Tables whose keys may be split over a catalog's files (the loader checks them merged).
_SPLIT_TABLES: Final = (SanEntry, FabricEntry, MemoryEntry, GuestEntry)


def catalog_schema() -> dict[str, Any]:
    """The JSON Schema of a catalog file, for editors (``capplan validate --catalog-schema``).

    Keys without a description of their own take the text of the loaded type's attribute.
    The single tables (``san``, ``fabric``, ``memory``, ``guest``) require no key in one file:
    their keys may come from several files, or from the bundled catalog a file extends.
    """
    schema = CatalogFile.model_json_schema()
    for entry, built in _BUILDS.items():
        docs = attribute_docs(built)
        properties = schema["$defs"][entry.__name__]["properties"]
        for key, prop in properties.items():
            if "description" not in prop and key in docs:
                prop["description"] = docs[key]
    for entry in _SPLIT_TABLES:
        schema["$defs"][entry.__name__].pop("required", None)
    return schema


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
    tables = _Tables(merged, origin, target.name, problems)
    hosts: dict[str, HostModel] = tables.named("hosts", HostEntry)
    modes: dict[str, VirtMode] = tables.named("modes", ModeEntry)
    tiers: dict[str, SanTier] = tables.named("san_tiers", TierEntry)
    san: SanDesign = tables.single("san", SanEntry)
    fabric: Fabric = tables.single("fabric", FabricEntry)
    memory: MemoryReclaim = tables.single("memory", MemoryEntry)
    guest: GuestDefaults = tables.single("guest", GuestEntry, required=False) or GuestDefaults()
    if problems:
        raise SpecError(problems, path=target)
    return Catalog(
        hosts=hosts,
        modes=modes,
        san_tiers=tiers,
        san=san,
        fabric=fabric,
        sources=tables.sources,
        memory=memory,
        directory=str(target),
        guest=guest,
    )


class _Tables:
    """The merged catalog's tables, each entry checked by its model and built.

    Parameters
    ----------
    merged
        Table → entries (named tables) or keys (single tables), all files merged.
    origin
        Dotted entry → the file it came from (``bundled`` for the bundled catalog).
    label
        The catalog's name, for problems that belong to no file.
    problems
        Where every problem is noted.
    """

    def __init__(
        self,
        merged: Mapping[str, Mapping[str, Any]],
        origin: Mapping[str, str],
        label: str,
        problems: list[tuple[str, str]],
    ) -> None:
        self.merged, self.origin, self.label, self.problems = merged, origin, label, problems
        self.sources: dict[str, str] = {}
        for key, text in merged.get("sources", {}).items():
            if not isinstance(text, str) or not text.strip():
                problems.append(
                    (self.where(f"sources.{key}"), "expected the full reference as a string")
                )
            else:
                self.sources[key] = text.strip()
        self.context = {"sources": self.sources, "tiers": set(merged.get("san_tiers", {}))}

    def where(self, dotted: str) -> str:
        """``file:dotted.path`` of an entry or key."""
        return f"{self.origin.get(dotted, self.label)}:{dotted}"

    def named(self, table: str, model: type[_Named]) -> dict[str, Any]:
        """Every entry of a named table (at least one is required)."""
        raw_entries = self.merged.get(table, {})
        if not raw_entries:
            self.problems.append((f"{self.label}:{table}", "no entries; at least one is required"))
        out: dict[str, Any] = {}
        for name, raw in raw_entries.items():
            where = self.where(f"{table}.{name}")
            entry = validated(model, raw, where, self.problems, self.context)
            if entry is not None:
                out[name] = entry.build(name, self.sources)
        return out

    def single(self, table: str, model: type[_Single], required: bool = True) -> Any:
        """A single table, or None when it is absent (a problem if it is ``required``)."""
        raw = self.merged.get(table)
        if raw is None:
            if required:
                self.problems.append((f"{self.label}:{table}", "missing table"))
            return None
        entry = validated(model, raw, self.where(table), self.problems, self.context)
        return None if entry is None else entry.build(self.sources)
