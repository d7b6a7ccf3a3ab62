"""Key figures of an emulation (:class:`capplan.outcomes.EmulationKpis`).

Definitions (``A`` = active hosts: hosts with at least one VM; ``T`` = steps; ``Δt`` = step):

- ``energy_kwh = Σ_h Σ_t P[h,t] · Δt``  (hosts that are off draw 0 W)
- ``overloaded_host_steps`` = active host-steps with unmet CPU demand (demand > capacity)
- ``slatah_frac = mean_{h∈A} (overloaded steps of h / T)``: SLA violation Time per Active
  Host (Beloglazov & Buyya 2012; a host is "active" over the whole run when it holds VMs)
- ``pdm_frac = Σ unserved CPU demand / Σ CPU demand``: performance degradation, here from
  contention and memory paging (the static replay has no migrations); demand-weighted.
  With ``per_vm=True`` also ``pdm_vm_mean_frac``, the unweighted mean over VMs of the share
  of demand not served (Beloglazov's per-VM form).
- ``slav = slatah_frac · pdm_frac`` (Beloglazov's combined SLA violation metric)
- ``p95_cpu_util_frac``, ``peak_cpu_util_frac``, ``mean_cpu_util_frac`` over active
  host-steps (exact order statistics, linear interpolation as ``numpy.percentile``)
- ``peak_cpu_ready_frac``: the largest CPU ready per vCPU as a share of wall time (VMware's
  %RDY) over active host-steps; ``cpu_ready_host_steps`` the host-steps above
  :data:`CPU_READY_LIMIT_FRAC` (ready rises with utilization, so both follow from each host's
  peak utilization and its threshold utilization without the full array); with ``per_vm``,
  ``vms_over_cpu_ready_limit`` and ``worst_cpu_ready_vms`` (a VM sees its host's ready)
- ``paging_mib = Σ paging_mib_s · Δt``; ``peak_balloon_mib``, ``peak_compressed_mib``,
  ``peak_swapped_mib`` per host-step; ``peak_mem_slowdown_frac`` the largest share of time a
  host's VMs wait for memory faults, ``mem_slowdown_host_steps`` the host-steps above 1 %
- per tier: request-level latency percentiles (p50/p95/p99 of the requests, from the queueing
  model; ``step_p95_latency_ms`` the p95 over steps of the mean), the fluid queue's peak backlog,
  peak load, SLO breach steps, capacity used
- network: NIC and uplink load percentiles and peaks, VLANs per trunk against the limit
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from capplan.emulate.cpu import (
    DEMAND_SUM,
    UNMET_SUM,
    UTIL_MAX,
    UTIL_SUM,
    ready_threshold_util,
    ready_wall_frac,
)
from capplan.emulate.memory_kernels import reclaim_peaks, stalled_mhz_total
from capplan.emulate.quantile import percentile_rows
from capplan.outcomes import EmulationKpis
from capplan.units import KWH_PER_WS

if TYPE_CHECKING:
    from capplan.emulate.replayed import Replayed

#: CPU ready per vCPU above which performance suffers: "under normal operating conditions this
#: value should remain under 5 %" (IBM Support, "Virtual machine CPU ready", citing VMware KB
#: 2002181 for the esxtop %RDY field).
CPU_READY_LIMIT_FRAC = 0.05


def _rows(array: npt.NDArray[np.float32], rows: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    return array if len(rows) == array.shape[0] else array[rows]


def _pct(array: npt.NDArray[Any], q: float) -> float | None:
    if array.size == 0:
        return None
    return float(np.percentile(array, q))


def _total(array: npt.NDArray[np.float32]) -> float:
    """Sum in float64 over float32 row sums (pairwise within rows)."""
    if array.size == 0:
        return 0.0
    return float(np.add.reduce(array, axis=-1).sum(dtype=np.float64))


def compute(em: Replayed, *, per_vm: bool = False) -> EmulationKpis:
    """Compute every KPI of an emulation (definitions in the module docstring)."""
    active = np.flatnonzero(em.vms_per_host > 0)
    n_active = len(active)
    steps = em.n_steps
    power_w_sum = _total(em.power_w)
    out: dict[str, Any] = {
        "mode": em.mode.name,
        "n_vms": em.n_vms,
        "n_hosts": em.n_hosts,
        "n_hosts_active": n_active,
        "n_hosts_on": int(np.count_nonzero(em.host_on)),
        "n_steps": steps,
        "step_s": em.step_s,
        "energy_kwh": power_w_sum * em.step_s * KWH_PER_WS,
        "mean_power_w": power_w_sum / steps if steps else 0.0,
    }

    cpu_keys = (
        "overloaded_host_steps",
        "overloaded_frac",
        "slatah_frac",
        "pdm_frac",
        "slav",
        "p95_cpu_util_frac",
        "peak_cpu_util_frac",
        "mean_cpu_util_frac",
        "peak_cpu_ready_frac",
        "cpu_ready_host_steps",
    )
    if em.cpu is None or n_active == 0 or steps == 0:
        out |= dict.fromkeys(cpu_keys)
        if em.cpu is not None:
            out |= {"overloaded_host_steps": 0, "slatah_frac": 0.0, "pdm_frac": 0.0}
    else:
        cpu = em.cpu
        overloaded = cpu.overloaded_steps[active]
        totals = cpu.host_totals  # the CPU pass's own per-host sums and maxima
        demand_total = float(totals[DEMAND_SUM].sum())
        unserved = float(totals[UNMET_SUM].sum())
        if em.memory is not None and len(em.memory.paging_rows):
            unserved += stalled_mhz_total(
                cpu.demand_mhz, cpu.unmet_mhz, em.memory.slowdown_frac, em.memory.paging_rows
            )
        pdm = unserved / demand_total if demand_total > 0 else 0.0
        slatah = float(np.mean(overloaded / steps))
        util = _rows(cpu.util_frac, active)
        peak_util = totals[UTIL_MAX, active].astype(np.float32)
        out |= {
            "overloaded_host_steps": int(overloaded.sum()),
            "overloaded_frac": float(overloaded.sum()) / (n_active * steps),
            "slatah_frac": slatah,
            "pdm_frac": pdm,
            "slav": slatah * pdm,
            "p95_cpu_util_frac": percentile_rows(cpu.util_frac, 95.0, active),
            "peak_cpu_util_frac": float(peak_util.max()),
            "mean_cpu_util_frac": float(totals[UTIL_SUM, active].sum()) / util.size,
        }
        out |= _ready_kpis(em, active, util, peak_util)
    if per_vm:
        share = em.vm_served_frac
        demand_any = (
            em._workload.mean["cpu_demand_mhz"].max(axis=1) > 0
            if em.cpu is not None
            else np.zeros(em.n_vms, dtype=bool)
        )
        out["pdm_vm_mean_frac"] = (
            float(np.mean(1.0 - share[demand_any])) if demand_any.any() else 0.0
        )
        out |= _vm_ready_kpis(em)

    mem = em.memory
    if mem is None:
        out |= dict.fromkeys(
            (
                "paging_mib",
                "peak_paging_mib_s",
                "mem_overcommitted_host_steps",
                "peak_balloon_mib",
                "peak_compressed_mib",
                "peak_swapped_mib",
                "peak_mem_used_frac",
                "peak_mem_slowdown_frac",
                "mem_slowdown_host_steps",
            )
        )
    else:
        balloon, compressed, swapped, paging, n_reclaimed = reclaim_peaks(
            mem.balloon_mib, mem.compressed_mib, mem.swapped_mib, mem.paging_mib_s, mem.reclaim_rows
        )
        slow = mem.slowdown_frac[mem.paging_rows] if len(mem.paging_rows) else None
        out |= {
            "paging_mib": _total(mem.paging_mib_s) * em.step_s,
            "peak_paging_mib_s": paging,
            "mem_overcommitted_host_steps": n_reclaimed,
            "peak_balloon_mib": balloon,
            "peak_compressed_mib": compressed,
            "peak_swapped_mib": swapped,
            "peak_mem_slowdown_frac": float(slow.max()) if slow is not None else 0.0,
            "mem_slowdown_host_steps": (
                int(np.count_nonzero(slow > 0.01)) if slow is not None else 0
            ),
            "peak_mem_used_frac": (
                float((_rows(mem.demand_mib, active).max(axis=1) / mem.ram_mib[active]).max())
                if n_active
                else 0.0
            ),
        }

    tiers: dict[str, Any] = {}
    for name, tier in em.tiers.items():
        p50, p95, p99 = tier.request_latencies_ms((0.50, 0.95, 0.99)) or (None, None, None)
        tiers[name] = {
            "p50_latency_ms": p50,
            "p95_latency_ms": p95,
            "p99_latency_ms": p99,
            "step_p95_latency_ms": _pct(tier.vm_latency_ms, 95),
            "peak_backlog_s": float(tier.backlog_s.max())
            if tier.backlog_s is not None and tier.backlog_s.size
            else 0.0,
            "peak_load_ratio": float(tier.load_ratio.max()) if tier.load_ratio.size else 0.0,
            "overloaded_steps": int(np.count_nonzero(tier.load_ratio >= 1.0)),
            "slo_breach_steps": tier.slo_breach_steps,
            "latency_slo_ms": tier.latency_slo_ms,
            "capacity_used_frac": tier.capacity_used_frac,
            "allocated_gib": tier.allocated_gib,
            "provisioned_gib": tier.provisioned_gib,
            "usable_gib": tier.usable_gib,
            "unserved_io": float(tier.unserved_iops.sum() * em.step_s)
            if tier.unserved_iops is not None
            else 0.0,
        }
    out["storage"] = tiers
    out["storage_unserved_io"] = float(sum(t["unserved_io"] for t in tiers.values()))
    p95s = [t["p95_latency_ms"] for t in tiers.values() if t["p95_latency_ms"] is not None]
    out["storage_p95_latency_ms"] = max(p95s) if p95s else None
    if em.path_util_frac is not None and n_active:
        peak_path = float(_rows(em.path_util_frac, active).max())
        out["peak_path_util_frac"] = peak_path
        out["peak_path_util_after_failover_frac"] = peak_path * em.path_failover_multiplier
    else:
        out["peak_path_util_frac"] = None
        out["peak_path_util_after_failover_frac"] = None

    net = em.network
    if net is None:
        out |= dict.fromkeys(
            (
                "p95_nic_load_ratio",
                "peak_nic_load_ratio",
                "p95_uplink_load_ratio",
                "peak_uplink_load_ratio",
                "max_vlans_per_host_trunk",
                "max_vlans_per_rack_trunk",
                "n_trunks_over_vlan_limit",
                "peak_vpn_mbps",
            )
        )
    else:
        nic = _rows(net.nic_load_ratio, active)
        out |= {
            "p95_nic_load_ratio": (
                percentile_rows(net.nic_load_ratio, 95.0, active) if n_active else None
            ),
            "peak_nic_load_ratio": float(nic.max()) if nic.size else None,
            "p95_uplink_load_ratio": _pct(net.uplink_load_ratio, 95),
            "peak_uplink_load_ratio": (
                float(net.uplink_load_ratio.max()) if net.uplink_load_ratio.size else None
            ),
            "max_vlans_per_host_trunk": int(net.vlans_per_host.max(initial=0)),
            "max_vlans_per_rack_trunk": int(net.vlans_per_rack.max(initial=0)),
            "n_trunks_over_vlan_limit": int(
                np.count_nonzero(net.vlans_per_host > em.n_vlans_usable)
                + np.count_nonzero(net.vlans_per_rack > em.n_vlans_usable)
            ),
            "peak_vpn_mbps": float(net.vpn_mbps.max()) if net.vpn_mbps.size else 0.0,
        }
    out |= {
        "net_latency_factor": em.mode.net_latency_factor,
        "n_incompatible_vms": em.compat.n_incompatible_vms,
        "n_unknown_os_vms": em.compat.n_unknown_os,
        "compat_problems": list(em.compat.problems),
        "missing_metrics": list(em.missing_metrics),
        "notes": list(em.notes),
    }
    return EmulationKpis.from_dict(out)


def _vm_ready_kpis(em: Replayed, n_worst: int = 5) -> dict[str, Any]:
    """Per VM CPU ready: the VMs whose host's peak ready passes the limit, and the worst."""
    peak = em.vm_cpu_ready_frac(100.0)
    p95 = em.vm_cpu_ready_frac(95.0)
    worst = np.argsort(-peak, kind="stable")[:n_worst]
    return {
        "vms_over_cpu_ready_limit": int(np.count_nonzero(peak > CPU_READY_LIMIT_FRAC)),
        "worst_cpu_ready_vms": [
            {
                "vm_id": str(em.vm_ids[v]),
                "host_id": str(em.host_ids[em._host_map.group_of_vm[v]]),
                "peak_cpu_ready_frac": float(peak[v]),
                "p95_cpu_ready_frac": float(p95[v]),
            }
            for v in worst.tolist()
            if peak[v] > 0
        ],
    }


def _ready_kpis(
    em: Replayed,
    active: npt.NDArray[np.intp],
    util: npt.NDArray[np.float32],
    peak_util: npt.NDArray[np.float32],
) -> dict[str, Any]:
    """Peak CPU ready and the host-steps above the limit, over the active hosts (``util``
    and its row maxima ``peak_util``)."""
    vcpus = em._host_map.sum_per_group(em._vcpus())[active]
    cores = em.params.n_cores[active]
    peak = ready_wall_frac(peak_util[:, None], cores, vcpus)
    threshold = ready_threshold_util(cores, vcpus, CPU_READY_LIMIT_FRAC)
    # inf where a host never passes the limit: no step of it is above.
    over = int(np.count_nonzero(util > threshold.astype(np.float32)[:, None]))
    return {"peak_cpu_ready_frac": float(peak.max()), "cpu_ready_host_steps": over}
