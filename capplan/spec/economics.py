"""Economics settings: energy, prices, labour, licences and availability assumptions.

The bundled defaults live in ``models/economics/economics.toml`` (a sub-folder, so the hardware
catalog loader does not read it). Every figure there is written as an inline table
``{ value = X, source = "key" }`` whose key names an entry of the file's ``[sources]`` table;
a user file may give plain values (their source is then recorded as the user's file) and may
start with ``extends = "bundled"`` to override only some keys.

Layout of a settings file::

    [energy]       pue_ratio, grid_co2_kg_per_kwh, electricity_usd_per_kwh, power_model,
                   fan_r, host_power_policy, switch_w_per_port
    [finance]      horizon_years, *_depreciation_years, licence_amortization_years,
                   network_hw_frac, network_maintenance_frac_per_year,
                   storage_maintenance_frac_per_year, rack_usd_per_u_year,
                   discount_rate_frac
    [labor]        model (per-vm|per-host|user), wage_usd_per_hour, overhead_ratio,
                   fte_hours_per_year, physical_servers_per_admin, instances_per_admin,
                   migration_hours_per_vm; model = "user" reads user_hours_per_vm_year
                   and user_hours_per_host_year
    [availability] ha_enabled, ha_detection_s, vm_boot_s_linux, vm_boot_s_windows,
                   vm_boot_s_other, reserve_hosts, host_mtbf_h, host_mttr_h,
                   maintenance_windows_per_year, maintenance_window_h (host windows),
                   guest_patches_per_year, guest_patch_h (guest OS reboots),
                   rack_mtbf_h, rack_mttr_h, pdu_mtbf_h, pdu_mttr_h, hosts_per_pdu,
                   array_mtbf_h, array_mttr_h, site_mtbf_h, site_mttr_h,
                   appliance_mtbf_h, appliance_mttr_h, path_mtbf_h, path_mttr_h,
                   mc_runs, mc_years, mc_seed
    [baseline]     host_model, shared_host_mode, vms_per_server
    [licences.hypervisor.MODE]   metric (none|core|socket), usd_per_unit_year,
                                 min_cores_per_socket
    [licences.guest_os.FAMILY]   model (none|per-instance|windows-core) and its prices

The loaded settings are frozen; :func:`load_economics` reports every problem at once in one
:class:`capplan.errors.SpecError`, each with ``file:dotted.path``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from capplan.errors import CapplanError, SpecError
from capplan.resources import bundled_dir
from capplan.spec.fields import MISSING, TableFields

POWER_MODELS: Final = ("curve", "linear", "fan")
HOST_POWER_POLICIES: Final = ("always-on", "off-when-empty")
HYPERVISOR_METRICS: Final = ("none", "core", "socket")
GUEST_OS_MODELS: Final = ("none", "per-instance", "windows-core")
LABOR_MODELS: Final = ("per-vm", "per-host", "user")
SECTIONS: Final = ("energy", "finance", "labor", "availability", "baseline", "licences")
TOP_LEVEL_KEYS: Final = (*SECTIONS, "sources", "extends")
SETTINGS_FILE: Final = "economics.toml"


def bundled_economics_path() -> Path:
    """Return the bundled ``models/economics/economics.toml``.

    Raises
    ------
    CapplanError
        If the file is not next to the package (a non-editable install without models).
    """
    path = bundled_dir("models") / "economics" / SETTINGS_FILE
    if not path.is_file():
        raise CapplanError(
            "the bundled economics settings were not found; pass --settings FILE", path=path
        )
    return path


# ----------------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class EnergySettings:
    """Power and energy assumptions.

    Attributes
    ----------
    pue_ratio
        Power usage effectiveness: facility power / IT power (≥ 1); covers cooling and
        power distribution.
    grid_co2_kg_per_kwh
        CO2 emitted per kWh drawn from the grid.
    electricity_usd_per_kwh
        Price of one kWh.
    power_model
        ``curve`` (the host's 11-point table, interpolated), ``linear`` (idle to max) or
        ``fan`` (Fan, Weber, Barroso ISCA 2007: ``P_idle + (P_max − P_idle)(2u − u^r)``).
    fan_r
        Exponent ``r`` of the Fan et al. model.
    host_power_policy
        ``always-on``, or ``off-when-empty``: a host with no active VM in a step draws 0 W.
    switch_w_per_port
        Switch power per used port, W.
    """

    pue_ratio: float
    grid_co2_kg_per_kwh: float
    electricity_usd_per_kwh: float
    power_model: str
    fan_r: float
    host_power_policy: str
    switch_w_per_port: float


@dataclass(frozen=True)
class FinanceSettings:
    """Planning horizon, depreciation and price assumptions.

    Attributes
    ----------
    horizon_years
        Planning horizon of the TCO.
    server_depreciation_years, storage_depreciation_years, network_depreciation_years
        Straight-line depreciable lives: over the horizon, hardware costs
        ``price × horizon / life``.
    licence_amortization_years
        Life over which perpetual licences are amortized.
    network_hw_frac
        Network hardware and software as a share of server + storage hardware cost.
    network_maintenance_frac_per_year, storage_maintenance_frac_per_year
        Yearly maintenance as a share of the network / storage hardware cost.
    rack_usd_per_u_year
        Rack space per rack unit and year.
    discount_rate_frac
        Yearly discount rate of the net present value (Azure Migrate's WACC).
    """

    horizon_years: float
    server_depreciation_years: float
    storage_depreciation_years: float
    network_depreciation_years: float
    licence_amortization_years: float
    network_hw_frac: float
    network_maintenance_frac_per_year: float
    storage_maintenance_frac_per_year: float
    rack_usd_per_u_year: float
    discount_rate_frac: float = 0.07


@dataclass(frozen=True)
class LaborSettings:
    """Administration and migration effort, the same model on both sides (today and plan).

    Attributes
    ----------
    model
        ``per-vm`` (Azure Migrate: administrators = workloads / workloads per admin; a
        workload is a VM, a container or a bare-metal server's OS), ``per-host``
        (administrators = physical servers / servers per admin) or ``user`` (the user's
        hours per workload and per server and year, both charged).
    wage_usd_per_hour
        Mean hourly wage of a systems administrator.
    overhead_ratio
        Employer cost of an hour worked / wage (benefits, payroll taxes): the loaded rate
        is ``wage × overhead``.
    fte_hours_per_year
        Paid hours of one full-time administrator per year.
    physical_servers_per_admin
        Physical servers one administrator looks after (``per-host``).
    instances_per_admin
        Workloads (guest instances) one administrator looks after (``per-vm``).
    migration_hours_per_vm
        One-off effort to move one VM onto its new host.
    user_hours_per_vm_year, user_hours_per_host_year
        ``user`` model: the user's own figures.
    """

    wage_usd_per_hour: float
    fte_hours_per_year: float
    physical_servers_per_admin: float
    instances_per_admin: float
    migration_hours_per_vm: float
    model: str = "per-vm"
    overhead_ratio: float = 1.0
    user_hours_per_vm_year: float = 0.0
    user_hours_per_host_year: float = 0.0

    @property
    def admin_usd_per_hour(self) -> float:
        """Loaded cost of one administrator hour: ``wage × overhead``."""
        return self.wage_usd_per_hour * self.overhead_ratio

    @property
    def hours_per_server_year(self) -> float:
        """Administration hours charged per physical server and year under the model."""
        if self.model == "per-host":
            return self.fte_hours_per_year / self.physical_servers_per_admin
        if self.model == "user":
            return self.user_hours_per_host_year
        return 0.0

    @property
    def hours_per_instance_year(self) -> float:
        """Administration hours charged per workload (VM, container, bare-metal OS) and year."""
        if self.model == "per-vm":
            return self.fte_hours_per_year / self.instances_per_admin
        if self.model == "user":
            return self.user_hours_per_vm_year
        return 0.0


@dataclass(frozen=True)
class AvailabilitySettings:
    """Failure, repair, HA and maintenance assumptions (host MTBF/MTTR come from the catalog).

    Attributes
    ----------
    ha_enabled
        Whether VMs of a failed host are restarted elsewhere (not possible on bare metal).
    ha_detection_s
        Time until a failed host is declared failed.
    vm_boot_s_linux, vm_boot_s_windows, vm_boot_s_other
        Time for a restarted guest to be back in service, by the inventory's OS family
        (``other`` also covers legacy guests and VMs of unknown OS).
    reserve_hosts
        ``k`` of N+k: spare hosts added to a placement made elsewhere; up to ``k`` hosts may
        be down at once and their VMs still restart.
    host_mtbf_h, host_mttr_h
        Server failure figures used where the catalog's host model has none.
    maintenance_windows_per_year, maintenance_window_h
        Planned maintenance of each *host* (hypervisor, firmware); without live migration
        each window is downtime for the host's VMs (windows of different hosts do not
        overlap). On bare metal the host's OS is the guest's: its windows coincide with the
        guest patches and are charged once.
    guest_patches_per_year, guest_patch_h
        Guest OS patch reboots of every workload, on both sides (live migration moves a VM,
        it does not patch its OS). A service's VMs are patched one at a time.
    rack_mtbf_h, rack_mttr_h
        A rack (its top-of-rack switch and power strip): all its hosts disappear at once.
    pdu_mtbf_h, pdu_mttr_h, hosts_per_pdu
        A power distribution unit feeding ``hosts_per_pdu`` hosts (whole racks).
    array_mtbf_h, array_mttr_h
        The shared storage array (plan only; today's servers use local disks, whose
        failures are part of the server's).
    site_mtbf_h, site_mttr_h
        The site's infrastructure (utility power, UPS and generators, cooling): every host of
        the estate, today's and the plan's alike, disappears at once.
    appliance_mtbf_h, appliance_mttr_h
        Storage virtualization appliance (one node).
    path_mtbf_h, path_mttr_h
        One host-to-storage path (HBA, cable, switch port); ``inf`` MTBF ignores paths.
    mc_runs, mc_years, mc_seed
        Monte Carlo: replicates, simulated years per replicate, random seed.
    """

    ha_enabled: bool
    ha_detection_s: float
    reserve_hosts: int
    host_mtbf_h: float
    host_mttr_h: float
    maintenance_windows_per_year: float
    maintenance_window_h: float
    appliance_mtbf_h: float
    appliance_mttr_h: float
    path_mtbf_h: float
    path_mttr_h: float
    mc_runs: int
    mc_years: float
    mc_seed: int
    vm_boot_s_linux: float = 44.2
    vm_boot_s_windows: float = 429.0
    vm_boot_s_other: float = 429.0
    guest_patches_per_year: float = 0.0
    guest_patch_h: float = 0.0
    rack_mtbf_h: float = float("inf")
    rack_mttr_h: float = 1.0
    pdu_mtbf_h: float = float("inf")
    pdu_mttr_h: float = 1.0
    hosts_per_pdu: int = 1_000_000
    array_mtbf_h: float = float("inf")
    array_mttr_h: float = 1.0
    site_mtbf_h: float = float("inf")
    site_mttr_h: float = 1.0

    def boot_s(self, os_family: str | None) -> float:
        """Boot time of a restarted guest of ``os_family``, s."""
        if os_family == "linux":
            return self.vm_boot_s_linux
        if os_family == "windows":
            return self.vm_boot_s_windows
        return self.vm_boot_s_other

    def restart_s(self, os_family: str | None) -> float:
        """Time from a host failure until a VM runs again elsewhere: detection + boot, s."""
        return self.ha_detection_s + self.boot_s(os_family)

    @property
    def ha_restart_s(self) -> float:
        """Restart time of a Linux guest (the shortest), s."""
        return self.restart_s("linux")


@dataclass(frozen=True)
class BaselineSettings:
    """The unconsolidated estate the plan is compared against, where the inventory is silent.

    Attributes
    ----------
    host_model
        Catalog host model of today's servers (VMs with a current host in the inventory run
        on those hosts, of this model).
    shared_host_mode
        Catalog mode of today's hosts that hold several VMs (hosts holding one VM are
        counted as bare metal).
    vms_per_server
        VMs without a current host in the inventory are packed this many to a server, in
        inventory order (1: one physical server each).
    """

    host_model: str
    shared_host_mode: str
    vms_per_server: int = 1


@dataclass(frozen=True)
class HypervisorLicence:
    """Licence of the virtualization layer on each host.

    Attributes
    ----------
    metric
        ``none``, ``core`` (per physical core) or ``socket`` (per CPU socket).
    usd_per_unit_year
        Subscription price per core or socket and year.
    min_cores_per_socket
        Per-core licensing: at least this many cores are counted per socket.
    """

    metric: str
    usd_per_unit_year: float = 0.0
    min_cores_per_socket: int = 0


@dataclass(frozen=True)
class GuestOsLicence:
    """Licence of a guest operating system family.

    Attributes
    ----------
    model
        ``none``; ``per-instance`` (a yearly subscription per VM, or per server on bare
        metal); ``windows-core`` (Microsoft core licensing: every physical core of the host
        licensed, with minimums; Standard covers ``standard_instances`` guests per full
        licensing of the host, Datacenter unlimited; the cheaper is chosen per host).
    usd_per_instance_year
        ``per-instance`` price.
    standard_usd_per_16_cores, datacenter_usd_per_16_cores
        ``windows-core`` perpetual prices of 16 core licences (amortized).
    standard_instances
        Guests one full Standard licensing of a host covers.
    min_cores_per_server, min_cores_per_socket
        ``windows-core`` minimum cores counted.
    """

    model: str
    usd_per_instance_year: float = 0.0
    standard_usd_per_16_cores: float = 0.0
    datacenter_usd_per_16_cores: float = 0.0
    standard_instances: int = 2
    min_cores_per_server: int = 16
    min_cores_per_socket: int = 8


@dataclass(frozen=True)
class EconomicsSettings:
    """Everything the economics layer assumes beyond the hardware catalog.

    Attributes
    ----------
    energy, finance, labor, availability, baseline
        The sections.
    hypervisor
        Virtualization mode name → hypervisor licence.
    guest_os
        OS family (``linux``, ``windows``, ``legacy``, ``other``) → guest OS licence.
    sources
        Dotted setting name → the full reference its value comes from.
    path
        Where the settings were loaded from.
    """

    energy: EnergySettings
    finance: FinanceSettings
    labor: LaborSettings
    availability: AvailabilitySettings
    baseline: BaselineSettings
    hypervisor: Mapping[str, HypervisorLicence]
    guest_os: Mapping[str, GuestOsLicence]
    sources: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    def hypervisor_licence(self, mode: str) -> HypervisorLicence:
        """Return the hypervisor licence of ``mode``; an unknown mode lists the valid ones."""
        if mode not in self.hypervisor:
            raise CapplanError(
                f"no hypervisor licence for mode {mode!r} in the economics settings; "
                f"valid: {', '.join(sorted(self.hypervisor))}",
                spec_path=f"licences.hypervisor.{mode}",
            )
        return self.hypervisor[mode]

    def guest_licence(self, family: str) -> GuestOsLicence:
        """Return the guest OS licence of ``family`` (unknown families use ``other``)."""
        return self.guest_os.get(family, self.guest_os["other"])

    def source_of(self, dotted: str) -> str:
        """The reference behind one setting (``energy.pue_ratio``), or ``""``."""
        return self.sources.get(dotted, "")


# ----------------------------------------------------------------------------------- reading


class _Reader(TableFields):
    """Reads one TOML table of settings, unwrapping ``{value, source}`` and noting problems."""

    def __init__(
        self,
        table: Any,
        where: str,
        dotted: str,
        ctx: _Context,
    ) -> None:
        super().__init__(table, where, ctx.problems)
        self.dotted = dotted
        self.ctx = ctx

    def _get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is MISSING:
                self.ctx.problems.append((self._path(key), "is required"))
            return default
        raw = self.table[key]
        origin = self.ctx.origin_of(f"{self.dotted}.{key}")
        if isinstance(raw, Mapping) and "value" in raw:
            extra = sorted(set(raw) - {"value", "source"})
            if extra:
                self.ctx.problems.append(
                    (self._path(key), f"unknown key(s) {extra}; expected value and source")
                )
            self._record_source(key, raw.get("source"), origin)
            return raw["value"]
        if isinstance(raw, Mapping):
            self.ctx.problems.append((self._path(key), "expected a value or { value, source }"))
            return default if default is not MISSING else None
        if origin == "bundled":
            self.ctx.problems.append(
                (self._path(key), "a bundled default must cite its source: { value, source }")
            )
        self.ctx.sources[f"{self.dotted}.{key}"] = f"user setting ({origin})"
        return raw

    def _record_source(self, key: str, source: Any, origin: str) -> None:
        dotted = f"{self.dotted}.{key}"
        if source is None:
            if origin == "bundled":
                self.ctx.problems.append((self._path(key), "a bundled default must cite a source"))
            self.ctx.sources[dotted] = f"user setting ({origin})"
            return
        keys = [source] if isinstance(source, str) else source
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            self.ctx.problems.append(
                (f"{self._path(key)}.source", f"expected a source key or a list, got {source!r}")
            )
            return
        unknown = [k for k in keys if k not in self.ctx.references]
        if unknown:
            self.ctx.problems.append(
                (
                    f"{self._path(key)}.source",
                    f"unknown source key(s) {', '.join(map(repr, unknown))}; "
                    "add them to the [sources] table",
                )
            )
        self.ctx.sources[dotted] = " | ".join(self.ctx.references.get(k, str(k)) for k in keys)


@dataclass
class _Context:
    problems: list[tuple[str, str]]
    references: dict[str, str]
    sources: dict[str, str]
    origins: dict[str, str]
    default_origin: str

    def origin_of(self, dotted: str) -> str:
        return self.origins.get(dotted, self.default_origin)


def _energy(r: _Reader) -> EnergySettings:
    out = EnergySettings(
        pue_ratio=r.num("pue_ratio", lo=1.0, hi=5.0),
        grid_co2_kg_per_kwh=r.num("grid_co2_kg_per_kwh", lo=0.0, hi=5.0),
        electricity_usd_per_kwh=r.num("electricity_usd_per_kwh", lo=0.0, hi=10.0),
        power_model=r.text("power_model", choices=POWER_MODELS),
        fan_r=r.num("fan_r", lo=1.0, hi=10.0),
        host_power_policy=r.text("host_power_policy", choices=HOST_POWER_POLICIES),
        switch_w_per_port=r.num("switch_w_per_port", lo=0.0, hi=1000.0),
    )
    r.finish()
    return out


def _finance(r: _Reader) -> FinanceSettings:
    out = FinanceSettings(
        horizon_years=r.num("horizon_years", lo=0.0, lo_open=True, hi=50.0),
        server_depreciation_years=r.num("server_depreciation_years", lo=0.0, lo_open=True),
        storage_depreciation_years=r.num("storage_depreciation_years", lo=0.0, lo_open=True),
        network_depreciation_years=r.num("network_depreciation_years", lo=0.0, lo_open=True),
        licence_amortization_years=r.num("licence_amortization_years", lo=0.0, lo_open=True),
        network_hw_frac=r.num("network_hw_frac", lo=0.0, hi=10.0),
        network_maintenance_frac_per_year=r.num(
            "network_maintenance_frac_per_year", lo=0.0, hi=1.0
        ),
        storage_maintenance_frac_per_year=r.num(
            "storage_maintenance_frac_per_year", lo=0.0, hi=1.0
        ),
        rack_usd_per_u_year=r.num("rack_usd_per_u_year", lo=0.0),
        discount_rate_frac=r.num("discount_rate_frac", lo=0.0, hi=1.0),
    )
    r.finish()
    return out


def _labor(r: _Reader) -> LaborSettings:
    model = r.text("model", choices=LABOR_MODELS)
    if model == "user":
        for key in ("user_hours_per_vm_year", "user_hours_per_host_year"):
            if key not in r.table:
                r.ctx.problems.append((r._path(key), "is required for model 'user'"))
    out = LaborSettings(
        model=model,
        wage_usd_per_hour=r.num("wage_usd_per_hour", lo=0.0),
        overhead_ratio=r.num("overhead_ratio", lo=1.0, hi=5.0),
        fte_hours_per_year=r.num("fte_hours_per_year", lo=0.0, lo_open=True, hi=8784.0),
        physical_servers_per_admin=r.num("physical_servers_per_admin", lo=0.0, lo_open=True),
        instances_per_admin=r.num("instances_per_admin", lo=0.0, lo_open=True),
        migration_hours_per_vm=r.num("migration_hours_per_vm", lo=0.0),
        user_hours_per_vm_year=r.num("user_hours_per_vm_year", lo=0.0, hi=8784.0, default=0.0),
        user_hours_per_host_year=r.num("user_hours_per_host_year", lo=0.0, hi=8784.0, default=0.0),
    )
    r.finish()
    return out


def _availability(r: _Reader) -> AvailabilitySettings:
    out = AvailabilitySettings(
        ha_enabled=r.flag("ha_enabled"),
        ha_detection_s=r.num("ha_detection_s", lo=0.0),
        vm_boot_s_linux=r.num("vm_boot_s_linux", lo=0.0),
        vm_boot_s_windows=r.num("vm_boot_s_windows", lo=0.0),
        vm_boot_s_other=r.num("vm_boot_s_other", lo=0.0),
        reserve_hosts=r.integer("reserve_hosts", lo=0, hi=10_000),
        host_mtbf_h=r.num("host_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        host_mttr_h=r.num("host_mttr_h", lo=0.0, lo_open=True),
        maintenance_windows_per_year=r.num("maintenance_windows_per_year", lo=0.0, hi=8760.0),
        maintenance_window_h=r.num("maintenance_window_h", lo=0.0, hi=8760.0),
        appliance_mtbf_h=r.num("appliance_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        appliance_mttr_h=r.num("appliance_mttr_h", lo=0.0, lo_open=True),
        path_mtbf_h=r.num("path_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        path_mttr_h=r.num("path_mttr_h", lo=0.0, lo_open=True),
        guest_patches_per_year=r.num("guest_patches_per_year", lo=0.0, hi=8760.0),
        guest_patch_h=r.num("guest_patch_h", lo=0.0, hi=8760.0),
        rack_mtbf_h=r.num("rack_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        rack_mttr_h=r.num("rack_mttr_h", lo=0.0, lo_open=True),
        pdu_mtbf_h=r.num("pdu_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        pdu_mttr_h=r.num("pdu_mttr_h", lo=0.0, lo_open=True),
        hosts_per_pdu=r.integer("hosts_per_pdu", lo=1, hi=10_000_000),
        array_mtbf_h=r.num("array_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        array_mttr_h=r.num("array_mttr_h", lo=0.0, lo_open=True),
        site_mtbf_h=r.num("site_mtbf_h", lo=0.0, lo_open=True, allow_inf=True),
        site_mttr_h=r.num("site_mttr_h", lo=0.0, lo_open=True),
        mc_runs=r.integer("mc_runs", lo=2, hi=1_000_000),
        mc_years=r.num("mc_years", lo=0.0, lo_open=True, hi=100_000.0),
        mc_seed=r.integer("mc_seed", lo=0),
    )
    if out.maintenance_windows_per_year * out.maintenance_window_h > 8760.0:
        r.ctx.problems.append(
            (r.where, "maintenance_windows_per_year × maintenance_window_h exceeds a year")
        )
    r.finish()
    return out


def _baseline(r: _Reader) -> BaselineSettings:
    out = BaselineSettings(
        host_model=r.text("host_model"),
        shared_host_mode=r.text("shared_host_mode"),
        vms_per_server=r.integer("vms_per_server", lo=1, hi=100_000),
    )
    r.finish()
    return out


def _hypervisor(r: _Reader) -> HypervisorLicence:
    metric = r.text("metric", choices=HYPERVISOR_METRICS)
    price = r.num("usd_per_unit_year", lo=0.0, default=0.0)
    min_cores = r.integer("min_cores_per_socket", lo=0, hi=1024, default=0)
    if metric in ("core", "socket") and "usd_per_unit_year" not in r.table:
        r.ctx.problems.append((r._path("usd_per_unit_year"), f"is required for metric {metric!r}"))
    r.finish()
    return HypervisorLicence(metric, price, min_cores)


def _guest_os(r: _Reader) -> GuestOsLicence:
    model = r.text("model", choices=GUEST_OS_MODELS)
    needed = {
        "per-instance": ("usd_per_instance_year",),
        "windows-core": ("standard_usd_per_16_cores", "datacenter_usd_per_16_cores"),
    }.get(model, ())
    for key in needed:
        if key not in r.table:
            r.ctx.problems.append((r._path(key), f"is required for model {model!r}"))
    out = GuestOsLicence(
        model=model,
        usd_per_instance_year=r.num("usd_per_instance_year", lo=0.0, default=0.0),
        standard_usd_per_16_cores=r.num("standard_usd_per_16_cores", lo=0.0, default=0.0),
        datacenter_usd_per_16_cores=r.num("datacenter_usd_per_16_cores", lo=0.0, default=0.0),
        standard_instances=r.integer("standard_instances", lo=1, hi=1024, default=2),
        min_cores_per_server=r.integer("min_cores_per_server", lo=0, hi=4096, default=16),
        min_cores_per_socket=r.integer("min_cores_per_socket", lo=0, hi=1024, default=8),
    )
    r.finish()
    return out


def _read_doc(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SpecError([("", "no such economics settings file")], path=path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([("", f"not valid TOML: {exc}")], path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([("", f"cannot be read: {exc}")], path=path) from None


def _flatten_origins(doc: Mapping[str, Any], origin: str, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in doc.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and "value" not in value:
            out.update(_flatten_origins(value, origin, dotted))
        else:
            out[dotted] = origin
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``; ``{value, source}`` tables are leaves."""
    out = dict(base)
    for key, value in over.items():
        if (
            isinstance(value, Mapping)
            and "value" not in value
            and isinstance(out.get(key), Mapping)
            and "value" not in out[key]
        ):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def parse_economics(
    doc: Mapping[str, Any], *, label: str = "settings", origins: Mapping[str, str] | None = None
) -> EconomicsSettings:
    """Validate a parsed settings document.

    Parameters
    ----------
    doc
        The TOML document (after any merge with the bundled defaults).
    label
        File name used in problem locations.
    origins
        Dotted key → ``"bundled"`` or a file name; bundled values must cite a source.

    Raises
    ------
    SpecError
        With every problem found.
    """
    problems: list[tuple[str, str]] = []
    references: dict[str, str] = {}
    raw_refs = doc.get("sources", {})
    if not isinstance(raw_refs, Mapping):
        problems.append((f"{label}:sources", "expected a table of key = reference"))
        raw_refs = {}
    for key, text in raw_refs.items():
        if not isinstance(text, str) or not text.strip():
            problems.append((f"{label}:sources.{key}", "expected the full reference as a string"))
        else:
            references[key] = text.strip()
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                (f"{label}:{key}", f"unknown table; expected one of {', '.join(TOP_LEVEL_KEYS)}")
            )
    ctx = _Context(problems, references, {}, dict(origins or {}), label)

    def reader(section: str) -> _Reader:
        if section not in doc:
            problems.append((f"{label}:{section}", "missing table"))
        return _Reader(doc.get(section, {}), f"{label}:{section}", section, ctx)

    energy = _energy(reader("energy"))
    finance = _finance(reader("finance"))
    labor = _labor(reader("labor"))
    availability = _availability(reader("availability"))
    baseline = _baseline(reader("baseline"))
    licences = doc.get("licences", {})
    if not isinstance(licences, Mapping):
        problems.append((f"{label}:licences", "expected a table"))
        licences = {}
    for key in licences:
        if key not in ("hypervisor", "guest_os"):
            problems.append(
                (f"{label}:licences.{key}", "unknown table; expected hypervisor or guest_os")
            )
    hypervisor: dict[str, HypervisorLicence] = {}
    for mode, table in _named(licences, "hypervisor", label, problems).items():
        hypervisor[mode] = _hypervisor(
            _Reader(
                table, f"{label}:licences.hypervisor.{mode}", f"licences.hypervisor.{mode}", ctx
            )
        )
    guest: dict[str, GuestOsLicence] = {}
    for family, table in _named(licences, "guest_os", label, problems).items():
        guest[family] = _guest_os(
            _Reader(
                table, f"{label}:licences.guest_os.{family}", f"licences.guest_os.{family}", ctx
            )
        )
    if "other" not in guest:
        problems.append(
            (f"{label}:licences.guest_os.other", "is required (used for VMs of unknown OS)")
        )
    if problems:
        raise SpecError(problems)
    return EconomicsSettings(
        energy=energy,
        finance=finance,
        labor=labor,
        availability=availability,
        baseline=baseline,
        hypervisor=hypervisor,
        guest_os=guest,
        sources=ctx.sources,
        path=label,
    )


def _named(
    licences: Mapping[str, Any], key: str, label: str, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    table = licences.get(key)
    if table is None:
        problems.append((f"{label}:licences.{key}", "missing table"))
        return {}
    if not isinstance(table, Mapping) or not table:
        problems.append((f"{label}:licences.{key}", "expected at least one named entry"))
        return {}
    return dict(table)


def load_economics(path: Path | None = None) -> EconomicsSettings:
    """Load and validate economics settings.

    Parameters
    ----------
    path
        A settings TOML file; ``None`` loads the bundled defaults. A file starting with
        ``extends = "bundled"`` overrides only the keys it gives.

    Returns
    -------
    EconomicsSettings
        Frozen settings with the reference behind every value.

    Raises
    ------
    SpecError
        With every problem found, each as ``file:dotted.path`` and what was expected.
    """
    bundled = bundled_economics_path()
    target = bundled if path is None else Path(path)
    doc = _read_doc(target)
    is_bundled = target.resolve() == bundled.resolve()
    origins = _flatten_origins(doc, "bundled" if is_bundled else target.name)
    extends = doc.pop("extends", None)
    if extends is not None:
        if extends != "bundled":
            raise SpecError([(f"{target.name}:extends", f"expected 'bundled', got {extends!r}")])
        base = _read_doc(bundled)
        base.pop("extends", None)
        base_origins = _flatten_origins(base, "bundled")
        sources = {**base.get("sources", {}), **doc.get("sources", {})}
        doc = _merge(base, doc)
        doc["sources"] = sources
        origins = {**base_origins, **origins}
    try:
        settings = parse_economics(doc, label=target.name, origins=origins)
    except SpecError as exc:
        raise SpecError(exc.problems, path=target) from None
    return EconomicsSettings(
        energy=settings.energy,
        finance=settings.finance,
        labor=settings.labor,
        availability=settings.availability,
        baseline=settings.baseline,
        hypervisor=settings.hypervisor,
        guest_os=settings.guest_os,
        sources=settings.sources,
        path=str(target),
    )
