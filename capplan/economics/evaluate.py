"""Economics of a plan: energy, TCO and availability, and the same for today's estate.

This is the glue between the emulation and the pure functions of :mod:`power`, :mod:`cost`
and :mod:`availability`: it turns a placement (plus spare hosts for N+k), the catalog's host
models and the economics settings into per-host arrays, and compares the plan with the
unconsolidated estate (each VM's current host from the inventory, or one server per VM).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.economics import availability as av
from capplan.economics import cost, power
from capplan.economics.hostcost import host_price_usd, host_rack_units
from capplan.emulate.aggregate import HostMap, aggregate
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.catalog import Catalog, HostModel, VirtMode
from capplan.spec.economics import EconomicsSettings
from capplan.units import S_PER_HOUR

FloatArray = npt.NDArray[np.float64]

#: Replays a workload on a placement under a mode; returns the CPU utilization
#: ``(n_hosts, n_steps)`` and the emulation's findings (guests that cannot run as placed ...).
Replay = Callable[[Workload, Placement, str], tuple[npt.NDArray[np.floating], list[str]]]


@dataclass(frozen=True)
class Estate:
    """One estate (the plan, or today's servers) reduced to per-host arrays.

    Attributes
    ----------
    label
        ``plan`` or ``baseline``.
    description
        How the estate was built (said in the output).
    host_models
        Model of each host, ``(n_hosts,)``, spare hosts last.
    mode_of_host
        Virtualization mode of each host.
    host_of_vm
        Host index of each VM, ``(n_vms,)``.
    util_frac
        CPU utilization ``(n_hosts, n_steps)`` (spare hosts 0).
    active_vms
        VMs running on each host in each step ``(n_hosts, n_steps)``.
    spare
        Bool ``(n_hosts,)``: N+k reserve hosts (kept powered on).
    n_vms_migrated
        VMs that move to new hardware.
    reserve_in_plan
        Host failures the placed hosts absorb by themselves (the optimizer's N+k spare
        capacity, spread over the hosts); no spare host is added for them.
    """

    label: str
    description: str
    host_models: tuple[HostModel, ...]
    mode_of_host: tuple[VirtMode, ...]
    host_of_vm: npt.NDArray[np.int64]
    util_frac: FloatArray
    active_vms: npt.NDArray[np.float64]
    spare: npt.NDArray[np.bool_]
    n_vms_migrated: int
    reserve_in_plan: int = 0

    @property
    def n_hosts(self) -> int:
        """Hosts, spare hosts included."""
        return len(self.host_models)


@dataclass
class EstateFigures:
    """What the economics layer reports for one estate."""

    label: str
    description: str
    n_hosts: int
    n_spare_hosts: int
    power_w_mean: float
    power_w_peak: float
    host_power_w_mean: float
    storage_power_w: float
    switch_power_w: float
    energy_kwh: float
    energy_kwh_per_year: float
    facility_energy_kwh_per_year: float
    co2_kg_per_year: float
    tco_usd: float
    tco_breakdown: dict[str, float]
    tco_missing: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN categories become null)."""
        return {
            "label": self.label,
            "description": self.description,
            "n_hosts": self.n_hosts,
            "n_spare_hosts": self.n_spare_hosts,
            "power_w_mean": _round(self.power_w_mean),
            "power_w_peak": _round(self.power_w_peak),
            "host_power_w_mean": _round(self.host_power_w_mean),
            "storage_power_w": _round(self.storage_power_w),
            "switch_power_w": _round(self.switch_power_w),
            "energy_kwh": _round(self.energy_kwh),
            "energy_kwh_per_year": _round(self.energy_kwh_per_year),
            "facility_energy_kwh_per_year": _round(self.facility_energy_kwh_per_year),
            "co2_kg_per_year": _round(self.co2_kg_per_year),
            "tco_usd": _round(self.tco_usd),
            "tco_breakdown": {k: _round(v) for k, v in self.tco_breakdown.items()},
            "tco_missing": self.tco_missing,
            "notes": self.notes,
        }


def _round(value: float, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


# ------------------------------------------------------------------------------ host figures
def host_reliability(host: HostModel, settings: EconomicsSettings) -> tuple[float, float, bool]:
    """MTBF and MTTR of a host model, hours; falls back to the settings (third item True)."""
    a = settings.availability
    if math.isfinite(host.mtbf_h) and math.isfinite(host.mttr_h):
        return host.mtbf_h, host.mttr_h, False
    return a.host_mtbf_h, a.host_mttr_h, True


# ------------------------------------------------------------------------------- the estates
def active_vms_per_host(
    workload: Workload, host_of_vm: npt.NDArray[np.int64], n_hosts: int
) -> FloatArray:
    """VMs alive (observed) on each host in each step, ``(n_hosts, n_steps)``."""
    host_map = HostMap(np.asarray(host_of_vm, dtype=np.int64), n_hosts)
    return np.asarray(aggregate(workload.observed.astype(np.float32), host_map), dtype=np.float64)


def plan_estate(
    workload: Workload,
    placement: Placement,
    catalog: Catalog,
    settings: EconomicsSettings,
    mode: str,
    util_frac: npt.ArrayLike,
    plan_reserve_hosts: int | None = None,
) -> Estate:
    """The planned estate: the placement's hosts plus ``reserve_hosts`` spare hosts.

    Spare hosts are of the placement's most common host model, hold no VM, run idle and
    stay powered on (HA needs them ready). When the placement keeps its own N+k reserve
    (``plan_reserve_hosts`` = k, as ``capplan consolidate --ha k`` plans it), no host is
    added: the reserve is counted once, where the optimizer put it.
    """
    virt = catalog.mode(mode)
    models = [catalog.host(str(m)) for m in placement.host_models.tolist()]
    util = np.asarray(util_frac, dtype=np.float64)
    if util.shape != (placement.n_hosts, workload.n_steps):
        raise CapplanError(
            f"emulated utilization has shape {util.shape}; expected "
            f"({placement.n_hosts} hosts, {workload.n_steps} steps)"
        )
    k = settings.availability.reserve_hosts if not virt.one_guest_per_host else 0
    if plan_reserve_hosts is not None:
        k = 0
    if k and models:
        names, counts = np.unique(placement.host_models, return_counts=True)
        spare_model = catalog.host(str(names[int(np.argmax(counts))]))
        models += [spare_model] * k
        util = np.vstack([util, np.zeros((k, workload.n_steps))])
    active = active_vms_per_host(workload, placement.host_of_vm, placement.n_hosts)
    active = np.vstack([active, np.zeros((k, workload.n_steps))])
    spare = np.zeros(len(models), dtype=bool)
    spare[placement.n_hosts :] = True
    return Estate(
        label="plan",
        description=f"{placement.n_hosts} host(s) of the placement under mode {mode!r}"
        + (f", plus {k} spare host(s) for N+{k}" if k else "")
        + (
            f", keeping N+{plan_reserve_hosts} spare capacity within them"
            if plan_reserve_hosts
            else ""
        ),
        host_models=tuple(models),
        mode_of_host=tuple([virt] * len(models)),
        host_of_vm=placement.host_of_vm.copy(),
        util_frac=util,
        active_vms=active,
        spare=spare,
        n_vms_migrated=workload.n_vms,
        reserve_in_plan=0 if virt.one_guest_per_host else int(plan_reserve_hosts or 0),
    )


def baseline_placement(workload: Workload, host_model: str) -> tuple[Placement, str]:
    """Today's estate: each VM on its current host, or one server per VM where unknown.

    Returns
    -------
    tuple
        The placement (hosts of ``host_model``) and a sentence saying which rule was used
        for how many VMs.
    """
    current = workload.inventory.get_column("current_host").to_list()
    vm_ids = workload.vm_ids.tolist()
    names: dict[str, int] = {}
    host_of_vm = np.empty(len(vm_ids), dtype=np.int64)
    n_known = 0
    for i, (vm, host) in enumerate(zip(vm_ids, current, strict=True)):
        if host:
            n_known += 1
            key = f"current:{host}"
        else:
            key = f"own:{vm}"
        host_of_vm[i] = names.setdefault(key, len(names))
    host_ids = [key.split(":", 1)[1] for key in names]
    n_own = len(vm_ids) - n_known
    parts = []
    if n_known:
        parts.append(f"{n_known} VM(s) on their current host from the inventory")
    if n_own:
        parts.append(f"{n_own} VM(s) without a current host on one server each")
    text = "; ".join(parts) + f" (host model {host_model!r})"
    placement = Placement.from_assignment(
        vm_ids, host_of_vm, [host_model] * len(host_ids), [f"today-{h}" for h in host_ids]
    )
    return placement, text


def _bare_metal_mode(catalog: Catalog) -> VirtMode:
    for virt in catalog.modes.values():
        if virt.one_guest_per_host:
            return virt
    raise CapplanError("the catalog has no bare-metal mode (one_guest_per_host = true)")


def baseline_estate(
    workload: Workload,
    catalog: Catalog,
    settings: EconomicsSettings,
    replay: Replay,
    notes: list[str] | None = None,
) -> Estate:
    """The unconsolidated estate, replayed on the baseline host model.

    Hosts holding one VM run bare metal; hosts holding several run the settings'
    ``shared_host_mode``. Each group is replayed by the emulation under its mode.
    """
    model_name = settings.baseline.host_model
    model = catalog.host(model_name)
    shared_mode = catalog.mode(settings.baseline.shared_host_mode)
    bare = _bare_metal_mode(catalog)
    placement, text = baseline_placement(workload, model_name)
    counts = placement.vms_per_host()
    util = np.zeros((placement.n_hosts, workload.n_steps))
    modes: list[VirtMode] = [bare] * placement.n_hosts
    for virt, host_mask in ((bare, counts == 1), (shared_mode, counts > 1)):
        hosts = np.flatnonzero(host_mask)
        if hosts.size == 0:
            continue
        vm_mask = np.isin(placement.host_of_vm, hosts)
        sub = workload.select_vms(vm_mask)
        remap = np.full(placement.n_hosts, -1, dtype=np.int64)
        remap[hosts] = np.arange(hosts.size)
        sub_placement = Placement.from_assignment(
            sub.vm_ids,
            remap[placement.host_of_vm[vm_mask]],
            [model_name] * hosts.size,
            placement.host_ids[hosts].tolist(),
        )
        sub_util, findings = replay(sub, sub_placement, virt.name)
        util[hosts] = np.asarray(sub_util, dtype=np.float64)
        if notes is not None:
            notes.extend(f"today ({virt.name}): {finding}" for finding in findings)
        for h in hosts.tolist():
            modes[h] = virt
    active = active_vms_per_host(workload, placement.host_of_vm, placement.n_hosts)
    return Estate(
        label="baseline",
        description=text,
        host_models=tuple([model] * placement.n_hosts),
        mode_of_host=tuple(modes),
        host_of_vm=placement.host_of_vm,
        util_frac=util,
        active_vms=active,
        spare=np.zeros(placement.n_hosts, dtype=bool),
        n_vms_migrated=0,
    )


# ------------------------------------------------------------------------------ the figures
def _storage_gib(workload: Workload, catalog: Catalog) -> tuple[float, list[str]]:
    """Capacity the VMs occupy on the SAN's default tier, GiB (snapshots included)."""
    san = catalog.san
    used = workload.inventory_column("disk_used_gib")
    provisioned = workload.inventory_column("disk_provisioned_gib")
    primary, fallback = (used, provisioned) if san.thin_provisioning else (provisioned, used)
    gib = np.where(np.isfinite(primary), primary, fallback)
    notes: list[str] = []
    unknown = int(np.sum(~np.isfinite(gib)))
    if unknown:
        notes.append(
            f"{unknown} of {workload.n_vms} VM(s) have no disk size in the inventory; "
            "their storage is not counted"
        )
    total = float(np.nansum(gib)) * (1.0 + san.snapshot_overhead_frac)
    return total, notes


def estate_figures(
    estate: Estate,
    workload: Workload,
    catalog: Catalog,
    settings: EconomicsSettings,
) -> EstateFigures:
    """Power, energy and TCO of one estate."""
    e, f, lab = settings.energy, settings.finance, settings.labor
    notes: list[str] = []
    duration_s = float(workload.n_steps * workload.step_s)
    curves = np.array([m.power_w for m in estate.host_models], dtype=np.float64)
    powered = power.powered_hosts(estate.active_vms, e.host_power_policy)
    powered[estate.spare] = True
    if estate.reserve_in_plan:
        # The plan's own N+k spare hosts hold no VM but stand ready for HA: powered on.
        powered[estate.active_vms.sum(axis=1) == 0] = True
    host_w = power.host_power_w(
        estate.util_frac, curves, model=e.power_model, fan_r=e.fan_r, powered=powered
    )
    # SAN capacity and switches.
    gib, storage_notes = _storage_gib(workload, catalog)
    notes += storage_notes
    tier = catalog.tier(catalog.san.default_tier)
    storage_w = float(power.storage_power_w(gib, tier.watts_per_tib)) if gib > 0 else 0.0
    if not math.isfinite(storage_w):
        notes.append(f"SAN tier {tier.name!r} has no published W/TiB: storage power not counted")
        storage_w = 0.0
    fab = catalog.fabric
    n_tors = math.ceil(estate.n_hosts / fab.hosts_per_tor) if estate.n_hosts else 0
    n_ports = sum(m.nic_count for m in estate.host_models) + n_tors * fab.tor_uplinks
    switch_w = n_ports * e.switch_w_per_port
    it_w = host_w.sum(axis=0) + storage_w + switch_w
    host_kwh = float(power.energy_kwh(host_w, workload.step_s).sum())
    energy = host_kwh + (storage_w + switch_w) * duration_s / S_PER_HOUR / 1000.0
    kwh_year = float(power.per_year(energy, duration_s))
    facility = float(power.facility_kwh(kwh_year, e.pue_ratio))
    # Prices.
    prices = [host_price_usd(m) for m in estate.host_models]
    estimated = sorted(
        {m.name for m, (_, est) in zip(estate.host_models, prices, strict=True) if est}
    )
    if estimated:
        notes.append(
            "no published price for host model(s) "
            + ", ".join(estimated)
            + ": priced with the Azure Migrate cost-per-core regression"
        )
    no_ru = sorted({m.name for m in estate.host_models if not math.isfinite(m.rack_units)})
    if no_ru:
        notes.append("no rack height for host model(s) " + ", ".join(no_ru) + ": 1 U assumed")
    storage_price = gib * tier.price_usd_per_gib if gib > 0 else 0.0
    licences = _licences(estate, workload, settings)
    n_guests = int(
        sum(
            1
            for v in range(workload.n_vms)
            if not estate.mode_of_host[int(estate.host_of_vm[v])].one_guest_per_host
        )
    )
    costs = cost.EstateCosts(
        server_price_usd=float(sum(p for p, _ in prices)),
        storage_price_usd=float(storage_price),
        rack_units=float(sum(host_rack_units(m) for m in estate.host_models)),
        it_kwh_per_year=kwh_year,
        hypervisor_usd_per_year=licences["hypervisor_usd_per_year"],
        guest_os_usd_per_year=licences["guest_os_usd_per_year"],
        guest_os_perpetual_usd=licences["guest_os_perpetual_usd"],
        n_servers=estate.n_hosts,
        n_instances=n_guests,
        n_vms_migrated=estate.n_vms_migrated,
    )
    breakdown = cost.tco_breakdown(
        costs,
        horizon_years=f.horizon_years,
        server_life_years=f.server_depreciation_years,
        storage_life_years=f.storage_depreciation_years,
        network_life_years=f.network_depreciation_years,
        licence_life_years=f.licence_amortization_years,
        network_hw_frac=f.network_hw_frac,
        network_maintenance_frac_per_year=f.network_maintenance_frac_per_year,
        storage_maintenance_frac_per_year=f.storage_maintenance_frac_per_year,
        rack_usd_per_u_year=f.rack_usd_per_u_year,
        pue_ratio=e.pue_ratio,
        usd_per_kwh=e.electricity_usd_per_kwh,
        admin_hours_per_server_year=lab.hours_per_server_year,
        admin_hours_per_instance_year=lab.hours_per_instance_year,
        admin_usd_per_hour=lab.admin_usd_per_hour,
        migration_hours_per_vm=lab.migration_hours_per_vm,
    )
    total, missing = cost.total_usd(breakdown)
    if missing:
        notes.append(
            "unknown (no published price in the catalog), left out of tco_usd: "
            + ", ".join(missing)
        )
    return EstateFigures(
        label=estate.label,
        description=estate.description,
        n_hosts=estate.n_hosts,
        n_spare_hosts=int(estate.spare.sum()),
        power_w_mean=float(it_w.mean()) if it_w.size else 0.0,
        power_w_peak=float(it_w.max()) if it_w.size else 0.0,
        host_power_w_mean=float(host_w.sum(axis=0).mean()) if host_w.size else 0.0,
        storage_power_w=storage_w,
        switch_power_w=float(switch_w),
        energy_kwh=energy,
        energy_kwh_per_year=kwh_year,
        facility_energy_kwh_per_year=facility,
        co2_kg_per_year=float(power.co2_kg(facility, e.grid_co2_kg_per_kwh)),
        tco_usd=total,
        tco_breakdown=breakdown,
        tco_missing=missing,
        notes=notes,
    )


def _licences(estate: Estate, workload: Workload, settings: EconomicsSettings) -> dict[str, float]:
    """Hypervisor and guest OS licence totals of an estate (per year and perpetual)."""
    n = estate.n_hosts
    sockets = np.array([m.sockets for m in estate.host_models], dtype=np.float64)
    cores = np.array([m.cores_per_socket for m in estate.host_models], dtype=np.float64)
    hyper = np.zeros(n)
    for name in {m.name for m in estate.mode_of_host}:
        hosts = np.array([m.name == name for m in estate.mode_of_host])
        hyp = settings.hypervisor_licence(name)
        hyper[hosts] = cost.hypervisor_usd_per_year(
            sockets[hosts],
            cores[hosts],
            metric=hyp.metric,
            usd_per_unit_year=hyp.usd_per_unit_year,
            min_cores_per_socket=hyp.min_cores_per_socket,
        )
    families = [f if f else "other" for f in workload.inventory.get_column("os_family").to_list()]
    shared_kernel = np.array([m.same_os_kernel for m in estate.mode_of_host])
    yearly = 0.0
    perpetual = 0.0
    for family in sorted(set(families)):
        lic = settings.guest_licence(family)
        if lic.model == "none":
            continue
        mask = np.array([f == family for f in families])
        per_host = np.bincount(estate.host_of_vm[mask], minlength=n).astype(np.float64)
        # Containers share the host's OS: one licence per host that runs any of them.
        per_host = np.where(shared_kernel, np.minimum(per_host, 1.0), per_host)
        if lic.model == "per-instance":
            yearly += float(
                cost.per_instance_usd_per_year(per_host, lic.usd_per_instance_year).sum()
            )
        else:
            perpetual += float(
                cost.windows_core_usd(
                    sockets,
                    cores,
                    per_host,
                    standard_usd_per_16_cores=lic.standard_usd_per_16_cores,
                    datacenter_usd_per_16_cores=lic.datacenter_usd_per_16_cores,
                    standard_instances=lic.standard_instances,
                    min_cores_per_server=lic.min_cores_per_server,
                    min_cores_per_socket=lic.min_cores_per_socket,
                ).sum()
            )
    return {
        "hypervisor_usd_per_year": float(hyper.sum()),
        "guest_os_usd_per_year": yearly,
        "guest_os_perpetual_usd": perpetual,
    }


# --------------------------------------------------------------------------- availability
def availability_inputs(
    estate: Estate, workload: Workload, catalog: Catalog, settings: EconomicsSettings
) -> tuple[av.AvailabilityInputs, list[str], list[str]]:
    """Availability model inputs of the plan, service names and notes."""
    a = settings.availability
    virt = estate.mode_of_host[0]
    notes: list[str] = []
    rel = [host_reliability(m, settings) for m in estate.host_models]
    fallback = sorted({m.name for m, r in zip(estate.host_models, rel, strict=True) if r[2]})
    if fallback:
        notes.append(
            "no published MTBF/MTTR for host model(s) "
            + ", ".join(fallback)
            + f": using {a.host_mtbf_h:g} h / {a.host_mttr_h:g} h from the economics settings"
        )
    groups = workload.inventory.get_column("ha_group").to_list()
    service_of_vm, names = av.service_index(groups, workload.vm_ids.tolist())
    san = catalog.san
    ha = a.ha_enabled and not virt.one_guest_per_host
    inputs = av.AvailabilityInputs(
        host_of_vm=estate.host_of_vm,
        mtbf_h=np.array([r[0] for r in rel]),
        mttr_h=np.array([r[1] for r in rel]),
        service_of_vm=service_of_vm,
        ha=ha,
        restart_h=a.ha_restart_s / S_PER_HOUR,
        reserve_hosts=int(estate.spare.sum()) + estate.reserve_in_plan,
        live_migration=virt.live_migration,
        maintenance_windows_per_year=a.maintenance_windows_per_year,
        maintenance_window_h=a.maintenance_window_h,
        appliance=san.appliance,
        appliance_mirrored=san.appliance_mirrored,
        appliance_mtbf_h=a.appliance_mtbf_h,
        appliance_mttr_h=a.appliance_mttr_h,
        n_paths=san.multipath_paths,
        path_mtbf_h=a.path_mtbf_h,
        path_mttr_h=a.path_mttr_h,
    )
    if san.appliance == "in-band" and not san.appliance_mirrored:
        notes.append("the in-band storage appliance is not mirrored: a single point of failure")
    return inputs, names, notes


def baseline_availability(
    estate: Estate, workload: Workload, settings: EconomicsSettings
) -> FloatArray:
    """Closed-form unavailability of each VM today (own disks, no spare capacity).

    Today's servers are modelled without SAN paths or appliance and with no reserve: a VM
    is down while its server is down (MTTR per failure) and, without live migration,
    during its server's maintenance windows.
    """
    a = settings.availability
    rel = [host_reliability(m, settings) for m in estate.host_models]
    u = np.zeros(workload.n_vms)
    for live in (False, True):
        hosts = np.array([m.live_migration == live for m in estate.mode_of_host])
        vms = hosts[estate.host_of_vm]
        if not vms.any():
            continue
        inputs = av.AvailabilityInputs(
            host_of_vm=estate.host_of_vm,
            mtbf_h=np.array([r[0] for r in rel]),
            mttr_h=np.array([r[1] for r in rel]),
            service_of_vm=np.arange(workload.n_vms, dtype=np.int64),
            ha=False,
            restart_h=a.ha_restart_s / S_PER_HOUR,
            reserve_hosts=0,
            live_migration=live,
            maintenance_windows_per_year=a.maintenance_windows_per_year,
            maintenance_window_h=a.maintenance_window_h,
            appliance="none",
            appliance_mirrored=False,
            appliance_mtbf_h=a.appliance_mtbf_h,
            appliance_mttr_h=a.appliance_mttr_h,
            n_paths=0,
            path_mtbf_h=a.path_mtbf_h,
            path_mttr_h=a.path_mttr_h,
        )
        u[vms] = av.closed_form(inputs).vm_unavailability_frac[vms]
    return u


# --------------------------------------------------------------------------------- report
def _summary(u: FloatArray) -> dict[str, float | None]:
    a = 1.0 - np.asarray(u, dtype=np.float64)
    if a.size == 0:
        return {
            "availability_frac_min": None,
            "availability_frac_mean": None,
            "nines_min": None,
            "downtime_min_per_year_max": None,
            "downtime_min_per_year_mean": None,
        }
    return {
        "availability_frac_min": _round(float(a.min()), 9),
        "availability_frac_mean": _round(float(a.mean()), 9),
        "nines_min": _round(float(av.nines(a.min())), 3),
        "downtime_min_per_year_max": _round(float(av.downtime_min_per_year(a.min())), 3),
        "downtime_min_per_year_mean": _round(float(av.downtime_min_per_year(a).mean()), 3),
    }


def _rows(names: list[str], u: FloatArray, mc: FloatArray, se: FloatArray) -> list[dict[str, Any]]:
    a = 1.0 - u
    return [
        {
            "id": name,
            "availability_frac": _round(float(a[i]), 9),
            "nines": _round(float(av.nines(a[i])), 3),
            "downtime_min_per_year": _round(float(av.downtime_min_per_year(a[i])), 3),
            "mc_availability_frac": _round(float(1.0 - mc[i]), 9),
            "mc_stderr_frac": _round(float(se[i]), 9),
        }
        for i, name in enumerate(names)
    ]


def _agreement(prefix: str, closed: FloatArray, mc: FloatArray, se: FloatArray) -> dict[str, Any]:
    """How the Monte Carlo and the closed form agree, in standard errors.

    Entities the simulation never saw down (standard error 0, typically services spread over
    several hosts whose joint outage is rarer than the simulated time resolves) cannot be
    checked; they are counted, not compared.
    """
    checked = se > 0
    z = np.abs(mc[checked] - closed[checked]) / se[checked]
    return {
        f"{prefix}_checked": int(checked.sum()),
        f"{prefix}_never_down_in_simulation": int((~checked).sum()),
        f"{prefix}_max_abs_z": _round(float(z.max()), 3) if z.size else None,
        f"{prefix}_within_3_stderr_frac": _round(float(np.mean(z <= 3.0)), 4) if z.size else None,
    }


def economics_report(
    workload: Workload,
    placement: Placement,
    catalog: Catalog,
    settings: EconomicsSettings,
    mode: str,
    replay: Replay,
    *,
    mc_runs: int | None = None,
    detail: bool = False,
    worst: int = 10,
    plan_reserve_hosts: int | None = None,
) -> dict[str, Any]:
    """Energy, TCO (plan and baseline) and availability of a placement, JSON-ready.

    Parameters
    ----------
    workload, placement, catalog, settings
        The scenario; the placement must list every VM of the workload.
    mode
        Virtualization mode of the plan.
    replay
        The emulation: ``replay(workload, placement, mode)`` → CPU utilization
        ``(n_hosts, n_steps)`` and its findings (reported in ``notes``).
    mc_runs
        Monte Carlo replicates (default: the settings').
    detail
        Include every VM and service (otherwise the ``worst`` of each).
    plan_reserve_hosts
        k when the placement keeps its own N+k reserve (an optimizer plan): no spare host is
        added and availability takes k from the plan. None: the settings' ``reserve_hosts``
        spare hosts are added (a placement made elsewhere).
    """
    placement = placement.aligned_to(workload.vm_ids)
    catalog.mode(mode)
    util, findings = replay(workload, placement, mode)
    plan = plan_estate(workload, placement, catalog, settings, mode, util, plan_reserve_hosts)
    plan_fig = estate_figures(plan, workload, catalog, settings)
    base_notes: list[str] = []
    base = baseline_estate(workload, catalog, settings, replay, base_notes)
    base_fig = estate_figures(base, workload, catalog, settings)
    base_fig.notes = base_notes + base_fig.notes
    inputs, service_names, av_notes = availability_inputs(plan, workload, catalog, settings)
    closed = av.closed_form(inputs)
    a = settings.availability
    runs = a.mc_runs if mc_runs is None else mc_runs
    mc = av.monte_carlo(inputs, n_runs=runs, years_per_run=a.mc_years, seed=a.mc_seed)
    base_u = baseline_availability(base, workload, settings)
    vm_rows = _rows(
        workload.vm_ids.tolist(),
        closed.vm_unavailability_frac,
        mc.vm_unavailability_frac,
        mc.vm_stderr,
    )
    service_rows = _rows(
        service_names,
        closed.service_unavailability_frac,
        mc.service_unavailability_frac,
        mc.service_stderr,
    )
    if not detail:
        vm_rows = [vm_rows[i] for i in np.argsort(-closed.vm_unavailability_frac)[:worst]]
        service_rows = [
            service_rows[i] for i in np.argsort(-closed.service_unavailability_frac)[:worst]
        ]
    savings = base_fig.tco_usd - plan_fig.tco_usd
    summary = _summary(closed.vm_unavailability_frac)
    report: dict[str, Any] = {
        "mode": mode,
        "n_vms": workload.n_vms,
        "n_hosts": plan.n_hosts,
        "n_spare_hosts": int(plan.spare.sum()),
        "trace_days": _round(workload.n_steps * workload.step_s / 86_400.0, 4),
        "power_w_mean": _round(plan_fig.power_w_mean),
        "power_w_peak": _round(plan_fig.power_w_peak),
        "host_power_w_mean": _round(plan_fig.host_power_w_mean),
        "energy_kwh": _round(plan_fig.energy_kwh),
        "energy_kwh_per_year": _round(plan_fig.energy_kwh_per_year),
        "facility_energy_kwh_per_year": _round(plan_fig.facility_energy_kwh_per_year),
        "co2_kg_per_year": _round(plan_fig.co2_kg_per_year),
        "horizon_years": settings.finance.horizon_years,
        "tco_usd": _round(plan_fig.tco_usd),
        "tco_breakdown": {k: _round(v) for k, v in plan_fig.tco_breakdown.items()},
        "tco_missing": plan_fig.tco_missing,
        **summary,
        "baseline": {
            **base_fig.to_dict(),
            **{f"{k}": v for k, v in _summary(base_u).items()},
        },
        "comparison": {
            "baseline_rule": base.description,
            "tco_savings_usd": _round(savings),
            "tco_savings_frac": _round(savings / base_fig.tco_usd, 6) if base_fig.tco_usd else None,
            "energy_savings_kwh_per_year": _round(
                base_fig.energy_kwh_per_year - plan_fig.energy_kwh_per_year
            ),
            "hosts_before": base.n_hosts,
            "hosts_after": plan.n_hosts,
            "tco_breakdown_delta": {
                k: _round(base_fig.tco_breakdown[k] - plan_fig.tco_breakdown[k])
                for k in cost.CATEGORIES
            },
        },
        "availability": {
            "ha": inputs.ha,
            "ha_restart_s": settings.availability.ha_restart_s,
            "reserve_hosts": inputs.reserve_hosts,
            "live_migration": inputs.live_migration,
            "storage": {
                "appliance": inputs.appliance,
                "mirrored": inputs.appliance_mirrored,
                "paths": inputs.n_paths,
                "appliance_unavailability_frac": _round(closed.appliance_frac, 12),
            },
            "maintenance_unavailability_frac": _round(closed.maintenance_frac, 12),
            "services": _summary(closed.service_unavailability_frac),
            "n_services": inputs.n_services,
            "monte_carlo": {
                "runs": mc.n_runs,
                "years_per_run": mc.years_per_run,
                "seed": mc.seed,
                **_agreement(
                    "vm", closed.vm_unavailability_frac, mc.vm_unavailability_frac, mc.vm_stderr
                ),
                "vm_mean_z": _round(
                    float(
                        (mc.vm_unavailability_frac.mean() - closed.vm_unavailability_frac.mean())
                        / mc.vm_mean_stderr
                    ),
                    3,
                )
                if mc.vm_mean_stderr > 0
                else None,
                **_agreement(
                    "service",
                    closed.service_unavailability_frac,
                    mc.service_unavailability_frac,
                    mc.service_stderr,
                ),
            },
            "per_vm": vm_rows,
            "per_service": service_rows,
            "per_vm_complete": detail,
        },
        "notes": [f"emulation: {f}" for f in findings] + plan_fig.notes + av_notes,
        "sources": dict(settings.sources),
        "settings": settings.path,
    }
    return report
