"""Total cost of ownership: hardware depreciation, space, energy, licences, labour.

Pure functions on per-host arrays ``(n_hosts,)`` and plain numbers; every result is USD
(over the planning horizon unless the name says ``_per_year``). :func:`tco_breakdown`
assembles one estate's categories; the glue that builds estates from a placement lives in
:mod:`capplan.economics.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Cores in one Microsoft core-licence price unit (prices are quoted per 16 cores).
CORES_PER_PRICE_UNIT = 16

#: Cost categories of a TCO breakdown, in report order.
CATEGORIES = (
    "server_hardware",
    "storage_hardware",
    "storage_maintenance",
    "network_hardware",
    "network_maintenance",
    "rack_space",
    "energy_it",
    "energy_cooling_distribution",
    "hypervisor_licences",
    "guest_os_licences",
    "administration",
    "migration",
)


def depreciated_usd(
    price_usd: npt.ArrayLike, horizon_years: float, life_years: float
) -> FloatArray:
    """Straight-line depreciation charged over the horizon: ``price × horizon / life``.

    A horizon longer than the life charges the refresh purchases too (same formula).
    """
    if life_years <= 0:
        raise ValueError("life_years must be positive")
    return np.asarray(price_usd, dtype=np.float64) * (float(horizon_years) / float(life_years))


def azure_server_price_usd(cores: npt.ArrayLike, ram_gib: npt.ArrayLike) -> FloatArray:
    """Server acquisition price from the Azure Migrate business-case regression.

    ``cost per core = 16.232 × (hyperthreaded cores : memory GB) + 113.87`` with
    ``hyperthreaded cores = 2 × cores``; the price is ``cost per core × cores`` (the
    documentation gives the per-core cost; multiplying by physical cores is this project's
    reading of it). Used only where the catalog has no published price.

    Parameters
    ----------
    cores
        Physical cores per server, ``(n_hosts,)``.
    ram_gib
        Memory per server, GiB (taken as the formula's GB).
    """
    c = np.asarray(cores, dtype=np.float64)
    ram = np.asarray(ram_gib, dtype=np.float64)
    per_core = 16.232 * (2.0 * c / ram) + 113.87
    return per_core * c


def hypervisor_usd_per_year(
    sockets: npt.ArrayLike,
    cores_per_socket: npt.ArrayLike,
    *,
    metric: str,
    usd_per_unit_year: float,
    min_cores_per_socket: int = 0,
) -> FloatArray:
    """Hypervisor subscription per host and year.

    ``core``: ``sockets × max(cores_per_socket, min) × price``; ``socket``:
    ``sockets × price``; ``none``: 0.
    """
    s = np.asarray(sockets, dtype=np.float64)
    c = np.asarray(cores_per_socket, dtype=np.float64)
    if metric == "none":
        return np.zeros(np.broadcast(s, c).shape)
    if metric == "socket":
        return s * usd_per_unit_year + 0.0 * c
    if metric == "core":
        return s * np.maximum(c, float(min_cores_per_socket)) * usd_per_unit_year
    raise ValueError(f"unknown licence metric {metric!r}")


def windows_core_usd(
    sockets: npt.ArrayLike,
    cores_per_socket: npt.ArrayLike,
    n_instances: npt.ArrayLike,
    *,
    standard_usd_per_16_cores: float,
    datacenter_usd_per_16_cores: float,
    standard_instances: int = 2,
    min_cores_per_server: int = 16,
    min_cores_per_socket: int = 8,
) -> FloatArray:
    """Microsoft core licensing of one host (perpetual price), the cheaper edition chosen.

    Licensed cores ``L = max(min_server, sockets × max(cores_per_socket, min_socket))``.
    Standard: every ``standard_instances`` Windows instances need all ``L`` cores licensed
    again: ``ceil(n / standard_instances) × L/16 × P_std``. Datacenter: ``L/16 × P_dc`` for
    any number. A host with no Windows instance costs 0.

    Parameters
    ----------
    sockets, cores_per_socket
        Host topology, ``(n_hosts,)``.
    n_instances
        Windows operating system environments on each host, ``(n_hosts,)`` (a bare-metal
        Windows server counts 1; Windows containers sharing the host kernel count 1).

    Returns
    -------
    ndarray
        float64 ``(n_hosts,)`` USD.
    """
    s = np.asarray(sockets, dtype=np.float64)
    c = np.asarray(cores_per_socket, dtype=np.float64)
    n = np.asarray(n_instances, dtype=np.float64)
    licensed = np.maximum(
        float(min_cores_per_server), s * np.maximum(c, float(min_cores_per_socket))
    )
    units = licensed / CORES_PER_PRICE_UNIT
    standard = np.ceil(n / standard_instances) * units * standard_usd_per_16_cores
    datacenter = units * datacenter_usd_per_16_cores
    return np.where(n > 0, np.minimum(standard, datacenter), 0.0)


def per_instance_usd_per_year(
    n_instances: npt.ArrayLike, usd_per_instance_year: float
) -> FloatArray:
    """Per-instance subscriptions: ``n × price`` per year."""
    return np.asarray(n_instances, dtype=np.float64) * float(usd_per_instance_year)


def admin_usd_per_year(
    n_servers: float,
    n_instances: float,
    *,
    hours_per_server_year: float,
    hours_per_instance_year: float,
    usd_per_hour: float,
) -> float:
    """Administration: ``(servers × h/server + workloads × h/workload) × loaded rate``.

    The labour model (:class:`capplan.spec.economics.LaborSettings`) sets the hours: per
    workload only (Azure Migrate: every VM, container or bare-metal server's OS is one
    workload, on both sides), per physical server only, or the user's figures for both.
    """
    hours = n_servers * hours_per_server_year + n_instances * hours_per_instance_year
    return float(hours * usd_per_hour)


def migration_usd(n_vms_moved: int, *, hours_per_vm: float, usd_per_hour: float) -> float:
    """One-off migration effort: ``VMs moved × hours × rate``."""
    return float(n_vms_moved * hours_per_vm * usd_per_hour)


def rack_usd_per_year(rack_units: npt.ArrayLike, usd_per_u_year: float) -> float:
    """Rack space: ``Σ rack units × price per U and year``."""
    return float(np.sum(np.asarray(rack_units, dtype=np.float64)) * usd_per_u_year)


def energy_usd(kwh_per_year: float, usd_per_kwh: float, horizon_years: float) -> float:
    """Energy bill over the horizon: ``kWh/year × price × years``."""
    return float(kwh_per_year * usd_per_kwh * horizon_years)


@dataclass(frozen=True)
class EstateCosts:
    """The inputs of one estate's TCO, already reduced to totals.

    Attributes
    ----------
    server_price_usd
        Sum of server purchase prices (spare hosts included).
    storage_price_usd
        SAN capacity purchase price (NaN if the tier has no price).
    rack_units
        Rack units of all servers.
    it_kwh_per_year
        IT energy per year (hosts, SAN, switches).
    hypervisor_usd_per_year, guest_os_usd_per_year
        Subscriptions per year.
    guest_os_perpetual_usd
        Perpetual licences (amortized over their life).
    n_servers, n_instances
        Administered physical servers and workloads (VMs, containers, bare-metal OSes).
    n_vms_migrated
        VMs moved (migration effort).
    """

    server_price_usd: float
    storage_price_usd: float
    rack_units: float
    it_kwh_per_year: float
    hypervisor_usd_per_year: float
    guest_os_usd_per_year: float
    guest_os_perpetual_usd: float
    n_servers: int
    n_instances: int
    n_vms_migrated: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def tco_breakdown(
    costs: EstateCosts,
    *,
    horizon_years: float,
    server_life_years: float,
    storage_life_years: float,
    network_life_years: float,
    licence_life_years: float,
    network_hw_frac: float,
    network_maintenance_frac_per_year: float,
    storage_maintenance_frac_per_year: float,
    rack_usd_per_u_year: float,
    pue_ratio: float,
    usd_per_kwh: float,
    admin_hours_per_server_year: float,
    admin_hours_per_instance_year: float,
    admin_usd_per_hour: float,
    migration_hours_per_vm: float,
) -> dict[str, float]:
    """TCO over the horizon by category (see :data:`CATEGORIES`), USD.

    * hardware: straight-line depreciation over the horizon; storage and network
      maintenance yearly shares of their purchase price; network hardware a share of server
      + storage hardware (Azure Migrate's rule);
    * energy: IT energy × price, and the facility overhead (``PUE − 1``) for cooling and
      power distribution;
    * licences: subscriptions per year, perpetual licences amortized over their life;
    * administration per server and per guest instance; migration once.

    A category whose inputs are unknown (NaN, such as an unpriced SAN tier) is NaN; callers
    report it as missing rather than as zero.
    """
    h = float(horizon_years)
    storage_hw = float(costs.storage_price_usd)
    server_hw = float(costs.server_price_usd)
    network_price = network_hw_frac * (server_hw + (0.0 if np.isnan(storage_hw) else storage_hw))
    it_kwh = float(costs.it_kwh_per_year)
    return {
        "server_hardware": float(depreciated_usd(server_hw, h, server_life_years)),
        "storage_hardware": float(depreciated_usd(storage_hw, h, storage_life_years)),
        "storage_maintenance": storage_hw * storage_maintenance_frac_per_year * h,
        "network_hardware": float(depreciated_usd(network_price, h, network_life_years)),
        "network_maintenance": network_price * network_maintenance_frac_per_year * h,
        "rack_space": rack_usd_per_year(costs.rack_units, rack_usd_per_u_year) * h,
        "energy_it": energy_usd(it_kwh, usd_per_kwh, h),
        "energy_cooling_distribution": energy_usd(it_kwh * (pue_ratio - 1.0), usd_per_kwh, h),
        "hypervisor_licences": costs.hypervisor_usd_per_year * h,
        "guest_os_licences": costs.guest_os_usd_per_year * h
        + float(depreciated_usd(costs.guest_os_perpetual_usd, h, licence_life_years)),
        "administration": admin_usd_per_year(
            costs.n_servers,
            costs.n_instances,
            hours_per_server_year=admin_hours_per_server_year,
            hours_per_instance_year=admin_hours_per_instance_year,
            usd_per_hour=admin_usd_per_hour,
        )
        * h,
        "migration": migration_usd(
            costs.n_vms_migrated,
            hours_per_vm=migration_hours_per_vm,
            usd_per_hour=admin_usd_per_hour,
        ),
    }


def total_usd(breakdown: dict[str, float]) -> tuple[float, list[str]]:
    """Sum of the known categories and the names of those that are unknown (NaN)."""
    missing = [k for k, v in breakdown.items() if np.isnan(v)]
    return float(sum(v for v in breakdown.values() if not np.isnan(v))), missing


#: Categories paid once, at the start (Year 0), not spread over the horizon.
ONE_OFF_CATEGORIES = ("migration",)


def npv_usd(
    breakdown: dict[str, float],
    horizon_years: float,
    discount_rate_frac: float,
    growth_frac_per_year: float = 0.0,
) -> float:
    """Net present value of a TCO breakdown, Azure Migrate's year-by-year way.

    One-off categories (:data:`ONE_OFF_CATEGORIES`) are paid in Year 0; every other
    category is spread evenly over the horizon as yearly cash flows in Years
    ``0 … ceil(H) − 1`` (a fractional last year pays its fraction), each discounted by
    ``(1 + r)^n``::

        NPV = one_off + (TCO − one_off) / H × Σ_n w_n (1 + g)^n / (1 + r)^n,   w_n = min(1, H − n)

    With ``r = 0`` and ``g = 0`` the NPV is the TCO. ``g`` grows the recurring costs with
    the demand, year by year (the sensitivity's growth row; 0 otherwise). Unknown (NaN)
    categories are left out, as in :func:`total_usd`.

    Parameters
    ----------
    breakdown
        Categories over the horizon, USD.
    horizon_years
        ``H`` (> 0).
    discount_rate_frac
        Yearly rate ``r`` (Azure Migrate's WACC).
    growth_frac_per_year
        Yearly growth ``g`` of the recurring costs.
    """
    h = float(horizon_years)
    known = {k: v for k, v in breakdown.items() if not np.isnan(v)}
    one_off = sum(v for k, v in known.items() if k in ONE_OFF_CATEGORIES)
    recurring = sum(v for k, v in known.items() if k not in ONE_OFF_CATEGORIES)
    years = np.arange(int(np.ceil(h)))
    weights = np.minimum(1.0, h - years)
    grown = (1.0 + float(growth_frac_per_year)) ** years
    factor = float(np.sum(weights * grown / (1.0 + float(discount_rate_frac)) ** years))
    return float(one_off + recurring / h * factor)
