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
        self.h_time = np.full(n_hosts, np.nan)
        self.h_alloc = np.zeros(n_hosts)
        self.h_req = np.zeros(n_hosts)
        self.h_active = np.zeros(n_hosts, dtype=bool)
        self.h_prev_active = np.ones(n_hosts, dtype=bool)
        self.h_on_since = np.zeros(n_hosts)
        self.idle_start_is_shutdown = idle_start_is_shutdown
        self.active_time_s = 0.0
        self.violation_time_s = 0.0
        self.shutdown_gaps_s: list[FloatArray] = []

        self.v_time = np.full(n_vms, np.nan)
        self.v_alloc = np.zeros(n_vms)
        self.v_req = np.zeros(n_vms)
        self.v_mig = np.zeros(n_vms, dtype=bool)
        self.v_prev_mig = np.zeros(n_vms, dtype=bool)
        self.v_mig_since = np.zeros(n_vms)
        self.allocated_mips_s = 0.0
        self.requested_mips_s = 0.0
        self.migration_shortfall_mips_s = 0.0
        self.violation_share_sum = 0.0
        self.n_violation_records = 0
        self.migration_gaps_s: list[FloatArray] = []

    # ------------------------------------------------------------------ hosts
    def record_hosts(
        self, time_s: float, alloc: FloatArray, req: FloatArray, active: BoolArray
    ) -> None:
        """Write one record for every host at ``time_s`` (replacing same-time records)."""
        prior = ~np.isnan(self.h_time)
        later = prior & (self.h_time < time_s)
        if later.any():
            self._close_hosts(np.flatnonzero(later), time_s)
        self.h_time[:] = time_s
        self.h_alloc[:] = alloc
        self.h_req[:] = req
        self.h_active[:] = active

    def _close_hosts(self, rows: IntArray, next_time_s: float) -> None:
        dt = next_time_s - self.h_time[rows]
        act = self.h_active[rows]
        self.active_time_s += float(dt[act].sum())
        short = act & (self.h_alloc[rows] < self.h_req[rows])
        self.violation_time_s += float(dt[short].sum())
        self._host_transitions(rows)

    def _host_transitions(self, rows: IntArray) -> None:
        prev = self.h_prev_active[rows]
        now = self.h_active[rows]
        off = prev & ~now
        if off.any():
            gap = self.h_time[rows[off]] - self.h_on_since[rows[off]]
            self.shutdown_gaps_s.append(gap)
        on = ~prev & now
        self.h_on_since[rows[on]] = self.h_time[rows[on]]
        self.h_prev_active[rows] = now

    def start_hosts(self, active: BoolArray) -> None:
        """Set each host's starting state (default mode: active iff it holds VMs)."""
        if not self.idle_start_is_shutdown:
            self.h_prev_active[:] = active

    # ------------------------------------------------------------------ VMs
    def record_vms(
        self,
        time_s: float,
        rows: IntArray,
        alloc: FloatArray,
        req: FloatArray,
        migrating: BoolArray,
    ) -> None:
        """Write one record for each VM in ``rows`` at ``time_s``."""
        prior = self.v_time[rows]
        later = ~np.isnan(prior) & (prior < time_s)
        if later.any():
            self._close_vms(rows[later], time_s)
        self.v_time[rows] = time_s
        self.v_alloc[rows] = alloc
        self.v_req[rows] = req
        self.v_mig[rows] = migrating

    def _close_vms(self, rows: IntArray, next_time_s: float) -> None:
        dt = next_time_s - self.v_time[rows]
        alloc = self.v_alloc[rows]
        req = self.v_req[rows]
        self.allocated_mips_s += float((alloc * dt).sum())
        self.requested_mips_s += float((req * dt).sum())
        short = alloc < req
        if short.any():
            self.violation_share_sum += float(((req[short] - alloc[short]) / req[short]).sum())
            self.n_violation_records += int(short.sum())
            mig = short & self.v_mig[rows]
            self.migration_shortfall_mips_s += float(((req - alloc) * dt)[mig].sum())
        self._vm_transitions(rows)

    def _vm_transitions(self, rows: IntArray) -> None:
        prev = self.v_prev_mig[rows]
        now = self.v_mig[rows]
        ended = prev & ~now
        if ended.any():
            self.migration_gaps_s.append(self.v_time[rows[ended]] - self.v_mig_since[rows[ended]])
        began = ~prev & now
        self.v_mig_since[rows[began]] = self.v_time[rows[began]]
        self.v_prev_mig[rows] = now

    # ------------------------------------------------------------------ results
    def finish(self) -> None:
        """Apply the state transitions of the last pending records (no time follows them)."""
        hosts = np.flatnonzero(~np.isnan(self.h_time))
        self._host_transitions(hosts)
        vms = np.flatnonzero(~np.isnan(self.v_time))
        self._vm_transitions(vms)
        self.h_time[:] = np.nan
        self.v_time[:] = np.nan

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
