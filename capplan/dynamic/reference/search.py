"""The PABFD host search as numpy operations over the candidates: the reference.

It decides what the compiled searches decide (:func:`capplan.dynamic.kernels.search.search`
and the compiled round's own), for every overload test, with whole-array numpy operations
on a :class:`~capplan.dynamic.placement.RoundState`. The reference round
(:mod:`capplan.dynamic.reference.round`) searches with it, and the tests hold both compiled
searches to it. See the kernel's docstring for what CloudSim's ``findHostForVm`` checks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import (
    FALLBACK_THRESHOLD,
    LR_LEAD,
    LR_SAMPLES,
    migration_steps,
    thr,
)
from capplan.dynamic.kernels import hostupdate
from capplan.dynamic.placement import RoundState

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def find_host(
    state: RoundState,
    vm: int,
    allowed: BoolArray,
    requested_mips: float | None = None,
    *,
    idle_allowed: bool = True,
) -> int:
    """PABFD target for ``vm`` (-1 if none); parameters as ``RoundState.find_host``."""
    sim = state.sim
    hosts = state.search_hosts
    req = state.req[vm] if requested_mips is None else requested_mips
    if idle_allowed or state.check_ram:
        cand = state.candidates(state.suitable_mask(vm, allowed, requested_mips), idle_allowed)
    else:
        base = np.flatnonzero(state.busy)
        ok = allowed[base] & (hosts.avail[base] >= req)
        per_pe = req / sim.vms.n_pes[vm]
        if per_pe > state.min_pe_mips:
            ok &= sim.pe_mips[base] >= per_pe
        cand = base[ok]
    if not len(cand):
        return -1
    after = (state.planned[cand] + req) / state.total[cand]
    power_after = hostupdate.spec_power_w(after, hosts.type_of[cand], hosts.curves_w)
    diff = power_after - state.p_before[cand]
    needs = state.planned[cand] != 0  # CloudSim checks overload on hosts with planned MIPS
    if idle_allowed and not needs.any():
        return int(cand[int(np.argmin(diff))])
    inv_total = hosts.inv_total[cand]
    if needs.all():
        over_check = over_after(state, cand, vm, req, inv_total)
        diff[over_check] = np.inf
    else:
        check = cand[needs]
        over_check = over_after(state, check, vm, req, inv_total[needs])
        diff[np.flatnonzero(needs)[over_check]] = np.inf
    best = int(np.argmin(diff))
    return int(cand[best]) if diff[best] != np.inf else -1


def over_after(
    state: RoundState, hosts: IntArray, vm: int, req: float, inv_total: FloatArray
) -> BoolArray:
    """Would ``hosts`` be overloaded with ``vm`` (request ``req``) added?"""
    if state.test is thr:
        return np.asarray((state.req_sum[hosts] + req) * inv_total > state.param)
    if not state.linear:
        return state.overloaded(hosts, vm)
    sim = state.sim
    dyn = state.search_hosts.dyn[hosts]
    share = sim.vms.mips[vm] * inv_total
    mean = dyn[:, 1] + share * state.v_mean[vm]
    slope = dyn[:, 2] + share * state.v_slope[vm]
    rate = state.search_hosts.rate[hosts]
    own_steps = migration_steps(sim.vms.ram_mib[vm] / rate, sim.config.interval_s)
    steps = np.maximum(dyn[:, 3], own_steps)
    value = state.param * (mean + slope * (LR_LEAD + steps))
    over = state.on_boundary(hosts, vm, steps, value, value >= 1.0)
    length = np.maximum(dyn[:, 4], state.vlen[vm])
    if length.min() < LR_SAMPLES:
        fallback = (dyn[:, 0] + req) * inv_total > FALLBACK_THRESHOLD
        over = np.where(length >= LR_SAMPLES, over, fallback)
    return np.asarray(over)
