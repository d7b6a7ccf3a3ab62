"""Run a dynamic-consolidation policy on a workload (the API behind ``capplan dynamic``)."""

from __future__ import annotations

import math

from capplan.demand.workload import Workload
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.config import CLOUDSIM_CONFIG, DEFAULT_CONFIG, SimConfig
from capplan.dynamic.engine import DynamicResult, simulate
from capplan.dynamic.fleet import fleet_from_catalog, vms_from_workload
from capplan.dynamic.policies import get_policy
from capplan.errors import CapplanError

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


def default_hosts_spec(n_vms: int) -> str:
    """Default fleet of the default mode: the reference model, one host per four VMs."""
    return f"{DEFAULT_HOST_MODEL}:{max(2, math.ceil(n_vms / DEFAULT_VMS_PER_HOST))}"


def run_dynamic(
    workload: Workload,
    policy: str,
    *,
    compat: str | None = None,
    hosts: str | None = None,
    catalog_dir: str | None = None,
    seed: int = 42,
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
        Default mode only: ``MODEL:N[,MODEL:N...]`` (default: :func:`default_hosts_spec`).
    catalog_dir
        Hardware catalog folder (default: the bundled one).
    seed
        Seed of random selections.
    config
        Overrides the mode's configuration (tests).

    Raises
    ------
    CapplanError
        Unknown compat mode or policy, ``hosts`` given with ``compat``, malformed host spec.
    """
    chosen = get_policy(policy)
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
        cfg = (config or CLOUDSIM_CONFIG).with_(seed=seed)
        return simulate(
            cloudsim_vms(workload),
            cloudsim_fleet(catalog_dir=catalog_dir),
            chosen,
            cfg,
            mode="cloudsim",
        )
    cfg = (config or DEFAULT_CONFIG).with_(seed=seed, interval_s=float(workload.step_s))
    cfg = cfg.with_(horizon_s=float(workload.n_steps * workload.step_s))
    vms = vms_from_workload(workload, default_bw_mbps=DEFAULT_VM_BW_MBPS)
    fleet = fleet_from_catalog(hosts or default_hosts_spec(workload.n_vms), catalog_dir)
    return simulate(vms, fleet, chosen, cfg, mode="default")
