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

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Slots of the running sums array (one array so the compiled folds can add to it).
_ACTIVE_S = 0
_VIOLATION_S = 1
_ALLOCATED = 2
_REQUESTED = 3
_SHORTFALL = 4
_SHARE_SUM = 5
_N_SHORT = 6
_N_SUMS = 7


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
        self.sums = np.zeros(_N_SUMS)
        self.shutdown_gaps_s: list[FloatArray] = []

        self.v_time = np.full(n_vms, np.nan)
        self.v_alloc = np.zeros(n_vms)
        self.v_req = np.zeros(n_vms)
        self.v_mig = np.zeros(n_vms, dtype=bool)
        self.v_prev_mig = np.zeros(n_vms, dtype=bool)
        self.v_mig_since = np.zeros(n_vms)
        self.migration_gaps_s: list[FloatArray] = []

    # ------------------------------------------------------------------ hosts
    def record_hosts(
        self, time_s: float, alloc: FloatArray, req: FloatArray, active: BoolArray
    ) -> None:
        """Write one record for every host at ``time_s`` (replacing same-time records)."""
        gaps = _record_hosts(
            time_s,
            alloc,
            req,
            active,
            self.h_time,
            self.h_alloc,
            self.h_req,
            self.h_active,
            self.h_prev_active,
            self.h_on_since,
            self.sums,
        )
        if len(gaps):
            self.shutdown_gaps_s.append(gaps)

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
        """Write one record for each VM in ``rows`` at ``time_s``.

        ``alloc`` is per row; ``req`` and ``migrating`` are per VM (all VMs).
        """
        gaps = _record_vms(
            time_s,
            rows,
            alloc,
            req,
            migrating,
            self.v_time,
            self.v_alloc,
            self.v_req,
            self.v_mig,
            self.v_prev_mig,
            self.v_mig_since,
            self.sums,
        )
        if len(gaps):
            self.migration_gaps_s.append(gaps)

    # ------------------------------------------------------------------ results
    def finish(self) -> None:
        """Apply the state transitions of the last pending records (no time follows them)."""
        gaps = _host_transitions(
            np.flatnonzero(~np.isnan(self.h_time)),
            self.h_time,
            self.h_active,
            self.h_prev_active,
            self.h_on_since,
        )
        if len(gaps):
            self.shutdown_gaps_s.append(gaps)
        gaps = _vm_transitions(
            np.flatnonzero(~np.isnan(self.v_time)),
            self.v_time,
            self.v_mig,
            self.v_prev_mig,
            self.v_mig_since,
        )
        if len(gaps):
            self.migration_gaps_s.append(gaps)
        self.h_time[:] = np.nan
        self.v_time[:] = np.nan

    @property
    def active_time_s(self) -> float:
        """Total time hosts were active, s."""
        return float(self.sums[_ACTIVE_S])

    @property
    def violation_time_s(self) -> float:
        """Total time active hosts had less MIPS allocated than requested, s."""
        return float(self.sums[_VIOLATION_S])

    @property
    def allocated_mips_s(self) -> float:
        """Σ allocated MIPS × time over VM records."""
        return float(self.sums[_ALLOCATED])

    @property
    def requested_mips_s(self) -> float:
        """Σ requested MIPS × time over VM records."""
        return float(self.sums[_REQUESTED])

    @property
    def migration_shortfall_mips_s(self) -> float:
        """Σ (requested − allocated) MIPS × time while migrating out."""
        return float(self.sums[_SHORTFALL])

    @property
    def violation_share_sum(self) -> float:
        """Σ (requested − allocated) / requested over short-changed VM records."""
        return float(self.sums[_SHARE_SUM])

    @property
    def n_violation_records(self) -> int:
        """Number of short-changed VM records."""
        return int(self.sums[_N_SHORT])

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


# ---------------------------------------------------------------------- compiled folds
# One host update writes ~800 host and ~1,000 VM records; these loops fold the pending
# records into the sums in a few µs (sums are per call, then added to the running total).


@numba.njit(cache=True, nogil=True)
def _host_transitions(
    rows: IntArray,
    h_time: FloatArray,
    h_active: BoolArray,
    h_prev_active: BoolArray,
    h_on_since: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Apply active/idle transitions of the pending records; return the shutdown gaps."""
    gaps = np.empty(len(rows))
    n_gaps = 0
    for h in rows:
        prev = h_prev_active[h]
        now = h_active[h]
        if prev and not now:
            gaps[n_gaps] = h_time[h] - h_on_since[h]
            n_gaps += 1
        elif now and not prev:
            h_on_since[h] = h_time[h]
        h_prev_active[h] = now
    return gaps[:n_gaps].copy()


@numba.njit(cache=True, nogil=True)
def _record_hosts(
    time_s: float,
    alloc: FloatArray,
    req: FloatArray,
    active: BoolArray,
    h_time: FloatArray,
    h_alloc: FloatArray,
    h_req: FloatArray,
    h_active: BoolArray,
    h_prev_active: BoolArray,
    h_on_since: FloatArray,
    sums: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Close the host records older than ``time_s``, write new ones; return shutdown gaps."""
    n_hosts = len(h_time)
    closing = np.empty(n_hosts, dtype=np.int64)
    n_closing = 0
    active_s = 0.0
    violation_s = 0.0
    for h in range(n_hosts):
        if h_time[h] < time_s:  # False for NaN (no record yet)
            closing[n_closing] = h
            n_closing += 1
            if h_active[h]:
                dt = time_s - h_time[h]
                active_s += dt
                if h_alloc[h] < h_req[h]:
                    violation_s += dt
    gaps = np.empty(0)
    if n_closing:
        sums[_ACTIVE_S] += active_s
        sums[_VIOLATION_S] += violation_s
        gaps = _host_transitions(closing[:n_closing], h_time, h_active, h_prev_active, h_on_since)
    for h in range(n_hosts):
        h_time[h] = time_s
        h_alloc[h] = alloc[h]
        h_req[h] = req[h]
        h_active[h] = active[h]
    return gaps


@numba.njit(cache=True, nogil=True)
def _vm_transitions(
    rows: IntArray,
    v_time: FloatArray,
    v_mig: BoolArray,
    v_prev_mig: BoolArray,
    v_mig_since: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Apply migrating/not transitions of the pending records; return migration times."""
    gaps = np.empty(len(rows))
    n_gaps = 0
    for v in rows:
        prev = v_prev_mig[v]
        now = v_mig[v]
        if prev and not now:
            gaps[n_gaps] = v_time[v] - v_mig_since[v]
            n_gaps += 1
        elif now and not prev:
            v_mig_since[v] = v_time[v]
        v_prev_mig[v] = now
    return gaps[:n_gaps].copy()


@numba.njit(cache=True, nogil=True)
def _record_vms(
    time_s: float,
    rows: IntArray,
    alloc: FloatArray,
    req: FloatArray,
    migrating: BoolArray,
    v_time: FloatArray,
    v_alloc: FloatArray,
    v_req: FloatArray,
    v_mig: BoolArray,
    v_prev_mig: BoolArray,
    v_mig_since: FloatArray,
    sums: FloatArray,
) -> FloatArray:  # pragma: no cover
    """Close the records of ``rows`` older than ``time_s``, write new ones; return gaps."""
    closing = np.empty(len(rows), dtype=np.int64)
    n_closing = 0
    allocated = 0.0
    requested = 0.0
    share_sum = 0.0
    n_short = 0
    shortfall = 0.0
    for v in rows:
        if v_time[v] < time_s:  # False for NaN (no record yet)
            closing[n_closing] = v
            n_closing += 1
            dt = time_s - v_time[v]
            a = v_alloc[v]
            r = v_req[v]
            allocated += a * dt
            requested += r * dt
            if a < r:
                share_sum += (r - a) / r
                n_short += 1
                if v_mig[v]:
                    shortfall += (r - a) * dt
    gaps = np.empty(0)
    if n_closing:
        sums[_ALLOCATED] += allocated
        sums[_REQUESTED] += requested
        if n_short:
            sums[_SHARE_SUM] += share_sum
            sums[_N_SHORT] += n_short
            sums[_SHORTFALL] += shortfall
        gaps = _vm_transitions(closing[:n_closing], v_time, v_mig, v_prev_mig, v_mig_since)
    for j in range(len(rows)):
        v = rows[j]
        v_time[v] = time_s
        v_alloc[v] = alloc[j]
        v_req[v] = req[v]
        v_mig[v] = migrating[v]
    return gaps
