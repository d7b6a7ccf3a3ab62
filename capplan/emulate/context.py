"""What every stage of the replay reads: the workload, the hosts and how VMs map onto them.

:func:`capplan.emulate.engine.emulate` builds one :class:`Replay` and passes it down the
chain cpu → memory → storage → network → power (``replay_*`` in each stage's module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.emulate.aggregate import HostMap, aggregate
from capplan.emulate.routing import StorageRouting
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.catalog import Catalog, HostModel, VirtMode

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DISK_METRICS: Final = ("disk_read_iops", "disk_write_iops", "disk_read_mib_s", "disk_write_mib_s")
NET_METRICS: Final = ("net_tx_mbps", "net_rx_mbps")


@dataclass(frozen=True)
class HostParams:
    """Per-host hardware figures resolved from the catalog; all arrays are ``(n_hosts,)``."""

    models: tuple[HostModel, ...]
    model_of_host: npt.NDArray[np.intp]
    capacity_mhz: F64
    n_cores: F64
    ram_mib: F64
    nic_capacity_mbps: F64
    curves_w: F64

    @classmethod
    def resolve(cls, host_models: npt.NDArray[np.str_], catalog: Catalog) -> HostParams:
        """Look up every distinct model once; unknown names raise one error listing them all."""
        names, inverse = np.unique(np.asarray(host_models, dtype=np.str_), return_inverse=True)
        unknown = [str(n) for n in names if str(n) not in catalog.hosts]
        if unknown:
            raise CapplanError(
                f"host model(s) not in the catalog: {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(catalog.hosts))}",
                path=catalog.directory or None,
            )
        models = tuple(catalog.hosts[str(n)] for n in names)
        idx = inverse.ravel().astype(np.intp)

        def per_host(attr: str) -> F64:
            return np.array([float(getattr(m, attr)) for m in models], dtype=np.float64)[idx]

        return cls(
            models=models,
            model_of_host=idx,
            capacity_mhz=per_host("cpu_capacity_mhz"),
            n_cores=per_host("n_cores"),
            ram_mib=per_host("ram_mib"),
            nic_capacity_mbps=per_host("nic_capacity_mbps"),
            curves_w=np.array([m.power_w for m in models], dtype=np.float64),
        )


def vm_vcpus(workload: Workload) -> F64:
    """vCPUs per VM, 1 where the inventory has none, ``(n_vms,)``."""
    vcpus = workload.inventory_column("n_vcpus")
    return np.where(np.isfinite(vcpus) & (vcpus > 0), vcpus, 1.0)


@dataclass
class Replay:
    """One replay's inputs, shared by the stages.

    Attributes
    ----------
    workload
        The workload (interior gaps already filled).
    placed
        The placement, aligned to the workload's VM order.
    params
        Hardware figures per host.
    host_map
        VM → host map for the aggregations.
    virt
        The virtualization mode.
    catalog
        SAN, fabric and memory-management settings.
    workers
        Threads for the aggregations.
    routing
        Pools the VMs' I/O goes to (None: the SAN design's default tier).
    notes
        Assumptions the stages make (appended to as they run).
    """

    workload: Workload
    placed: Placement
    params: HostParams
    host_map: HostMap
    virt: VirtMode
    catalog: Catalog
    workers: int | None = None
    routing: StorageRouting | None = None
    notes: list[str] = field(default_factory=list)
    _per_host: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def n_hosts(self) -> int:
        """Hosts in the placement."""
        return self.placed.n_hosts

    @property
    def n_steps(self) -> int:
        """Steps replayed."""
        return self.workload.n_steps

    @property
    def metrics(self) -> dict[str, F32]:
        """The workload's per-VM demand by metric, ``(n_vms, n_steps)`` each."""
        return self.workload.mean

    def zeros(self) -> F64:
        """A float64 series of zeros, ``(n_steps,)``."""
        return np.zeros(self.n_steps, dtype=np.float64)

    def per_host(self, metric: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``metric`` summed per host, float32 ``(n_hosts, n_steps)``, and each VM's largest
        value, float32 ``(n_vms,)``: one pass over the VM rows, shared by the stages that
        need them (the CPU stage's I/O cost, the storage stage's totals and path ceilings)."""
        if metric not in self._per_host:
            peaks = np.zeros(self.workload.n_vms, dtype=np.float32)
            sums = aggregate(
                self.metrics[metric], self.host_map, workers=self.workers, row_max=peaks
            )
            self._per_host[metric] = (sums, peaks)
        return self._per_host[metric]

    def total(self, metric: str) -> F64:
        """Σ over all VMs per step (a BLAS product reads the array once, fastest here)."""
        if metric not in self.metrics:
            return self.zeros()
        ones = np.ones(self.workload.n_vms, dtype=np.float32)
        return np.dot(ones, self.metrics[metric]).astype(np.float64)
