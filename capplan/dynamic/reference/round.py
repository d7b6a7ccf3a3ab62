"""One consolidation round of Beloglazov & Buyya (2012), as CloudSim's
``PowerVmAllocationPolicyMigrationAbstract.optimizeAllocation`` runs it.

1. **Overloaded hosts**: every host the overload test flags (index order).
2. **VM selection**: from each, remove VMs chosen by the selection policy until the test no
   longer flags the host (or nothing is left to move).
3. **Placement** of those VMs, by current MIPS descending, with PABFD, never onto an
   overloaded host; a VM that finds no host stays where it is.
4. **Under-loaded hosts**: repeatedly take the least-utilised host (utilisation of the last
   update, 0 < u < 1) that is not overloaded, not switched off and not yet considered, and
   whose VMs are not all migrating; move all its VMs with PABFD onto hosts that are neither
   overloaded, switched off nor considered before, or none of them if one does not fit.
   Hosts that receive VMs here are not considered as sources afterwards. (CloudSim also
   means to exclude the hosts that received VMs in step 3 but builds that set from an empty
   list; ``SimConfig.exclude_overload_targets`` chooses.)

The result is an ordered list of ``(vm, target)``; the engine starts them in that order.

This is the readable reference, on a :class:`~capplan.dynamic.placement.RoundState` with the
numpy search of :mod:`capplan.dynamic.reference.search`. The policies run the compiled round
(:func:`capplan.dynamic.kernels.round.run_round`), which the tests hold to this one, round by
round, on real PlanetLab days and random fleets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import OverloadTest
from capplan.dynamic.placement import RoundState, Snapshot
from capplan.dynamic.reference.search import find_host
from capplan.dynamic.selection import Selection

if TYPE_CHECKING:
    from capplan.dynamic.state import Simulation

BoolArray = npt.NDArray[np.bool_]


def select_from_overloaded(
    state: RoundState, overloaded: list[int], select: Selection
) -> list[int]:
    """Remove VMs from each overloaded host until it passes the test; return them in order."""
    chosen: list[int] = []
    for host in overloaded:
        while True:
            candidates = state.migratable(host)
            if not candidates:
                break
            vm = select(state.sim, candidates)
            chosen.append(vm)
            state.remove(vm, host)
            if not state.overloaded_one(host):
                break
    return chosen


def current_mips(sim: Simulation) -> list[float]:
    """Current MIPS of every VM (utilisation × VM MIPS), as a list for fast lookups."""
    return list((sim.util_now * sim.vms.mips).tolist())


def by_mips_descending(mips: list[float], vms: list[int]) -> list[int]:
    """VMs sorted by current MIPS (:func:`current_mips`), largest first, stable."""
    return sorted(vms, key=lambda v: -mips[v])


def cloudsim_round(
    sim: Simulation,
    test: OverloadTest,
    param: float,
    select: Selection,
) -> list[tuple[int, int]]:
    """Decide one round's migrations; see the module docstring."""
    cfg = sim.config
    state = RoundState(sim, test, param, check_ram=cfg.ram_checked_after_start)
    over_mask = state.overloaded(np.arange(sim.n_hosts))
    mips = current_mips(sim)
    moves = _off_overloaded(state, over_mask, select, mips)
    frac = state.cached_frac
    excluded_source = over_mask | (frac == 0)
    if cfg.exclude_overload_targets and moves:
        excluded_source[[target for _, target in moves]] = True
    return moves + _off_underloaded(state, over_mask, excluded_source, mips)


def _off_overloaded(
    state: RoundState, over_mask: BoolArray, select: Selection, mips: list[float]
) -> list[tuple[int, int]]:
    """Steps 1-3: VMs off the overloaded hosts, placed by current MIPS, descending."""
    overloaded = np.flatnonzero(over_mask).tolist()
    moves: list[tuple[int, int]] = []
    if not overloaded:
        return moves
    chosen = select_from_overloaded(state, overloaded, select)
    for vm in by_mips_descending(mips, chosen):
        target = find_host(state, vm, ~over_mask)
        if target >= 0:
            state.add(vm, target)
            moves.append((vm, target))
    return moves


def _off_underloaded(
    state: RoundState, over_mask: BoolArray, excluded_source: BoolArray, mips: list[float]
) -> list[tuple[int, int]]:
    """Step 4: every VM off each under-loaded host, least utilised first, or none of them.

    ``excluded_source`` (overloaded, switched off, and possibly step 3's targets) grows with
    each host considered and each host that receives VMs here.
    """
    sim = state.sim
    frac = state.cached_frac
    allowed_target = ~(over_mask | (frac == 0))
    order = np.argsort(frac, kind="stable")
    moves: list[tuple[int, int]] = []
    for host in order[(frac[order] > 0) & (frac[order] < 1)].tolist():
        if excluded_source[host]:
            continue
        members = state.members(host)
        if _all_migrating_or_any_incoming(state, host, members):
            continue
        excluded_source[host] = True
        allowed_target[host] = False
        to_move = [v for v in members if not sim.in_migration[v]]
        placed = _place_all_or_none(state, by_mips_descending(mips, to_move), allowed_target)
        if placed:
            moves.extend(placed)
            excluded_source[[target for _, target in placed]] = True
    return moves


def _place_all_or_none(
    state: RoundState, vms: list[int], allowed_target: BoolArray
) -> list[tuple[int, int]]:
    """Place ``vms`` in order with PABFD, or undo the tentative adds and return none."""
    placed: list[tuple[int, int]] = []
    undo: list[Snapshot] = []
    for vm in vms:
        target = find_host(state, vm, allowed_target, idle_allowed=False)
        if target < 0:
            for snap in reversed(undo):
                state.restore(snap)
            return []
        undo.append(state.snapshot(target))
        state.add(vm, target)
        placed.append((vm, target))
    return placed


def _all_migrating_or_any_incoming(state: RoundState, host: int, members: list[int]) -> bool:
    """CloudSim's ``areAllVmsMigratingOutOrAnyVmMigratingIn`` on the host's list order."""
    flags = state.sim.in_migration
    for vm in members:
        if not flags[vm]:
            return False
        if (vm, host) in state.incoming:
            return True
    return True
