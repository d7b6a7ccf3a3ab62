"""The CloudSim PlanetLab setup of Beloglazov & Buyya (CCPE 24(13), 2012), fixed by the paper.

- 800 hosts: host ``j`` is an HP ProLiant ML110 G4 (2 PEs × 1,860 MIPS) when ``j`` is even and
  an ML110 G5 (2 × 2,660 MIPS) when odd; 4,096 MB RAM and 1 Gbit/s each; power from the
  catalog's SPECpower curves (``hp-proliant-ml110-g4`` / ``-g5``, the curves of CloudSim's
  ``PowerModelSpecPowerHpProLiantMl110G4Xeon3040`` / ``G5Xeon3075``). Source: CloudSim
  ``examples/power/Constants.java`` (HOST_MIPS, HOST_PES, HOST_RAM, HOST_BW) and the paper.
- VMs: one per trace file, files name-sorted (the PlanetLab reader's order); VM ``i`` of
  ``n`` gets type ``i // ceil(n / 4)``: 2,500 / 2,000 / 1,000 / 500 MIPS with 870 / 1,740 /
  1,740 / 613 MB, one PE, 100 Mbit/s (``Constants.VM_*``; see
  :data:`capplan.io.planetlab.CLOUDSIM_VM_TYPES`).
- Utilisation: the integer percentage ``v`` of each sample as ``v / 100``, recovered exactly
  from the workload as ``cpu_demand_mhz / cpu_capacity_mhz`` of the inventory (the reader
  stores ``v / 100 × capacity`` in float32; rounding ``× 100`` to the nearest integer gives
  ``v`` back), then the last sample repeated once, as CloudSim's
  ``UtilizationModelPlanetLabInMemory`` does.

CloudSim behaviours reproduced (see :data:`capplan.dynamic.config.CLOUDSIM_CONFIG`): rounds at
0.1 s + k × 300 s (the first interval draws no energy, the last round is at 86,100.1 s); VMs
requesting exactly 0 MIPS vanish; RAM and bandwidth only constrain the initial placement
(the PlanetLab cloudlets request 0 MB and 0 bit/s once running); PABFD compares the power
at the planned utilisation (VMs planned earlier in the pass included) against the power of
the last update, so the initial placement spreads the VMs over all 800 hosts; power rises
are CloudSim's arithmetic, compared with a strict ``<`` in host order; host sums follow each
host's list order; MU divides as CloudSim does; MC's R² is commons-math's QR fit; a host idle
at its first record counts as a shutdown; a host that received a VM from an overloaded host
may be drained in the same round. With these, every deterministic policy reproduces
CloudSim 4.0's migrations one by one (``tests/dynamic/test_cloudsim_match.py``).

Known differences from a CloudSim run: VM types follow name-sorted file order, not the
machine's directory order (``--trace-order`` gives another); RS draws from
``java.util.Random``'s generator seeded with ``--seed``, where CloudSim's ``new Random()`` is
unseeded, so RS runs match an as-shipped CloudSim run in distribution only (and a CloudSim run
whose RS generator is seeded the same way exactly); the host storage limit (1,000,000 MB
for 2,500-MB VM images, i.e. 400 VMs) is not modelled, as bandwidth already caps a host at
10 VMs at the initial placement.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from capplan.demand.workload import Workload
from capplan.dynamic.config import CLOUDSIM_INTERVAL_S
from capplan.dynamic.fleet import HostFleet, VmSet, utilization_from_workload
from capplan.errors import CapplanError, WorkloadError
from capplan.io.planetlab import CLOUDSIM_VM_TYPES, cloudsim_types

#: Number of hosts in the paper's PlanetLab experiments (``PlanetLabConstants``).
CLOUDSIM_N_HOSTS: Final = 800
#: Catalog models of the two host types (even index, odd index).
CLOUDSIM_HOST_MODELS: Final = ("hp-proliant-ml110-g4", "hp-proliant-ml110-g5")
#: PEs and MIPS per PE of the two host types (``Constants.HOST_PES``, ``HOST_MIPS``).
CLOUDSIM_HOST_PES: Final = (2, 2)
CLOUDSIM_HOST_PE_MIPS: Final = (1860.0, 2660.0)
#: Host RAM, MB (``Constants.HOST_RAM``).
CLOUDSIM_HOST_RAM_MB: Final = 4096.0
#: Host and VM bandwidth, Mbit/s (``Constants.HOST_BW`` = 1 Gbit/s, ``VM_BW`` = 100 Mbit/s).
CLOUDSIM_HOST_BW_MBPS: Final = 1000.0
CLOUDSIM_VM_BW_MBPS: Final = 100.0


def cloudsim_fleet(n_hosts: int = CLOUDSIM_N_HOSTS, catalog_dir: str | None = None) -> HostFleet:
    """The paper's hosts: G4 at even, G5 at odd indices, power curves from the catalog."""
    from pathlib import Path

    from capplan.spec.catalog import load_catalog

    catalog = load_catalog(Path(catalog_dir)) if catalog_dir else load_catalog()
    missing = [m for m in CLOUDSIM_HOST_MODELS if m not in catalog.hosts]
    if missing:
        raise CapplanError(
            f"the catalog lacks host model(s) {', '.join(missing)} that the CloudSim "
            "compat mode needs (HP ProLiant ML110 G4/G5 SPECpower curves)"
        )
    kinds = np.arange(n_hosts) % 2
    curves = np.array([catalog.hosts[m].power_w for m in CLOUDSIM_HOST_MODELS])
    return HostFleet(
        model=np.asarray(CLOUDSIM_HOST_MODELS, dtype=np.str_)[kinds],
        n_pes=np.asarray(CLOUDSIM_HOST_PES, dtype=np.int64)[kinds],
        pe_mips=np.asarray(CLOUDSIM_HOST_PE_MIPS)[kinds],
        ram_mib=np.full(n_hosts, CLOUDSIM_HOST_RAM_MB),
        bw_mbps=np.full(n_hosts, CLOUDSIM_HOST_BW_MBPS),
        power_w=curves[kinds],
    )


def cloudsim_vms(workload: Workload) -> VmSet:
    """The paper's VMs for a workload (types by index, exact utilisation, last sample doubled).

    Raises
    ------
    WorkloadError
        If the workload's step is not CloudSim's 300 s or it has no VMs.
    """
    if workload.n_vms == 0:
        raise WorkloadError("the workload has no VMs; nothing to simulate")
    if float(workload.step_s) != CLOUDSIM_INTERVAL_S:
        raise WorkloadError(
            f"--compat cloudsim needs samples every {CLOUDSIM_INTERVAL_S:.0f} s (PlanetLab); "
            f"this workload has a {workload.step_s} s step"
        )
    _, util, exact = utilization_from_workload(workload)
    util = np.concatenate([util, util[:, -1:]], axis=1)
    types = cloudsim_types(workload.n_vms)
    mips = np.array([CLOUDSIM_VM_TYPES[t][0] for t in types], dtype=np.float64)
    ram = np.array([CLOUDSIM_VM_TYPES[t][1] for t in types], dtype=np.float64)
    return VmSet(
        vm_ids=np.asarray(workload.vm_ids, dtype=np.str_),
        n_pes=np.ones(workload.n_vms, dtype=np.int64),
        mips=mips,
        ram_mib=ram,
        bw_mbps=np.full(workload.n_vms, CLOUDSIM_VM_BW_MBPS),
        util_frac=util,
        sample_s=CLOUDSIM_INTERVAL_S,
        exact_percent=exact,
    )
