"""Workload descriptors: a small TOML file that names a synthetic workload, and its cache.

A descriptor holds the seed and size of a generated workload instead of its data::

    [synthetic]
    seed = 20240101
    n_vms = 200
    days = 7
    step_s = 300
    start = 2024-01-01T00:00:00Z     # optional, UTC
    site_profile = "single-site"     # optional: "global" (default) or "single-site"

    [synthetic.overrides]            # optional: fitted statistics replaced by name
    cpu_level_ln_mu = -2.3

Reading it (``capplan inspect workloads/demo/workload.toml``, or any ``--workload``) generates
the trace on first use and caches it as canonical Parquet under the cache folder
(``$CAPPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/capplan``, else ``~/.cache/capplan``), keyed by a
hash of the parameters and :data:`~capplan.generate.params.GENERATOR_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capplan.errors import SpecError
from capplan.generate.params import (
    GENERATOR_VERSION,
    SITE_PROFILES,
    GeneratorParams,
    with_overrides,
)

TABLE = "synthetic"
_KEYS = {"seed", "n_vms", "days", "step_s", "start", "site_profile", "overrides"}
_REQUIRED = {"seed", "n_vms", "days", "step_s"}


@dataclass(frozen=True)
class Descriptor:
    """A parsed workload descriptor.

    Attributes
    ----------
    path
        The TOML file.
    seed
        Generator seed.
    params
        Generator parameters (overrides applied).
    """

    path: Path
    seed: int
    params: GeneratorParams

    def cache_key(self) -> str:
        """Hex digest identifying the generated data (parameters, seed, generator version)."""
        payload = {
            "version": GENERATOR_VERSION,
            "seed": self.seed,
            "params": asdict(self.params),
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def is_descriptor_text(text: str) -> bool:
    """True when ``text`` looks like a descriptor (a ``[synthetic]`` table)."""
    return any(line.strip() == f"[{TABLE}]" for line in text.splitlines())


def _number(table: dict[str, Any], key: str, kind: type, problems: list[tuple[str, str]]) -> Any:
    value = table.get(key)
    ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        words = "an integer" if kind is int else "a number"
        problems.append((f"{TABLE}.{key}", f"is {value!r}; expected {words}"))
        return None
    return kind(value)


def load_descriptor(path: Path) -> Descriptor:
    """Parse and validate a descriptor file.

    Raises
    ------
    SpecError
        Naming the file and every problem (dotted spec paths), or the TOML syntax error with
        its line and column.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(
            [("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")], path=path
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([("", f"not valid TOML: {exc}")], path=path) from exc
    except OSError as exc:
        raise SpecError([("", f"cannot read the file ({exc.strerror})")], path=path) from exc
    table = data.get(TABLE)
    if not isinstance(table, dict):
        raise SpecError([(TABLE, "missing table [synthetic]")], path=path)
    problems: list[tuple[str, str]] = []
    for key in sorted(set(table) - _KEYS):
        problems.append((f"{TABLE}.{key}", f"unknown key; expected one of {sorted(_KEYS)}"))
    for key in sorted(_REQUIRED - set(table)):
        problems.append((f"{TABLE}.{key}", "is missing"))
    seed = _number(table, "seed", int, problems) if "seed" in table else None
    n_vms = _number(table, "n_vms", int, problems) if "n_vms" in table else None
    days = _number(table, "days", float, problems) if "days" in table else None
    step_s = _number(table, "step_s", int, problems) if "step_s" in table else None
    start = table.get("start", GeneratorParams().start)
    if not isinstance(start, datetime):
        problems.append((f"{TABLE}.start", f"is {start!r}; expected a TOML date-time"))
    elif start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    site_profile = table.get("site_profile", GeneratorParams().site_profile)
    if site_profile not in SITE_PROFILES:
        problems.append(
            (f"{TABLE}.site_profile", f"is {site_profile!r}; expected one of {list(SITE_PROFILES)}")
        )
    overrides = table.get("overrides", {})
    if not isinstance(overrides, dict):
        problems.append((f"{TABLE}.overrides", "expected a table of statistic = number"))
        overrides = {}
    if isinstance(seed, int) and seed < 0:
        problems.append((f"{TABLE}.seed", f"is {seed}; expected a non-negative integer"))
    if problems:
        raise SpecError(problems, path=path)
    assert seed is not None and n_vms is not None and days is not None and step_s is not None
    params = GeneratorParams(
        n_vms=n_vms,
        days=days,
        step_s=step_s,
        start=start.astimezone(UTC),
        site_profile=str(site_profile),
    )
    try:
        params = with_overrides(params, overrides)
    except SpecError as exc:
        raise SpecError(
            [(f"{TABLE}.overrides.{where}", what) for where, what in exc.problems], path=path
        ) from None
    try:
        params.validate()
    except SpecError as exc:
        raise SpecError(
            [
                (f"{TABLE}.{where.replace('stats.', 'overrides.', 1)}", what)
                for where, what in exc.problems
            ],
            path=path,
        ) from None
    return Descriptor(path=path, seed=seed, params=params)


def cache_dir() -> Path:
    """Folder of generated-workload caches (see the module docstring)."""
    explicit = os.environ.get("CAPPLAN_CACHE_DIR")
    if explicit:
        return Path(explicit) / "synthetic"
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "capplan" / "synthetic"


def cached_path(descriptor: Descriptor) -> Path:
    """Where the descriptor's generated Parquet lives in the cache."""
    return cache_dir() / f"{descriptor.path.stem}-{descriptor.cache_key()}.parquet"
