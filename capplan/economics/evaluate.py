"""Economics of a plan: energy, TCO and availability, and the same for today's estate.

This is the glue between the emulation and the pure functions of :mod:`power`, :mod:`cost`
and :mod:`availability`: it turns a placement (plus spare hosts for N+k), the catalog's host
models and the economics settings into per-host arrays, and compares the plan with the
unconsolidated estate (each VM's current host from the inventory, or one server per VM).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.demand.workload import Workload
from capplan.economics import availability as av
from capplan.economics import cost, power
from capplan.economics.hostcost import cpu_price_floor_binds, host_price_usd, host_rack_units
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
            "power_w_mean": _finite(self.power_w_mean),
            "power_w_peak": _finite(self.power_w_peak),
            "host_power_w_mean": _finite(self.host_power_w_mean),
            "storage_power_w": _finite(self.storage_power_w),
            "switch_power_w": _finite(self.switch_power_w),
            "energy_kwh": _finite(self.energy_kwh),
            "energy_kwh_per_year": _finite(self.energy_kwh_per_year),
            "facility_energy_kwh_per_year": _finite(self.facility_energy_kwh_per_year),
            "co2_kg_per_year": _finite(self.co2_kg_per_year),
            "tco_usd": _finite(self.tco_usd),
            "tco_breakdown": {k: _finite(v) for k, v in self.tco_breakdown.items()},
            "tco_missing": self.tco_missing,
            "notes": self.notes,
        }


def _finite(value: float | None) -> float | None:
    """The value at full precision, or None when it is missing or not finite (JSON has no
    NaN). Rounding is the presentation's job (the CLI, the report, the dashboard)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


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


def baseline_placement(
    workload: Workload, host_model: str, vms_per_server: int = 1
) -> tuple[Placement, str]:
    """Today's estate: each VM on its current host, the rest ``vms_per_server`` to a server.

    Returns
    -------
    tuple
        The placement (hosts of ``host_model``) and a sentence saying which rule was used
        for how many VMs (the assumption, where one was needed, is named as such).
    """
    current = workload.inventory.get_column("current_host").to_list()
    vm_ids = workload.vm_ids.tolist()
    names: dict[str, int] = {}
    host_of_vm = np.empty(len(vm_ids), dtype=np.int64)
    n_known = 0
    n_own = 0
    per = max(1, int(vms_per_server))
    for i, (_vm, host) in enumerate(zip(vm_ids, current, strict=True)):
        if host:
            n_known += 1
            key = f"current:{host}"
        else:
            key = f"assumed:{n_own // per}"
            n_own += 1
        host_of_vm[i] = names.setdefault(key, len(names))
    host_ids = [key.replace(":", "-", 1) for key in names]
    parts = []
    if n_known:
        n_current = len({k for k in names if k.startswith("current:")})
        parts.append(f"{n_known} VM(s) on their {n_current} current host(s) from the inventory")
    if n_own:
        parts.append(
            f"ASSUMED for {n_own} VM(s) without a current host: {per} VM(s) per server "
            "(set baseline.vms_per_server)"
        )
    text = "; ".join(parts) + f"; server model {host_model!r} (set baseline.host_model)"
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
    placement, text = baseline_placement(workload, model_name, settings.baseline.vms_per_server)
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
    *,
    server_price_factor: float = 1.0,
    licence_price_factor: float = 1.0,
) -> EstateFigures:
    """Power, energy and TCO of one estate.

    ``server_price_factor`` and ``licence_price_factor`` scale every server price and every
    licence price (the sensitivity analysis moves them; 1 is the catalog and settings).
    """
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
    prices = [host_price_usd(m, server_price_factor) for m in estate.host_models]
    estimated = sorted(
        {m.name for m, (_, est) in zip(estate.host_models, prices, strict=True) if est}
    )
    if estimated:
        floor = [name for name in estimated if cpu_price_floor_binds(catalog.hosts[name])]
        notes.append(
            "no published price for host model(s) "
            + ", ".join(estimated)
            + ": priced with the Azure Migrate cost-per-core regression"
            + (
                f" ({', '.join(floor)}: raised to the CPUs' list price, a floor: memory, "
                "board and drives unpriced)"
                if floor
                else ""
            )
        )
    no_ru = sorted({m.name for m in estate.host_models if not math.isfinite(m.rack_units)})
    if no_ru:
        notes.append("no rack height for host model(s) " + ", ".join(no_ru) + ": 1 U assumed")
    storage_price = gib * tier.price_usd_per_gib if gib > 0 else 0.0
    licences = _licences(estate, workload, settings)
    costs = cost.EstateCosts(
        server_price_usd=float(sum(p for p, _ in prices)),
        storage_price_usd=float(storage_price),
        rack_units=float(sum(host_rack_units(m) for m in estate.host_models)),
        it_kwh_per_year=kwh_year,
        hypervisor_usd_per_year=licences["hypervisor_usd_per_year"] * licence_price_factor,
        guest_os_usd_per_year=licences["guest_os_usd_per_year"] * licence_price_factor,
        guest_os_perpetual_usd=licences["guest_os_perpetual_usd"] * licence_price_factor,
        n_servers=estate.n_hosts,
        n_instances=workload.n_vms,
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
def failure_domains(
    n_hosts: int, catalog: Catalog, settings: EconomicsSettings, *, shared_array: bool
) -> tuple[av.Domain, ...]:
    """Racks (one ToR and power strip each), PDUs, the shared array and the site of an estate.

    Hosts fill racks of the fabric's ``hosts_per_tor`` in order; a PDU feeds whole racks
    (``hosts_per_pdu`` rounded down to whole racks, at least one); the array, when the
    estate uses one, is one group holding every host; so is the site (power, cooling), on
    both sides of the comparison.
    """
    a = settings.availability
    per_rack = max(1, int(catalog.fabric.hosts_per_tor))
    rack = av.racks_of_hosts(n_hosts, per_rack)
    racks_per_pdu = max(1, int(a.hosts_per_pdu) // per_rack)
    domains = [
        av.Domain("rack", rack, a.rack_mtbf_h, a.rack_mttr_h),
        av.Domain("pdu", rack // racks_per_pdu, a.pdu_mtbf_h, a.pdu_mttr_h),
    ]
    if shared_array:
        domains.append(
            av.Domain("array", np.zeros(n_hosts, dtype=np.int64), a.array_mtbf_h, a.array_mttr_h)
        )
    domains.append(
        av.Domain("site", np.zeros(n_hosts, dtype=np.int64), a.site_mtbf_h, a.site_mttr_h)
    )
    return tuple(d for d in domains if np.isfinite(d.mtbf_h))


def vm_restart_h(workload: Workload, settings: EconomicsSettings) -> FloatArray:
    """HA restart time of each VM by its OS family (detection + boot), hours ``(n_vms,)``."""
    a = settings.availability
    families = workload.inventory.get_column("os_family").to_list()
    return np.array([a.restart_s(f) for f in families], dtype=np.float64) / S_PER_HOUR


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
    shared_array = not virt.one_guest_per_host
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
        vm_restart_h=vm_restart_h(workload, settings),
        domains=failure_domains(estate.n_hosts, catalog, settings, shared_array=shared_array),
        guest_patches_per_year=a.guest_patches_per_year,
        guest_patch_h=a.guest_patch_h,
        bare_metal=virt.one_guest_per_host,
        zone_of_host=host_zones(workload, estate.host_of_vm, estate.n_hosts),
    )
    if san.appliance == "in-band" and not san.appliance_mirrored:
        notes.append("the in-band storage appliance is not mirrored: a single point of failure")
    return inputs, names, notes


def host_zones(
    workload: Workload, host_of_vm: npt.NDArray[np.int64], n_hosts: int
) -> npt.NDArray[np.int64]:
    """Security zone of each host (its VMs' zone, the most common one if they mix); a host
    without VMs (a spare) forms a zone of its own: its failure takes no zone's reserve."""
    vm_zone, names = workload.security_zones()
    counts = np.zeros((n_hosts, max(len(names), 1)), dtype=np.int64)
    np.add.at(counts, (host_of_vm, vm_zone), 1)
    zones = counts.argmax(axis=1)
    empty = counts.sum(axis=1) == 0
    zones[empty] = len(names) + np.arange(int(empty.sum()))
    return zones.astype(np.int64)


def baseline_availability(
    estate: Estate, workload: Workload, settings: EconomicsSettings, catalog: Catalog
) -> FloatArray:
    """Closed-form unavailability of each VM today (own disks, no spare capacity).

    Today's servers have no SAN paths, appliance or array (their local disks fail with the
    server) and no reserve: a VM is down while its server, rack or PDU is down, during its
    guest OS patch reboots and, on shared hosts without live migration, during its host's
    maintenance windows. Bare-metal servers' host windows are their OS patches (charged
    once).
    """
    a = settings.availability
    rel = [host_reliability(m, settings) for m in estate.host_models]
    u = np.zeros(workload.n_vms)
    domains = failure_domains(estate.n_hosts, catalog, settings, shared_array=False)
    for bare in (True, False):
        for live in (False, True):
            hosts = np.array(
                [
                    m.live_migration == live and m.one_guest_per_host == bare
                    for m in estate.mode_of_host
                ]
            )
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
                domains=domains,
                guest_patches_per_year=a.guest_patches_per_year,
                guest_patch_h=a.guest_patch_h,
                bare_metal=bare,
            )
            u[vms] = av.closed_form(inputs).vm_unavailability_frac[vms]
    return u


# ---------------------------------------------------------------------------- sensitivity
@dataclass(frozen=True)
class Factor:
    """One assumption the sensitivity analysis moves, with its stated range.

    Attributes
    ----------
    key, label
        Identifier and what is moved.
    low, high
        The two ends, as shown (a value or a name).
    basis
        Why this range.
    """

    key: str
    label: str
    low: str
    high: str
    basis: str


def _with(settings: EconomicsSettings, section: str, **changes: Any) -> EconomicsSettings:
    return dataclasses.replace(
        settings, **{section: dataclasses.replace(getattr(settings, section), **changes)}
    )


#: The growth row's high end: demand 20 % higher each year (a stress range, like the
#: electricity row's; 0 is the estate as it is).
GROWTH_HIGH_FRAC_PER_YEAR = 0.2


def sensitivity_cases(
    settings: EconomicsSettings,
) -> list[tuple[Factor, list[tuple[Any, ...]]]]:
    """The assumptions moved and, per end, ``(settings, server price ×, licence price ×)``
    and, for the growth row, the yearly growth of both estates' recurring costs.

    Ranges (stated in the output): labour model per VM vs per host; administrator wage
    from the BLS 10th to the 90th percentile (USD 25.18–63.71 per hour, May 2019, same
    table as the mean); server prices ×0.75–×1.5 (the regression under-prices current
    high-core servers by about a third, issue 17); electricity ×0.5–×2; PUE 1.2–2.0;
    licence prices ×0.5–×2; horizon 3–7 years; discount rate 0–12 %; demand growth
    0–20 % a year.
    """
    lab, e, f = settings.labor, settings.energy, settings.finance
    other_model = "per-host" if lab.model != "per-host" else "per-vm"
    return [
        (
            Factor(
                "labor_model",
                "labour model",
                lab.model,
                other_model,
                "Azure Migrate charges per VM; IDC's ratios also per physical server",
            ),
            [(settings, 1.0, 1.0), (_with(settings, "labor", model=other_model), 1.0, 1.0)],
        ),
        (
            Factor(
                "labor_rate",
                "administrator wage (USD/h)",
                "25.18",
                "63.71",
                "BLS OES May 2019, 15-1244: 10th and 90th percentile hourly wage",
            ),
            [
                (_with(settings, "labor", wage_usd_per_hour=25.18), 1.0, 1.0),
                (_with(settings, "labor", wage_usd_per_hour=63.71), 1.0, 1.0),
            ],
        ),
        (
            Factor(
                "server_prices",
                "server prices",
                "x0.75",
                "x1.5",
                "regression vs list prices of current servers (issue 17: -32 %)",
            ),
            [(settings, 0.75, 1.0), (settings, 1.5, 1.0)],
        ),
        (
            Factor(
                "energy_price",
                "electricity price",
                f"{e.electricity_usd_per_kwh * 0.5:.4f}",
                f"{e.electricity_usd_per_kwh * 2:.4f}",
                "stress range x0.5 - x2",
            ),
            [
                (
                    _with(
                        settings, "energy", electricity_usd_per_kwh=e.electricity_usd_per_kwh * 0.5
                    ),
                    1.0,
                    1.0,
                ),
                (
                    _with(
                        settings, "energy", electricity_usd_per_kwh=e.electricity_usd_per_kwh * 2
                    ),
                    1.0,
                    1.0,
                ),
            ],
        ),
        (
            Factor(
                "pue", "PUE", "1.2", "2.0", "efficient to legacy facilities around Uptime's 1.58"
            ),
            [
                (_with(settings, "energy", pue_ratio=1.2), 1.0, 1.0),
                (_with(settings, "energy", pue_ratio=2.0), 1.0, 1.0),
            ],
        ),
        (
            Factor("licences", "licence prices", "x0.5", "x2", "discounts to list-price increases"),
            [(settings, 1.0, 0.5), (settings, 1.0, 2.0)],
        ),
        (
            Factor("horizon", "horizon (years)", "3", "7", "short to long planning horizons"),
            [
                (_with(settings, "finance", horizon_years=3.0), 1.0, 1.0),
                (_with(settings, "finance", horizon_years=7.0), 1.0, 1.0),
            ],
        ),
        (
            Factor(
                "discount_rate",
                "discount rate (NPV)",
                "0",
                "0.12",
                f"around Azure Migrate's WACC {f.discount_rate_frac:g}",
            ),
            [
                (_with(settings, "finance", discount_rate_frac=0.0), 1.0, 1.0),
                (_with(settings, "finance", discount_rate_frac=0.12), 1.0, 1.0),
            ],
        ),
        (
            Factor(
                "growth",
                "demand growth (a year)",
                "0",
                f"{GROWTH_HIGH_FRAC_PER_YEAR:g}",
                "both estates' recurring costs grow with the demand, year by year",
            ),
            [(settings, 1.0, 1.0, 0.0), (settings, 1.0, 1.0, GROWTH_HIGH_FRAC_PER_YEAR)],
        ),
    ]


def _saving(
    plan: Estate,
    base: Estate,
    workload: Workload,
    catalog: Catalog,
    settings: EconomicsSettings,
    server_factor: float,
    licence_factor: float,
    growth_frac_per_year: float = 0.0,
) -> tuple[float, float]:
    """TCO saving and NPV saving (baseline − plan) under one set of assumptions, USD.

    With growth, both estates' recurring costs grow by ``growth_frac_per_year`` a year (the
    plan buys hosts and today's estate servers as the demand grows): a first-order model
    that keeps each estate's cost per unit of demand.
    """
    kw = {"server_price_factor": server_factor, "licence_price_factor": licence_factor}
    p = estate_figures(plan, workload, catalog, settings, **kw)
    b = estate_figures(base, workload, catalog, settings, **kw)
    f = settings.finance
    h, r, g = f.horizon_years, f.discount_rate_frac, growth_frac_per_year
    tco_p = cost.npv_usd(p.tco_breakdown, h, 0.0, g) if g else p.tco_usd
    tco_b = cost.npv_usd(b.tco_breakdown, h, 0.0, g) if g else b.tco_usd
    npv_p = cost.npv_usd(p.tco_breakdown, h, r, g)
    npv_b = cost.npv_usd(b.tco_breakdown, h, r, g)
    return tco_b - tco_p, npv_b - npv_p


def sensitivity(
    plan: Estate, base: Estate, workload: Workload, catalog: Catalog, settings: EconomicsSettings
) -> dict[str, Any]:
    """Tornado data: the saving (TCO and NPV) at each end of each assumption's range.

    Returns
    -------
    dict
        ``base`` savings, ``rows`` (largest NPV swing first) and ``flips``: the factors at
        one end of whose range the plan no longer saves money (NPV saving ≤ 0).
    """
    base_tco, base_npv = _saving(plan, base, workload, catalog, settings, 1.0, 1.0)
    rows = []
    for factor, ends in sensitivity_cases(settings):
        values = [_saving(plan, base, workload, catalog, *end) for end in ends]
        (tco_lo, npv_lo), (tco_hi, npv_hi) = values
        rows.append(
            {
                "key": factor.key,
                "label": factor.label,
                "low": factor.low,
                "high": factor.high,
                "basis": factor.basis,
                "tco_savings_usd_low": _finite(tco_lo),
                "tco_savings_usd_high": _finite(tco_hi),
                "npv_savings_usd_low": _finite(npv_lo),
                "npv_savings_usd_high": _finite(npv_hi),
                "swing_usd": _finite(abs(npv_hi - npv_lo)),
                "flips": bool((base_npv > 0) != (min(npv_lo, npv_hi) > 0))
                or bool((base_npv > 0) != (max(npv_lo, npv_hi) > 0)),
            }
        )
    rows.sort(key=lambda r: -float(r["swing_usd"] or 0.0))
    return {
        "tco_savings_usd": _finite(base_tco),
        "npv_savings_usd": _finite(base_npv),
        "rows": rows,
        "flips": [r["label"] for r in rows if r["flips"]],
    }


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
        "availability_frac_min": _finite(float(a.min())),
        "availability_frac_mean": _finite(float(a.mean())),
        "nines_min": _finite(float(av.nines(a.min()))),
        "downtime_min_per_year_max": _finite(float(av.downtime_min_per_year(a.min()))),
        "downtime_min_per_year_mean": _finite(float(av.downtime_min_per_year(a).mean())),
    }


def _ci95(u_mean: float, stderr: float) -> dict[str, float | None]:
    """95 % interval of a Monte Carlo mean unavailability, as availability and min/year (the
    report shows this interval, not six significant digits of a point estimate)."""
    lo_u = max(0.0, u_mean - 1.96 * stderr)
    hi_u = u_mean + 1.96 * stderr
    return {
        "availability_frac_low": _finite(1.0 - hi_u),
        "availability_frac_high": _finite(1.0 - lo_u),
        "downtime_min_per_year_low": _finite(lo_u * 525_600.0),
        "downtime_min_per_year_high": _finite(hi_u * 525_600.0),
    }


def _rows(names: list[str], u: FloatArray, mc: FloatArray, se: FloatArray) -> list[dict[str, Any]]:
    a = 1.0 - u
    return [
        {
            "id": name,
            "availability_frac": _finite(float(a[i])),
            "nines": _finite(float(av.nines(a[i]))),
            "downtime_min_per_year": _finite(float(av.downtime_min_per_year(a[i]))),
            "mc_availability_frac": _finite(float(1.0 - mc[i])),
            "mc_stderr_frac": _finite(float(se[i])),
            "mc_ci95": _ci95(float(mc[i]), float(se[i])),
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
        f"{prefix}_max_abs_z": _finite(float(z.max())) if z.size else None,
        f"{prefix}_within_3_stderr_frac": _finite(float(np.mean(z <= 3.0))) if z.size else None,
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
    base_u = baseline_availability(base, workload, settings, catalog)
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
    fin = settings.finance
    npv_plan = cost.npv_usd(plan_fig.tco_breakdown, fin.horizon_years, fin.discount_rate_frac)
    npv_base = cost.npv_usd(base_fig.tco_breakdown, fin.horizon_years, fin.discount_rate_frac)
    summary = _summary(closed.vm_unavailability_frac)
    lab, av_s = settings.labor, settings.availability
    assumptions = {
        "baseline": base.description,
        "baseline_assumed": "ASSUMED" in base.description,
        "labor": (
            f"labour model {lab.model!r}: "
            + (
                f"{lab.fte_hours_per_year:g} h / {lab.instances_per_admin:g} workloads per admin"
                if lab.model == "per-vm"
                else f"{lab.fte_hours_per_year:g} h / {lab.physical_servers_per_admin:g} "
                "servers per admin"
                if lab.model == "per-host"
                else f"{lab.user_hours_per_vm_year:g} h per workload + "
                f"{lab.user_hours_per_host_year:g} h per server and year"
            )
            + f", loaded rate USD {lab.admin_usd_per_hour:.2f}/h = wage "
            f"{lab.wage_usd_per_hour:g} x overhead {lab.overhead_ratio:g}; same on both sides"
        ),
        "availability": (
            f"guest OS patch reboots {av_s.guest_patches_per_year:g} x "
            f"{av_s.guest_patch_h:g} h/year on both sides; host windows "
            f"{av_s.maintenance_windows_per_year:g} x {av_s.maintenance_window_h:g} h only "
            "without live migration; HA restart = detection "
            f"{av_s.ha_detection_s:g} s + boot (Linux {av_s.vm_boot_s_linux:g} s, Windows "
            f"{av_s.vm_boot_s_windows:g} s, other {av_s.vm_boot_s_other:g} s); failure domains: "
            + ", ".join(d.name for d in inputs.domains)
            + f" ({catalog.fabric.hosts_per_tor} hosts per rack); today's servers: the same "
            "domains but the array (local disks)"
        ),
        "npv": f"discount rate {fin.discount_rate_frac:g}/year, cash flows Years 0 to "
        f"{math.ceil(fin.horizon_years) - 1} (migration in Year 0)",
    }
    report: dict[str, Any] = {
        "mode": mode,
        "n_vms": workload.n_vms,
        "n_hosts": plan.n_hosts,
        "n_spare_hosts": int(plan.spare.sum()),
        "trace_days": _finite(workload.n_steps * workload.step_s / 86_400.0),
        "power_w_mean": _finite(plan_fig.power_w_mean),
        "power_w_peak": _finite(plan_fig.power_w_peak),
        "host_power_w_mean": _finite(plan_fig.host_power_w_mean),
        "energy_kwh": _finite(plan_fig.energy_kwh),
        "energy_kwh_per_year": _finite(plan_fig.energy_kwh_per_year),
        "facility_energy_kwh_per_year": _finite(plan_fig.facility_energy_kwh_per_year),
        "co2_kg_per_year": _finite(plan_fig.co2_kg_per_year),
        "horizon_years": settings.finance.horizon_years,
        "tco_usd": _finite(plan_fig.tco_usd),
        "tco_breakdown": {k: _finite(v) for k, v in plan_fig.tco_breakdown.items()},
        "tco_missing": plan_fig.tco_missing,
        **summary,
        "baseline": {
            **base_fig.to_dict(),
            **{f"{k}": v for k, v in _summary(base_u).items()},
        },
        "comparison": {
            "baseline_rule": base.description,
            "tco_savings_usd": _finite(savings),
            "tco_savings_frac": _finite(savings / base_fig.tco_usd) if base_fig.tco_usd else None,
            "npv_usd_today": _finite(npv_base),
            "npv_usd_plan": _finite(npv_plan),
            "npv_savings_usd": _finite(npv_base - npv_plan),
            "discount_rate_frac": fin.discount_rate_frac,
            "assumptions": assumptions,
            "sensitivity": sensitivity(plan, base, workload, catalog, settings),
            "energy_savings_kwh_per_year": _finite(
                base_fig.energy_kwh_per_year - plan_fig.energy_kwh_per_year
            ),
            "hosts_before": base.n_hosts,
            "hosts_after": plan.n_hosts,
            "tco_breakdown_delta": {
                k: _finite(base_fig.tco_breakdown[k] - plan_fig.tco_breakdown[k])
                for k in cost.CATEGORIES
            },
        },
        "availability": {
            "ha": inputs.ha,
            "ha_restart_s": settings.availability.ha_restart_s,
            "ha_restart_s_by_os": {
                fam: settings.availability.restart_s(fam) for fam in ("linux", "windows", "other")
            },
            "domains": [
                {
                    "name": d.name,
                    "groups": d.n_groups,
                    "mtbf_h": d.mtbf_h,
                    "mttr_h": d.mttr_h,
                }
                for d in inputs.domains
            ],
            "vm_mean_ci95": _ci95(float(mc.vm_unavailability_frac.mean()), mc.vm_mean_stderr),
            "reserve_hosts": inputs.reserve_hosts,
            "live_migration": inputs.live_migration,
            "storage": {
                "appliance": inputs.appliance,
                "mirrored": inputs.appliance_mirrored,
                "paths": inputs.n_paths,
                "appliance_unavailability_frac": _finite(closed.appliance_frac),
            },
            "maintenance_unavailability_frac": _finite(closed.maintenance_frac),
            "services": _summary(closed.service_unavailability_frac),
            "n_services": inputs.n_services,
            "monte_carlo": {
                "runs": mc.n_runs,
                "years_per_run": mc.years_per_run,
                "seed": mc.seed,
                "estimator": (
                    "conditional: each host failure weighed by the run's measured share of "
                    "time without reserve"
                    if mc.conditional
                    else "plain: blocked restarts counted at the failure instants drawn"
                ),
                **_agreement(
                    "vm", closed.vm_unavailability_frac, mc.vm_unavailability_frac, mc.vm_stderr
                ),
                "vm_mean_z": _finite(
                    float(
                        (mc.vm_unavailability_frac.mean() - closed.vm_unavailability_frac.mean())
                        / mc.vm_mean_stderr
                    )
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
