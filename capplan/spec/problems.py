"""pydantic's validation errors as capplan's problems: ``(dotted path, what was expected)``.

Every spec file (studies, the hardware catalog, the economics settings, the storage spec) is
validated by pydantic and reports its problems through :func:`problems_of`, so a user meets one
error style: the dotted path of the bad key (list items as ``[k]``), pydantic's message, and
the value that was given (a table is not shown: its errors name the table itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

#: Longest shown repr of a bad value.
MAX_SHOWN_CHARS = 60

#: Error types of a key the table may not hold (models and dataclasses word them apart).
_UNKNOWN_KEY = {"extra_forbidden", "unexpected_keyword_argument"}
#: Error types whose input is the surrounding table, not a value worth showing.
_NO_INPUT = {"missing", "model_type", "dataclass_type", "dataclass_exact_type", *_UNKNOWN_KEY}


#: How a check over several keys names the key its problem belongs to (see :func:`at`).
_AT = re.compile(r"^@([A-Za-z_][A-Za-z0-9_]*): (.*)$", re.S)


def at(key: str, message: str) -> ValueError:
    """The error of a check over several keys of a table, reported at ``key``.

    pydantic places such an error at the table; :func:`problems_of` moves it to the key.
    """
    return ValueError(f"@{key}: {message}")


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
    out = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        loc = tuple(error["loc"])
        moved = _AT.match(message)
        if moved:
            loc, message = (*loc, moved.group(1)), moved.group(2)
        if error["type"] in _UNKNOWN_KEY:
            message = "unknown key"
        shown = "input" in error and not isinstance(error["input"], Mapping)
        if shown and error["type"] not in _NO_INPUT:
            message += f", got {_shown(error['input'])}"
        out.append((dotted(loc, prefix), message))
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."
