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

Each section is one frozen dataclass whose field annotations carry the rules (range, choices,
strict types); a file's tables are checked by pydantic models made from them
(:func:`capplan.spec.tables.file_model`; ``capplan validate --economics-schema`` prints the
JSON Schema). :func:`load_economics` reports every problem at once in one
:class:`capplan.errors.SpecError`, each with ``file:dotted.path``, in the style of every spec
file (:mod:`capplan.spec.problems`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import BaseModel, Field, create_model

from capplan.errors import CapplanError, SpecError
from capplan.resources import bundled_dir
from capplan.spec.tables import (
    SPEC_CONFIG,
    Flag,
    Hours,
    Int,
    Num,
    Text,
    build,
    file_model,
    one_of,
    validated,
)

POWER_MODELS: Final = ("curve", "linear", "fan")
HOST_POWER_POLICIES: Final = ("always-on", "off-when-empty")
HYPERVISOR_METRICS: Final = ("none", "core", "socket")
GUEST_OS_MODELS: Final = ("none", "per-instance", "windows-core")
LABOR_MODELS: Final = ("per-vm", "per-host", "user")
SECTIONS: Final = ("energy", "finance", "labor", "availability", "baseline", "licences")
TOP_LEVEL_KEYS: Final = (*SECTIONS, "sources", "extends")
SETTINGS_FILE: Final = "economics.toml"
#: Hours in a year, and in a leap year (the most an administrator can work in one).
HOURS_PER_YEAR: Final = 8760.0
HOURS_PER_LEAP_YEAR: Final = 8784.0

T = TypeVar("T")


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

    pue_ratio: Annotated[Num, Field(ge=1.0, le=5.0)]
    grid_co2_kg_per_kwh: Annotated[Num, Field(ge=0.0, le=5.0)]
    electricity_usd_per_kwh: Annotated[Num, Field(ge=0.0, le=10.0)]
    power_model: Annotated[Text, one_of(*POWER_MODELS)]
    fan_r: Annotated[Num, Field(ge=1.0, le=10.0)]
    host_power_policy: Annotated[Text, one_of(*HOST_POWER_POLICIES)]
    switch_w_per_port: Annotated[Num, Field(ge=0.0, le=1000.0)]


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

    horizon_years: Annotated[Num, Field(gt=0.0, le=50.0)]
    server_depreciation_years: Annotated[Num, Field(gt=0.0)]
    storage_depreciation_years: Annotated[Num, Field(gt=0.0)]
    network_depreciation_years: Annotated[Num, Field(gt=0.0)]
    licence_amortization_years: Annotated[Num, Field(gt=0.0)]
    network_hw_frac: Annotated[Num, Field(ge=0.0, le=10.0)]
    network_maintenance_frac_per_year: Annotated[Num, Field(ge=0.0, le=1.0)]
    storage_maintenance_frac_per_year: Annotated[Num, Field(ge=0.0, le=1.0)]
    rack_usd_per_u_year: Annotated[Num, Field(ge=0.0)]
    discount_rate_frac: Annotated[Num, Field(ge=0.0, le=1.0)] = 0.07


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

    wage_usd_per_hour: Annotated[Num, Field(ge=0.0)]
    fte_hours_per_year: Annotated[Num, Field(gt=0.0, le=HOURS_PER_LEAP_YEAR)]
    physical_servers_per_admin: Annotated[Num, Field(gt=0.0)]
    instances_per_admin: Annotated[Num, Field(gt=0.0)]
    migration_hours_per_vm: Annotated[Num, Field(ge=0.0)]
    model: Annotated[Text, one_of(*LABOR_MODELS)] = "per-vm"
    overhead_ratio: Annotated[Num, Field(ge=1.0, le=5.0)] = 1.0
    user_hours_per_vm_year: Annotated[Num, Field(ge=0.0, le=HOURS_PER_LEAP_YEAR)] = 0.0
    user_hours_per_host_year: Annotated[Num, Field(ge=0.0, le=HOURS_PER_LEAP_YEAR)] = 0.0

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

    ha_enabled: Flag
    ha_detection_s: Annotated[Num, Field(ge=0.0)]
    reserve_hosts: Annotated[Int, Field(ge=0, le=10_000)]
    host_mtbf_h: Hours
    host_mttr_h: Annotated[Num, Field(gt=0.0)]
    maintenance_windows_per_year: Annotated[Num, Field(ge=0.0, le=HOURS_PER_YEAR)]
    maintenance_window_h: Annotated[Num, Field(ge=0.0, le=HOURS_PER_YEAR)]
    appliance_mtbf_h: Hours
    appliance_mttr_h: Annotated[Num, Field(gt=0.0)]
    path_mtbf_h: Hours
    path_mttr_h: Annotated[Num, Field(gt=0.0)]
    mc_runs: Annotated[Int, Field(ge=2, le=1_000_000)]
    mc_years: Annotated[Num, Field(gt=0.0, le=100_000.0)]
    mc_seed: Annotated[Int, Field(ge=0)]
    vm_boot_s_linux: Annotated[Num, Field(ge=0.0)] = 44.2
    vm_boot_s_windows: Annotated[Num, Field(ge=0.0)] = 429.0
    vm_boot_s_other: Annotated[Num, Field(ge=0.0)] = 429.0
    guest_patches_per_year: Annotated[Num, Field(ge=0.0, le=HOURS_PER_YEAR)] = 0.0
    guest_patch_h: Annotated[Num, Field(ge=0.0, le=HOURS_PER_YEAR)] = 0.0
    rack_mtbf_h: Hours = math.inf
    rack_mttr_h: Annotated[Num, Field(gt=0.0)] = 1.0
    pdu_mtbf_h: Hours = math.inf
    pdu_mttr_h: Annotated[Num, Field(gt=0.0)] = 1.0
    hosts_per_pdu: Annotated[Int, Field(ge=1, le=10_000_000)] = 1_000_000
    array_mtbf_h: Hours = math.inf
    array_mttr_h: Annotated[Num, Field(gt=0.0)] = 1.0
    site_mtbf_h: Hours = math.inf
    site_mttr_h: Annotated[Num, Field(gt=0.0)] = 1.0

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

    host_model: Text
    shared_host_mode: Text
    vms_per_server: Annotated[Int, Field(ge=1, le=100_000)] = 1


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

    metric: Annotated[Text, one_of(*HYPERVISOR_METRICS)]
    usd_per_unit_year: Annotated[Num, Field(ge=0.0)] = 0.0
    min_cores_per_socket: Annotated[Int, Field(ge=0, le=1024)] = 0


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

    model: Annotated[Text, one_of(*GUEST_OS_MODELS)]
    usd_per_instance_year: Annotated[Num, Field(ge=0.0)] = 0.0
    standard_usd_per_16_cores: Annotated[Num, Field(ge=0.0)] = 0.0
    datacenter_usd_per_16_cores: Annotated[Num, Field(ge=0.0)] = 0.0
    standard_instances: Annotated[Int, Field(ge=1, le=1024)] = 2
    min_cores_per_server: Annotated[Int, Field(ge=0, le=4096)] = 16
    min_cores_per_socket: Annotated[Int, Field(ge=0, le=1024)] = 8


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
#: What a settings file must give in each table: every field, except these (which take the
#: dataclass default, the same default the economics layer has always applied).
_FILE_OPTIONAL: Final[dict[type, tuple[str, ...]]] = {
    LaborSettings: ("user_hours_per_vm_year", "user_hours_per_host_year"),
    HypervisorLicence: ("usd_per_unit_year", "min_cores_per_socket"),
    GuestOsLicence: (
        "usd_per_instance_year",
        "standard_usd_per_16_cores",
        "datacenter_usd_per_16_cores",
        "standard_instances",
        "min_cores_per_server",
        "min_cores_per_socket",
    ),
}
#: The sections, their dataclasses and their file models.
_SECTIONS: Final[dict[str, type]] = {
    "energy": EnergySettings,
    "finance": FinanceSettings,
    "labor": LaborSettings,
    "availability": AvailabilitySettings,
    "baseline": BaselineSettings,
}
_MODELS: Final[dict[type, type[BaseModel]]] = {
    cls: file_model(cls, optional=_FILE_OPTIONAL.get(cls, ()))
    for cls in (*_SECTIONS.values(), HypervisorLicence, GuestOsLicence)
}
#: Keys a licence model needs beyond its name.
_NEEDED_BY: Final[dict[tuple[type, str, str], tuple[str, ...]]] = {
    (LaborSettings, "model", "user"): ("user_hours_per_vm_year", "user_hours_per_host_year"),
    (HypervisorLicence, "metric", "core"): ("usd_per_unit_year",),
    (HypervisorLicence, "metric", "socket"): ("usd_per_unit_year",),
    (GuestOsLicence, "model", "per-instance"): ("usd_per_instance_year",),
    (GuestOsLicence, "model", "windows-core"): (
        "standard_usd_per_16_cores",
        "datacenter_usd_per_16_cores",
    ),
}


def economics_schema() -> dict[str, Any]:
    """The JSON Schema of a settings file, for editors (``capplan validate --economics-schema``).

    Every value may be written plain or as ``{ value = X, source = "key" }``; the schema
    accepts both forms.
    """
    named: dict[str, Any] = {
        "hypervisor": (dict[str, _MODELS[HypervisorLicence]], ...),  # type: ignore[valid-type]
        "guest_os": (dict[str, _MODELS[GuestOsLicence]], ...),  # type: ignore[valid-type]
    }
    licences = create_model("LicencesFile", __config__=SPEC_CONFIG, **named)
    sections: dict[str, Any] = {name: (_MODELS[cls], ...) for name, cls in _SECTIONS.items()}
    model = create_model(
        "EconomicsFile",
        __config__=SPEC_CONFIG,
        __doc__=__doc__,
        extends=(Literal["bundled"] | None, None),
        sources=(dict[str, str], {}),
        licences=(licences, ...),
        **sections,
    )
    schema = model.model_json_schema()
    for name, definition in schema.get("$defs", {}).items():
        if name != "LicencesFile":
            definition["properties"] = {
                key: _citable(prop) for key, prop in definition.get("properties", {}).items()
            }
    return _partial_when_extending(schema)


def _partial_when_extending(schema: dict[str, Any]) -> dict[str, Any]:
    """A file with ``extends = "bundled"`` may give any sections and keys; others give all.

    Each top-level table's full schema applies unless the file extends the bundled settings;
    then the same schema without its required keys applies.
    """
    defs = schema["$defs"]
    full: dict[str, Any] = {}
    partial: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        ref = prop.get("$ref", "")
        if not ref.startswith("#/$defs/"):
            continue
        target = ref.removeprefix("#/$defs/")
        defs[f"{target}Partial"] = {k: v for k, v in defs[target].items() if k != "required"}
        full[name] = {"$ref": ref}
        partial[name] = {"$ref": f"#/$defs/{target}Partial"}
        schema["properties"][name] = {k: v for k, v in prop.items() if k != "$ref"}
    required = schema.pop("required", [])
    schema["if"] = {"required": ["extends"], "properties": {"extends": {"const": "bundled"}}}
    schema["then"] = {"properties": partial}
    schema["else"] = {"properties": full, "required": required}
    return schema


def _citable(prop: dict[str, Any]) -> dict[str, Any]:
    """A value's schema, accepting the cited form ``{ value, source }`` as well."""
    cited = {
        "type": "object",
        "properties": {
            "value": {k: v for k, v in prop.items() if k not in ("title", "description")},
            "source": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
        },
        "required": ["value"],
        "additionalProperties": False,
    }
    plain = {k: v for k, v in prop.items() if k != "description"}
    out: dict[str, Any] = {"anyOf": [plain, cited]}
    if "description" in prop:
        out["description"] = prop["description"]
    return out


@dataclass
class _Context:
    """What reading one settings document collects: problems, and each value's source."""

    problems: list[tuple[str, str]]
    references: dict[str, str]
    sources: dict[str, str]
    origins: dict[str, str]
    default_origin: str

    def origin_of(self, dotted: str) -> str:
        return self.origins.get(dotted, self.default_origin)

    def unwrap(
        self, table: Any, where: str, dotted: str, fields: Collection[str]
    ) -> tuple[Any, set[str]]:
        """The table's plain values, each ``{ value, source }`` unwrapped, its source noted;
        and the keys whose value is a table of another form (reported here).

        A bundled value must cite a source; a user's plain value is recorded as the user's
        setting. Keys the table may not hold (not in ``fields``) are passed on for the model
        to refuse. Anything but a table is returned as is (the model reports it).
        """
        if not isinstance(table, Mapping):
            return table, set()
        out: dict[str, Any] = {}
        malformed: set[str] = set()
        for key, raw in table.items():
            path, name = f"{where}.{key}", f"{dotted}.{key}"
            origin = self.origin_of(name)
            if key not in fields:
                out[key] = raw
                continue
            if isinstance(raw, Mapping) and "value" in raw:
                extra = sorted(set(raw) - {"value", "source"})
                if extra:
                    self.problems.append(
                        (path, f"unknown key(s) {extra}; expected value and source")
                    )
                self._cite(path, name, raw.get("source"), origin)
                out[key] = raw["value"]
                continue
            if isinstance(raw, Mapping):
                self.problems.append((path, "expected a value or { value, source }"))
                malformed.add(path)
                continue
            if origin == "bundled":
                self.problems.append(
                    (path, "a bundled default must cite its source: { value, source }")
                )
            self.sources[name] = f"user setting ({origin})"
            out[key] = raw
        return out, malformed

    def _cite(self, path: str, name: str, source: Any, origin: str) -> None:
        if source is None:
            if origin == "bundled":
                self.problems.append((path, "a bundled default must cite a source"))
            self.sources[name] = f"user setting ({origin})"
            return
        keys = [source] if isinstance(source, str) else source
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            self.problems.append(
                (f"{path}.source", f"expected a source key or a list, got {source!r}")
            )
            return
        unknown = [k for k in keys if k not in self.references]
        if unknown:
            self.problems.append(
                (
                    f"{path}.source",
                    f"unknown source key(s) {', '.join(map(repr, unknown))}; "
                    "add them to the [sources] table",
                )
            )
        self.sources[name] = " | ".join(self.references.get(k, str(k)) for k in keys)

    def read(self, cls: type[T], table: Any, where: str, dotted: str) -> T | None:
        """One table as ``cls``: unwrapped, cross-checked, checked by its file model."""
        model = _MODELS[cls]
        plain, malformed = self.unwrap(table, where, dotted, model.model_fields)
        found: list[tuple[str, str]] = []
        if isinstance(plain, Mapping):
            found += self._needed(cls, plain, where)
        entry = validated(model, plain, where, found)
        # A malformed value is reported once, by the unwrapping (not again as missing).
        self.problems.extend(p for p in found if p[0] not in malformed)
        if entry is None or found:
            return None
        return build(cls, entry)

    @staticmethod
    def _needed(cls: type, plain: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
        """Keys the table's model, metric or licence model needs (``model = "user"``...)."""
        out = []
        for (owner, field_name, choice), keys in _NEEDED_BY.items():
            if owner is cls and plain.get(field_name) == choice:
                out += [
                    (f"{where}.{key}", f"is required for {field_name} {choice!r}")
                    for key in keys
                    if key not in plain
                ]
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
    references = _references(doc, label, problems)
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                (f"{label}:{key}", f"unknown table; expected one of {', '.join(TOP_LEVEL_KEYS)}")
            )
    ctx = _Context(problems, references, {}, dict(origins or {}), label)
    sections: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        if section not in doc:
            problems.append((f"{label}:{section}", "missing table"))
        sections[section] = ctx.read(cls, doc.get(section, {}), f"{label}:{section}", section)
    if _maintenance_h(doc.get("availability")) > HOURS_PER_YEAR:
        problems.append(
            (
                f"{label}:availability",
                "maintenance_windows_per_year × maintenance_window_h exceeds a year",
            )
        )
    licences = _licence_tables(doc, label, problems)
    hypervisor = _licences(ctx, licences, "hypervisor", HypervisorLicence, label)
    guest = _licences(ctx, licences, "guest_os", GuestOsLicence, label)
    if "other" not in guest:
        problems.append(
            (f"{label}:licences.guest_os.other", "is required (used for VMs of unknown OS)")
        )
    if problems:
        raise SpecError(problems)
    return EconomicsSettings(
        **sections,
        hypervisor=hypervisor,
        guest_os=guest,
        sources=ctx.sources,
        path=label,
    )


def _references(
    doc: Mapping[str, Any], label: str, problems: list[tuple[str, str]]
) -> dict[str, str]:
    """The ``[sources]`` table: citation key → full reference."""
    references: dict[str, str] = {}
    raw_refs = doc.get("sources", {})
    if not isinstance(raw_refs, Mapping):
        problems.append((f"{label}:sources", "expected a table of key = reference"))
        return references
    for key, text in raw_refs.items():
        if not isinstance(text, str) or not text.strip():
            problems.append((f"{label}:sources.{key}", "expected the full reference as a string"))
        else:
            references[key] = text.strip()
    return references


def _maintenance_h(availability: Any) -> float:
    """Hours a year a host spends in maintenance windows, from the raw ``[availability]``
    table (0 unless both figures are numbers: their own checks report them)."""
    if not isinstance(availability, Mapping):
        return 0.0
    hours = 1.0
    for key in ("maintenance_windows_per_year", "maintenance_window_h"):
        raw = availability.get(key)
        value = raw.get("value") if isinstance(raw, Mapping) else raw
        if not isinstance(value, int | float) or isinstance(value, bool):
            return 0.0
        hours *= value
    return hours


def _licence_tables(
    doc: Mapping[str, Any], label: str, problems: list[tuple[str, str]]
) -> Mapping[str, Any]:
    """The ``[licences]`` table (its sub-tables are ``hypervisor`` and ``guest_os``)."""
    licences = doc.get("licences", {})
    if not isinstance(licences, Mapping):
        problems.append((f"{label}:licences", "expected a table"))
        return {}
    for key in licences:
        if key not in ("hypervisor", "guest_os"):
            problems.append(
                (f"{label}:licences.{key}", "unknown table; expected hypervisor or guest_os")
            )
    return licences


def _licences(
    ctx: _Context, licences: Mapping[str, Any], key: str, cls: type[T], label: str
) -> dict[str, T]:
    """The named licence entries of ``licences.KEY`` (every entry checked)."""
    out: dict[str, T] = {}
    for name, table in _named(licences, key, label, ctx.problems).items():
        dotted = f"licences.{key}.{name}"
        entry = ctx.read(cls, table, f"{label}:{dotted}", dotted)
        if entry is not None:
            out[name] = entry
    return out


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
        own_sources = doc.get("sources", {})
        doc = _merge(base, doc)
        if isinstance(own_sources, Mapping):  # else parse_economics reports the table
            doc["sources"] = {**base.get("sources", {}), **own_sources}
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
