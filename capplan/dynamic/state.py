"""The state of a dynamic-consolidation run, and the host update and migrations that change it.

One :class:`Simulation` holds the state as flat arrays (host of each VM, in-flight
migrations, per-VM utilisation history newest-first ``(n_vms, 30)``, per-host utilisation).
Policies read it (:mod:`capplan.dynamic.contract`); the time loop of
:mod:`capplan.dynamic.engine` drives it. A *host update* at time ``t`` recomputes every host
at once (compiled passes over all VMs and hosts, :mod:`capplan.dynamic.kernels.hostupdate`):

1. requested MIPS of each VM = utilisation(t) × VM MIPS, per PE capped at the host's PE MIPS;
2. a host whose capped requests (a VM migrating in counts 10 %) exceed its MIPS scales every
   VM by capacity / requested, rounding each PE's share down (CloudSim's
   ``VmSchedulerTimeSharedOverSubscription``);
3. a VM migrating out gets 90 % of its share; the source still counts the full share in its
   utilisation, the target counts the 10 % it reserves;
4. energy of the elapsed time: per host, the trapezoid between the power at its previous and
   its current utilisation, or 0 W if the previous utilisation was 0;
5. one SLA record per host and per resident VM (:mod:`capplan.dynamic.metrics`);
6. in CloudSim compat mode, VMs requesting exactly 0 MIPS that are not migrating vanish.

A migration takes RAM / (half the target's bandwidth); when it ends the hosts are updated
just before and just after the VM moves, as CloudSim's ``PowerDatacenter.processVmMigrate``
does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.dynamic.config import SimConfig
from capplan.dynamic.fleet import HostFleet, VmSet, migration_rate_mib_s
from capplan.dynamic.kernels import hostupdate
from capplan.dynamic.kernels.javarandom import java_state
from capplan.dynamic.metrics import SlaAccumulator
from capplan.emulate.memory import min_free_mib
from capplan.units import KIB_PER_MIB

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class _HostState:
    """One host update's results (see :meth:`Simulation._compute`)."""

    util: FloatArray
    req: FloatArray
    res: IntArray
    alloc_r: FloatArray
    util_mips: FloatArray
    host_req: FloatArray
    alloc_in: FloatArray


@dataclass
class Flight:
    """One live migration in progress."""

    vm: int
    target: int
    end_s: float
    order: int


class Simulation:
    """State of a dynamic-consolidation run; policies read it and return migrations.

    Parameters
    ----------
    vms, fleet
        What runs and where.
    config
        Timing, accounting and quirk switches.

    Attributes a policy reads (as of the last host update)
    ------------------------------------------------------
    host_of
        Host of each VM, int64 ``(n_vms,)``; -1 for a VM that vanished; a migrating VM
        counts on its source.
    in_migration
        Whether each VM is migrating, ``(n_vms,)``.
    util_now, req
        Utilisation (fraction) and requested MIPS of each VM, ``(n_vms,)``.
    hist, hist_count
        Utilisation history, newest first, ``(n_vms, history_length)``, and how many
        samples it holds.
    util_mips, host_req_mips
        Utilised (allocated) and requested MIPS of each host, ``(n_hosts,)``.
    ram_used_mib
        RAM held by the VMs on each host (and reserved by VMs migrating in), ``(n_hosts,)``.
    rs_state
        State of the random VM selection's generator (``java.util.Random``'s, seeded with
        the run's seed; :mod:`capplan.dynamic.kernels.javarandom`).
    idle_class
        Class of each host (same curve, MIPS and PE size): idle hosts of one class see the
        same power rise for any VM.
    """

    def __init__(self, vms: VmSet, fleet: HostFleet, config: SimConfig) -> None:
        self.vms = vms
        self.fleet = fleet
        self.config = config
        self.n_vms = vms.n_vms
        self.n_hosts = fleet.n_hosts
        self.rs_state = java_state(config.seed)

        self.total_mips = fleet.total_mips.astype(np.float64)
        self.pe_mips = fleet.pe_mips
        self._host_cpu = hostupdate.HostCpu(self.pe_mips, self.total_mips)
        self.mig_rate_mib_s = migration_rate_mib_s(fleet.bw_mbps, config.migration_bw_share_frac)
        curves, type_of = np.unique(fleet.power_w, axis=0, return_inverse=True)
        self.type_curves_w = np.ascontiguousarray(curves, dtype=np.float64)
        self.type_of = np.ascontiguousarray(type_of.reshape(-1), dtype=np.int64)
        # idle hosts of one class (same curve, MIPS and PE size) see the same power rise
        keys = np.column_stack([self.type_of, fleet.total_mips, fleet.pe_mips])
        self.idle_class = np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)
        self.vm_pe_mips = vms.mips / vms.n_pes

        # placement
        self.host_of = np.full(self.n_vms, -1, dtype=np.int64)
        self.seq = np.zeros(self.n_vms, dtype=np.int64)
        self.next_seq = 0
        self.vanished = np.zeros(self.n_vms, dtype=bool)
        self.in_migration = np.zeros(self.n_vms, dtype=bool)
        self.flights: list[Flight] = []
        self.flight_seq: dict[tuple[int, int], int] = {}
        self._flight_order = 0
        self.ram_used_mib = np.zeros(self.n_hosts)
        self.bw_used_mbps = np.zeros(self.n_hosts)
        # RAM placements may book (over-commit), and what paging cost so far
        self.ram_cap_mib = fleet.ram_mib * config.mem_overcommit_ratio
        self._usable_ram_mib = fleet.ram_mib - min_free_mib(fleet.ram_mib, config.min_free_fracs)
        self.paging_host_s = 0.0
        self.max_slowdown_frac = 0.0

        # host state as of the last update
        self.util_mips = np.zeros(self.n_hosts)
        self.host_req_mips = np.zeros(self.n_hosts)
        self.last_update_s = 0.0
        self.now_s = 0.0
        self.util_now = np.zeros(self.n_vms)
        self.req = np.zeros(self.n_vms)
        self.alloc_in_mips = np.zeros(self.n_hosts)  # MIPS reserved for VMs migrating in
        none = np.zeros(0, dtype=np.int64)
        self._flights = hostupdate.Flights(none, none, none)
        self._max_power_w = float(fleet.max_power_w.sum())

        # history: newest sample first
        self.hist = np.zeros((self.n_vms, config.history_length))
        self.hist_count = 0

        # accounting
        self.energy_ws = 0.0
        self.n_migrations = 0
        self.energy_model = "trapezoid"
        self.sla = SlaAccumulator(
            self.n_hosts, self.n_vms, idle_start_is_shutdown=config.count_idle_start_as_shutdown
        )
        self.util_clip_events = 0

    # ------------------------------------------------------------------ helpers
    def host_util_frac(self, util_mips: FloatArray | None = None) -> FloatArray:
        """Host utilisation as CloudSim reports it (values in (1, 1.01) become 1)."""
        mips = self.util_mips if util_mips is None else util_mips
        return hostupdate.host_util_frac(mips, self.total_mips)

    def power_w(self, util_frac: FloatArray) -> FloatArray:
        """Power of every host at the given utilisation, W, ``(n_hosts,)``."""
        return hostupdate.spec_power_w(util_frac, self.type_of, self.type_curves_w)

    def placed_vms(self) -> IntArray:
        """VMs that run on some host (resident; a migrating VM counts on its source)."""
        return np.flatnonzero(self.host_of >= 0)

    def flight_arrays(self) -> hostupdate.Flights:
        """VM, target host and arrival number on the target of each in-flight migration, in
        start order."""
        return self._flights

    def _flights_changed(self) -> None:
        n = len(self.flights)
        self._flights = hostupdate.Flights(
            np.fromiter((f.vm for f in self.flights), np.int64, n),
            np.fromiter((f.target for f in self.flights), np.int64, n),
            np.fromiter((self.flight_seq[(f.vm, f.target)] for f in self.flights), np.int64, n),
        )

    def place(self, vm: int, host: int) -> None:
        """Make ``vm`` resident on ``host`` (initial placement or end of a migration)."""
        old = self.host_of[vm]
        if old >= 0:
            self.ram_used_mib[old] -= self.vms.ram_mib[vm]
            self.bw_used_mbps[old] -= self.vms.bw_mbps[vm]
        self.host_of[vm] = host
        self.seq[vm] = self.next_seq
        self.next_seq += 1
        self.ram_used_mib[host] += self.vms.ram_mib[vm]
        self.bw_used_mbps[host] += self.vms.bw_mbps[vm]

    # ------------------------------------------------------------------ host update
    def _compute(self, time_s: float) -> _HostState:
        """Allocation of every VM and utilisation of every host at ``time_s`` (no side effects)."""
        cfg = self.config
        vms = self.vms
        util = vms.util_at(time_s)
        req = util * vms.mips
        res, alloc_r, util_mips, host_req, alloc_in = hostupdate.allocate(
            req,
            hostupdate.Placed(self.host_of, self.in_migration, vms.n_pes, self.seq),
            self._flights,
            self._host_cpu,
            cfg.target_reserve_frac,
            1.0 - cfg.migration_slowdown_frac,
        )
        return _HostState(util, req, res, alloc_r, util_mips, host_req, alloc_in)

    def _account(self, time_s: float, util_mips: FloatArray) -> None:
        """Energy from the last update to ``time_s``, ending at ``util_mips``."""
        dt = time_s - self.last_update_s
        if dt <= 0:
            return
        if self.energy_model == "max":
            self.energy_ws += self._max_power_w * dt
            return
        energy_ws, clipped = hostupdate.interval_energy_ws(
            self.util_mips, util_mips, self.total_mips, self.type_of, self.type_curves_w, dt
        )
        self.energy_ws += energy_ws
        self.util_clip_events += clipped

    def update(
        self,
        time_s: float,
        *,
        account: bool = True,
        vanish: bool = True,
        record_history: bool = False,
    ) -> None:
        """Recompute every host at ``time_s`` and account the time since the last update.

        Parameters
        ----------
        account
            Add energy for the elapsed time (when time has passed).
        vanish
            Apply the zero-MIPS quirk if the configuration enables it.
        record_history
            Push each placed VM's utilisation into its history (start of a round).
        """
        cfg = self.config
        state = self._compute(time_s)
        dt_s = max(time_s - self.last_update_s, 0.0)
        if account:
            self._account(time_s, state.util_mips)
        self.util_now = state.util
        self.req = state.req
        self.util_mips = state.util_mips
        self.host_req_mips = state.host_req
        self.alloc_in_mips = state.alloc_in
        self.last_update_s = time_s
        self.now_s = time_s

        self.sla.record_hosts(time_s, state.util_mips, state.host_req, state.util_mips > 0)
        res = state.res
        alloc_r = state.alloc_r
        active = self.vms.mem_active_at(time_s)
        if active is not None and len(res):
            slowdown = self._paging_slowdown(res, active, state.util_mips)
            paging = slowdown > 0
            if account:
                self.paging_host_s += dt_s * int(paging.sum())
            if paging.any():
                self.max_slowdown_frac = max(self.max_slowdown_frac, float(slowdown.max()))
                alloc_r = alloc_r * (1.0 - slowdown[self.host_of[res]])
        self.sla.record_vms(time_s, res, alloc_r, state.req, self.in_migration)

        if record_history:
            self.hist[:, 1:] = self.hist[:, :-1]
            self.hist[:, 0] = state.util
            self.hist_count = min(self.hist_count + 1, cfg.history_length)

        if vanish and cfg.vanish_idle_vms:
            gone = res[(state.req[res] == 0) & ~self.in_migration[res]]
            if len(gone):
                np.subtract.at(self.ram_used_mib, self.host_of[gone], self.vms.ram_mib[gone])
                np.subtract.at(self.bw_used_mbps, self.host_of[gone], self.vms.bw_mbps[gone])
                self.host_of[gone] = -1
                self.vanished[gone] = True

    def _paging_slowdown(
        self, res: IntArray, active_mib: FloatArray, util_mips: FloatArray
    ) -> FloatArray:
        """Share of each host's time its VMs wait for memory faults (0 when memory fits).

        The stall model of :func:`capplan.emulate.memory.stall_slowdown`: ``D`` is the
        active memory of the VMs on the host, ``U`` its RAM less the hypervisor's free-memory
        target, ``E = max(D − U, 0)`` faulted back once per active-memory window at the swap
        latency; ``V`` the host's busy cores (at least one).
        """
        cfg = self.config
        demand = np.bincount(self.host_of[res], active_mib[res], minlength=self.n_hosts)
        excess = np.maximum(demand - self._usable_ram_mib, 0.0)
        faults_per_s = excess * (KIB_PER_MIB / cfg.page_size_kib / cfg.mem_active_window_s)
        stall_s = faults_per_s * (cfg.swap_latency_ms / 1e3)
        busy = np.maximum(util_mips / self.pe_mips, 1.0)
        return np.asarray(stall_s / (stall_s + busy))

    def account_only(self, time_s: float) -> None:
        """Energy up to ``time_s`` at the current placement, without changing any state.

        Used just before a migration completes: CloudSim updates every host then (the energy
        of the elapsed time ends at that update), and updates them again right after the VM
        moved; only the second update's records and removals survive, so the first needs
        nothing but the energy.
        """
        state = self._compute(time_s)
        self._account(time_s, state.util_mips)
        self.util_mips = state.util_mips
        self.last_update_s = time_s

    # ------------------------------------------------------------------ migrations
    def start_migrations(self, time_s: float, moves: list[tuple[int, int]]) -> int:
        """Start live migrations ``(vm, target)`` in order at ``time_s``; return the count."""
        cfg = self.config
        started = 0
        for vm, target in moves:
            vm = int(vm)
            target = int(target)
            if self.host_of[vm] < 0 or self.host_of[vm] == target:
                continue
            duration = 0.0
            rate = self.mig_rate_mib_s[target]
            if self.vms.ram_mib[vm] > 0 and rate > 0:
                duration = float(self.vms.ram_mib[vm] / rate)
            self.flights.append(Flight(vm, target, time_s + duration, self._flight_order))
            self.flight_seq[(vm, target)] = self.next_seq
            self.next_seq += 1
            self._flight_order += 1
            self.in_migration[vm] = True
            if cfg.ram_checked_after_start:
                self.ram_used_mib[target] += self.vms.ram_mib[vm]
                self.bw_used_mbps[target] += self.vms.bw_mbps[vm]
            started += 1
        self.n_migrations += started
        if started:
            self._flights_changed()
            self.update(time_s, account=False, vanish=False)
        return started

    def next_completion_s(self) -> float:
        """End time of the earliest in-flight migration (inf if none)."""
        return min((f.end_s for f in self.flights), default=math.inf)

    def complete_migrations(self, time_s: float) -> None:
        """Finish every migration ending at ``time_s`` (updates before and after, in order)."""
        self.account_only(time_s)
        done = [f for f in self.flights if f.end_s == time_s]
        done.sort(key=lambda f: f.order)
        self.flights = [f for f in self.flights if f.end_s != time_s]
        self._flights_changed()
        cfg = self.config
        for flight in done:
            vm = flight.vm
            if cfg.ram_checked_after_start:
                self.ram_used_mib[flight.target] -= self.vms.ram_mib[vm]
                self.bw_used_mbps[flight.target] -= self.vms.bw_mbps[vm]
            self.flight_seq.pop((vm, flight.target), None)
            if self.host_of[vm] >= 0:
                self.place(vm, flight.target)
        still = {f.vm for f in self.flights}
        for flight in done:
            self.in_migration[flight.vm] = flight.vm in still
        self.update(time_s, account=False)

    def advance_to(self, time_s: float) -> None:
        """Process every migration that ends at or before ``time_s``."""
        while self.flights:
            end = self.next_completion_s()
            if end > time_s:
                break
            self.complete_migrations(end)
