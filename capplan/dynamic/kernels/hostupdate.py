"""Compiled passes of a host update: VM utilisation, CPU allocation, host power and energy.

A policy-day on the PlanetLab setup runs about 2,250 host updates (one per round, one before
and one after every migration ends, one after migrations start), each over ~1,000 VMs and
800 hosts. As a dozen numpy calls each they cost ~80 µs; these loops do the same arithmetic,
operation for operation, in a few µs (only the energy total is summed host by host where
numpy summed pairwise, a difference in the last bits that feeds no decision):

- :func:`util_at`: CloudSim's linear interpolation between utilisation samples;
- :func:`allocate`: each VM's capped request, the over-subscription scaling with each PE's
  share rounded down, the 90 % a migrating VM keeps and the 10 % its target reserves, and
  the per-host sums, added in each host's list order (arrival order, VMs migrating in at
  the place their migration started), as CloudSim's ``HostDynamicWorkload.
  updateVmsProcessing`` adds them: the order decides the last bits, and PABFD compares
  power rises that differ only there;
- :func:`spec_power_w` and :func:`interval_energy_ws`: CloudSim's SPECpower interpolation and
  the trapezoid energy of the elapsed time.

The module docstring of :mod:`capplan.dynamic.state` describes the model itself.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: CloudSim treats host utilisation in (1, 1.01) as exactly 1 (``HostDynamicWorkload``).
UTIL_ROUND_UP_TO_ONE = 1.01


def util_at(samples: FloatArray, step_s: float, time_s: float) -> FloatArray:
    """Utilisation of every VM at ``time_s`` from samples every ``step_s`` (``(n_vms, n)``).

    CloudSim's arithmetic (``UtilizationModelPlanetLabInMemory``): the exact sample when
    ``time_s`` is a multiple of ``step_s``, otherwise ``u1 + (u2 - u1) / span × offset``
    between the samples around it; times past the last sample hold the last one.
    """
    last = samples.shape[1] - 1
    if math.fmod(time_s, step_s) == 0:
        return samples[:, min(int(time_s // step_s), last)]
    k1 = min(math.floor(time_s / step_s), last)
    k2 = min(math.ceil(time_s / step_s), last)
    if k2 == k1:
        return samples[:, k1]
    return _blend(samples, k1, k2, (k2 - k1) * step_s, time_s - k1 * step_s)


@numba.njit(cache=True, nogil=True)
def _blend(
    samples: FloatArray, k1: int, k2: int, span_s: float, offset_s: float
) -> FloatArray:  # pragma: no cover
    """``u1 + (u2 − u1) / span × offset`` per VM, ``u1, u2`` the samples ``k1, k2``."""
    out = np.empty(samples.shape[0])
    for i in range(samples.shape[0]):
        u1 = samples[i, k1]
        out[i] = u1 + (samples[i, k2] - u1) / span_s * offset_s
    return out


class Placed(NamedTuple):
    """Where the VMs are: host (-1: not placed), migrating-out flag, PE count, and arrival
    number on the host, per VM."""

    host_of: IntArray
    in_migration: BoolArray
    pes: IntArray
    seq: IntArray


class Flights(NamedTuple):
    """Migrations in flight, in start order: VM, target host, and arrival number on the
    target (the same counter as :attr:`Placed.seq`, so unique)."""

    vm: IntArray
    target: IntArray
    seq: IntArray


class HostCpu(NamedTuple):
    """Per host: MIPS of one PE, and of all."""

    pe_mips: FloatArray
    total_mips: FloatArray


@numba.njit(cache=True, nogil=True)
def allocate(
    req: FloatArray,
    vms: Placed,
    flights: Flights,
    hosts: HostCpu,
    reserve_frac: float,
    keep_frac: float,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:  # pragma: no cover
    """CPU allocation of every placed VM and the utilisation of every host.

    Parameters
    ----------
    req
        Requested MIPS per VM, ``(n_vms,)``.
    vms, flights, hosts
        Where the VMs are, the migrations in flight, and the hosts' MIPS; the host sums add
        their terms in arrival order (``seq``).
    reserve_frac, keep_frac
        Share of its request a target reserves for a VM migrating in, and share a VM
        migrating out keeps.

    Returns
    -------
    res
        Placed VMs, ascending.
    alloc_r
        Allocated MIPS of each VM of ``res``.
    util_mips, host_req, alloc_in
        Per host: utilised MIPS (a VM migrating out counts its full share, one migrating in
        the share its target reserves), requested MIPS, and MIPS reserved for VMs
        migrating in.
    """
    host_of, in_migration, vm_pes, seq = vms
    fl_vm, fl_tg, fl_seq = flights
    pe_mips, total_mips = hosts
    n_hosts = len(total_mips)
    n_placed = 0
    for v in range(len(host_of)):
        if host_of[v] >= 0:
            n_placed += 1
    res = np.empty(n_placed, dtype=np.int64)
    pe_cap_r = np.empty(n_placed)
    required = np.zeros(n_hosts)
    j = 0
    for v in range(len(host_of)):
        h = host_of[v]
        if h >= 0:
            res[j] = v
            cap = min(req[v] / vm_pes[v], pe_mips[h])
            pe_cap_r[j] = cap
            required[h] += vm_pes[v] * cap
            j += 1
    n_flights = len(fl_vm)
    pe_cap_m = np.empty(n_flights)
    if n_flights:
        incoming = np.zeros(n_hosts)
        for f in range(n_flights):
            v = fl_vm[f]
            h = fl_tg[f]
            cap = min(req[v] / vm_pes[v], pe_mips[h])
            pe_cap_m[f] = cap
            incoming[h] += vm_pes[v] * cap * reserve_frac
        for h in range(n_hosts):
            required[h] += incoming[h]
    scale = np.ones(n_hosts)
    over = np.zeros(n_hosts, dtype=np.bool_)
    for h in range(n_hosts):
        if required[h] > total_mips[h]:
            over[h] = True
            scale[h] = total_mips[h] / required[h]
    alloc_r = np.empty(n_placed)
    term_util = np.empty(n_placed + n_flights)
    term_req = np.empty(n_placed + n_flights)
    term_host = np.empty(n_placed + n_flights, dtype=np.int64)
    term_key = np.empty(n_placed + n_flights, dtype=np.int64)
    for j in range(n_placed):
        v = res[j]
        h = host_of[v]
        cap = pe_cap_r[j]
        out = in_migration[v]
        if over[h]:
            scaled = cap * scale[h]
            pe_alloc = math.floor(scaled * keep_frac if out else scaled)
        else:
            pe_alloc = cap * keep_frac if out else cap
        alloc = vm_pes[v] * pe_alloc
        alloc_r[j] = alloc
        term_util[j] = alloc / keep_frac if out else alloc
        term_req[j] = req[v]
        term_host[j] = h
        term_key[j] = seq[v]
    alloc_in = np.zeros(n_hosts)
    for f in range(n_flights):
        v = fl_vm[f]
        h = fl_tg[f]
        share = pe_cap_m[f] * reserve_frac
        if over[h]:
            share = math.floor(share * scale[h])
        alloc_in[h] += vm_pes[v] * share
        term_util[n_placed + f] = vm_pes[v] * share
        term_req[n_placed + f] = req[v]
        term_host[n_placed + f] = h
        term_key[n_placed + f] = fl_seq[f]
    util_mips = np.zeros(n_hosts)
    host_req = np.zeros(n_hosts)
    for t in np.argsort(term_key):  # keys are unique: each host's terms in list order
        h = term_host[t]
        util_mips[h] += term_util[t]
        host_req[h] += term_req[t]
    return res, alloc_r, util_mips, host_req, alloc_in


@numba.njit(cache=True, nogil=True)
def host_util_frac(util_mips: FloatArray, total_mips: FloatArray) -> FloatArray:  # pragma: no cover
    """Host utilisation as CloudSim reports it (values in (1, 1.01) become 1)."""
    frac = np.empty(len(util_mips))
    for h in range(len(util_mips)):
        value = util_mips[h] / total_mips[h]
        frac[h] = 1.0 if 1.0 < value < UTIL_ROUND_UP_TO_ONE else value
    return frac


@numba.njit(cache=True, nogil=True)
def spec_power_at(util_frac: float, curve_w: FloatArray) -> float:  # pragma: no cover
    """Power at one utilisation: CloudSim's ``PowerModelSpecPower.getPower`` step for step, W.

    Floor and ceiling of ``10 × u`` and the slope per 10 %, so that PABFD's power differences,
    compared with a strict ``<``, break ties as CloudSim does (the values equal plain linear
    interpolation up to rounding). ``u`` is clipped to [0, 1]; ``curve_w`` holds the power
    at 0, 10, ..., 100 %.
    """
    u = min(max(util_frac, 0.0), 1.0)
    scaled = u * 10.0
    lo = math.floor(scaled)
    hi = math.ceil(scaled)
    p_lo = curve_w[lo]
    return p_lo + (curve_w[hi] - p_lo) / 10.0 * (u - lo / 10.0) * 100.0


@numba.njit(cache=True, nogil=True)
def spec_power_w(
    util_frac: FloatArray, type_of: IntArray, type_curves_w: FloatArray
) -> FloatArray:  # pragma: no cover
    """Power of each host (:func:`spec_power_at` on its type's curve), W."""
    power = np.empty(len(util_frac))
    for h in range(len(util_frac)):
        power[h] = spec_power_at(util_frac[h], type_curves_w[type_of[h]])
    return power


@numba.njit(cache=True, nogil=True)
def interval_energy_ws(
    before_mips: FloatArray,
    after_mips: FloatArray,
    total_mips: FloatArray,
    type_of: IntArray,
    type_curves_w: FloatArray,
    dt_s: float,
) -> tuple[float, int]:  # pragma: no cover
    """Energy of ``dt_s`` seconds over which each host went from ``before`` to ``after``.

    Per host the trapezoid between the power at the two utilisations; a host whose
    utilisation was 0 at the start draws nothing. Returns the energy (W·s, summed in host
    order) and how many hosts ended above 100 % (clipped for power).
    """
    before = host_util_frac(before_mips, total_mips)
    after = host_util_frac(after_mips, total_mips)
    p_before = spec_power_w(before, type_of, type_curves_w)
    p_after = spec_power_w(after, type_of, type_curves_w)
    energy = 0.0
    clipped = 0
    for h in range(len(before)):
        if after[h] > 1.0:
            clipped += 1
        if before[h] != 0:
            energy += (p_before[h] + (p_after[h] - p_before[h]) / 2.0) * dt_s
    return energy, clipped
