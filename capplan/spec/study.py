"""Scenario and study specs: what-if questions as validated, frozen data loaded from TOML.

A **scenario** is one complete question (workload, catalog, virtualization mode, sizing,
over-commit, headroom, HA, host models offered, storage and network design, solver limits).
A **study** is a base scenario plus axes; it expands into scenarios as the cartesian product of
the axes, each with a stable id built from its axis values.

``capplan validate STUDY.toml`` loads a study and lists every problem at once, with its dotted
path (``base.mem_overcommit_ratio``, ``axes.mode[2]``).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from capplan.errors import SpecError
from capplan.spec.problems import problems_of


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def setting(default: Any, label: str, description: str, unit: str = "", **rules: Any) -> Any:
    """A scenario setting: its default, what it is, its unit and its validation rules.

    The one declaration the study file, the CLI options (:mod:`capplan.commands.scenario_options`)
    and the dashboard form (:mod:`capplan.dashboard.studyfile`) all read: their defaults are
    these objects, their help these words. ``label`` and ``unit`` travel in the JSON Schema
    (``capplan validate --schema``).
    """
    extra: dict[str, Any] = {"label": label, **({"unit": unit} if unit else {})}
    return Field(default=default, description=description, json_schema_extra=extra, **rules)


class HostOffer(_Frozen):
    """A host model offered to the optimizer, and how many may be bought (None: unlimited)."""

    model: str = setting(..., "Host model", "Catalog host model name")
    max_count: int | None = setting(
        None,
        "Most hosts",
        "Most hosts of the model that may be bought (none: unlimited)",
        "hosts",
        ge=0,
    )


class StorageDesign(_Frozen):
    """Storage design knobs of a scenario."""

    provisioning: Literal["thin", "thick"] = setting(
        "thin", "Storage provisioning", "Thin or thick volumes"
    )
    oversubscription_ratio: float = setting(
        1.5,
        "Thin over-subscription ratio",
        "Provisioned capacity per physical capacity of a thin pool",
        "ratio",
        ge=1.0,
    )
    appliance: Literal["none", "in-band", "out-of-band"] = setting(
        "none", "SAN virtualization appliance", "None, in-band or out-of-band"
    )
    mirrored: bool = setting(False, "Mirrored storage", "Synchronous mirroring of every volume")
    snapshot_reserve_frac: float | None = setting(
        None,
        "Snapshot reserve",
        "Share of capacity kept for snapshots (none: the catalog's SAN design)",
        "fraction",
        ge=0,
        lt=1,
    )
    horizon_days: int = setting(
        365, "Storage horizon", "Horizon of the time-to-full forecast", "days", gt=0
    )
    io_quantile: float = setting(
        0.95,
        "Storage I/O quantile",
        "Each volume's IOPS and MiB/s are planned at this quantile of its trace; where the "
        "replay of the plan breaches a pool's latency objective, the plan is redone at 0.99, "
        "0.999, then the peak (1)",
        "quantile",
        gt=0,
        le=1,
    )


class NetworkDesign(_Frozen):
    """Network design knobs of a scenario."""

    uplink_oversubscription_ratio: float | None = setting(
        None,
        "Uplink over-subscription ratio",
        "ToR host-facing over uplink bandwidth; sets the uplink count (none: the catalog's fabric)",
        "ratio",
        gt=0,
    )
    vpn_frac: float | None = setting(
        None,
        "VPN traffic share",
        "Share of north-south traffic carried through VPN tunnels (none: the catalog's fabric)",
        "fraction",
        ge=0,
        le=1,
    )


class Scenario(_Frozen):
    """One complete what-if question: every setting of every stage, declared once."""

    name: str = setting("scenario", "Name", "Scenario name (a study sets its id)")
    workload: str = setting(
        ..., "Workload", "Trace path(s), FORMAT:PATH (e.g. planetlab:DIR) or ingested Parquet"
    )
    catalog: str | None = setting(None, "Catalog", "Catalog folder (none: the bundled models/)")
    mode: str = setting(
        "hw-assisted",
        "Virtualization mode",
        "Virtualization mode of the plan: a catalog mode (bare-metal, full-bt, hw-assisted, "
        "paravirt, containers)",
    )
    source_host: str | None = setting(
        None,
        "Measured on",
        "Catalog host model the CPU demand was measured on (its perf_factor scales the "
        "demand; none: the reference core)",
    )
    sizing: Literal["time-aware", "peak"] = setting(
        "time-aware",
        "Sizing method",
        "'time-aware': each VM's demand per time bucket, so complementary VMs share hosts; "
        "'peak': each VM at its own peak (the baseline)",
    )
    buckets: int = setting(
        24, "Time buckets", "Buckets of the typical period (K)", "buckets", ge=1, le=8760
    )
    period: Literal["day", "week"] = setting(
        "day", "Typical period", "The period the time buckets divide: 'day' or 'week'"
    )
    statistic: str = setting(
        "peak",
        "Per-bucket statistic",
        "What each VM's demand keeps per bucket: 'peak' or a percentile 'pNN' (p95, p99)",
        pattern=r"^(peak|max|p(100|\d{1,2}(\.\d+)?))$",
    )
    cpu_overcommit_ratio: float = setting(
        1.0,
        "CPU over-commit ratio",
        "Sized CPU demand per unit of host CPU capacity (1: none)",
        "ratio",
        gt=0,
    )
    mem_overcommit_ratio: float = setting(
        1.0,
        "Memory over-commit ratio",
        "Sized memory per unit of host RAM, applied once to the memory basis (1: none)",
        "ratio",
        gt=0,
    )
    mem_basis: Literal["auto", "consumed", "configured"] = setting(
        "auto",
        "Memory sized on",
        "'consumed' (the trace's usage), 'configured' (the inventory) or 'auto' (consumed "
        "where the trace measures it)",
    )
    vcpu_per_core_ratio: float | None = setting(
        None,
        "vCPUs per core",
        "Most vCPUs per physical core (none: no limit)",
        "vCPU/core",
        gt=0,
    )
    cpu_ready_limit_frac: float | None = setting(
        None,
        "CPU ready limit",
        "Most CPU ready (VMware %RDY, share of wall time a vCPU waits for a core) a host may "
        "reach: its CPU is filled only up to the utilization where ready reaches it with the "
        "fewest vCPUs that can queue (cores + 1); none: no limit; 0.05 is VMware's guidance",
        "fraction",
        gt=0,
        lt=1,
    )
    vlan_limit: int | None = setting(
        None,
        "VLANs per host",
        "Most distinct VLANs on a host's trunk (none: no limit)",
        "VLANs",
        ge=1,
    )
    horizon_days: float = setting(
        0.0,
        "Planning horizon",
        "The plan holds for this many days of growth (0: for the history as it is)",
        "days",
        ge=0,
    )
    growth: Literal["auto"] | float = setting(
        "auto",
        "Growth a year",
        "With a horizon: 'auto' (each zone's trend from the trace) or a compound annual rate",
        "fraction/year",
    )
    confidence: float = setting(
        0.9,
        "Growth confidence level",
        "With a horizon: the plan holds at this upper bound of the fitted trend",
        "probability",
        gt=0.5,
        lt=1,
    )
    new_vms_per_month: Annotated[float, Field(ge=0)] | Literal["auto"] = setting(
        0.0,
        "New VMs a month",
        "With a horizon: VMs added each month, each like its zone's average VM; 'auto' fits "
        "the rate to the inventory's creation dates",
        "VMs/month",
    )
    backtest_days: float = setting(
        0.0,
        "Backtest",
        "Also plan on all but the last N days and replay the plan on them (0: no backtest)",
        "days",
        ge=0,
    )
    headroom_frac: float = setting(
        0.2,
        "Headroom",
        "Share of CPU, memory and network capacity kept free on every host",
        "fraction",
        ge=0,
        lt=1,
    )
    # N+1 by default: vSphere HA admission control's default tolerates one host failure
    # (source "vsphere-ha-default" in models/economics/economics.toml).
    ha_hosts: int = setting(
        1,
        "HA spare hosts",
        "N+k: host failures absorbed per security zone (k; 0: no reserve)",
        "hosts",
        ge=0,
    )
    ha_policy: Literal["reserve", "strict"] = setting(
        "reserve",
        "HA reserve policy",
        "'reserve': the k largest hosts' capacity kept free per zone, in aggregate; "
        "'strict': the VMs of any k failed hosts fit on the others",
    )
    hosts: tuple[HostOffer, ...] = setting(
        (), "Host models offered", "Host models the plan may buy (none: the catalog's current ones)"
    )
    expected_cpu_util_frac: float = setting(
        1.0,
        "Expected CPU use",
        "Share of its configured CPU a VM without CPU usage is expected to use "
        "(allocation-based sizing, e.g. an RVTools export alone)",
        "fraction",
        gt=0,
        le=1,
    )
    objective: Literal["cost", "hosts", "power", "balance"] = setting(
        "cost", "Objective", "What the optimizer minimizes: cost, hosts, power or balance"
    )
    strategy: Literal["auto", "ffd", "bfd", "heuristics", "cpsat", "lns", "eject"] = setting(
        "auto", "Solve strategy", "How the optimizer searches ('auto' picks by instance size)"
    )
    storage: StorageDesign = setting(StorageDesign(), "Storage design", "Storage design knobs")
    network: NetworkDesign = setting(NetworkDesign(), "Network design", "Network design knobs")
    time_limit_s: float = setting(
        30.0, "Solver time limit", "Wall-clock limit of each solve", "s", gt=0
    )
    workers: int = setting(2, "Solver workers", "CP-SAT worker threads", "threads", ge=1)
    seed: int = setting(0, "Random seed", "Seed of the solver and the Monte Carlo")

    @field_validator("workload")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a trace path, FORMAT:PATH or a Parquet file")
        return value


#: Scenario settings the consolidation (``ConsolidateOptions``) takes under the same names.
CONSOLIDATION_SETTINGS: tuple[str, ...] = (
    "mode",
    "source_host",
    "sizing",
    "buckets",
    "period",
    "statistic",
    "cpu_overcommit_ratio",
    "mem_overcommit_ratio",
    "mem_basis",
    "vcpu_per_core_ratio",
    "cpu_ready_limit_frac",
    "vlan_limit",
    "horizon_days",
    "growth",
    "confidence",
    "new_vms_per_month",
    "headroom_frac",
    "ha_hosts",
    "ha_policy",
    "expected_cpu_util_frac",
    "objective",
    "strategy",
    "time_limit_s",
    "workers",
    "seed",
)


def scenario_field(path: str) -> Any:
    """The pydantic field info of the scenario setting at dotted ``path``
    (``storage.horizon_days``)."""
    model: Any = Scenario
    *tables, name = path.split(".")
    for table in tables:
        model = type(model.model_fields[table].default)
    return model.model_fields[name]


def scenario_default(path: str) -> Any:
    """Default of the scenario setting at dotted ``path`` (the declared object itself)."""
    return scenario_field(path).default


def scenario_help(path: str) -> str:
    """The setting's description with its unit, as the CLI and the form show it."""
    info = scenario_field(path)
    unit = (info.json_schema_extra or {}).get("unit")
    return f"{info.description} (unit: {unit})" if unit else str(info.description)


def scenario_label(path: str) -> str:
    """The setting's short label."""
    return str((scenario_field(path).json_schema_extra or {})["label"])


#: Scenario fields that are tables (dotted axes such as ``storage.mirrored`` reach into them).
_TABLE_FIELDS = ("storage", "network")


class Study(_Frozen):
    """A base scenario plus axes whose cartesian product gives the scenarios."""

    name: str
    description: str = ""
    base: Scenario
    axes: dict[str, tuple[Any, ...]] = Field(default_factory=dict)

    def expand(self) -> list[Scenario]:
        """Return every scenario of the study, in a stable order, each with a stable id as name.

        Raises
        ------
        SpecError
            When an axis names an unknown field or a value is invalid for it (all at once).
        """
        names = sorted(self.axes)
        base = self.base.model_dump()
        problems: list[tuple[str, str]] = []
        for name in names:
            for index, value in enumerate(self.axes[name]):
                data = copy.deepcopy(base)
                _set_dotted(data, name, value)
                try:
                    Scenario.model_validate(data)
                except ValidationError as exc:
                    problems.extend((f"axes.{name}[{index}]", what) for _, what in problems_of(exc))
        if problems:
            raise SpecError(problems)
        scenarios: list[Scenario] = []
        for combo in itertools.product(*(self.axes[n] for n in names)):
            data = copy.deepcopy(base)
            for name, value in zip(names, combo, strict=True):
                _set_dotted(data, name, value)
            data["name"] = scenario_id(dict(zip(names, combo, strict=True)))
            scenarios.append(Scenario.model_validate(data))
        return scenarios


def scenario_id(values: dict[str, Any]) -> str:
    """A readable, stable id from axis values (``mode=paravirt,mem_overcommit_ratio=1.5``)."""
    if not values:
        return "base"
    text = ",".join(f"{k}={values[k]}" for k in sorted(values))
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{text}#{digest}"


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            return
    target[parts[-1]] = value


def load_study(path: Path) -> Study:
    """Load and validate a study TOML file; every problem is reported at once.

    Relative ``workload`` and ``catalog`` paths are resolved against the study file's folder.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError([("", "no such study file")], path=path) from None
    except OSError as exc:
        raise SpecError([("", f"cannot be read ({exc.strerror or exc})")], path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError([("", f"not valid TOML: {exc}")], path=path) from None
    base = raw.get("base")
    if isinstance(base, dict):
        for key in ("workload", "catalog"):
            value = base.get(key)
            if isinstance(value, str) and value:
                base[key] = _resolve(value, path.parent)
    problems: list[tuple[str, str]] = []
    axes = raw.get("axes", {})
    if isinstance(axes, dict):
        for key in ("workload", "catalog"):
            values = axes.get(key)
            if isinstance(values, list):
                axes[key] = [
                    _resolve(v, path.parent) if isinstance(v, str) and v else v for v in values
                ]
        for name, values in axes.items():
            root = name.split(".")[0]
            if root not in Scenario.model_fields or root == "name":
                valid = ", ".join(sorted(f for f in Scenario.model_fields if f != "name"))
                problems.append(
                    (f"axes.{name}", f"unknown scenario field; expected one of: {valid}")
                )
            elif "." in name and root not in _TABLE_FIELDS:
                problems.append((f"axes.{name}", f"{root!r} is not a table; use the axis {root!r}"))
            elif not isinstance(values, list) or not values:
                problems.append((f"axes.{name}", "expected a non-empty list of values"))
    problems += _workload_problems(raw)
    try:
        study = Study.model_validate(raw)
    except ValidationError as exc:
        # Report the catalog names too, read from the raw document, so that one run of
        # `capplan validate` lists every problem.
        raise SpecError(
            problems_of(exc) + problems + _axis_value_problems(axes) + _raw_catalog_problems(raw),
            path=path,
        ) from None
    try:
        scenarios = study.expand()
    except SpecError as exc:
        raise SpecError(problems + list(exc.problems), path=path) from None
    problems += _catalog_problems(study, scenarios)
    if problems:
        raise SpecError(problems, path=path)
    return study


def _axis_value_problems(axes: Any) -> list[tuple[str, str]]:
    """Each value of each top-level axis checked against its field alone (used when the base
    scenario is invalid, so that its problems do not hide the axes' ones)."""
    if not isinstance(axes, dict):
        return []
    out: list[tuple[str, str]] = []
    for name, values in axes.items():
        info = Scenario.model_fields.get(name)
        if info is None or name in ("name", "workload", "catalog") or not isinstance(values, list):
            continue
        adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, info])
        for k, value in enumerate(values):
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                out += [(f"axes.{name}[{k}]", msg) for _, msg in problems_of(exc)]
    return out


def _workload_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Workload paths (base and axis) that do not exist on this machine."""
    from capplan.io import parse_source

    out: list[tuple[str, str]] = []
    base = raw.get("base")
    axes = raw.get("axes")
    entries: list[tuple[str, Any]] = []
    if isinstance(base, dict):
        entries.append(("base.workload", base.get("workload")))
    if isinstance(axes, dict) and isinstance(axes.get("workload"), list):
        entries += [(f"axes.workload[{i}]", v) for i, v in enumerate(axes["workload"])]
    for where, value in entries:
        if not isinstance(value, str) or not value.strip():
            continue
        _, source = parse_source(value)
        if not Path(source).exists():
            out.append((where, f"no such file or folder: {source}"))
    return out


def _raw_catalog_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Unknown modes and host models in a document that did not validate as a whole."""
    from capplan.spec.catalog import load_catalog

    base = raw.get("base") if isinstance(raw.get("base"), dict) else {}
    axes = raw.get("axes") if isinstance(raw.get("axes"), dict) else {}
    assert isinstance(base, dict) and isinstance(axes, dict)
    catalog_path = base.get("catalog")
    try:
        catalog = load_catalog(Path(catalog_path) if isinstance(catalog_path, str) else None)
    except SpecError:
        return []  # reported by the full validation once the document is valid
    out: list[tuple[str, str]] = []
    modes = [("base.mode", base.get("mode"))]
    if isinstance(axes.get("mode"), list):
        modes += [(f"axes.mode[{i}]", v) for i, v in enumerate(axes["mode"])]
    for where, mode in modes:
        if isinstance(mode, str) and mode not in catalog.modes:
            valid = ", ".join(sorted(catalog.modes))
            out.append((where, f"unknown mode {mode!r}; expected one of: {valid}"))
    hosts = base.get("hosts")
    if isinstance(hosts, list):
        for i, offer in enumerate(hosts):
            model = offer.get("model") if isinstance(offer, dict) else None
            if isinstance(model, str) and model not in catalog.hosts:
                valid = ", ".join(sorted(catalog.hosts))
                out.append(
                    (
                        f"base.hosts[{i}].model",
                        f"unknown host model {model!r}; expected one of: {valid}",
                    )
                )
    return out


def _catalog_problems(study: Study, scenarios: list[Scenario]) -> list[tuple[str, str]]:
    """Modes and host models each scenario names must exist in its catalog."""
    from capplan.spec.catalog import load_catalog

    problems: list[tuple[str, str]] = []
    catalogs: dict[str | None, Any] = {}
    for scenario in scenarios:
        if scenario.catalog not in catalogs:
            try:
                catalogs[scenario.catalog] = load_catalog(
                    Path(scenario.catalog) if scenario.catalog else None
                )
            except SpecError as exc:
                problems.extend(("base.catalog", f"{w}: {m}") for w, m in exc.problems)
                catalogs[scenario.catalog] = None
        catalog = catalogs[scenario.catalog]
        if catalog is None:
            continue
        if scenario.mode not in catalog.modes:
            valid = ", ".join(sorted(catalog.modes))
            where = _origin(study, "mode", scenario.mode)
            problems.append((where, f"unknown mode {scenario.mode!r}; expected one of: {valid}"))
        for index, offer in enumerate(scenario.hosts):
            if offer.model not in catalog.hosts:
                valid = ", ".join(sorted(catalog.hosts))
                where = _origin(study, "hosts", scenario.hosts)
                problems.append(
                    (
                        f"{where}[{index}].model" if where == "base.hosts" else where,
                        f"unknown host model {offer.model!r}; expected one of: {valid}",
                    )
                )
    return sorted(set(problems), key=problems.index)


def _origin(study: Study, name: str, value: Any) -> str:
    """Dotted path of where a scenario's value came from: an axis entry, or the base."""
    if name in study.axes:
        for index, candidate in enumerate(study.axes[name]):
            if candidate == value or (
                isinstance(value, tuple)
                and Scenario.model_fields[name].annotation is not None
                and _same_hosts(candidate, value)
            ):
                return f"axes.{name}[{index}]"
    return f"base.{name}"


def _same_hosts(candidate: Any, value: tuple[HostOffer, ...]) -> bool:
    try:
        return tuple(HostOffer.model_validate(c) for c in candidate) == value
    except (ValidationError, TypeError):
        return False


def _resolve(value: str, folder: Path) -> str:
    """Resolve a relative path (keeping a ``FORMAT:`` prefix) against ``folder``."""
    from capplan.io import parse_source

    fmt, path = parse_source(value)
    if path.is_absolute():
        return value
    resolved = str((folder / path).resolve())
    return f"{fmt}:{resolved}" if fmt else resolved
