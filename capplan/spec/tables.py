"""Typed TOML tables: the value types, the file model of a settings dataclass, and validation.

The hardware catalog (:mod:`capplan.spec.catalog`) and the economics settings
(:mod:`capplan.spec.economics`) declare what a table may hold with pydantic, as the study files
and the storage spec do, so every spec file reports its problems in one style
(:mod:`capplan.spec.problems`) and has a JSON Schema for editors.

The value types are strict where TOML is typed: a number is an integer or a float (never a
boolean or a string), a flag is ``true`` or ``false``, a text is a non-blank string. NaN and
infinity are refused unless a field allows infinity (an MTBF of ``inf``: never fails).
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    ValidationError,
    create_model,
)
from pydantic_core import core_schema

from capplan.spec.problems import problems_of

#: Every spec table: unknown keys are refused; NaN and infinity too, unless a field allows them.
SPEC_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

#: A TOML number (integer or float) as a float.
Num = Annotated[float, Strict()]
#: A TOML integer.
Int = Annotated[int, Strict()]
#: ``true`` or ``false``.
Flag = Annotated[bool, Strict()]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


#: A non-blank string.
Text = Annotated[str, Strict(), AfterValidator(_not_blank)]


class _OneOf:
    """Annotated metadata: the value must be one of ``choices`` (an ``enum`` in the schema)."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def _check(self, value: str) -> str:
        if value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}; got {value!r}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        out: dict[str, Any] = handler(schema)
        out["enum"] = list(self.choices)
        return out


def one_of(*choices: str) -> _OneOf:
    """Metadata that accepts only ``choices`` (named in the message and in the schema)."""
    return _OneOf(*choices)


def _no_nan(value: Any) -> Any:
    """Refuse NaN where infinity is allowed (``allow_inf_nan`` lets both through)."""
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("expected a number or inf, got nan")
    return value


#: A positive number of hours that may be infinite (a part that never fails).
Hours = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=True), BeforeValidator(_no_nan)]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def attribute_docs(cls: type) -> dict[str, str]:
    """The numpy-style ``Attributes`` section of ``cls``'s docstring, per attribute name.

    A heading line may name several attributes (``a, b``); each gets the same text.
    """
    doc = (cls.__doc__ or "").expandtabs()
    match = re.search(r"\n\s*Attributes\n\s*-+\n(.*?)(?:\n\s*\n\s*\S+\n\s*-+\n|\Z)", doc, re.S)
    if not match:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    lines: list[str] = []
    indent = None

    def flush() -> None:
        text = " ".join(lines).strip()
        for name in names:
            out[name] = text

    for line in match.group(1).splitlines():
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        if indent is None:
            indent = level
        if level == indent:
            flush()
            names = [n.strip() for n in line.split(",")]
            lines = []
        else:
            lines.append(line.strip())
    flush()
    return out


def file_model(cls: type, *, optional: Collection[str] = ()) -> type[BaseModel]:
    """The pydantic model a settings file's table is checked with, from dataclass ``cls``.

    Every field of ``cls`` keeps its annotated type and constraints and its docstring text as
    the description. A file must give every field except those in ``optional`` (which take
    the dataclass default).
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    docs = attribute_docs(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.name in optional else ...
        fields[f.name] = (hints[f.name], Field(default, description=docs.get(f.name)))
    model: type[BaseModel] = create_model(
        f"{cls.__name__}File", __config__=SPEC_CONFIG, __doc__=cls.__doc__, **fields
    )
    return model


class SpecTable(BaseModel):
    """A spec file's table: unknown keys refused, and rules over several keys checked even
    where a single key is bad (:meth:`key_problems`), so every problem is reported at once."""

    model_config = SPEC_CONFIG

    @classmethod
    def key_problems(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems of which keys the raw table gives together, as ``(key, message)`` (key
        ``""``: the table itself)."""
        return []


def validated(
    model: type[M],
    raw: Any,
    where: str,
    problems: list[tuple[str, str]],
    context: Mapping[str, Any] | None = None,
) -> M | None:
    """``raw`` checked against ``model``; None (and every problem noted) when it fails."""
    if not isinstance(raw, Mapping):
        problems.append((where, f"expected a table, got {type(raw).__name__}"))
        return None
    by_keys = model.key_problems(raw) if issubclass(model, SpecTable) else []
    problems.extend((f"{where}.{key}" if key else where, message) for key, message in by_keys)
    try:
        entry = model.model_validate(raw, context=dict(context or {}))
    except ValidationError as exc:
        problems.extend(problems_of(exc, where))
        return None
    return None if by_keys else entry


def build(cls: Callable[..., T], entry: BaseModel) -> T:
    """The dataclass ``cls`` from a validated file entry."""
    return cls(**dict(entry))
