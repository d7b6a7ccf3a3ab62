"""Storage pools and planning policy: which pools exist, on which tier, and the limits they obey.

A pool is one instance of a catalog SAN tier (``capplan.spec.catalog.SanTier``) in a failure
domain. Pools come from an optional TOML file; without one, every catalog tier becomes one
pool in its own failure domain with the tier's usable capacity.

The file is validated by the pydantic model :class:`StorageSpecFile` (the study files'
validation: every problem at once, each with its dotted path; ``capplan validate
--storage-schema`` prints its JSON Schema for editors). Layout (every key optional except
``pools.NAME.tier``)::

    default_over_subscription_ratio = 1.5   # provisioned <= ratio x physical (thin pools)
    alert_threshold_frac = 0.75             # forecast used <= frac x physical
    growth_frac_per_year = 0.204            # assumed growth when no used-space history exists
    growth_sd_frac_per_sqrt_year = 0.0      # assumed noise of that growth (0: deterministic)

    [latency_classes]                       # class name -> highest tier latency allowed, ms
    gold = 1.0

    [snapshot_policies]                     # policy name -> reserve as a share of used GiB
    hourly = 0.2

    [pools.ssd-a]
    tier = "ssd"                            # a catalog SAN tier
    failure_domain = "array-a"              # default: the pool's own name
    scale = 4.0                             # the tier's pool scaled linearly (4 x the drives):
                                            # usable GiB, IOPS and MiB/s; default 1
    physical_gib = 30000                    # default: the (scaled) tier's usable_gib
    over_subscription_ratio = 2.0           # default: default_over_subscription_ratio
    alert_threshold_frac = 0.8              # default: alert_threshold_frac
    price_usd_per_gib = 0.35                # default: the tier's price
    watts_per_tib = 6.0                     # default: the tier's figure

Defaults and their sources (keys of :data:`capplan.storage.sources.SOURCES`):

- ``DEFAULT_OVER_SUBSCRIPTION_RATIO = 1.5``: a typical operator choice (``sapcc-ratio-1.5``);
  OpenStack Cinder falls back to 20.0 when nothing is configured (``cinder-oversubscription``,
  :data:`CINDER_FALLBACK_RATIO`), which the ``--ratio`` what-if knob can reproduce.
- ``DEFAULT_ALERT_THRESHOLD_FRAC = 0.75``: vCenter's default datastore-usage warning
  (``vcenter-datastore-alarm``).
- ``DEFAULT_GROWTH_FRAC_PER_YEAR = 0.204``: IDC's 2019-2024 CAGR of utilized storage
  (``idc-storagesphere-2020``); used only when no used-space history exists, and the output
  says so.
- Snapshot policies: ``none`` (0), ``catalog`` (the catalog's ``san.snapshot_overhead_frac``)
  and ``ontap-default`` (0.05, ``ontap-snapshot-reserve``).
- Latency classes: ``any`` (no limit) and ``slo`` (the catalog's ``san.latency_slo_ms``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from capplan.errors import SpecError
from capplan.spec.catalog import Catalog, SanTier
from capplan.spec.problems import problems_of

#: A typical operator over-subscription ratio (source ``sapcc-ratio-1.5``).
DEFAULT_OVER_SUBSCRIPTION_RATIO: Final = 1.5
#: OpenStack Cinder's fallback ratio when none is configured (``cinder-oversubscription``).
CINDER_FALLBACK_RATIO: Final = 20.0
#: vCenter's default datastore usage warning level (``vcenter-datastore-alarm``).
DEFAULT_ALERT_THRESHOLD_FRAC: Final = 0.75
#: IDC's 2019-2024 CAGR of utilized storage (``idc-storagesphere-2020``).
DEFAULT_GROWTH_FRAC_PER_YEAR: Final = 0.204
#: ONTAP's default snapshot reserve for SAN and VMware volumes (``ontap-snapshot-reserve``).
ONTAP_SNAPSHOT_RESERVE_FRAC: Final = 0.05


@dataclass(frozen=True)
class Pool:
    """One storage pool: an instance of a SAN tier in a failure domain.

    Attributes
    ----------
    name
        Pool name (what a layout CSV's ``pool`` column names).
    tier
        The catalog tier it is built from.
    failure_domain
        Pools of one failure domain fail together; mirror copies go to two domains.
    physical_gib
        Usable physical capacity, GiB.
    over_subscription_ratio
        Provisioned GiB allowed per physical GiB (thin provisioning), or NaN for the spec's
        default.
    alert_threshold_frac
        Forecast used share of physical capacity allowed at the horizon, or NaN for the
        spec's default.
    price_usd_per_gib
        Price of one usable GiB (NaN when neither the tier nor the pool gives one).
    watts_per_tib
        Power per usable TiB, W (NaN when unknown: power is then not costed).
    """

    name: str
    tier: SanTier
    failure_domain: str
    physical_gib: float
    over_subscription_ratio: float = math.nan
    alert_threshold_frac: float = math.nan
    price_usd_per_gib: float = math.nan
    watts_per_tib: float = math.nan


@dataclass(frozen=True)
class StorageSpec:
    """Pools and the planning policy.

    Attributes
    ----------
    pools
        The pools, in a fixed order (pool index ``j`` everywhere is ``pools[j]``).
    default_over_subscription_ratio
        Ratio for pools that do not set their own.
    alert_threshold_frac
        Alert threshold for pools that do not set their own.
    growth_frac_per_year
        Assumed compound growth of used GiB when no history exists.
    growth_sd_frac_per_sqrt_year
        Assumed noise of that growth: standard deviation of one year's change as a share of
        the used GiB (Brownian scaling with the square root of time).
    latency_classes
        Class name → highest tier latency allowed, ms (``inf``: no limit).
    snapshot_policies
        Policy name → snapshot reserve as a share of used GiB.
    path
        The file it was loaded from ("" for the defaults).
    """

    pools: tuple[Pool, ...]
    default_over_subscription_ratio: float = DEFAULT_OVER_SUBSCRIPTION_RATIO
    alert_threshold_frac: float = DEFAULT_ALERT_THRESHOLD_FRAC
    growth_frac_per_year: float = DEFAULT_GROWTH_FRAC_PER_YEAR
    growth_sd_frac_per_sqrt_year: float = 0.0
    latency_classes: Mapping[str, float] = field(default_factory=dict)
    snapshot_policies: Mapping[str, float] = field(default_factory=dict)
    path: str = ""

    @property
    def n_pools(self) -> int:
        """Number of pools."""
        return len(self.pools)

    def pool_index(self) -> dict[str, int]:
        """Pool name → index."""
        return {pool.name: j for j, pool in enumerate(self.pools)}

    def ratio_of(self, pool: Pool) -> float:
        """The over-subscription ratio that applies to ``pool``."""
        if math.isnan(pool.over_subscription_ratio):
            return self.default_over_subscription_ratio
        return pool.over_subscription_ratio

    def alert_of(self, pool: Pool) -> float:
        """The alert threshold that applies to ``pool``."""
        if math.isnan(pool.alert_threshold_frac):
            return self.alert_threshold_frac
        return pool.alert_threshold_frac

    def with_ratio(self, ratio: float) -> StorageSpec:
        """Return a copy where every pool uses ``ratio`` (the ``--ratio`` what-if knob)."""
        _check_ratio(ratio, "ratio")
        pools = tuple(replace(p, over_subscription_ratio=ratio) for p in self.pools)
        return replace(self, pools=pools, default_over_subscription_ratio=ratio)

    def with_prices(self, prices: Mapping[str, float]) -> StorageSpec:
        """Return a copy with ``price_usd_per_gib`` replaced for the named tiers or pools."""
        known = {p.name for p in self.pools} | {p.tier.name for p in self.pools}
        unknown = sorted(set(prices) - known)
        if unknown:
            raise SpecError(
                [
                    (
                        f"price.{name}",
                        f"names no pool or tier; valid: {', '.join(sorted(known))}",
                    )
                    for name in unknown
                ]
            )
        bad = [(f"price.{k}", f"expected a price >= 0, got {v!r}") for k, v in prices.items()]
        bad = [item for item, v in zip(bad, prices.values(), strict=True) if not v >= 0]
        if bad:
            raise SpecError(bad)
        pools = []
        for pool in self.pools:
            price = prices.get(pool.name, prices.get(pool.tier.name, pool.price_usd_per_gib))
            pools.append(replace(pool, price_usd_per_gib=float(price)))
        return replace(self, pools=tuple(pools))


def _check_ratio(value: float, where: str) -> None:
    if not (math.isfinite(value) and value >= 1.0):
        raise SpecError(
            [
                (
                    where,
                    f"expected an over-subscription ratio >= 1.0 (1.0: no over-subscription), "
                    f"got {value!r}",
                )
            ]
        )


def scale_tier(tier: SanTier, factor: float) -> SanTier:
    """A tier's pool with ``factor`` times the drives: capacity, IOPS and MiB/s scale linearly.

    The catalog's tiers are pools of a stated drive count (its ``pool-assumption`` source says
    to scale them linearly); latency, write penalty, price per GiB and W/TiB do not change.
    """
    if factor == 1.0:
        return tier
    return replace(
        tier,
        usable_gib=tier.usable_gib * factor,
        max_iops=tier.max_iops * factor,
        max_mib_s=tier.max_mib_s * factor,
    )


def builtin_policies(catalog: Catalog) -> tuple[dict[str, float], dict[str, float]]:
    """Latency classes and snapshot policies every spec has (see the module docstring)."""
    classes = {"any": math.inf, "slo": float(catalog.san.latency_slo_ms)}
    snapshots = {
        "none": 0.0,
        "catalog": float(catalog.san.snapshot_overhead_frac),
        "ontap-default": ONTAP_SNAPSHOT_RESERVE_FRAC,
    }
    return classes, snapshots


def default_spec(catalog: Catalog) -> StorageSpec:
    """One pool per catalog tier, each its own failure domain, at the tier's usable capacity."""
    classes, snapshots = builtin_policies(catalog)
    pools = tuple(
        Pool(
            name=name,
            tier=tier,
            failure_domain=name,
            physical_gib=tier.usable_gib,
            price_usd_per_gib=tier.price_usd_per_gib,
            watts_per_tib=tier.watts_per_tib,
        )
        for name, tier in catalog.san_tiers.items()
    )
    return StorageSpec(pools=pools, latency_classes=classes, snapshot_policies=snapshots)


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class PoolFile(_File):
    """One ``[pools.NAME]`` table of a storage spec file."""

    tier: str = Field(min_length=1, description="A catalog SAN tier")
    scale: float = Field(
        1.0,
        ge=1e-6,
        le=1e6,
        description="The tier's pool scaled linearly (drives): usable GiB, IOPS and MiB/s",
    )
    failure_domain: str | None = Field(
        None, min_length=1, description="Pools of one domain fail together (default: the name)"
    )
    physical_gib: float | None = Field(
        None, gt=0, description="Usable physical GiB (default: the scaled tier's usable GiB)"
    )
    over_subscription_ratio: float | None = Field(
        None, ge=1.0, le=1e6, description="Provisioned per physical GiB (thin pools)"
    )
    alert_threshold_frac: float | None = Field(
        None, ge=1e-6, le=1.0, description="Forecast used share of physical GiB allowed"
    )
    price_usd_per_gib: float | None = Field(None, ge=0, description="Price of a usable GiB")
    watts_per_tib: float | None = Field(None, ge=0, description="Power per usable TiB, W")


class StorageSpecFile(_File):
    """A storage spec TOML file (layout and defaults in the module docstring)."""

    default_over_subscription_ratio: float = Field(
        DEFAULT_OVER_SUBSCRIPTION_RATIO, ge=1.0, le=1e6, description="Thin pools' default ratio"
    )
    alert_threshold_frac: float = Field(
        DEFAULT_ALERT_THRESHOLD_FRAC, ge=1e-6, le=1.0, description="Default alert level"
    )
    growth_frac_per_year: float = Field(
        DEFAULT_GROWTH_FRAC_PER_YEAR,
        ge=-0.99,
        le=100.0,
        description="Assumed growth when no used-space history exists",
    )
    growth_sd_frac_per_sqrt_year: float = Field(
        0.0, ge=0.0, le=100.0, description="Assumed noise of that growth"
    )
    latency_classes: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Class name -> highest tier latency allowed, ms"
    )
    snapshot_policies: dict[str, Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=dict, description="Policy name -> reserve as a share of used GiB"
    )
    pools: dict[str, PoolFile] = Field(min_length=1, description="The pools, by name")


def _tier_problems(doc: Mapping[str, Any], catalog: Catalog) -> list[tuple[str, str]]:
    """Pools naming a SAN tier the catalog does not have (read from the raw document, so they
    are reported with the file's other problems)."""
    pools = doc.get("pools")
    if not isinstance(pools, Mapping):
        return []
    valid = ", ".join(sorted(catalog.san_tiers))
    return [
        (f"pools.{name}.tier", f"unknown SAN tier {raw['tier']!r}; valid: {valid}")
        for name, raw in pools.items()
        if isinstance(raw, Mapping)
        and isinstance(raw.get("tier"), str)
        and raw["tier"]
        and raw["tier"] not in catalog.san_tiers
    ]


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def load_storage_spec(path: Path | None, catalog: Catalog) -> StorageSpec:
    """Load pools and policy from a TOML file, or build the defaults when ``path`` is None.

    Parameters
    ----------
    path
        The TOML file (layout in the module docstring), or None for :func:`default_spec`.
    catalog
        The hardware catalog the pools' tiers refer to.

    Raises
    ------
    SpecError
        With every problem found, each with its dotted path in the file.
    """
    if path is None:
        return default_spec(catalog)
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError([("", "no such storage spec file")], path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([("", f"cannot be read: {exc}")], path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([("", f"not valid TOML: {exc}")], path=path) from None
    problems = _tier_problems(doc, catalog)
    try:
        data = StorageSpecFile.model_validate(doc)
    except ValidationError as exc:
        raise SpecError(problems_of(exc) + problems, path=path) from None
    if problems:
        raise SpecError(problems, path=path)
    classes, snapshots = builtin_policies(catalog)
    classes.update(data.latency_classes)
    snapshots.update(data.snapshot_policies)
    pools: list[Pool] = []
    for name, raw in data.pools.items():
        tier = scale_tier(catalog.tier(raw.tier), raw.scale)
        pools.append(
            Pool(
                name=name,
                tier=tier,
                failure_domain=raw.failure_domain or name,
                physical_gib=_or(raw.physical_gib, tier.usable_gib),
                over_subscription_ratio=_or(raw.over_subscription_ratio, math.nan),
                alert_threshold_frac=_or(raw.alert_threshold_frac, math.nan),
                price_usd_per_gib=_or(raw.price_usd_per_gib, tier.price_usd_per_gib),
                watts_per_tib=_or(raw.watts_per_tib, tier.watts_per_tib),
            )
        )
    return StorageSpec(
        pools=tuple(pools),
        default_over_subscription_ratio=data.default_over_subscription_ratio,
        alert_threshold_frac=data.alert_threshold_frac,
        growth_frac_per_year=data.growth_frac_per_year,
        growth_sd_frac_per_sqrt_year=data.growth_sd_frac_per_sqrt_year,
        latency_classes=classes,
        snapshot_policies=snapshots,
        path=str(path),
    )
