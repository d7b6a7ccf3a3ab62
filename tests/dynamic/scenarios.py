"""Tiny hand-built fleets and VM sets for the dynamic-consolidation tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capplan.dynamic.config import SimConfig
from capplan.dynamic.fleet import HostFleet, VmSet

#: CloudSim's SPECpower curves of the HP ProLiant ML110 G4 and G5 (W at 0..100 % load).
G4_W = (86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0)
G5_W = (93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0)
#: A linear curve 100 W idle .. 200 W full, easy to compute by hand.
LINEAR_W = tuple(100.0 + 10.0 * i for i in range(11))


def fleet(
    n_hosts: int,
    *,
    pes: int = 2,
    pe_mips: float = 1000.0,
    ram_mib: float = 4096.0,
    bw_mbps: float = 1000.0,
    curve: Sequence[float] = LINEAR_W,
) -> HostFleet:
    """``n_hosts`` identical hosts."""
    return HostFleet.from_models(
        ["test"] * n_hosts,
        n_pes=[pes] * n_hosts,
        pe_mips=[pe_mips] * n_hosts,
        ram_mib=[ram_mib] * n_hosts,
        bw_mbps=[bw_mbps] * n_hosts,
        power_w=[list(curve)] * n_hosts,
    )


def vms(
    util: Sequence[Sequence[float]],
    *,
    mips: Sequence[float] | float = 1000.0,
    ram_mib: Sequence[float] | float = 625.0,
    pes: int = 1,
    sample_s: float = 300.0,
) -> VmSet:
    """VMs with the given utilisation samples (rows) at ``sample_s`` spacing."""
    u = np.asarray(util, dtype=np.float64)
    n = u.shape[0]
    return VmSet(
        vm_ids=np.asarray([f"vm{i}" for i in range(n)], dtype=np.str_),
        n_pes=np.full(n, pes, dtype=np.int64),
        mips=np.broadcast_to(np.asarray(mips, dtype=np.float64), (n,)).copy(),
        ram_mib=np.broadcast_to(np.asarray(ram_mib, dtype=np.float64), (n,)).copy(),
        bw_mbps=np.full(n, 100.0),
        util_frac=u,
        sample_s=sample_s,
    )


def config(horizon_s: float = 900.0, **changes: object) -> SimConfig:
    """Default-mode settings over a short horizon (rounds every 300 s)."""
    return SimConfig(horizon_s=horizon_s).with_(**changes)
