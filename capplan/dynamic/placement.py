"""Placement within one consolidation round: the tentative host state and PABFD.

CloudSim decides a round's migrations on a scratch copy of the allocation (``vmCreate`` /
``vmDestroy``, then ``restoreAllocation``). :class:`RoundState` is that scratch copy as
arrays: per host the VMs it lists (in arrival order), the capped MIPS they reserve, the sum of
their requested MIPS, their utilisation history and the largest RAM among them. Removing a VM
recomputes its host from the list, so a host that empties has exactly zero history (the
overload tests drop trailing zeros).

**PABFD** (power-aware best fit decreasing, :meth:`RoundState.find_host`) puts a VM on the
host whose power rises least, among hosts that are not excluded, have the free MIPS for it
(and a PE big enough for each of its PEs), and would not become overloaded with it; a host
with no planned MIPS skips the overload check. As in CloudSim's ``findHostForVm``, the
"after" utilisation is the host's *planned* MIPS plus the VM's request over its capacity:
the planned MIPS start at the last update's (a VM migrating in counting ten times its
allocated MIPS) and follow every tentative add and removal of the pass. The "before" power
is the last update's in CloudSim's mode; in the default mode it is the power at the planned
MIPS, and 0 W for a host with nothing planned, which is off (``SimConfig.pabfd_stale_power``).
Power is CloudSim's SPECpower arithmetic and the first strict minimum in host order wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import (
    FALLBACK_THRESHOLD,
    LR_LEAD,
    LR_SAMPLES,
    W_MEAN,
    W_SLOPE,
    HostLoad,
    OverloadTest,
    lr,
    lrr,
    migration_steps,
    thr,
    trimmed_length,
)
from capplan.dynamic.fleet import sum_by
from capplan.dynamic.kernels import hostupdate, lrexact
from capplan.dynamic.kernels import search as kernel_search
from capplan.errors import InfeasibleError

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Per-host arrays :meth:`RoundState.add` changes (and a snapshot restores).
_TRACKED = (
    "capped",
    "_avail",
    "req_sum",
    "hist",
    "hlen",
    "max_ram",
    "ram_used",
    "bw_used",
    "planned",
    "p_before",
    "busy",
)
_TRACKED_LINEAR = ("h_mean", "h_slope", "h_steps")


@dataclass(frozen=True)
class Snapshot:
    """One host's tentative state: its list length and its row of each tracked array."""

    host: int
    n_members: int
    values: tuple[Any, ...]


class RoundState:
    """Tentative host aggregates for one round.

    Parameters
    ----------
    sim
        The simulation, right after the round's host update.
    test, param
        The overload test used for "would not become overloaded" (and by the caller).
    check_ram
        Whether RAM and bandwidth constrain placements.
    """

    def __init__(
        self, sim: Simulation, test: OverloadTest, param: float, *, check_ram: bool
    ) -> None:
        self.sim = sim
        self.test = test
        self.param = param
        self.check_ram = check_ram
        n_hosts = sim.n_hosts
        vms = sim.vms
        self.total = sim.total_mips
        self.req = sim.req
        self.req_pe = sim.req / vms.n_pes

        res = sim.placed_vms()
        fl_vm, fl_tg, fl_seq = sim.flight_arrays()
        mem_vm = np.concatenate([res, fl_vm])
        mem_h = np.concatenate([sim.host_of[res], fl_tg])
        mem_seq = np.concatenate([sim.seq[res], fl_seq])
        incoming = np.concatenate([np.zeros(len(res), bool), np.ones(len(fl_vm), bool)])
        order = np.lexsort((mem_seq, mem_h))
        self._vm_sorted = mem_vm[order]
        h_sorted = mem_h[order]
        hosts = np.arange(n_hosts)
        self._lo = np.searchsorted(h_sorted, hosts, side="left")
        self._hi = np.searchsorted(h_sorted, hosts, side="right")
        self._members: dict[int, list[int]] = {}
        self.incoming: set[tuple[int, int]] = {
            (int(v), int(t)) for v, t in zip(fl_vm, fl_tg, strict=True)
        }

        reserve = np.where(incoming, sim.config.target_reserve_frac, 1.0)
        capped = vms.n_pes[mem_vm] * np.minimum(self.req_pe[mem_vm], sim.pe_mips[mem_h])
        self.capped = sum_by(mem_h, capped * reserve, n_hosts)
        # per-host values the overload tests read, packed so one gather fetches them all
        self._dyn = np.zeros((n_hosts, 5))
        self.req_sum = self._dyn[:, 0]
        self.h_mean = self._dyn[:, 1]
        self.h_slope = self._dyn[:, 2]
        self.h_steps = self._dyn[:, 3]
        self.hlen = self._dyn[:, 4]
        self.req_sum[:] = sum_by(mem_h, self.req[mem_vm], n_hosts)
        self.linear = test in (lr, lrr)
        # the full history per host is needed by IQR and MAD; LR needs only its line terms
        # and its length (both follow from the VMs'), THR nothing
        self.needs_history = test not in (thr, lr, lrr)
        self.needs_length = test is not thr
        self.hist = np.zeros((n_hosts, sim.hist.shape[1]))
        nonempty = np.flatnonzero(self._hi > self._lo)
        if len(mem_vm) and self.needs_history:
            share = vms.mips[mem_vm[order]] / self.total[h_sorted]
            scaled = sim.hist[mem_vm[order]] * share[:, None]
            self.hist[nonempty] = np.add.reduceat(scaled, self._lo[nonempty], axis=0)
        self.vlen = trimmed_length(sim.hist) if self.needs_length else np.zeros(0, np.int64)
        if len(mem_vm) and self.needs_length:
            lengths = self.vlen[self._vm_sorted]
            self.hlen[nonempty] = np.maximum.reduceat(lengths, self._lo[nonempty])
        self.max_ram = np.zeros(n_hosts)
        if len(mem_vm):
            ram_sorted = vms.ram_mib[self._vm_sorted]
            self.max_ram[nonempty] = np.maximum.reduceat(ram_sorted, self._lo[nonempty])
        self.ram_used = sim.ram_used_mib.copy()
        self.bw_used = sim.bw_used_mbps.copy()
        self._avail = np.where(self.capped <= self.total, self.total - self.capped, 0.0)
        self.min_pe_mips = float(sim.pe_mips.min()) if n_hosts else 0.0

        # what PABFD compares: the last host update's state, then the planned MIPS
        self.cached_mips = sim.util_mips
        self.cached_frac = sim.host_util_frac()
        self.p_cached = sim.power_w(self.cached_frac)
        self._in_weight_extra = sim.config.migrating_in_weight - 1.0
        in_extra = self._in_weight_extra * sim.alloc_in_mips
        self.planned = self.cached_mips + in_extra
        self.stale_power = sim.config.pabfd_stale_power
        self._type_of = sim.type_of
        self._curves = sim.type_curves_w
        if self.stale_power:
            self.p_before = self.p_cached.copy()
        else:  # a host with nothing planned is off and draws nothing
            planned_power = sim.power_w(self.planned / self.total)
            self.p_before = np.where(self.planned == 0, 0.0, planned_power)
        self._inv_total = 1.0 / self.total
        # a host idle at the last update, with nothing migrating in and nothing planned onto
        # it yet, is interchangeable with the others of its idle class (curve, MIPS, PE
        # size): PABFD only needs the first suitable one of each; a tentative add makes it busy
        self.busy = ~((self.cached_mips == 0) & (in_extra == 0))

        rate = sim.mig_rate_mib_s
        self._rate = np.where(rate > 0, rate, np.inf)
        if self.linear:
            recent = sim.hist[:, :LR_SAMPLES]
            self.v_mean = recent @ W_MEAN
            self.v_slope = recent @ W_SLOPE
            share = vms.mips[mem_vm] / self.total[mem_h]
            self.h_mean[:] = sum_by(mem_h, share * self.v_mean[mem_vm], n_hosts)
            self.h_slope[:] = sum_by(mem_h, share * self.v_slope[mem_vm], n_hosts)
            self.h_steps[:] = migration_steps(self.max_ram / self._rate, sim.config.interval_s)
            self._uniform_rate = bool(n_hosts) and float(rate.min()) == float(rate.max())
        self._vm_mips = np.ascontiguousarray(vms.mips, dtype=np.float64)
        self._no_boundary = np.zeros(n_hosts, dtype=np.int8)
        self._tracked: tuple[str, ...] = _TRACKED + (_TRACKED_LINEAR if self.linear else ())
        # the compiled search (THR, LR, LRR) reads these arrays in place
        self._kernel_test: int | None = None
        if test is thr:
            self._kernel_test = kernel_search.TEST_THR
        elif self.linear:
            self._kernel_test = kernel_search.TEST_LINEAR
        self._rate = np.ascontiguousarray(self._rate, dtype=np.float64)
        self.search_hosts = kernel_search.SearchHosts(
            self._avail,
            np.ascontiguousarray(sim.pe_mips, dtype=np.float64),
            self.ram_used,
            np.ascontiguousarray(sim.ram_cap_mib, dtype=np.float64),
            self.bw_used,
            np.ascontiguousarray(sim.fleet.bw_mbps, dtype=np.float64),
            self.busy,
            self.planned,
            self.p_before,
            self.total,
            self._inv_total,
            self._type_of,
            self._curves,
            self._dyn,
            self._rate,
        )
        self._rules = kernel_search.SearchRules(
            self.min_pe_mips,
            check_ram,
            float(sim.config.interval_s),
            -1 if self._kernel_test is None else self._kernel_test,
            float(param),
        )

    # ------------------------------------------------------------------ membership
    def members(self, host: int) -> list[int]:
        """The VMs host ``host`` lists now (arrival order), tentative moves included."""
        found = self._members.get(host)
        if found is None:
            found = self._vm_sorted[self._lo[host] : self._hi[host]].tolist()
            self._members[host] = found
        return found

    def migratable(self, host: int) -> list[int]:
        """Members that are not migrating."""
        flags = self.sim.in_migration
        return [v for v in self.members(host) if not flags[v]]

    def add(self, vm: int, host: int, requested_mips: float | None = None) -> None:
        """Tentatively create ``vm`` on ``host`` (``requested_mips`` overrides its request)."""
        sim = self.sim
        vms = sim.vms
        req = self.req[vm] if requested_mips is None else requested_mips
        self.members(host).append(vm)
        per_pe = req / vms.n_pes[vm]
        alloc = vms.n_pes[vm] * min(per_pe, sim.pe_mips[host])
        self.capped[host] += alloc
        self._set_avail(host)
        self.planned[host] += alloc
        self.busy[host] = True
        self._set_p_before(host)
        self.req_sum[host] += req
        share = vms.mips[vm] / self.total[host]
        if self.needs_history:
            self.hist[host] += sim.hist[vm] * share
        if self.needs_length:
            self.hlen[host] = max(self.hlen[host], self.vlen[vm])
        self.max_ram[host] = max(self.max_ram[host], vms.ram_mib[vm])
        self.ram_used[host] += vms.ram_mib[vm]
        self.bw_used[host] += vms.bw_mbps[vm]
        if self.linear:
            self.h_mean[host] += share * self.v_mean[vm]
            self.h_slope[host] += share * self.v_slope[vm]
            self.h_steps[host] = math.ceil(
                self.max_ram[host] / self._rate[host] / sim.config.interval_s
            )

    def snapshot(self, host: int) -> Snapshot:
        """Everything :meth:`add` changes on ``host``, for an exact :meth:`restore`."""
        # a scalar read from a 1-D array is already a copy; rows of 2-D arrays are copied
        values = tuple(
            array[host].copy() if array.ndim == 2 else array[host]
            for array in self._tracked_arrays()
        )
        return Snapshot(host, len(self.members(host)), values)

    def restore(self, snap: Snapshot) -> None:
        """Undo the :meth:`add` calls on a host since ``snap`` was taken."""
        del self.members(snap.host)[snap.n_members :]
        for array, value in zip(self._tracked_arrays(), snap.values, strict=True):
            array[snap.host] = value

    def _tracked_arrays(self) -> list[npt.NDArray[Any]]:
        """The arrays named by ``_tracked`` (updated in place, never rebound)."""
        return [getattr(self, name) for name in self._tracked]

    def remove(self, vm: int, host: int) -> None:
        """Tentatively destroy ``vm`` on ``host``; the host's sums are rebuilt from its list."""
        sim = self.sim
        vms = sim.vms
        members = self.members(host)
        members.remove(vm)
        self.ram_used[host] -= vms.ram_mib[vm]
        self.bw_used[host] -= vms.bw_mbps[vm]
        if not members:
            self.capped[host] = 0.0
            self.planned[host] = 0.0
            self.req_sum[host] = 0.0
            self.hist[host] = 0.0
            self.hlen[host] = 0
            self.max_ram[host] = 0.0
        else:
            rows = np.asarray(members, dtype=np.int64)
            incoming = self.incoming
            reserve_frac = sim.config.target_reserve_frac
            reserve = [reserve_frac if (v, host) in incoming else 1.0 for v in members]
            capped = vms.n_pes[rows] * np.minimum(self.req_pe[rows], sim.pe_mips[host])
            self.capped[host] = sum((capped * reserve).tolist())
            self.planned[host] = self._planned_from(host, members, capped.tolist())
            self.req_sum[host] = sum(self.req[rows].tolist())
            if self.needs_history:
                share_h = vms.mips[rows] / self.total[host]
                self.hist[host] = (sim.hist[rows] * share_h[:, None]).sum(0)
            if self.needs_length:
                self.hlen[host] = int(self.vlen[rows].max())
            self.max_ram[host] = float(vms.ram_mib[rows].max())
        self._set_avail(host)
        self._set_p_before(host)
        if self.linear:
            if members:
                share = vms.mips[rows] / self.total[host]
                self.h_mean[host] = float((share * self.v_mean[rows]).sum())
                self.h_slope[host] = float((share * self.v_slope[rows]).sum())
            else:
                self.h_mean[host] = 0.0
                self.h_slope[host] = 0.0
            self.h_steps[host] = math.ceil(
                self.max_ram[host] / self._rate[host] / sim.config.interval_s
            )

    def _planned_from(self, host: int, members: list[int], capped: list[float]) -> float:
        """Planned MIPS of ``host`` rebuilt from its list after a removal.

        CloudSim's ``vmDestroy`` re-allocates the remaining VMs their capped requests (scaled
        to the capacity when they exceed it); a VM migrating in holds its target's reserve
        and counts ``migrating_in_weight`` times in PABFD's sum.
        """
        incoming = self.incoming
        reserve_frac = self.sim.config.target_reserve_frac
        allocated = 0.0
        in_allocated = 0.0
        for vm, value in zip(members, capped, strict=True):
            if (vm, host) in incoming:
                in_allocated += value * reserve_frac
                allocated += value * reserve_frac
            else:
                allocated += value
        total = float(self.total[host])
        if allocated > total:
            scale = total / allocated
            allocated, in_allocated = total, in_allocated * scale
        return allocated + self._in_weight_extra * in_allocated

    def _set_p_before(self, host: int) -> None:
        """In the default mode, the power before follows the planned MIPS (0 W when none)."""
        if self.stale_power:
            return
        planned = self.planned[host]
        self.p_before[host] = (
            hostupdate.spec_power_at(planned / self.total[host], self._curves[self._type_of[host]])
            if planned != 0
            else 0.0
        )

    def _set_avail(self, host: int) -> None:
        capped = self.capped[host]
        total = self.total[host]
        self._avail[host] = total - capped if capped <= total else 0.0

    # ------------------------------------------------------------------ overload
    def load(self, hosts: IntArray, vm: int | None = None) -> HostLoad:
        """What the overload test sees of ``hosts`` (with ``vm`` added, if given)."""
        sim = self.sim
        req = self.req_sum[hosts]
        hist = self.hist[hosts]
        ram = self.max_ram[hosts]
        if vm is not None:
            req = req + self.req[vm]
            hist = hist + sim.hist[vm][None, :] * (sim.vms.mips[vm] / self.total[hosts])[:, None]
            ram = np.maximum(ram, sim.vms.ram_mib[vm])
        max_mig = ram / self._rate[hosts]
        return HostLoad(req / self.total[hosts], hist, max_mig, sim.config.interval_s)

    def overloaded(self, hosts: IntArray, vm: int | None = None) -> BoolArray:
        """Overload test on ``hosts`` as they are now (or with ``vm`` added)."""
        if self.test is thr:
            req = self.req_sum[hosts] if vm is None else self.req_sum[hosts] + self.req[vm]
            return np.asarray(req / self.total[hosts] > self.param)
        if self.linear:
            return self._linear_overloaded(hosts, vm)
        return self.test(self.load(hosts, vm), self.param)

    def overloaded_one(self, host: int) -> bool:
        """Overload test on one host as it is now."""
        if self.test is thr:
            return bool(self.req_sum[host] / self.total[host] > self.param)
        if self.linear:
            if self.hlen[host] < LR_SAMPLES:
                return bool(self.req_sum[host] / self.total[host] > FALLBACK_THRESHOLD)
            steps = self.h_steps[host]
            predicted = self.h_mean[host] + self.h_slope[host] * (LR_LEAD + steps)
            value = self.param * predicted
            over = np.asarray([value >= 1.0])
            hosts = np.asarray([host], dtype=np.int64)
            return bool(self.on_boundary(hosts, None, np.asarray([steps]), value, over)[0])
        return bool(self.overloaded(np.asarray([host], dtype=np.int64))[0])

    def avail(self) -> FloatArray:
        """Free MIPS per host: capacity − capped reservations, 0 when over-subscribed."""
        return self._avail

    # ------------------------------------------------------------------ PABFD
    def suitable_mask(
        self, vm: int, allowed: BoolArray, requested_mips: float | None = None
    ) -> BoolArray:
        """Hosts that can take ``vm``: allowed, free MIPS, PE size (RAM, bandwidth)."""
        sim = self.sim
        vms = sim.vms
        req = self.req[vm] if requested_mips is None else requested_mips
        ok = allowed & (self._avail >= req)
        per_pe = req / vms.n_pes[vm]
        if per_pe > self.min_pe_mips:
            ok &= sim.pe_mips >= per_pe
        if self.check_ram:
            ok &= self.ram_used + vms.ram_mib[vm] <= sim.ram_cap_mib
            ok &= self.bw_used + vms.bw_mbps[vm] <= sim.fleet.bw_mbps
        return ok

    def suitable(
        self, vm: int, allowed: BoolArray, requested_mips: float | None = None
    ) -> IntArray:
        """Indices of the hosts :meth:`suitable_mask` accepts."""
        return np.flatnonzero(self.suitable_mask(vm, allowed, requested_mips))

    def candidates(self, ok: BoolArray, idle_allowed: bool) -> IntArray:
        """Suitable busy hosts, plus the first suitable idle host of each idle class."""
        cand = np.flatnonzero(ok & self.busy)
        if not idle_allowed:
            return cand
        idle_ok = np.flatnonzero(ok & ~self.busy)
        if len(idle_ok):
            _, first = np.unique(self.sim.idle_class[idle_ok], return_index=True)
            cand = np.sort(np.concatenate([cand, idle_ok[first]]))
        return cand

    def _linear_overloaded(self, hosts: IntArray, vm: int | None = None) -> BoolArray:
        """LR / LRR on ``hosts`` (with ``vm`` added), from the line's linearity in the history."""
        sim = self.sim
        vms = sim.vms
        interval = sim.config.interval_s
        mean = self.h_mean[hosts]
        slope = self.h_slope[hosts]
        steps = self.h_steps[hosts]
        length = self.hlen[hosts]
        requested = self.req_sum[hosts]
        if vm is not None:
            share = vms.mips[vm] / self.total[hosts]
            mean = mean + share * self.v_mean[vm]
            slope = slope + share * self.v_slope[vm]
            if self._uniform_rate:
                own = math.ceil(vms.ram_mib[vm] / self._rate[0] / interval)
                steps = np.maximum(steps, own)
            else:
                steps = np.maximum(
                    steps, migration_steps(vms.ram_mib[vm] / self._rate[hosts], interval)
                )
            length = np.maximum(length, self.vlen[vm])
            requested = requested + self.req[vm]
        value = self.param * (mean + slope * (LR_LEAD + steps))
        over = self.on_boundary(hosts, vm, steps, value, value >= 1.0)
        if len(length) and length.min() < LR_SAMPLES:
            fallback = requested / self.total[hosts] > FALLBACK_THRESHOLD
            over = np.where(length >= LR_SAMPLES, over, fallback)
        return np.asarray(over)

    def find_host(
        self,
        vm: int,
        allowed: BoolArray,
        requested_mips: float | None = None,
        *,
        idle_allowed: bool = True,
    ) -> int:
        """PABFD target for ``vm`` (-1 if none).

        One call of the compiled kernel :func:`capplan.dynamic.kernels.search.search` per
        search (THR, LR and LRR: :meth:`_kernel_search`); the reference round searches for
        IQR and MAD with :func:`capplan.dynamic.reference.search.find_host`, which the tests
        hold the kernel to.

        Parameters
        ----------
        vm
            VM index.
        allowed
            Hosts that may receive it, ``(n_hosts,)``.
        requested_mips
            Override of the VM's request (initial placement uses its full MIPS).
        idle_allowed
            False when ``allowed`` excludes every idle host (lets the search skip them).
        """
        if self._kernel_test is None:
            raise ValueError("the compiled PABFD search covers the THR, LR and LRR tests only")
        sim = self.sim
        vms = sim.vms
        req = self.req[vm] if requested_mips is None else requested_mips
        linear = self._kernel_test == kernel_search.TEST_LINEAR
        boundary = self._no_boundary
        while True:
            found = self._kernel_search(vm, req, linear, allowed, idle_allowed, boundary)
            if found >= -1:
                return found
            host = -2 - found  # an LR value on the 1.0 boundary: decide it CloudSim's way
            if boundary is self._no_boundary:
                boundary = np.zeros(sim.n_hosts, dtype=np.int8)
            own = math.ceil(vms.ram_mib[vm] / self._rate[host] / sim.config.interval_s)
            steps = max(float(self._dyn[host, 3]), float(own))
            decided = self._exact_lr(host, vm, steps)
            boundary[host] = (
                kernel_search.BOUNDARY_FAST
                if decided == lrexact.EXACT_SHORT
                else kernel_search.BOUNDARY_OVER
                if decided == lrexact.EXACT_OVER
                else kernel_search.BOUNDARY_NOT_OVER
            )

    def _kernel_search(
        self,
        vm: int,
        req: float,
        linear: bool,
        allowed: BoolArray,
        idle_allowed: bool,
        boundary: npt.NDArray[np.int8],
    ) -> int:
        """One call of :func:`capplan.dynamic.kernels.search.search` (-2 − host: decide it)."""
        vms = self.sim.vms
        query = kernel_search.SearchVm(
            float(req),
            float(vms.n_pes[vm]),
            float(vms.ram_mib[vm]),
            float(vms.bw_mbps[vm]),
            float(vms.mips[vm]),
            float(self.v_mean[vm]) if linear else 0.0,
            float(self.v_slope[vm]) if linear else 0.0,
            float(self.vlen[vm]) if linear else 0.0,
        )
        mask = np.ascontiguousarray(allowed, dtype=np.bool_)
        hosts = self.search_hosts
        return int(kernel_search.search(query, hosts, self._rules, mask, idle_allowed, boundary))

    def on_boundary(
        self,
        hosts: IntArray,
        vm: int | None,
        steps: FloatArray | float,
        value: FloatArray | float,
        over: BoolArray,
    ) -> BoolArray:
        """``over`` with the LR values within ``BOUNDARY_TOL`` of 1 decided CloudSim's way.

        ``value`` is safety × predicted utilisation per host of ``hosts`` (with ``vm``
        added), ``steps`` the migration steps it used; see :mod:`capplan.dynamic.kernels.lrexact`.
        """
        value_arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (len(hosts),))
        near = np.flatnonzero(np.abs(value_arr - 1.0) < lrexact.BOUNDARY_TOL)
        if not len(near):
            return over
        steps_arr = np.broadcast_to(np.asarray(steps, dtype=np.float64), (len(hosts),))
        over = np.array(over, dtype=np.bool_)
        for k in near.tolist():
            decided = self._exact_lr(int(hosts[k]), vm, float(steps_arr[k]))
            if decided != lrexact.EXACT_SHORT:
                over[k] = decided == lrexact.EXACT_OVER
        return over

    def _exact_lr(self, host: int, vm: int | None, steps: float) -> int:
        """:func:`capplan.dynamic.kernels.lrexact.over_exact` on ``host`` (with ``vm`` appended)."""
        members = np.asarray(self.members(host), dtype=np.int64)
        return int(
            lrexact.over_exact(
                self.sim.hist,
                self._vm_mips,
                members,
                len(members),
                -1 if vm is None else vm,
                float(self.total[host]),
                steps,
                float(self.param),
            )
        )


def _place_all(sim: Simulation, pick: str) -> None:
    """Place every VM at its full MIPS in index order: ``pick`` = ``"pabfd"`` or ``"first-fit"``."""
    state = RoundState(sim, thr, 1.0, check_ram=True)
    every = np.ones(sim.n_hosts, dtype=bool)
    for vm in range(sim.n_vms):
        full = float(sim.vms.mips[vm])
        if pick == "first-fit":
            cand = state.suitable(vm, every, full)
            host = int(cand[0]) if len(cand) else -1
        else:
            host = state.find_host(vm, every, full)
        if host < 0:
            raise InfeasibleError(
                f"VM {str(sim.vms.vm_ids[vm])!r} ({full:.0f} MIPS over {sim.vms.n_pes[vm]} PE(s), "
                f"{sim.vms.ram_mib[vm]:.0f} MiB) fits on no host left; add hosts (--hosts) or "
                "larger models"
            )
        state.add(vm, host, full)
        sim.place(vm, host)


def place_pabfd(sim: Simulation) -> None:
    """Initial placement: PABFD with every VM at its full MIPS, VMs in index order.

    No host has a utilisation yet at time 0, so none is checked for overload and each VM goes
    to the first host of the model whose power rises least.
    """
    _place_all(sim, "pabfd")


def place_first_fit(sim: Simulation) -> None:
    """Initial placement: the first host (by index) with room for the VM at full MIPS."""
    _place_all(sim, "first-fit")


#: Initial placements by name.
PLACEMENTS = {"pabfd": place_pabfd, "first-fit": place_first_fit}
