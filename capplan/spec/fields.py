"""Typed reads from one TOML table that record every problem with its dotted path.

The hardware catalog (:mod:`capplan.spec.catalog`) and the economics settings
(:mod:`capplan.spec.economics`) both check their tables field by field and report all problems
at once. :class:`TableFields` holds the checks they share; each subclass decides how a raw value
is fetched (:meth:`TableFields._get`): the catalog reads it as is, the economics settings
unwrap ``{ value, source }`` and record the source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

#: "No default": a missing key is a problem.
MISSING: Final = object()


class TableFields:
    """Reads typed fields from one TOML table and records every problem found.

    Parameters
    ----------
    table
        The table (anything else is reported as "expected a table" and read as empty).
    where
        Dotted path of the table, used as the prefix of every problem's path.
    problems
        List the ``(path, message)`` problems are appended to.
    """

    def __init__(self, table: Any, where: str, problems: list[tuple[str, str]]) -> None:
        self.where = where
        self.problems = problems
        self.table: Mapping[str, Any] = table if isinstance(table, Mapping) else {}
        if not isinstance(table, Mapping):
            problems.append((where, f"expected a table, got {type(table).__name__}"))
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def _get(self, key: str, default: Any) -> Any:
        """The raw value of ``key``; ``default`` when absent (a problem if it is MISSING)."""
        self.used.add(key)
        if key in self.table:
            return self.table[key]
        if default is MISSING:
            self.problems.append((self._path(key), "is required"))
        return default

    def num(
        self,
        key: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        allow_inf: bool = False,
        default: Any = MISSING,
    ) -> float:
        """A number in ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``); NaN when absent or bad.

        A default given in code is returned as is (None → NaN), unchecked.
        """
        if key not in self.table and default is not MISSING:
            self.used.add(key)
            return math.nan if default is None else float(default)
        value = self._get(key, default)
        if value is MISSING or value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append((self._path(key), f"expected a number, got {value!r}"))
            return math.nan
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            self.problems.append((self._path(key), f"expected a finite number, got {value!r}"))
        elif lo is not None and (value <= lo if lo_open else value < lo):
            bound = f"> {lo:g}" if lo_open else f">= {lo:g}"
            self.problems.append((self._path(key), f"expected a number {bound}, got {value:g}"))
        elif hi is not None and value > hi:
            self.problems.append((self._path(key), f"expected a number <= {hi:g}, got {value:g}"))
        return value

    def integer(
        self, key: str, *, lo: int = 0, hi: int | None = None, default: Any = MISSING
    ) -> int:
        """An integer in ``[lo, hi]``; 0 when absent or bad."""
        value = self._get(key, default)
        if value is MISSING or value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append((self._path(key), f"expected an integer, got {value!r}"))
            return 0
        if value < lo or (hi is not None and value > hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            self.problems.append((self._path(key), f"expected an integer {rng}, got {value}"))
        return int(value)

    def flag(self, key: str, *, default: Any = MISSING) -> bool:
        """``true`` or ``false``; False when absent or bad."""
        value = self._get(key, default)
        if value is MISSING or value is None:
            return False
        if not isinstance(value, bool):
            self.problems.append((self._path(key), f"expected true or false, got {value!r}"))
            return False
        return value

    def text(
        self, key: str, *, choices: tuple[str, ...] | None = None, default: Any = MISSING
    ) -> str:
        """A non-empty string (one of ``choices`` if given); "" when absent or bad."""
        value = self._get(key, default)
        if value is MISSING or value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problems.append((self._path(key), f"expected a non-empty string, got {value!r}"))
            return ""
        if choices is not None and value not in choices:
            self.problems.append(
                (self._path(key), f"expected one of {', '.join(choices)}; got {value!r}")
            )
        return value

    def finish(self) -> None:
        """Report every key of the table that no read asked for."""
        for key in sorted(set(self.table) - self.used):
            self.problems.append((self._path(key), "unknown key"))
