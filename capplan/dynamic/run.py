"""Run a dynamic-consolidation policy on a workload (the API behind ``capplan dynamic``)."""

from __future__ import annotations

import math
from pathlib import Path

from capplan.demand.workload import Workload
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.config import CLOUDSIM_CONFIG, DEFAULT_CONFIG, SimConfig
from capplan.dynamic.engine import DynamicResult, simulate
from capplan.dynamic.fleet import VmSet, fleet_from_catalog, vms_from_workload
from capplan.dynamic.policies import get_policy
from capplan.errors import CapplanError
from capplan.spec.catalog import load_catalog

#: Compatibility modes :func:`run_dynamic` knows.
COMPAT_MODES = ("cloudsim",)
#: Bandwidth reserved per VM in default mode (CloudSim's 100 Mbit/s; traces do not say).
DEFAULT_VM_BW_MBPS = 100.0
#: Default-mode host model: the catalog's reference core (perf_factor 1.0), so demand MHz
#: count at face value.
DEFAULT_HOST_MODEL = "ibm-x3550-m3-x5670"
#: Default-mode fleet size: one host per this many VMs (room for the initial placement at full
#: capacity, which the bandwidth of one 1 Gbit/s NIC limits to 10 VMs of 100 Mbit/s per host).
DEFAULT_VMS_PER_HOST = 4


def default_hosts_spec(vms: VmSet, catalog_dir: str | None = None) -> str:
    """Default fleet of the default mode: one host per four VMs.

    The model is the reference one when every VM fits on it (PEs, MIPS per PE, RAM and
    bandwidth), otherwise the smallest catalog model (by RAM, then total MIPS) every VM fits
    on: a trace of 16 GiB, 4-vCPU VMs needs more than the 2010 reference server.

    Raises
    ------
    CapplanError
        If no catalog model holds the largest VM (naming its needs).
    """
    catalog = load_catalog(Path(catalog_dir)) if catalog_dir else load_catalog()
    count = max(2, math.ceil(vms.n_vms / DEFAULT_VMS_PER_HOST))
    pes = int(vms.n_pes.max())
    pe_mips = float((vms.mips / vms.n_pes).max())
    ram = float(vms.ram_mib.max())
    bw = float(vms.bw_mbps.max())

    def fits(name: str) -> bool:
        model = catalog.hosts[name]
        return (
            model.n_cores >= pes
            and model.base_clock_mhz * model.perf_factor >= pe_mips
            and model.ram_mib >= ram
            and model.nic_speed_mbps >= bw
        )

    if DEFAULT_HOST_MODEL in catalog.hosts and fits(DEFAULT_HOST_MODEL):
        return f"{DEFAULT_HOST_MODEL}:{count}"
    by_size = sorted(
        catalog.hosts, key=lambda n: (catalog.hosts[n].ram_mib, catalog.hosts[n].cpu_capacity_mhz)
    )
    for name in by_size:
        if fits(name):
            return f"{name}:{count}"
    raise CapplanError(
        f"no catalog host model holds the largest VM ({pes} PE(s), {pe_mips:.0f} MIPS per PE, "
        f"{ram:.0f} MiB, {bw:.0f} Mbit/s); add one to the catalog or give --hosts",
        spec_path="--hosts",
    )


def run_dynamic(
    workload: Workload,
    policy: str,
    *,
    compat: str | None = None,
    hosts: str | None = None,
    catalog_dir: str | None = None,
    seed: int = 42,
    mem_overcommit_ratio: float = 1.0,
    config: SimConfig | None = None,
) -> DynamicResult:
    """Simulate ``policy`` on ``workload``.

    Parameters
    ----------
    workload
        Needs ``cpu_demand_mhz``.
    policy
        A name :func:`capplan.dynamic.policies.get_policy` accepts (``lr-mmt``, ``npa``...).
    compat
        ``"cloudsim"``: the paper's 800 hosts, VM types and CloudSim's accounting and quirks;
        None: default mode (``hosts`` from the catalog, quirks fixed).
    hosts
        Default mode only: ``MODEL:N[,MODEL:N...]`` (default: :func:`default_hosts_spec`, a
        model every VM fits on).
    catalog_dir
        Hardware catalog folder (default: the bundled one).
    seed
        Seed of random selections.
    mem_overcommit_ratio
        Default mode only: RAM placements may book this multiple of host RAM; the active
        memory above the RAM is paged at a CPU cost (``SimConfig.mem_overcommit_ratio``).
        Above 1 it needs the VMs' active memory (``mem_active_mib``) in the workload.
    config
        Overrides the mode's configuration (tests).

    Raises
    ------
    CapplanError
        Unknown compat mode or policy, ``hosts`` or over-commit given with ``compat``,
        malformed host spec, over-commit below 1 or without active memory.
    """
    chosen = get_policy(policy)
    if not mem_overcommit_ratio >= 1.0 or not math.isfinite(mem_overcommit_ratio):
        raise CapplanError(
            f"memory over-commit must be a finite ratio >= 1, got {mem_overcommit_ratio}",
            spec_path="--mem-overcommit",
        )
    if compat is not None:
        if compat not in COMPAT_MODES:
            raise CapplanError(
                f"unknown compat mode {compat!r}; valid: {', '.join(COMPAT_MODES)}",
                spec_path="--compat",
            )
        if hosts is not None:
            raise CapplanError(
                "--hosts cannot be combined with --compat cloudsim (the paper fixes 800 hosts)",
                spec_path="--hosts",
            )
        if mem_overcommit_ratio != 1.0:
            raise CapplanError(
                "--mem-overcommit applies to the default mode: CloudSim checks RAM only at the "
                "initial placement",
                spec_path="--mem-overcommit",
            )
        cfg = (config or CLOUDSIM_CONFIG).with_(seed=seed)
        return simulate(
            cloudsim_vms(workload),
            cloudsim_fleet(catalog_dir=catalog_dir),
            chosen,
            cfg,
            mode="cloudsim",
        )
    cfg = (config or DEFAULT_CONFIG).with_(seed=seed, interval_s=float(workload.step_s))
    catalog = load_catalog(Path(catalog_dir)) if catalog_dir else load_catalog()
    cfg = cfg.with_(
        horizon_s=float(workload.n_steps * workload.step_s),
        mem_overcommit_ratio=mem_overcommit_ratio,
        swap_latency_ms=catalog.tier(catalog.san.swap_tier).base_latency_ms,
        mem_active_window_s=catalog.memory.active_window_s,
        page_size_kib=catalog.memory.page_size_kib,
        min_free_fracs=catalog.memory.min_free_fracs,
    )
    vms = vms_from_workload(workload, default_bw_mbps=DEFAULT_VM_BW_MBPS)
    if mem_overcommit_ratio > 1.0 and vms.mem_active_mib is None:
        raise CapplanError(
            "memory over-commit needs the VMs' active memory to price paging, and this "
            "workload has no mem_active_mib series",
            spec_path="--mem-overcommit",
        )
    fleet = fleet_from_catalog(hosts or default_hosts_spec(vms, catalog_dir), catalog_dir)
    return simulate(vms, fleet, chosen, cfg, mode="default")
