"""The time loop of dynamic consolidation, and its result.

:func:`simulate` places the VMs with the policy's initial placement, then runs rounds every
``interval_s``: process the migrations that ended, update every host
(:meth:`capplan.dynamic.state.Simulation.update`), record each VM's utilisation in its
history, ask the policy for migrations (:mod:`capplan.dynamic.contract`) and start them
(target and source are recomputed at once). Python loops run over rounds and over the few
migrations, never over all VMs; a round of the CloudSim policies is one compiled pass
(:mod:`capplan.dynamic.kernels.round`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from capplan.dynamic.config import SimConfig
from capplan.dynamic.contract import Policy
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.state import Simulation
from capplan.units import KWH_PER_WS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class DynamicResult:
    """Outcome of one dynamic-consolidation run.

    Scalars follow CloudSim's report; arrays have one entry per round (``n_rounds``) or per
    host and round.

    Attributes
    ----------
    policy, mode
        Policy name and ``"cloudsim"`` or ``"default"``.
    n_hosts, n_vms
        Fleet and VM counts.
    energy_kwh
        Energy of all hosts over the run.
    n_migrations
        Live migrations started.
    slatah_frac, pdm_frac, slav
        SLA time per active host, degradation due to migration, their product.
    sla_overall_frac, sla_average_frac
        Overall and average SLA violation.
    n_host_shutdowns, mean_time_before_shutdown_s
        Host shutdowns and the mean time from switching on to switching off.
    mean_migration_s
        Mean time a VM spent migrating, as recorded.
    n_vms_vanished
        VMs removed by the CloudSim zero-MIPS quirk (0 in default mode).
    wall_s
        Wall time of the simulation (excluding loading the workload).
    round_times_s
        Time of each round, ``(n_rounds,)``.
    active_hosts
        Active hosts after each round's update, ``(n_rounds,)``.
    power_w
        Total power after each round's update, W, ``(n_rounds,)``.
    energy_kwh_per_round
        Energy since the previous round, ``(n_rounds,)``.
    migrations_per_round
        Migrations started in each round, ``(n_rounds,)``.
    host_util_frac
        Utilisation of each host after each round's update, float32 ``(n_hosts, n_rounds)``.
    notes
        Facts about the run a reader should know (e.g. how utilisation was recovered).
    mem_overcommit_ratio
        RAM booked per unit of host RAM (``SimConfig.mem_overcommit_ratio``).
    paging_host_s
        Host-seconds during which a host's active memory exceeded its RAM (paging).
    max_slowdown_frac
        Largest share of a host's working set served from disk at any update; its VMs got
        that share less CPU (counted in the overall and average SLA violations).
    """

    policy: str
    mode: str
    n_hosts: int
    n_vms: int
    energy_kwh: float
    n_migrations: int
    slatah_frac: float
    pdm_frac: float
    slav: float
    sla_overall_frac: float
    sla_average_frac: float
    n_host_shutdowns: int
    mean_time_before_shutdown_s: float
    mean_migration_s: float
    n_vms_vanished: int
    wall_s: float
    round_times_s: FloatArray
    active_hosts: IntArray
    power_w: FloatArray
    energy_kwh_per_round: FloatArray
    migrations_per_round: IntArray
    host_util_frac: npt.NDArray[np.float32]
    notes: list[str] = field(default_factory=list)
    mem_overcommit_ratio: float = 1.0
    paging_host_s: float = 0.0
    max_slowdown_frac: float = 0.0

    def summary(self) -> dict[str, object]:
        """JSON-ready scalars (what ``capplan dynamic --json`` prints)."""
        return {
            "policy": self.policy,
            "mode": self.mode,
            "n_hosts": self.n_hosts,
            "n_vms": self.n_vms,
            "energy_kwh": round(self.energy_kwh, 6),
            "n_migrations": self.n_migrations,
            "slatah_frac": self.slatah_frac,
            "pdm_frac": self.pdm_frac,
            "slav": self.slav,
            "sla_overall_frac": self.sla_overall_frac,
            "sla_average_frac": self.sla_average_frac,
            "n_host_shutdowns": self.n_host_shutdowns,
            "mean_time_before_shutdown_s": self.mean_time_before_shutdown_s,
            "mean_migration_s": self.mean_migration_s,
            "n_vms_vanished": self.n_vms_vanished,
            "n_rounds": len(self.round_times_s),
            "mean_active_hosts": float(self.active_hosts.mean()) if len(self.active_hosts) else 0.0,
            "mem_overcommit_ratio": self.mem_overcommit_ratio,
            "paging_host_s": round(self.paging_host_s, 3),
            "max_slowdown_frac": self.max_slowdown_frac,
            "wall_s": round(self.wall_s, 4),
            "notes": list(self.notes),
        }


def round_times(config: SimConfig) -> FloatArray:
    """Times of the rounds: ``offset + k × interval`` for k ≥ 1, before the horizon."""
    times: list[float] = []
    t = config.start_offset_s
    while True:
        t = t + config.interval_s
        if t >= config.horizon_s:
            break
        times.append(t)
    return np.asarray(times, dtype=np.float64)


def simulate(
    vms: VmSet,
    fleet: HostFleet,
    policy: Policy,
    config: SimConfig,
    *,
    mode: str = "default",
) -> DynamicResult:
    """Run one policy over the horizon and return its metrics.

    Parameters
    ----------
    vms, fleet
        The VMs (with utilisation samples) and the hosts.
    policy
        Initial placement, per-round optimisation and energy model
        (:func:`capplan.dynamic.policies.get_policy`).
    config
        :data:`capplan.dynamic.config.CLOUDSIM_CONFIG` or a default-mode configuration.
    mode
        Label stored in the result.
    """
    started = time.perf_counter()
    sim = Simulation(vms, fleet, config)
    sim.energy_model = policy.energy_model
    policy.place_initial(sim)
    sim.sla.start_hosts(np.bincount(sim.host_of[sim.host_of >= 0], minlength=sim.n_hosts) > 0)
    if config.initial_update:
        sim.update(0.0, account=False, record_history=True)

    times = round_times(config)
    n_rounds = len(times)
    active = np.zeros(n_rounds, dtype=np.int64)
    power = np.zeros(n_rounds)
    energy_round = np.zeros(n_rounds)
    migrations = np.zeros(n_rounds, dtype=np.int64)
    host_util = np.zeros((sim.n_hosts, n_rounds), dtype=np.float32)
    energy_before = 0.0
    for index, t in enumerate(times.tolist()):
        sim.advance_to(t)
        sim.update(t, record_history=True)
        frac = sim.host_util_frac()
        host_util[:, index] = frac
        active[index] = int((sim.util_mips > 0).sum())
        power[index] = float(sim.power_w(frac)[sim.util_mips > 0].sum())
        if policy.optimize is not None:
            moves = policy.optimize(sim, t)
            migrations[index] = sim.start_migrations(t, moves)
        energy_round[index] = (sim.energy_ws - energy_before) * KWH_PER_WS
        energy_before = sim.energy_ws
    end = float(times[-1]) if n_rounds else 0.0
    sim.advance_to(config.horizon_s)
    if config.final_update and end < config.horizon_s:
        sim.update(config.horizon_s)
    sim.sla.finish()

    gaps = sim.sla.shutdown_gaps()
    mig_gaps = sim.sla.migration_gaps()
    notes: list[str] = []
    if vms.exact_percent:
        notes.append("utilisation recovered exactly as integer percent (v / 100)")
    if sim.util_clip_events:
        notes.append(f"{sim.util_clip_events} host utilisation values above 1 clipped for power")
    slatah = sim.sla.slatah_frac
    pdm = sim.sla.pdm_frac
    return DynamicResult(
        policy=policy.name,
        mode=mode,
        n_hosts=sim.n_hosts,
        n_vms=sim.n_vms,
        energy_kwh=sim.energy_ws * KWH_PER_WS,
        n_migrations=sim.n_migrations,
        slatah_frac=slatah,
        pdm_frac=pdm,
        slav=slatah * pdm,
        sla_overall_frac=sim.sla.overall_violation_frac,
        sla_average_frac=sim.sla.average_violation_frac,
        n_host_shutdowns=len(gaps),
        mean_time_before_shutdown_s=float(gaps.mean()) if len(gaps) else math.nan,
        mean_migration_s=float(mig_gaps.mean()) if len(mig_gaps) else math.nan,
        n_vms_vanished=int(sim.vanished.sum()),
        wall_s=time.perf_counter() - started,
        round_times_s=times,
        active_hosts=active,
        power_w=power,
        energy_kwh_per_round=energy_round,
        migrations_per_round=migrations,
        host_util_frac=host_util,
        notes=notes,
        mem_overcommit_ratio=sim.config.mem_overcommit_ratio,
        paging_host_s=sim.paging_host_s,
        max_slowdown_frac=sim.max_slowdown_frac,
    )
