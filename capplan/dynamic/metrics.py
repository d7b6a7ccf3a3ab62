"""SLA, migration and shutdown metrics of a dynamic run, accumulated as the run goes.

The definitions are CloudSim's (``Helper.printResults`` of the power examples), computed from
state records: every host update writes one record per host ``(time, allocated MIPS,
requested MIPS, active)`` and one per resident VM ``(time, allocated, requested, migrating
out)``. A record written at the same time as the previous one replaces it. Each record counts
for the time until the next record of the same entity:

- **SLATAH** (SLA violation time per active host): time during which an active host had
  allocated < requested, over the total active time of all hosts.
- **PDM** (performance degradation due to migration): Σ over VMs of (requested − allocated) ×
  time while migrating out and short-changed, over Σ requested × time.
- **SLAV** = SLATAH × PDM.
- **Overall SLA violation**: (Σ requested × time − Σ allocated × time) / Σ requested × time.
- **Average SLA violation**: mean of (requested − allocated) / requested over the VM records
  that were short-changed.
- **Host shutdowns**: active → idle transitions, with the time since the host last became
  active (a host starts "active" in CloudSim, so one idle at its first record counts).

Nothing is stored per record: pending records are held in arrays and folded into sums when
the next record arrives, so memory is ``O(n_hosts + n_vms)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan.dynamic.kernels import sla
from capplan.dynamic.kernels.sla import (
    ACTIVE_S,
    ALLOCATED,
    N_SHORT,
    N_SUMS,
    REQUESTED,
    SHARE_SUM,
    SHORTFALL,
    VIOLATION_S,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class SlaAccumulator:
    """Folds host and VM state records into CloudSim's SLA and shutdown metrics.

    Parameters
    ----------
    n_hosts, n_vms
        Entity counts.
    idle_start_is_shutdown
        Whether a host idle at its first record counts as a shutdown (CloudSim: yes).
    """

    def __init__(self, n_hosts: int, n_vms: int, *, idle_start_is_shutdown: bool) -> None:
        self.hosts = sla.new_records(n_hosts, prev_flag=True)  # flag: active
        self.idle_start_is_shutdown = idle_start_is_shutdown
        self.sums = np.zeros(N_SUMS)
        self.shutdown_gaps_s: list[FloatArray] = []
        self.vms = sla.new_records(n_vms, prev_flag=False)  # flag: migrating out
        self.migration_gaps_s: list[FloatArray] = []

    # ------------------------------------------------------------------ hosts
    def record_hosts(
        self, time_s: float, alloc: FloatArray, req: FloatArray, active: BoolArray
    ) -> None:
        """Write one record for every host at ``time_s`` (replacing same-time records)."""
        gaps = sla.record_hosts(time_s, alloc, req, active, self.hosts, self.sums)
        if len(gaps):
            self.shutdown_gaps_s.append(gaps)

    def start_hosts(self, active: BoolArray) -> None:
        """Set each host's starting state (default mode: active iff it holds VMs)."""
        if not self.idle_start_is_shutdown:
            self.hosts.prev_flag[:] = active

    # ------------------------------------------------------------------ VMs
    def record_vms(
        self,
        time_s: float,
        rows: IntArray,
        alloc: FloatArray,
        req: FloatArray,
        migrating: BoolArray,
    ) -> None:
        """Write one record for each VM in ``rows`` at ``time_s``.

        ``alloc`` is per row; ``req`` and ``migrating`` are per VM (all VMs).
        """
        gaps = sla.record_vms(time_s, rows, alloc, req, migrating, self.vms, self.sums)
        if len(gaps):
            self.migration_gaps_s.append(gaps)

    # ------------------------------------------------------------------ results
    def finish(self) -> None:
        """Apply the state transitions of the last pending records (no time follows them)."""
        gaps = sla.transitions(np.flatnonzero(~np.isnan(self.hosts.time_s)), self.hosts)
        if len(gaps):
            self.shutdown_gaps_s.append(gaps)
        gaps = sla.transitions(np.flatnonzero(~np.isnan(self.vms.time_s)), self.vms)
        if len(gaps):
            self.migration_gaps_s.append(gaps)
        self.hosts.time_s[:] = np.nan
        self.vms.time_s[:] = np.nan

    @property
    def active_time_s(self) -> float:
        """Total time hosts were active, s."""
        return float(self.sums[ACTIVE_S])

    @property
    def violation_time_s(self) -> float:
        """Total time active hosts had less MIPS allocated than requested, s."""
        return float(self.sums[VIOLATION_S])

    @property
    def allocated_mips_s(self) -> float:
        """Σ allocated MIPS × time over VM records."""
        return float(self.sums[ALLOCATED])

    @property
    def requested_mips_s(self) -> float:
        """Σ requested MIPS × time over VM records."""
        return float(self.sums[REQUESTED])

    @property
    def migration_shortfall_mips_s(self) -> float:
        """Σ (requested − allocated) MIPS × time while migrating out."""
        return float(self.sums[SHORTFALL])

    @property
    def violation_share_sum(self) -> float:
        """Σ (requested − allocated) / requested over short-changed VM records."""
        return float(self.sums[SHARE_SUM])

    @property
    def n_violation_records(self) -> int:
        """Number of short-changed VM records."""
        return int(self.sums[N_SHORT])

    @property
    def slatah_frac(self) -> float:
        """SLA violation time per active host, fraction."""
        return self.violation_time_s / self.active_time_s if self.active_time_s > 0 else 0.0

    @property
    def pdm_frac(self) -> float:
        """Performance degradation due to migration, fraction of requested MIPS × time."""
        if self.requested_mips_s <= 0:
            return 0.0
        return self.migration_shortfall_mips_s / self.requested_mips_s

    @property
    def overall_violation_frac(self) -> float:
        """Share of requested MIPS × time that was not allocated."""
        if self.requested_mips_s <= 0:
            return 0.0
        return (self.requested_mips_s - self.allocated_mips_s) / self.requested_mips_s

    @property
    def average_violation_frac(self) -> float:
        """Mean shortfall share over the VM records that were short-changed."""
        if self.n_violation_records == 0:
            return 0.0
        return self.violation_share_sum / self.n_violation_records

    def shutdown_gaps(self) -> FloatArray:
        """Seconds from a host becoming active to its shutdown, one per shutdown."""
        return np.concatenate(self.shutdown_gaps_s) if self.shutdown_gaps_s else np.zeros(0)

    def migration_gaps(self) -> FloatArray:
        """Seconds a VM spent migrating out, one per completed migration as recorded."""
        return np.concatenate(self.migration_gaps_s) if self.migration_gaps_s else np.zeros(0)
