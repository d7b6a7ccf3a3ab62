"""pydantic's validation errors as capplan's problems: ``(dotted path, what was expected)``.

Every spec file (studies, the hardware catalog, the economics settings, the storage spec) is
validated by pydantic and reports its problems through :func:`problems_of`, so a user meets one
error style: the dotted path of the bad key (list items as ``[k]``), what was expected, and the
value that was given.

- pydantic's own messages get the value appended (``..., got 0.5``); a table given where a
  value belongs is named as such, and a value where a table belongs says its type.
- capplan's own checks (``ValueError`` in a validator) word their message themselves, value
  included.
- A check over several keys reports each problem at its key (:func:`several`).
- A missing key "is required"; a key the table may not hold is an "unknown key".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

#: Longest shown repr of a bad value.
MAX_SHOWN_CHARS = 60

#: Error types of a key the table may not hold (models and dataclasses word them apart).
_UNKNOWN_KEY = {"extra_forbidden", "unexpected_keyword_argument"}
_MISSING = {"missing", "missing_argument"}
#: Error types of a value given where a table belongs.
_NOT_A_TABLE = {"model_type", "model_attributes_type", "dict_type", "dataclass_type"}
#: Error types whose message capplan wrote (the value is in it when it matters).
_OWN = {"value_error", "assertion_error"}

#: How a check over several keys names the key a problem belongs to (see :func:`several`).
_AT = re.compile(r"^@([A-Za-z_][A-Za-z0-9_]*): (.*)$", re.S)


def several(problems: Sequence[tuple[str, str]]) -> ValueError:
    """The problems ``(key, message)`` of one check over a table's keys, as one error.

    pydantic places a validator's error at the table; :func:`problems_of` reports each of
    these at its key.
    """
    return ValueError("\n".join(f"@{key}: {message}" for key, message in problems))


def dotted(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``("hosts", "x", "power_w", 3)`` → ``"hosts.x.power_w[3]"`` (after ``prefix.``)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    if prefix and path:
        return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"
    return prefix or path


def problems_of(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """Every error of ``exc`` as ``(path, message)``, the path under ``prefix``."""
    out: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines = message.split("\n")
        if all(_AT.match(line) for line in lines):
            for line in lines:
                match = _AT.match(line)
                assert match is not None
                out.append((dotted((*loc, match.group(1)), prefix), match.group(2)))
            continue
        out.append((dotted(loc, prefix), _worded(error, message)))
    return out


def _worded(error: Any, message: str) -> str:
    kind = error["type"]
    if kind in _UNKNOWN_KEY:
        return "unknown key"
    if kind in _MISSING:
        return "is required"
    value = error.get("input")
    if kind in _NOT_A_TABLE:
        return f"expected a table, got {type(value).__name__}"
    if kind in _OWN:
        return message
    if isinstance(value, Mapping):
        return f"{message}, got a table"
    return f"{message}, got {_shown(value)}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."
