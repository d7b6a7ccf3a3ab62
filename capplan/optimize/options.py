"""The settings of one consolidation, and their check.

:class:`ConsolidateOptions` is what :func:`capplan.optimize.consolidate.consolidate` and the
optimizer rules (:mod:`capplan.optimize.rules`) read; its defaults are the objects a scenario
declares (:func:`capplan.spec.study.scenario_default`), so the CLI, study files and the
dashboard start from the same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capplan.errors import SpecError
from capplan.forecast.checks import ForecastError
from capplan.forecast.horizon import parse_growth
from capplan.spec.catalog import Catalog
from capplan.spec.economics import EconomicsSettings
from capplan.spec.study import scenario_default

#: How a VM's demand is sized (see :class:`ConsolidateOptions`).
SIZINGS = ("time-aware", "peak")
#: What memory is sized on (see :class:`ConsolidateOptions`).
MEM_BASES = ("auto", "consumed", "configured")

#: What the plan minimises (see :class:`ConsolidateOptions`).
OBJECTIVES = ("cost", "purchase", "hosts", "power", "balance")
#: Defaults of the settings a scenario declares: the declared objects themselves, the same
#: for the CLI, study files and the dashboard (:data:`capplan.spec.study.CONSOLIDATION_SETTINGS`).
_DEFAULT = scenario_default
#: Share of CPU, memory and network capacity kept free by default.
DEFAULT_HEADROOM_FRAC: float = scenario_default("headroom_frac")


@dataclass(frozen=True)
class HostOffer:
    """A host model offered to the plan.

    Attributes
    ----------
    model
        Catalog host model name.
    count
        Most hosts of the model that may be used (None: as many as needed).
    """

    model: str
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostOffer:
        """Parse ``MODEL`` or ``MODEL:COUNT``; raises SpecError naming the bad text."""
        model, sep, count = text.strip().rpartition(":") if ":" in text else (text, "", "")
        model = model.strip()
        if not model:
            raise SpecError([("--hosts", f"{text!r}: expected MODEL or MODEL:COUNT")])
        if not sep:
            return cls(model, None)
        try:
            n = int(count)
        except ValueError:
            n = -1
        if n < 0:
            raise SpecError([("--hosts", f"{text!r}: COUNT must be a whole number >= 0")])
        return cls(model, n)


@dataclass(frozen=True)
class ConsolidateOptions:
    """Settings of one consolidation.

    Attributes
    ----------
    hosts
        Host models offered (empty: :func:`~capplan.optimize.consolidate.default_offer`,
        the catalog's current models, unlimited; owned hosts are added whatever their
        status).
    mode
        Virtualization mode (catalog name, or ``"none"`` for no overhead).
    source_perf_factor, source_host
        perf_factor of the hardware the CPU demand was measured on (demand × factor =
        reference-core MHz); ``source_host`` takes it from a catalog model instead.
    buckets, period, statistic
        Time-aware reduction: K buckets of a typical ``day`` or ``week``, keeping the ``peak``
        or a percentile (``p95``) per bucket.
    sizing
        ``time-aware`` or ``peak`` (each VM at its own peak: the baseline).
    cpu_overcommit_ratio, mem_overcommit_ratio
        Sized demand per unit of host capacity (1.0: no over-commit). The memory ratio
        divides the memory figure ``mem_basis`` names, once.
    mem_basis
        What memory is sized on: ``consumed`` (the trace's memory usage; VMs without it at
        their configured memory), ``configured`` (the inventory's provisioned memory, the
        figure vSphere's over-commit ratio is defined on), or ``auto`` (consumed when the
        trace measures memory, configured otherwise).
    headroom_frac
        Share of CPU, memory and network capacity kept free.
    ha_hosts, ha_policy
        N+k: k host failures per zone absorbed (``reserve`` or ``strict``).
    vcpu_per_core_ratio
        Most vCPUs per physical core, or None for no limit.
    cpu_ready_limit_frac
        Most CPU ready a host may reach (share of wall time): each host's CPU capacity is cut
        to :func:`~capplan.optimize.consolidate.ready_cap_frac` where that is below
        ``1 − headroom_frac``; None: no limit.
        The cap bounds the *sized* demand: with a CPU over-commit ratio above 1 or a
        percentile statistic, the replay's utilization (and ready) can exceed it.
    vlan_limit
        Most distinct VLANs per host trunk, or None.
    objective
        ``cost``, ``hosts``, ``power`` or ``balance``.
    existing_hosts
        Current host name → catalog model, for hosts named in the inventory's
        ``current_host`` that are owned already.
    migration_budget
        Most VMs moved away from their current host (needs ``existing_hosts``).
    pinned_vms
        VMs that must stay on their current host.
    affinity_groups
        Groups of VM ids that must share a host.
    time_limit_s, workers, strategy, seed
        Solver settings.
    economics
        Settings the ``cost`` objective prices hosts with (None: the bundled settings).
    expected_cpu_util_frac
        Share of its configured CPU a VM without CPU usage is expected to use
        (allocation-based sizing, e.g. from an RVTools export alone; 1.0: all of it).
    deterministic
        Search on a work budget (same inputs and seed, same plan); False searches until the
        wall-clock limit (:mod:`capplan.optimize.clock`).
    horizon_days, growth, confidence
        Plan for a horizon (0: for the history as it is): every VM's sized demand grows
        (``"auto"``: its security zone's trend, where the history supports one, at the
        ``confidence`` upper bound; a number: that compound annual rate) and the plan must
        hold until day ``horizon_days``; the summary then says
        when each resource runs out and what to buy when (:mod:`capplan.forecast.horizon`).
    new_vms_per_month
        With a horizon: new VMs a month, each like its zone's average VM, or ``"auto"``:
        fitted from the inventory's creation dates (the upper bound at ``confidence`` sized).
    """

    hosts: tuple[HostOffer, ...] = ()
    mode: str = _DEFAULT("mode")
    source_perf_factor: float = 1.0
    source_host: str | None = _DEFAULT("source_host")
    buckets: int = _DEFAULT("buckets")
    period: str = _DEFAULT("period")
    statistic: str = _DEFAULT("statistic")
    sizing: str = _DEFAULT("sizing")
    cpu_overcommit_ratio: float = _DEFAULT("cpu_overcommit_ratio")
    mem_overcommit_ratio: float = _DEFAULT("mem_overcommit_ratio")
    mem_basis: str = _DEFAULT("mem_basis")
    headroom_frac: float = _DEFAULT("headroom_frac")
    ha_hosts: int = _DEFAULT("ha_hosts")
    ha_policy: str = _DEFAULT("ha_policy")
    vcpu_per_core_ratio: float | None = _DEFAULT("vcpu_per_core_ratio")
    cpu_ready_limit_frac: float | None = _DEFAULT("cpu_ready_limit_frac")
    vlan_limit: int | None = _DEFAULT("vlan_limit")
    objective: str = _DEFAULT("objective")
    existing_hosts: dict[str, str] = field(default_factory=dict)
    migration_budget: int | None = None
    pinned_vms: tuple[str, ...] = ()
    affinity_groups: tuple[tuple[str, ...], ...] = ()
    time_limit_s: float = _DEFAULT("time_limit_s")
    workers: int = _DEFAULT("workers")
    strategy: str = _DEFAULT("strategy")
    seed: int = _DEFAULT("seed")
    deterministic: bool = True
    economics: EconomicsSettings | None = None
    expected_cpu_util_frac: float = _DEFAULT("expected_cpu_util_frac")
    horizon_days: float = _DEFAULT("horizon_days")
    growth: str | float = _DEFAULT("growth")
    confidence: float = _DEFAULT("confidence")
    new_vms_per_month: float | str = _DEFAULT("new_vms_per_month")


#: One problem: the setting's name and what is wrong with it.
Problem = tuple[str, str]


def check_options(opts: ConsolidateOptions, catalog: Catalog) -> None:
    """Raise SpecError naming every bad setting of ``opts`` (all at once)."""
    problems = [
        *_choices(opts, catalog),
        *_sizing(opts, catalog),
        *_limits(opts),
        *_estate(opts, catalog),
        *_horizon(opts),
    ]
    if problems:
        raise SpecError(problems)


def _choices(opts: ConsolidateOptions, catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    if opts.sizing not in SIZINGS:
        problems.append(("sizing", f"{opts.sizing!r} is not one of {list(SIZINGS)}"))
    if opts.objective not in OBJECTIVES:
        problems.append(("objective", f"{opts.objective!r} is not one of {list(OBJECTIVES)}"))
    if opts.mem_basis not in MEM_BASES:
        problems.append(("mem_basis", f"{opts.mem_basis!r} is not one of {list(MEM_BASES)}"))
    if opts.mode not in catalog.modes and opts.mode != "none":
        problems.append(
            (
                "mode",
                f"unknown mode {opts.mode!r}; catalog modes: "
                f"{sorted(catalog.modes)} (or 'none': no overhead)",
            )
        )
    return problems


def _sizing(opts: ConsolidateOptions, catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in (
        ("cpu_overcommit_ratio", opts.cpu_overcommit_ratio),
        ("mem_overcommit_ratio", opts.mem_overcommit_ratio),
    ):
        if not (value > 0 and math.isfinite(value)):
            problems.append((name, f"must be > 0, got {value}"))
    if not 0 <= opts.headroom_frac < 1:
        problems.append(("headroom_frac", f"must be in [0, 1), got {opts.headroom_frac}"))
    if not (opts.source_perf_factor > 0 and math.isfinite(opts.source_perf_factor)):
        problems.append(("source_perf_factor", f"must be > 0, got {opts.source_perf_factor}"))
    if opts.source_host is not None and opts.source_host not in catalog.hosts:
        problems.append(("source_host", f"unknown host model {opts.source_host!r}"))
    if opts.vcpu_per_core_ratio is not None and opts.vcpu_per_core_ratio <= 0:
        problems.append(("vcpu_per_core_ratio", "must be > 0"))
    if opts.cpu_ready_limit_frac is not None and not 0 < opts.cpu_ready_limit_frac < 1:
        problems.append(
            ("cpu_ready_limit_frac", f"must be in (0, 1), got {opts.cpu_ready_limit_frac}")
        )
    return problems


def _limits(opts: ConsolidateOptions) -> list[Problem]:
    problems: list[Problem] = []
    if opts.vlan_limit is not None and opts.vlan_limit < 1:
        problems.append(("vlan_limit", "must be >= 1"))
    if opts.ha_hosts < 0:
        problems.append(("ha_hosts", "must be >= 0"))
    if not 0.0 < opts.expected_cpu_util_frac <= 1.0:
        problems.append(("expected_cpu_util_frac", "must be in (0, 1]"))
    if opts.ha_policy not in ("reserve", "strict"):
        problems.append(("ha_policy", f"{opts.ha_policy!r} is not 'reserve' or 'strict'"))
    return problems


def _estate(opts: ConsolidateOptions, catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for k, offer in enumerate(opts.hosts):
        if offer.model not in catalog.hosts:
            problems.append(
                (
                    f"hosts[{k}]",
                    f"unknown host model {offer.model!r}; catalog models: {sorted(catalog.hosts)}",
                )
            )
    for host, model in opts.existing_hosts.items():
        if model not in catalog.hosts:
            problems.append((f"existing_hosts[{host!r}]", f"unknown host model {model!r}"))
    if opts.migration_budget is not None and opts.migration_budget < 0:
        problems.append(("migration_budget", "must be >= 0"))
    if opts.time_limit_s <= 0:
        problems.append(("time_limit_s", "must be > 0"))
    return problems


def _horizon(opts: ConsolidateOptions) -> list[Problem]:
    problems: list[Problem] = []
    if not (math.isfinite(opts.horizon_days) and opts.horizon_days >= 0):
        problems.append(("horizon_days", f"must be >= 0 days, got {opts.horizon_days}"))
    new_vms = opts.new_vms_per_month
    if isinstance(new_vms, str):
        if new_vms.strip().lower() != "auto":
            problems.append(
                ("new_vms_per_month", f"must be a number >= 0 or 'auto', got {new_vms!r}")
            )
    elif not (math.isfinite(new_vms) and new_vms >= 0):
        problems.append(("new_vms_per_month", f"must be >= 0, got {new_vms}"))
    if (isinstance(new_vms, str) or new_vms > 0) and opts.horizon_days <= 0:
        problems.append(("new_vms_per_month", "needs a planning horizon (horizon_days > 0)"))
    if not 0.5 < opts.confidence < 1:
        problems.append(("confidence", f"must be in (0.5, 1), got {opts.confidence}"))
    try:
        parse_growth(opts.growth)
    except ForecastError as exc:
        problems.append(("growth", exc.message))
    return problems
