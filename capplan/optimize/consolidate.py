"""Consolidation: from a Workload and a catalog to a placement of every VM on bought hosts.

Steps: reduce the demand to time buckets (:mod:`capplan.demand.reduce`), size every VM per
resource and bucket, turn host models into bin types, the inventory into rules, scale to
integers, solve (:mod:`capplan.optimize.strategies`), and map the packing back onto VM and
host names as a :class:`capplan.placement.Placement`.

Sizing per VM, resource and bucket
----------------------------------
- **cpu** (MHz, normalised): the reduced ``cpu_demand_mhz`` times the perf_factor of the
  hardware it was measured on (``source_perf_factor``, or the catalog's factor of
  ``source_host``; 1.0 = the reference core), times the mode's CPU multiplier for the VM's
  kernel-mode share (``(1 − k) / (1 − cpu_overhead_frac) + k × kernel slowdown``), plus the
  CPU its served I/O costs on the mode's I/O path, divided by the CPU over-commit ratio.
  Host capacity is the
  catalog's normalised ``cpu_capacity_mhz`` (cores × base clock × perf_factor), so demand and
  capacity compare across host generations.
- **mem** (MiB): active memory (or, without it, the provisioned memory) divided by the memory
  over-commit ratio, plus the mode's per-VM overhead (which is real host memory and is not
  over-committed). Capacity is the host's RAM.
- **net_rx / net_tx** (Mbit/s), when the workload has them: against the NIC capacity times
  the mode's network throughput factor.
- **vcpus**, when a vCPU : core limit is given: ``n_vcpus`` against cores × limit.
- **guests**, for bare metal: one guest per host.

Every capacity is reduced by the headroom fraction (vCPU and guest limits excepted). A VM with
no usage data for a resource is sized from its inventory (``cpu_capacity_mhz``,
``mem_provisioned_mib``) and the result lists it. Rules: ``security_zone`` (a host serves one
zone; in container mode also one OS family), ``ha_group`` (anti-affinity), legacy guests only
under a mode that supports them, ``vlan_id`` against a per-host VLAN limit, pinned VMs and a
migration budget relative to ``current_host`` when the current hosts' models are given.

Objectives: ``cost`` (the hosts' cost of ownership over the economics horizon, priced by
:mod:`capplan.economics.hostcost` with the same formulas and settings as the economics report:
a fixed cost per open host and each VM's energy and core-licence share on each model),
``purchase`` (purchase price from the catalog, or the Azure Migrate regression where the
catalog has none; an owned host counts 1 USD so that fewer hosts win ties), ``hosts`` (count),
``power`` (average watts with the linear SPECpower model P = P_idle + (P_max − P_idle) · u:
idle power per open host plus each VM's share of the dynamic range), ``balance`` (cost first,
then the highest peak utilisation is lowered by moving VMs between the chosen hosts).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.demand.reduce import Reduction, reduce_buckets, reduce_peak
from capplan.demand.workload import Workload
from capplan.economics.hostcost import (
    cpu_price_floor_binds,
    host_fixed_usd,
    host_price_usd,
    vm_variable_usd,
)
from capplan.errors import SpecError, WorkloadError
from capplan.forecast.horizon import Growth, arrivals_from_created, fit_growth
from capplan.optimize import rules
from capplan.optimize.explain import Explanation
from capplan.optimize.instance import Instance, Solution, make_instance

# The settings are declared in options.py; they are named here too, as the Python API's
# entry point (README: ``from capplan.optimize.consolidate import ConsolidateOptions``).
from capplan.optimize.options import ConsolidateOptions as ConsolidateOptions
from capplan.optimize.options import HostOffer as HostOffer
from capplan.optimize.options import check_options
from capplan.optimize.rules.base import RuleSource
from capplan.optimize.strategies import ProgressCallback, SolveReport, SolveResult, solve
from capplan.outcomes import PlanSummary
from capplan.placement import Placement
from capplan.spec.catalog import (
    Catalog,
    GuestDefaults,
    HostModel,
    MemOverhead,
    VirtMode,
    current_models,
    guest_kernel_saved_mib,
    vm_multiplier,
)
from capplan.spec.economics import load_economics
from capplan.status import SolveStatus
from capplan.units import MIB_PER_GIB

FloatArray = npt.NDArray[np.float64]


#: The mode ``"none"``: no virtualization cost at all, as in CloudSim's power examples (which
#: model neither CPU nor memory overhead). Not a catalog entry: a modelling baseline.
NO_OVERHEAD_MODE = VirtMode(
    name="none",
    cpu_overhead_frac=0.0,
    io_iops_factor=1.0,
    net_latency_factor=1.0,
    net_throughput_factor=1.0,
    page_sharing=False,
    page_sharing_savings_frac=0.0,
    live_migration=True,
    same_os_kernel=False,
    needs_modified_guest=False,
    supports_legacy_guests=True,
    one_guest_per_host=False,
    mem_overhead=MemOverhead(),
    source="no overhead modelled (baseline, as CloudSim's power examples)",
)


def get_mode(catalog: Catalog, name: str) -> VirtMode:
    """The catalog mode ``name``, or :data:`NO_OVERHEAD_MODE` for ``"none"``."""
    return NO_OVERHEAD_MODE if name == "none" else catalog.mode(name)


#: Objective units charged for an owned (already bought) host under the cost objective.
OWNED_HOST_COST_USD = 1


@dataclass(frozen=True)
class Prepared:
    """The integer instance built from a workload, and what the sizing did.

    Attributes
    ----------
    instance
        The packing instance.
    reduction
        The bucket reduction used.
    sized_from_inventory
        Resource → VM ids sized from the inventory for lack of usage data.
    notes
        Remarks on the preparation.
    price_estimated
        Host models whose price is the Azure Migrate estimate, not a catalog figure.
    growth, demand_today
        With a planning horizon: the growth model, and each dimension's sized demand before
        growth, float64 ``(n_vms, n_buckets)`` (None without a horizon).
    """

    instance: Instance
    reduction: Reduction
    sized_from_inventory: dict[str, list[str]]
    notes: tuple[str, ...]
    price_estimated: tuple[str, ...] = ()
    infeasible_reason: str = ""
    growth: Growth | None = None
    demand_today: dict[str, FloatArray] | None = None


@dataclass(frozen=True)
class ConsolidateResult:
    """Outcome of :func:`consolidate`.

    Attributes
    ----------
    placement
        Host of every VM (None when infeasible or no plan was found in time).
    report
        The solver report (status, objective, bound, gap, time).
    explanation
        Binding resources per host and for the plan.
    prepared
        The instance and the sizing notes.
    summary
        The solve's figures (:class:`capplan.outcomes.PlanSummary`).
    """

    placement: Placement | None
    report: SolveReport
    explanation: Explanation | None
    prepared: Prepared
    summary: PlanSummary


# ------------------------------------------------------------------------------- sizing
#: Metrics the consolidation sizes hosts on.
SIZED_METRICS = ("cpu_demand_mhz", "mem_active_mib", "net_rx_mbps", "net_tx_mbps")
#: Metrics whose I/O costs CPU on a virtualized I/O path (added to the sized CPU).
IO_CPU_METRICS = ("disk_read_iops", "disk_write_iops")


def _reduce(workload: Workload, opts: ConsolidateOptions) -> Reduction:
    metrics = [m for m in (*SIZED_METRICS, *IO_CPU_METRICS) if m in workload.mean]
    if opts.sizing == "peak":
        return reduce_peak(workload, statistic=opts.statistic, metrics=metrics)
    return reduce_buckets(
        workload, opts.buckets, period=opts.period, statistic=opts.statistic, metrics=metrics
    )


def _inventory(workload: Workload, name: str) -> FloatArray:
    return workload.inventory_column(name)


def _usage_or_inventory(
    red: Reduction,
    metric: str,
    usage_name: str,
    inventory: FloatArray,
    inventory_name: str,
    ids: npt.NDArray[np.str_],
    what: str,
    notes: list[str],
) -> tuple[FloatArray, npt.NDArray[np.bool_], bool]:
    """Per-bucket demand of ``metric``, the inventory size standing in for VMs without usage.

    Returns the demand ``(n_vms, n_buckets)``, which VMs were sized from the inventory, and
    whether the workload has the metric at all (if not, a note says so).

    Raises
    ------
    WorkloadError
        If a VM has neither usage nor an inventory size (naming up to three).
    """
    if metric in red.values:
        values = red.values[metric].copy()
        missing = ~red.has_data[metric]
    else:
        values = np.zeros((len(ids), red.n_buckets))
        missing = np.ones(len(ids), dtype=np.bool_)
        notes.append(
            f"the workload has no {usage_name}: {what} is sized from the inventory's "
            f"{inventory_name}"
        )
    if missing.any():
        unsized = missing & ~np.isfinite(inventory)
        if unsized.any():
            raise WorkloadError(
                f"{int(unsized.sum())} VM(s) have no {what} usage and no {inventory_name} in "
                f"the inventory, e.g. {ids[unsized][:3].tolist()}; expected one of them"
            )
        values[missing] = inventory[missing, None]
    return values, missing, metric in red.values


def mem_basis(opts: ConsolidateOptions, measured: bool) -> str:
    """``consumed`` or ``configured``: what memory is sized on (``auto`` resolved)."""
    if opts.mem_basis != "auto":
        return opts.mem_basis
    return "consumed" if measured else "configured"


def size_vms(
    workload: Workload,
    red: Reduction,
    mode: VirtMode,
    opts: ConsolidateOptions,
    source_factor: float = 1.0,
    guest: GuestDefaults | None = None,
) -> tuple[dict[str, FloatArray], dict[str, list[str]], list[str]]:
    """Demand per resource, float64 ``(n_vms, n_buckets)``, in MHz / MiB / Mbit/s / vCPUs.

    CPU is sized as the replay charges it: native demand × the mode's multiplier for the VM's
    kernel-mode share (``guest`` gives the default share), plus the CPU the VM's I/O costs on
    the mode's I/O path (its bucket IOPS, at most the path's ceiling, × ``io_cpu_mhz_per_iops``;
    the bucket statistics of CPU and IOPS are added, conservative where their peaks differ).

    Returns
    -------
    demand, sized_from_inventory, notes
    """
    n_vms, k = workload.n_vms, red.n_buckets
    ids = workload.vm_ids
    notes: list[str] = []
    from_inv: dict[str, list[str]] = {}
    cap_mhz = _inventory(workload, "cpu_capacity_mhz")
    mem_prov = _inventory(workload, "mem_provisioned_mib")
    vcpus = _inventory(workload, "n_vcpus")

    # CPU
    cpu, missing, _ = _usage_or_inventory(
        red, "cpu_demand_mhz", "CPU usage", cap_mhz, "cpu_capacity_mhz", ids, "CPU", notes
    )
    if missing.any():
        from_inv["cpu"] = ids[missing].tolist()
        if opts.expected_cpu_util_frac != 1.0:
            cpu[missing] *= opts.expected_cpu_util_frac
            notes.append(
                f"{int(missing.sum())} VM(s) without CPU usage are sized at "
                f"{opts.expected_cpu_util_frac:.0%} of their configured CPU (expected utilisation)"
            )
    multiplier = vm_multiplier(mode, guest, workload.inventory_column("cpu_kernel_frac"))
    cpu = cpu * source_factor * multiplier[:, None]
    present = [red.values[m] for m in IO_CPU_METRICS if m in red.values]
    if mode.io_cpu_mhz_per_iops > 0 and present:
        # A VM's path passes at most its ceiling; the I/O above it is not served.
        served = np.minimum(sum(present), mode.vm_iops_ceiling)
        cpu = cpu + served * mode.io_cpu_mhz_per_iops
    cpu = cpu / opts.cpu_overcommit_ratio

    # Memory
    mem, missing, measured = _usage_or_inventory(
        red,
        "mem_active_mib",
        "active-memory usage",
        mem_prov,
        "mem_provisioned_mib",
        ids,
        "memory",
        notes,
    )
    basis = mem_basis(opts, measured)
    if basis == "configured":
        unknown = ~np.isfinite(mem_prov)
        if unknown.any():
            raise WorkloadError(
                f"memory sized on configured memory needs mem_provisioned_mib in the inventory; "
                f"missing for {int(unknown.sum())} VM(s), e.g. {ids[unknown][:3].tolist()}"
            )
        if measured:
            notes.append(
                "memory is sized on configured memory (the inventory), not on the trace's usage"
            )
        mem = np.repeat(mem_prov[:, None], k, axis=1)
    elif missing.any() and measured:
        from_inv["mem"] = ids[missing].tolist()
    config_mem = np.where(np.isfinite(mem_prov), mem_prov, mem.max(axis=1))
    config_vcpus = np.where(np.isfinite(vcpus), vcpus, 1.0)
    saved = guest_kernel_saved_mib(mode, guest, config_mem)
    if saved.any():
        mem = np.maximum(mem - saved[:, None], 0.0)
        config_mem = np.maximum(config_mem - saved, 0.0)  # as the replay has it
        notes.append(
            f"mode {mode.name!r} shares the host's kernel: each guest's own kernel memory is "
            f"not needed (up to {float(saved.sum()) / MIB_PER_GIB:,.1f} GiB in all, none "
            "below 0)"
        )
    overhead = mode.mem_overhead_mib(config_vcpus, config_mem)
    mem = mem / opts.mem_overcommit_ratio + overhead[:, None]
    demand = {"cpu": cpu, "mem": mem}

    # Network, when measured.
    for metric, dim in (("net_rx_mbps", "net_rx"), ("net_tx_mbps", "net_tx")):
        if metric in red.values:
            demand[dim] = red.values[metric]
            no_data = ~red.has_data[metric]
            if no_data.any():
                notes.append(f"{int(no_data.sum())} VM(s) have no {metric} data; counted as 0")
    # vCPU : core limit.
    if opts.vcpu_per_core_ratio is not None:
        if not np.isfinite(vcpus).all():
            bad = ids[~np.isfinite(vcpus)][:3].tolist()
            raise WorkloadError(
                f"a vCPU : core limit needs n_vcpus for every VM; missing for e.g. {bad}"
            )
        demand["vcpus"] = np.repeat(vcpus[:, None], k, axis=1)
    if mode.one_guest_per_host:
        demand["guests"] = np.ones((n_vms, k))
        notes.append(f"mode {mode.name!r} runs one guest per host")
    return demand, from_inv, notes


def ready_cap_frac(host: HostModel, limit_frac: float | None) -> float:
    """Share of a host's CPU the plan may fill so that CPU ready stays within ``limit_frac``
    whatever its vCPU count: the utilization where ready reaches the limit with ``cores + 1``
    vCPUs, the worst case (ready per vCPU is the M/M/c wait times each vCPU's run share,
    which more vCPUs only lower). 1 without a limit."""
    if limit_frac is None:
        return 1.0
    from capplan.emulate.cpu import ready_threshold_util

    cores = max(host.n_cores, 1)
    threshold = float(ready_threshold_util([cores], [cores + 1], limit_frac)[0])
    return min(threshold, 1.0)


def _capacity(host: HostModel, mode: VirtMode, dim: str, opts: ConsolidateOptions) -> float:
    keep = 1.0 - opts.headroom_frac
    if dim == "cpu":
        return host.cpu_capacity_mhz * min(keep, ready_cap_frac(host, opts.cpu_ready_limit_frac))
    if dim == "mem":
        return host.ram_mib * keep
    if dim == "net_rx":
        return host.nic_capacity_mbps * mode.net_rx_factor * keep
    if dim == "net_tx":
        return host.nic_capacity_mbps * mode.net_tx_factor * keep
    if dim == "vcpus":
        assert opts.vcpu_per_core_ratio is not None
        return host.n_cores * opts.vcpu_per_core_ratio
    if dim == "guests":
        return 1.0
    raise ValueError(dim)


_UNITS = {
    "cpu": "MHz",
    "mem": "MiB",
    "net_rx": "Mbit/s",
    "net_tx": "Mbit/s",
    "vcpus": "vCPUs",
    "guests": "guests",
}


def mode_for_cost(catalog: Catalog, mode: VirtMode) -> VirtMode:
    """The mode whose hypervisor licence is charged (``none`` is priced as bare metal)."""
    if mode.name in catalog.modes:
        return mode
    bare = [m for m in catalog.modes.values() if m.one_guest_per_host]
    return bare[0] if bare else mode


def _mean_cpu_mhz(
    workload: Workload,
    sized_cpu: FloatArray,
    source_factor: float,
    mode: VirtMode,
    guest: GuestDefaults | None = None,
) -> FloatArray:
    """Mean CPU demand of each VM over the trace, reference MHz with the mode's overhead.

    VMs without CPU usage fall back to the mean of their sized demand.
    """
    fallback = sized_cpu.mean(axis=1)
    if "cpu_demand_mhz" not in workload.metrics:
        return fallback
    d = workload.demand("cpu_demand_mhz").astype(np.float64)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(d), d, np.nan), axis=1)
    mean = (
        mean
        * source_factor
        * vm_multiplier(mode, guest, workload.inventory_column("cpu_kernel_frac"))
    )
    return np.where(np.isfinite(mean), mean, fallback)


def default_offer(catalog: Catalog, notes: list[str] | None = None) -> list[HostOffer]:
    """Host models offered when the user names none: the catalog's current models, unlimited.

    Legacy models (out of sale, see :class:`capplan.spec.catalog.HostModel`) are offered only
    when named, or as owned hosts. A catalog with no current model offers every model (and
    says so in ``notes``).
    """
    names = current_models(catalog)
    if not names:
        names = tuple(catalog.hosts)
        if notes is not None:
            notes.append("the catalog has no current host model: every model is offered")
    return [HostOffer(name) for name in names]


def prepare(workload: Workload, catalog: Catalog, opts: ConsolidateOptions) -> Prepared:
    """Build the integer packing instance of a consolidation (no solving).

    Raises
    ------
    SpecError
        For bad options (every problem at once).
    WorkloadError
        When a VM can be sized neither from usage nor from the inventory.
    """
    check_options(opts, catalog)
    if workload.n_vms == 0:
        raise WorkloadError("the workload holds no VM")
    mode = get_mode(catalog, opts.mode)
    red = _reduce(workload, opts)
    source_factor = (
        catalog.hosts[opts.source_host].perf_factor
        if opts.source_host is not None
        else opts.source_perf_factor
    )
    demand, from_inv, notes = size_vms(workload, red, mode, opts, source_factor, catalog.guest)
    if source_factor != 1.0:
        notes.append(f"CPU demand scaled by the source hardware's perf_factor {source_factor:g}")
    dims = list(demand)
    growth, demand_today = _grow(workload, opts, demand, notes)

    # Bin types: offered models, plus the models of owned hosts.
    offers = list(opts.hosts) or default_offer(catalog, notes)
    current = workload.inventory.get_column("current_host").to_list()
    owned_names = sorted({h for h in current if h is not None and h in opts.existing_hosts})
    type_models: list[str] = []
    type_counts: list[int | None] = []
    for offer in offers:
        if offer.model in type_models:
            raise SpecError([("hosts", f"host model {offer.model!r} is offered twice")])
        type_models.append(offer.model)
        type_counts.append(offer.count)
    owned_type: list[int] = []
    for name in owned_names:
        model = opts.existing_hosts[name]
        tname = f"{model} (owned)"
        if tname not in type_models:
            type_models.append(tname)
            type_counts.append(0)
        t = type_models.index(tname)
        type_counts[t] = (type_counts[t] or 0) + 1
        owned_type.append(t)
    models = [catalog.hosts[m.removesuffix(" (owned)")] for m in type_models]
    is_owned = [m.endswith(" (owned)") for m in type_models]

    n_vms = workload.n_vms
    demand_arr = np.stack([demand[d] for d in dims], axis=1)  # (n_vms, n_dims, K)
    cap = np.array([[_capacity(h, mode, d, opts) for d in dims] for h in models])
    # Integers: 1 MHz, 1 MiB, 1 Mbit/s, 1 vCPU; demand rounded up, capacity down.
    demand_int = np.ceil(demand_arr - 1e-9).astype(np.int64)
    cap_int = np.floor(cap + 1e-9).astype(np.int64)

    # Objective.
    prices: list[float] = []
    estimated: list[str] = []
    for h, owned in zip(models, is_owned, strict=True):
        price, est = host_price_usd(h)
        prices.append(price)
        if est and not owned:
            estimated.append(h.name)
    item_cost = None
    unit, scale = "usd", 1.0
    if opts.objective in ("cost", "balance"):
        settings = opts.economics if opts.economics is not None else load_economics(None)
        fixed = [
            sum(host_fixed_usd(h, mode_for_cost(catalog, mode), settings, owned=o).values())
            for h, o in zip(models, is_owned, strict=True)
        ]
        cost = [max(round(c), 1) for c in fixed]
        cpu_mean = _mean_cpu_mhz(workload, demand["cpu"], source_factor, mode, catalog.guest)
        share = (demand_int.max(axis=2)[:, None, :] / np.maximum(cap_int, 1)[None, :, :]).max(
            axis=2
        )
        variable = vm_variable_usd(
            models,
            settings,
            np.repeat(cpu_mean[:, None], len(models), axis=1),
            share,
            workload.inventory.get_column("os_family").to_list(),
        )
        item_cost = np.rint(variable).astype(np.int64)
        notes.append(
            f"objective: {settings.finance.horizon_years:g}-year cost of ownership of the "
            "hosts (purchase, network share, rack space, energy with PUE, hypervisor and "
            "core-licensed guest OS licences, host administration), as the economics report "
            "prices it"
        )
        if estimated:
            floor = sorted({n for n in estimated if cpu_price_floor_binds(catalog.hosts[n])})
            notes.append(
                f"no catalog price for {sorted(set(estimated))}: the Azure Migrate "
                "server-price regression is used"
                + (f", raised to the CPUs' list price for {floor} (a floor)" if floor else "")
            )
    elif opts.objective == "purchase":
        cost = [
            OWNED_HOST_COST_USD if owned else max(round(p), 1)
            for p, owned in zip(prices, is_owned, strict=True)
        ]
    elif opts.objective == "hosts":
        cost = [1] * len(models)
        unit = "hosts"
    else:
        cost = [round(h.idle_w) for h in models]
        unit = "w"
        cpu_mean = demand["cpu"].mean(axis=1)
        slope = np.array([(h.max_w - h.idle_w) / max(h.cpu_capacity_mhz, 1e-9) for h in models])
        item_cost = np.rint(cpu_mean[:, None] * slope[None, :]).astype(np.int64)
    n_avail = [c if c is not None else n_vms + (opts.ha_hosts + 1) * 8 for c in type_counts]

    # Rules: each derives its instance fields (capplan.optimize.rules).
    existing_index = {name: e for e, name in enumerate(owned_names)}
    current_bin = np.array(
        [existing_index.get(h, -1) if h is not None else -1 for h in current], dtype=np.int64
    )
    source = RuleSource(
        workload, opts, mode, len(models), current_bin, bool(owned_names), notes=notes
    )
    rule_fields = rules.derive(source)
    inst = make_instance(
        demand_int,
        cap_int,
        cost=cost,
        n_available=n_avail,
        item_names=workload.vm_ids.tolist(),
        type_names=type_models,
        dim_names=dims,
        bucket_names=red.bucket_names,
        existing_type=owned_type,
        existing_names=owned_names,
        current=current_bin,
        item_cost=item_cost,
        objective_unit=unit,
        objective_scale=scale,
        dim_units=[_UNITS[d] for d in dims],
        notes=notes,
        **rule_fields,
    )
    if red.n_filled:
        notes.append(
            f"{red.n_filled} VM-bucket cells had no data and took the VM's whole-horizon value"
        )
    return Prepared(
        inst,
        red,
        from_inv,
        tuple(notes),
        tuple(sorted(set(estimated))),
        "; ".join(source.reasons),
        growth,
        demand_today,
    )


def _new_vms(
    workload: Workload, opts: ConsolidateOptions, notes: list[str]
) -> tuple[float, tuple[float, float] | None]:
    """New VMs a month and its range: the user's figure, or fitted from creation dates."""
    if not isinstance(opts.new_vms_per_month, str):
        return float(opts.new_vms_per_month), None
    fit = arrivals_from_created(
        workload.inventory.get_column("created").to_list(), workload.end, level=opts.confidence
    )
    notes.extend(fit.notes)
    return fit.per_month, (fit.lower, fit.upper)


def _grow(
    workload: Workload, opts: ConsolidateOptions, demand: dict[str, FloatArray], notes: list[str]
) -> tuple[Growth | None, dict[str, FloatArray] | None]:
    """With a horizon: grow ``demand`` in place to the horizon; return the model and today's."""
    if opts.horizon_days <= 0:
        return None, None
    usage = tuple(
        d
        for d in demand
        if d != "mem" or mem_basis(opts, "mem_active_mib" in workload.metrics) == "consumed"
    )
    group, _ = workload.security_zones()
    new_vms, new_range = _new_vms(workload, opts, notes)
    growth = fit_growth(
        workload,
        tuple(demand),
        opts.horizon_days,
        opts.growth,
        level=opts.confidence,
        usage_dims=usage,
        group_of_vm=group,
        new_vms_per_month=new_vms,
        new_vms_range=new_range,
    )
    today = {d: v.copy() for d, v in demand.items()}
    for d in demand:
        if growth.grows(d):
            demand[d] = demand[d] * growth.sizing_factor(d, workload.n_vms)[:, None]
    notes.append(f"sized for a {opts.horizon_days:g}-day horizon: {growth.describe()}")
    notes.extend(growth.notes)
    return growth, today


# ----------------------------------------------------------------------------- solving
def consolidate(
    workload: Workload,
    catalog: Catalog,
    opts: ConsolidateOptions,
    progress: ProgressCallback | None = None,
) -> ConsolidateResult:
    """Plan hosts and placement for ``workload``; infeasible plans are results, not errors.

    ``opts.time_limit_s`` covers the preparation too: the solver gets what is left (at least
    a tenth of the budget).
    """
    start = time.perf_counter()
    prep = prepare(workload, catalog, opts)
    inst = prep.instance
    if prep.infeasible_reason:
        report = SolveReport(
            SolveStatus.INFEASIBLE,
            None,
            0,
            None,
            0.0,
            0,
            {},
            opts.strategy,
            "",
            inst.objective_unit,
            inst.objective_scale,
            "",
            prep.infeasible_reason,
            prep.notes,
        )
        res = SolveResult(report, None, None, None)
    else:
        res = solve(
            inst,
            strategy=opts.strategy,
            time_limit_s=opts.time_limit_s,
            wall_limit_s=max(
                opts.time_limit_s - (time.perf_counter() - start), 0.1 * opts.time_limit_s
            ),
            workers=opts.workers,
            seed=opts.seed,
            progress=progress,
            deterministic=opts.deterministic,
        )
    placement = None
    sol = res.solution
    notes = list(prep.notes)
    if sol is not None and opts.objective == "balance":
        sol, before, after = rebalance(inst, sol)
        notes.append(f"balance: highest peak utilisation {before:.3f} -> {after:.3f}")
    if sol is not None:
        placement = to_placement(inst, sol)
    summary = _summary(workload, catalog, opts, prep, res, sol, notes)
    if sol is not None and prep.growth is not None and prep.demand_today is not None:
        from capplan.optimize.horizon import horizon_summary

        horizon = horizon_summary(inst, sol, prep.growth, prep.demand_today, workload)
        summary = dataclasses.replace(summary, horizon=horizon)
    summary = dataclasses.replace(summary, total_wall_s=time.perf_counter() - start)
    explanation = res.explanation
    if sol is not None and opts.objective == "balance":
        from capplan.optimize.explain import explain_solution

        explanation = explain_solution(inst, sol, res.bounds)
    return ConsolidateResult(placement, res.report, explanation, prep, summary)


def to_placement(inst: Instance, sol: Solution) -> Placement:
    """Name the hosts (owned ones keep their names; new ones ``MODEL-001``...)."""
    names: list[str] = []
    models: list[str] = []
    per_model: dict[str, int] = {}
    for b in range(sol.n_bins):
        tname = inst.type_names[sol.bin_type[b]]
        model = tname.removesuffix(" (owned)")
        e = int(sol.bin_existing[b])
        if e >= 0:
            names.append(inst.existing_names[e])
        else:
            per_model[model] = per_model.get(model, 0) + 1
            names.append(f"{model}-{per_model[model]:03d}")
        models.append(model)
    return Placement.from_assignment(list(inst.item_names), sol.assign, models, names)


def rebalance(
    inst: Instance, sol: Solution, max_moves: int = 100_000
) -> tuple[Solution, float, float]:
    """Lower the highest peak utilisation by moving items off the most loaded bin.

    The bins stay the same (so the cost does not change); each move takes the item of the
    hottest bin whose removal helps most and puts it on the bin where the resulting peak is
    lowest, as long as every rule still holds and the overall maximum falls.

    Returns
    -------
    solution, max_before, max_after
    """
    from capplan.optimize.heuristics import Packer

    pk = Packer.from_solution(inst, sol)
    caps = inst.flat_capacity[pk.btype[: pk.nb]].astype(np.float64)
    caps[caps == 0] = np.inf

    def util() -> FloatArray:
        load = caps - pk.resid[: pk.nb]
        return np.where(np.isfinite(caps), load / caps, 0.0).max(axis=1)

    u = util()
    before = float(u.max()) if len(u) else 0.0
    movable = (
        (inst.pinned < 0) & (inst.current < 0)
        if inst.migration_budget is not None
        else (inst.pinned < 0)
    )
    for _ in range(max_moves):
        hot = int(np.argmax(u))
        peak = u[hot]
        best: tuple[float, int, int] | None = None
        for i in np.flatnonzero((pk.assign == hot) & movable).tolist():
            ok = pk.candidates(i)
            ok[hot] = False
            targets = np.flatnonzero(ok)
            if not len(targets):
                continue
            new_load = caps[targets] - pk.resid[targets] + inst.flat_demand[i]
            new_u = np.where(np.isfinite(caps[targets]), new_load / caps[targets], 0).max(axis=1)
            j = int(np.argmin(new_u))
            if new_u[j] < peak - 1e-9 and (best is None or new_u[j] < best[0]):
                best = (float(new_u[j]), i, int(targets[j]))
        if best is None:
            break
        _, i, b = best
        pk.remove(i)
        pk.place(i, b)
        u = util()
        if u.max() >= peak - 1e-12:
            pk.remove(i)
            pk.place(i, hot)
            u = util()
            break
    return pk.solution(), before, float(u.max()) if len(u) else 0.0


def _summary(
    workload: Workload,
    catalog: Catalog,
    opts: ConsolidateOptions,
    prep: Prepared,
    res: SolveResult,
    sol: Solution | None,
    notes: Sequence[str],
) -> PlanSummary:
    inst = prep.instance
    rep = res.report
    cost_usd = None
    n_hosts = 0
    by_model: dict[str, int] = {}
    if sol is not None:
        n_hosts = sol.n_bins
        cost_usd = 0.0
        for b in range(sol.n_bins):
            tname = inst.type_names[sol.bin_type[b]]
            model = tname.removesuffix(" (owned)")
            by_model[model] = by_model.get(model, 0) + 1
            if not tname.endswith(" (owned)"):
                cost_usd += host_price_usd(catalog.hosts[model])[0]
    expl = res.explanation
    return PlanSummary(
        status=rep.status,
        n_vms=workload.n_vms,
        n_hosts=n_hosts,
        hosts_by_model=by_model,
        cost_usd=cost_usd,
        objective=rep.objective,
        objective_unit=rep.objective_unit,
        bound=rep.bound,
        bound_hosts=res.bounds.n_bins if res.bounds is not None else None,
        gap_frac=rep.gap_frac,
        stopped_by=rep.stopped_by,
        binding=expl.binding if expl is not None else None,
        binding_bucket=expl.binding_bucket if expl is not None else None,
        why=tuple(expl.why) if expl is not None else (),
        bins_bound_by=expl.bins_bound_by if expl is not None else {},
        util_peak_frac=expl.util_peak_frac if expl is not None else {},
        wall_s=rep.wall_s,
        reason=rep.reason,
        method=rep.method,
        sizing=opts.sizing,
        n_buckets=prep.reduction.n_buckets,
        statistic=prep.reduction.statistic,
        mode=opts.mode,
        dims=tuple(inst.dim_names),
        sizing_basis=_sizing_basis(workload, prep),
        sized_from_inventory={k: len(v) for k, v in prep.sized_from_inventory.items()},
        sized_from_inventory_vms={k: v[:20] for k, v in prep.sized_from_inventory.items()},
        price_estimated_models=tuple(prep.price_estimated),
        notes=tuple(notes),
    )


def _sizing_basis(workload: Workload, prep: Prepared) -> str:
    """``usage``, ``allocation`` (every VM sized from its configured CPU and memory: no usage
    data) or ``mixed`` (some VMs from their configuration)."""
    if not {"cpu_demand_mhz", "mem_active_mib"} & set(workload.metrics):
        return "allocation"
    return "mixed" if prep.sized_from_inventory else "usage"
