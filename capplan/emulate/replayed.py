"""The replay of a workload on a placement, as arrays: what :func:`capplan.emulate.engine.emulate`
returns and :mod:`capplan.emulate.kpis` reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.emulate.aggregate import HostMap, served_share
from capplan.emulate.context import HostParams, vm_vcpus
from capplan.emulate.cpu import CpuResult, ready_frac, ready_wall_frac
from capplan.emulate.memory import MemoryResult
from capplan.emulate.modes import CompatReport
from capplan.emulate.network import NetworkResult
from capplan.emulate.storage import TierResult
from capplan.spec.catalog import VirtMode

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Replayed:
    """The replay of a workload on a placement: its arrays and the views derived from them
    (:class:`capplan.emulate.engine.Emulation` adds the KPIs).

    Attributes
    ----------
    mode
        The virtualization mode used.
    host_ids, host_models
        ``(n_hosts,)`` names, in placement order.
    vm_ids
        ``(n_vms,)`` in workload order.
    step_s
        Seconds per step.
    n_steps
        Steps replayed.
    host_on
        Bool ``(n_hosts,)``: hosts drawing power (all hosts with a VM; empty hosts too unless
        ``switch_off_empty``).
    vms_per_host
        ``(n_hosts,)``.
    params
        Hardware figures per host.
    cpu, memory
        CPU and memory replays (None when the workload lacks the metric).
    power_w
        Wall power per host and step, float32 ``(n_hosts, n_steps)``.
    tiers
        Storage replay per tier used (default tier; swap tier when paging occurs).
    host_storage_mib_s, path_util_frac
        Storage throughput and path utilization per host (None without disk MiB/s data).
    network
        Network replay (None without network data).
    compat
        Guests that cannot run as placed under the mode.
    missing_metrics
        Canonical metrics the workload lacks (their subsystems are not replayed).
    notes
        Assumptions made for missing inventory values.
    """

    mode: VirtMode
    host_ids: npt.NDArray[np.str_]
    host_models: npt.NDArray[np.str_]
    vm_ids: npt.NDArray[np.str_]
    step_s: int
    n_steps: int
    host_on: npt.NDArray[np.bool_]
    vms_per_host: npt.NDArray[np.int64]
    params: HostParams
    cpu: CpuResult | None
    memory: MemoryResult | None
    power_w: F32
    tiers: dict[str, TierResult]
    host_storage_mib_s: F32 | None
    path_util_frac: F32 | None
    path_failover_multiplier: float
    network: NetworkResult | None
    compat: CompatReport
    missing_metrics: tuple[str, ...]
    notes: tuple[str, ...]
    n_vlans_usable: int
    _workload: Workload = field(repr=False, compare=False)
    _host_map: HostMap = field(repr=False, compare=False)

    @property
    def n_hosts(self) -> int:
        """Hosts in the placement."""
        return len(self.host_ids)

    @property
    def n_vms(self) -> int:
        """VMs replayed."""
        return len(self.vm_ids)

    def host_arrays(self) -> dict[str, F32]:
        """Every ``(n_hosts, n_steps)`` output by canonical name."""
        out: dict[str, F32] = {"power_w": self.power_w}
        if self.cpu is not None:
            out |= {
                "cpu_demand_mhz": self.cpu.demand_mhz,
                "cpu_util_frac": self.cpu.util_frac,
                "cpu_unmet_mhz": self.cpu.unmet_mhz,
            }
        if self.memory is not None:
            out |= {
                "mem_demand_mib": self.memory.demand_mib,
                "mem_used_mib": self.memory.used_mib,
                "mem_balloon_mib": self.memory.balloon_mib,
                "mem_compressed_mib": self.memory.compressed_mib,
                "mem_swapped_mib": self.memory.swapped_mib,
                "paging_mib_s": self.memory.paging_mib_s,
                "mem_slowdown_frac": self.memory.slowdown_frac,
            }
        if self.host_storage_mib_s is not None and self.path_util_frac is not None:
            out |= {
                "disk_mib_s": self.host_storage_mib_s,
                "path_util_frac": self.path_util_frac,
            }
        if self.network is not None:
            out |= {
                "nic_tx_mbps": self.network.nic_tx_mbps,
                "nic_rx_mbps": self.network.nic_rx_mbps,
                "nic_load_ratio": self.network.nic_load_ratio,
            }
        return out

    @property
    def peak_paging_mib_s(self) -> float:
        """The largest hypervisor paging of all hosts together in one step, MiB/s (what the
        swap pools must carry; 0 without memory data)."""
        if self.memory is None or not len(self.memory.paging_rows):
            return 0.0
        rows = self.memory.paging_rows
        return float(self.memory.paging_mib_s[rows].sum(axis=0, dtype=np.float64).max())

    def served_frac(self) -> F32:
        """Share of CPU demand served per host and step: CPU contention × memory slowdown."""
        if self.cpu is None:
            return np.ones((self.n_hosts, self.n_steps), dtype=np.float32)
        frac = self.cpu.served_frac()
        if self.memory is not None:
            rows = self.memory.paging_rows
            if len(rows):
                frac[rows] *= 1.0 - self.memory.slowdown_frac[rows]
        return frac

    @cached_property
    def vm_served_frac(self) -> npt.NDArray[np.float64]:
        """Per VM, the share of its CPU demand served over the run, ``(n_vms,)``."""
        if self.cpu is None:
            return np.ones(self.n_vms, dtype=np.float64)
        demand = self._workload.mean["cpu_demand_mhz"]
        return served_share(demand, self._host_map, self.served_frac())

    def cpu_ready_frac(self) -> npt.NDArray[np.float64]:
        """CPU-ready estimate per host and step (see :func:`capplan.emulate.cpu.ready_frac`)."""
        if self.cpu is None:
            return np.zeros((self.n_hosts, self.n_steps), dtype=np.float64)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        ratio = vcpus / np.maximum(self.params.n_cores, 1.0)
        return ready_frac(self.cpu.util_frac, self.params.n_cores, ratio)

    def cpu_ready_wall_frac(self) -> F32:
        """CPU ready per host and step as a share of wall time per vCPU (VMware's %RDY; see
        :func:`capplan.emulate.cpu.ready_wall_frac`); a VM sees its host's value."""
        if self.cpu is None:
            return np.zeros((self.n_hosts, self.n_steps), dtype=np.float32)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        return ready_wall_frac(self.cpu.util_frac, self.params.n_cores, vcpus)

    def vm_cpu_ready_frac(self, percentile: float = 100.0) -> npt.NDArray[np.float64]:
        """Per VM, the CPU ready (%RDY, share of wall time) its host reaches at the host's
        ``percentile`` of utilization over the replay (100: its peak); ready rises with
        utilization, so this is the host's ``percentile`` of ready. 0 without CPU data."""
        if self.cpu is None or self.n_steps == 0:
            return np.zeros(self.n_vms, dtype=np.float64)
        util = np.percentile(self.cpu.util_frac, percentile, axis=1).astype(np.float32)
        vcpus = self._host_map.sum_per_group(self._vcpus())
        host = ready_wall_frac(util[:, None], self.params.n_cores, vcpus)[:, 0]
        return np.asarray(host[self._host_map.group_of_vm], dtype=np.float64)

    def _vcpus(self) -> npt.NDArray[np.float64]:
        return vm_vcpus(self._workload)
