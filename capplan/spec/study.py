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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HostOffer(_Frozen):
    """A host model offered to the optimizer, and how many may be bought (None: unlimited)."""

    model: str
    max_count: int | None = Field(default=None, ge=0)


class StorageDesign(_Frozen):
    """Storage design knobs of a scenario."""

    provisioning: Literal["thin", "thick"] = "thin"
    oversubscription_ratio: float = Field(default=1.5, ge=1.0)
    appliance: Literal["none", "in-band", "out-of-band"] = "none"
    mirrored: bool = False
    #: Share of capacity reserved for snapshots (None: the catalog's SAN design).
    snapshot_reserve_frac: float | None = Field(default=None, ge=0, lt=1)
    horizon_days: int = Field(default=365, gt=0)


class NetworkDesign(_Frozen):
    """Network design knobs of a scenario."""

    #: ToR host-facing over uplink bandwidth (None: the catalog's fabric); sets the uplink count.
    uplink_oversubscription_ratio: float | None = Field(default=None, gt=0)
    #: Share of north-south traffic carried through VPN tunnels (None: the catalog's fabric).
    vpn_frac: float | None = Field(default=None, ge=0, le=1)


class Scenario(_Frozen):
    """One complete what-if question."""

    name: str = "scenario"
    workload: str
    catalog: str | None = None
    mode: str = "hw-assisted"
    sizing: Literal["time-aware", "peak"] = "time-aware"
    buckets: int = Field(default=24, ge=1, le=8760)
    cpu_overcommit_ratio: float = Field(default=1.0, gt=0)
    mem_overcommit_ratio: float = Field(default=1.0, gt=0)
    mem_basis: Literal["auto", "consumed", "configured"] = "auto"
    horizon_days: float = Field(default=0.0, ge=0)
    growth: Literal["auto"] | float = "auto"
    confidence: float = Field(default=0.9, gt=0.5, lt=1)
    new_vms_per_month: Annotated[float, Field(ge=0)] | Literal["auto"] = 0.0
    backtest_days: float = Field(default=0.0, ge=0)
    headroom_frac: float = Field(default=0.2, ge=0, lt=1)
    # N+1 by default: vSphere HA admission control's default tolerates one host failure
    # (source "vsphere-ha-default" in models/economics/economics.toml).
    ha_hosts: int = Field(default=1, ge=0)
    hosts: tuple[HostOffer, ...] = ()
    objective: Literal["cost", "hosts", "power", "balance"] = "cost"
    storage: StorageDesign = StorageDesign()
    network: NetworkDesign = NetworkDesign()
    time_limit_s: float = Field(default=30.0, gt=0)
    workers: int = Field(default=2, ge=1)
    seed: int = 0

    @field_validator("workload")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a trace path, FORMAT:PATH or a Parquet file")
        return value


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
                    problems.extend(
                        (f"axes.{name}[{index}]", f"{value!r}: {what}")
                        for _, what in _problems(exc)
                    )
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


def _problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for error in exc.errors():
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"])
        path = path.replace(".[", "[")
        where = f"{prefix}.{path}" if prefix and path else prefix or path
        out.append((where, error["msg"]))
    return out


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
            _problems(exc) + problems + _axis_value_problems(axes) + _raw_catalog_problems(raw),
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
                out += [(f"axes.{name}[{k}]", f"{value!r}: {msg}") for _, msg in _problems(exc)]
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
