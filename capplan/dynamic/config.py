"""Settings of a dynamic-consolidation run, and the two presets (CloudSim compat, default).

Each CloudSim behaviour that capplan treats as a quirk is a separate switch, so the default
mode can fix it and a test can show the difference one switch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from capplan.units import S_PER_DAY

#: CloudSim's scheduling interval for the PlanetLab experiments (``Constants``), s.
CLOUDSIM_INTERVAL_S: Final = 300.0
#: CloudSim fires datacenter events at 0.1 s + k × 300 s: cloudlets are submitted at
#: 0.1 s (``PowerVm.updateVmProcessing`` tests ``(t - 0.1) % interval == 0``).
CLOUDSIM_START_OFFSET_S: Final = 0.1
#: VMs keep this many utilisation samples (``PowerVm.HISTORY_LENGTH``).
HISTORY_LENGTH: Final = 30


@dataclass(frozen=True)
class SimConfig:
    """How the simulation advances and accounts.

    Attributes
    ----------
    interval_s
        Seconds between consolidation rounds.
    horizon_s
        Simulated time; rounds run at ``start_offset_s + k × interval_s`` up to it.
    start_offset_s
        Offset of every round (CloudSim: 0.1 s).
    initial_update
        Compute host state right after the initial placement (t = 0). CloudSim does not, so
        its first interval draws no energy and is outside the SLA metrics.
    final_update
        Also update at ``horizon_s`` itself, so energy covers the whole horizon (CloudSim
        stops at the last round before the horizon).
    vanish_idle_vms
        CloudSim quirk: a VM whose requested MIPS is exactly 0 at an update and that is not
        migrating is removed from the simulation for good.
    ram_checked_after_start
        Check RAM and bandwidth when placing a migrating VM. CloudSim's PlanetLab cloudlets
        use ``UtilizationModelNull`` for RAM and bandwidth, so once instantiated a VM
        requests 0 MB and 0 bit/s and only CPU constrains migrations.
    exclude_overload_targets
        Do not pick hosts that just received VMs from overloaded hosts as under-loaded
        sources in the same round. CloudSim means to (``getMigrationMapFromUnderUtilizedHosts``)
        but builds that set from an empty list, so a VM can be moved twice in one round.
    count_idle_start_as_shutdown
        CloudSim counts a host that is idle at its first record as a shutdown (its history
        starts "active"); the default mode counts only active-to-idle transitions.
    migration_bw_share_frac
        Share of host bandwidth a migration uses (CloudSim: half).
    migration_slowdown_frac
        Share of a migrating VM's MIPS lost on the source during the migration (10 %).
    target_reserve_frac
        Share of a migrating VM's MIPS the target reserves during the migration (10 %).
    migrating_in_weight
        PABFD counts a VM migrating into a host as this multiple of its allocated MIPS.
    pabfd_stale_power
        CloudSim quirk: PABFD's "power before" is the host's power at the last update
        (``host.getPower()``), while its "power after" counts the VMs planned onto the host
        earlier in the same pass. At t = 0 every host is then at 0 %, an empty host always
        shows the least rise, and the initial placement spreads the VMs one or two per host.
        The default mode compares against the power at the planned MIPS, 0 W for a host
        with nothing planned (it is off and draws nothing): the true marginal power, which
        packs.
    mem_overcommit_ratio
        Placements may book up to this multiple of a host's RAM (the VMs' provisioned
        memory). Above the physical RAM, the part of the VMs' active memory that does not
        fit is paged, with the memory model of :mod:`capplan.emulate.memory`: a host whose
        active memory ``D`` exceeds its usable RAM ``U`` (RAM less the hypervisor's
        free-memory target) faults ``E = D − U`` back once per ``mem_active_window_s`` and
        waits ``S = faults × swap_latency_ms`` per second; its VMs get ``V / (V + S)`` of
        their allocated CPU (``V`` = busy cores), which the overall and average SLA
        violations count. 1.0 (the default) books physical RAM only.
    swap_latency_ms, mem_active_window_s, page_size_kib, min_free_fracs
        The paging model's swap device latency (the catalog's swap tier), active-memory
        window, page size and free-memory sliding scale (the catalog's ``[memory]``).
    history_length
        Utilisation samples kept per VM.
    seed
        Seed of the random VM selection (RS) and of any randomized policy.
    """

    interval_s: float = CLOUDSIM_INTERVAL_S
    horizon_s: float = S_PER_DAY
    start_offset_s: float = 0.0
    initial_update: bool = True
    final_update: bool = True
    vanish_idle_vms: bool = False
    ram_checked_after_start: bool = True
    exclude_overload_targets: bool = True
    count_idle_start_as_shutdown: bool = False
    migration_bw_share_frac: float = 0.5
    migration_slowdown_frac: float = 0.1
    target_reserve_frac: float = 0.1
    migrating_in_weight: float = 10.0
    pabfd_stale_power: bool = False
    mem_overcommit_ratio: float = 1.0
    swap_latency_ms: float = 0.4
    mem_active_window_s: float = 60.0
    page_size_kib: float = 4.0
    min_free_fracs: tuple[float, float, float, float] = (0.06, 0.04, 0.02, 0.01)
    history_length: int = HISTORY_LENGTH
    seed: int = 42

    def with_(self, **changes: object) -> SimConfig:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: CloudSim 3.0 PlanetLab setup, quirks included.
CLOUDSIM_CONFIG: Final = SimConfig(
    start_offset_s=CLOUDSIM_START_OFFSET_S,
    initial_update=False,
    final_update=False,
    vanish_idle_vms=True,
    ram_checked_after_start=False,
    exclude_overload_targets=False,
    count_idle_start_as_shutdown=True,
    pabfd_stale_power=True,
)

#: capplan's default: same physics, quirks fixed.
DEFAULT_CONFIG: Final = SimConfig()
