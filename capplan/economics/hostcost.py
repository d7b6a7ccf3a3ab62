"""What one host and one VM on it add to the TCO: the cost function the optimizer minimizes.

The economics report prices a whole estate (:func:`capplan.economics.cost.tco_breakdown`);
the optimizer needs the same money split into what each *open host* adds and what each *VM*
adds on a host of a given model, so that minimizing their sum picks the plan the report
ranks cheapest. Both are built here from the same formulas of :mod:`capplan.economics.cost`
and the same settings:

per host, over the horizon (:func:`host_fixed_usd`)
    server hardware (depreciated; 0 for an owned host), its share of network hardware and
    maintenance (``network_hw_frac`` of the server price, Azure Migrate's rule), rack space,
    idle power and the host's switch ports with the facility overhead (PUE), the hypervisor
    subscription of the mode, and the administration of one physical server.
per VM and host model (:func:`vm_variable_usd`)
    the energy of the VM's mean CPU demand on that model (linear between idle and full
    power, with PUE), and for guests under Microsoft core licensing the VM's share of its
    host's licence: half a Standard licensing of the host (one Standard licensing covers
    two guests), or the Datacenter licence in proportion to the share of the host the VM
    occupies, whichever is less.

Left out because no placement changes them: SAN capacity, per-instance guest subscriptions
(except on shared-kernel modes), guest administration, the one-off migration. The report's
energy comes from the emulated utilisation on the host's power curve, so the optimizer's
linear energy is a close model of it, not the same number; every other category is the same.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from capplan.economics import cost
from capplan.spec.catalog import HostModel, VirtMode
from capplan.spec.economics import EconomicsSettings
from capplan.units import HOURS_PER_YEAR, MIB_PER_GIB

FloatArray = npt.NDArray[np.float64]


def host_price_usd(host: HostModel, price_factor: float = 1.0) -> tuple[float, bool]:
    """The catalog price, or an estimate (second item True), times ``price_factor``.

    The estimate is the Azure Migrate cost-per-core regression, raised to the list price of
    the server's CPUs where the catalog gives one and it is higher: the regression prices a
    2 × 56-core server below its two CPUs alone. The rest of such a server (memory, board,
    drives) is then unpriced, so the estimate stays a floor. ``price_factor`` (the
    sensitivity's server-price row) scales the catalog price and the regression, never below
    that floor.
    """
    if math.isfinite(host.price_usd):
        return host.price_usd * price_factor, False
    regression = float(cost.azure_server_price_usd(host.n_cores, host.ram_mib / MIB_PER_GIB))
    estimate = regression * price_factor
    if math.isfinite(host.cpu_list_price_usd):
        estimate = max(estimate, host.sockets * host.cpu_list_price_usd)
    return estimate, True


def cpu_price_floor_binds(host: HostModel) -> bool:
    """Whether the estimate of :func:`host_price_usd` is its CPUs' list price."""
    if math.isfinite(host.price_usd) or not math.isfinite(host.cpu_list_price_usd):
        return False
    regression = float(cost.azure_server_price_usd(host.n_cores, host.ram_mib / MIB_PER_GIB))
    return host.sockets * host.cpu_list_price_usd > regression


def host_rack_units(host: HostModel) -> float:
    """Rack units; 1 U where the catalog has none (said in the notes)."""
    return host.rack_units if math.isfinite(host.rack_units) else 1.0


def energy_usd_per_w(settings: EconomicsSettings) -> float:
    """USD over the horizon of one watt drawn all the time, facility overhead (PUE) included."""
    e, f = settings.energy, settings.finance
    kwh = f.horizon_years * HOURS_PER_YEAR / 1000.0
    return kwh * e.electricity_usd_per_kwh * e.pue_ratio


def host_fixed_usd(
    host: HostModel, mode: VirtMode, settings: EconomicsSettings, *, owned: bool = False
) -> dict[str, float]:
    """What one open host of ``host`` under ``mode`` adds to the TCO, by category, USD.

    Parameters
    ----------
    host, mode
        Catalog host model and virtualization mode.
    settings
        Economics settings (horizon, prices, PUE, licences, labour).
    owned
        The host exists already: no purchase (nor its network share) is charged.

    Returns
    -------
    dict
        ``server_hardware``, ``network_hardware``, ``network_maintenance``, ``rack_space``,
        ``energy_idle`` (IT and facility), ``hypervisor_licences``, ``administration``.
    """
    f, lab = settings.finance, settings.labor
    h = f.horizon_years
    price = 0.0 if owned else host_price_usd(host)[0]
    network = f.network_hw_frac * price
    hyp = settings.hypervisor_licence(mode.name)
    hyper_year = cost.hypervisor_usd_per_year(
        [host.sockets],
        [host.cores_per_socket],
        metric=hyp.metric,
        usd_per_unit_year=hyp.usd_per_unit_year,
        min_cores_per_socket=hyp.min_cores_per_socket,
    )
    idle_w = float(host.power_w[0]) + host.nic_count * settings.energy.switch_w_per_port
    return {
        "server_hardware": float(cost.depreciated_usd(price, h, f.server_depreciation_years)),
        "network_hardware": float(cost.depreciated_usd(network, h, f.network_depreciation_years)),
        "network_maintenance": network * f.network_maintenance_frac_per_year * h,
        "rack_space": cost.rack_usd_per_year([host_rack_units(host)], f.rack_usd_per_u_year) * h,
        "energy_idle": idle_w * energy_usd_per_w(settings),
        "hypervisor_licences": float(np.sum(hyper_year)) * h,
        "administration": cost.admin_usd_per_year(
            1,
            0,
            hours_per_server_year=lab.hours_per_server_year,
            hours_per_instance_year=lab.hours_per_instance_year,
            usd_per_hour=lab.admin_usd_per_hour,
        )
        * h,
    }


def vm_variable_usd(
    hosts: list[HostModel],
    settings: EconomicsSettings,
    cpu_mean_mhz: npt.ArrayLike,
    share_frac: npt.ArrayLike,
    os_family: list[str | None],
) -> FloatArray:
    """What each VM adds to the TCO on a host of each model, USD ``(n_vms, n_models)``.

    Parameters
    ----------
    hosts
        The host models (bin types).
    settings
        Economics settings.
    cpu_mean_mhz
        Mean CPU demand of each VM on each model's cores, MHz ``(n_vms, n_models)`` (the
        mode's overhead and the model's speed already applied).
    share_frac
        Largest share of one host's capacity the VM takes in any resource, ``(n_vms,
        n_models)``, for the Datacenter licence share.
    os_family
        Guest OS family of each VM (None: ``other``).
    """
    cpu = np.asarray(cpu_mean_mhz, dtype=np.float64)
    share = np.clip(np.asarray(share_frac, dtype=np.float64), 0.0, 1.0)
    cap = np.array([max(h.cpu_capacity_mhz, 1e-9) for h in hosts])
    slope_w = np.array([float(h.power_w[-1]) - float(h.power_w[0]) for h in hosts]) / cap
    out = cpu * slope_w[None, :] * energy_usd_per_w(settings)
    f = settings.finance
    for family in sorted({fam or "other" for fam in os_family}):
        lic = settings.guest_licence(family)
        if lic.model != "windows-core":
            continue
        rows = np.array([(fam or "other") == family for fam in os_family])
        licensed = np.array(
            [
                max(
                    float(lic.min_cores_per_server),
                    h.sockets * max(h.cores_per_socket, lic.min_cores_per_socket),
                )
                for h in hosts
            ]
        )
        units = licensed / cost.CORES_PER_PRICE_UNIT
        standard = units * lic.standard_usd_per_16_cores / max(lic.standard_instances, 1)
        datacenter = units * lic.datacenter_usd_per_16_cores
        per_vm = np.minimum(standard[None, :], datacenter[None, :] * share[rows])
        out[rows] += cost.depreciated_usd(per_vm, f.horizon_years, f.licence_amortization_years)
    return out
