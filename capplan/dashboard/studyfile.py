"""The scenario set-up form and study files: form values ↔ study document ↔ TOML text.

The form has one control per scenario field, named by the field's dotted path
(``storage.appliance``). A number field holds one value or a comma-separated list; a choice
field is a checklist. A field with several values becomes an **axis** of the study (the base
scenario takes the first value), so "compare full and paravirtual at 1.0 and 1.5 memory
over-commit" is two ticks and one list.

Study files written by the dashboard are ordinary study TOML except for two references that
only mean something inside one dashboard session: ``workload = "dataset:<id>"`` (an upload of
the session) or ``"demo"`` (the bundled demo workload), and ``catalog = "catalog:<id>"`` (host
prices and parameters edited in the form). They are resolved to paths, and checked to belong
to the session, before the study is validated or run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, get_args

from capplan.errors import SpecError
from capplan.spec.study import scenario_default, scenario_field, scenario_help, scenario_label

DATASET_PREFIX = "dataset:"
CATALOG_PREFIX = "catalog:"
DEMO_REF = "demo"


@dataclass(frozen=True)
class FormField:
    """One control of the set-up form.

    Attributes
    ----------
    path
        Dotted scenario field (``storage.horizon_days``).
    label, help
        What the page shows: the setting's label and description (with its unit) as the
        scenario declares them.
    kind
        ``"float"``, ``"int"`` (text box; comma-separated values make an axis), ``"choice"``
        (checklist; several ticks make an axis) or ``"bool"`` (checklist of no/yes).
    default
        Initial values: the scenario's default; ``()`` for a setting whose default is none
        (an empty box, left out of the study).
    choices
        Allowed values of a choice field (``()``: filled from the catalog, e.g. modes).
    """

    path: str
    label: str
    help: str
    kind: str
    default: tuple[Any, ...]
    choices: tuple[str, ...] = ()

    @property
    def optional(self) -> bool:
        """Whether the box may stay empty (the scenario's default is none)."""
        return not self.default


def _form_field(path: str, kind: str, choices: tuple[str, ...] = (), hint: str = "") -> FormField:
    """The control of scenario setting ``path``: label, help and default from its declaration;
    a choice field of a ``Literal`` setting lists its values unless ``choices`` is given."""
    default = scenario_default(path)
    if kind == "choice" and not choices:
        choices = tuple(str(v) for v in get_args(scenario_field(path).annotation))
    return FormField(
        path=path,
        label=scenario_label(path),
        help=scenario_help(path) + (f"; {hint}" if hint else ""),
        kind=kind,
        default=() if default is None else (default,),
        choices=choices,
    )


FORM_FIELDS: tuple[FormField, ...] = (
    FormField(
        "mode",
        scenario_label("mode"),
        "Tick several to compare them",
        "choice",
        (scenario_default("mode"),),
    ),
    _form_field("cpu_overcommit_ratio", "float", hint="e.g. 1.0, 2.0"),
    _form_field("mem_overcommit_ratio", "float", hint="e.g. 1.0, 1.25, 1.5"),
    _form_field("mem_basis", "choice"),
    _form_field("horizon_days", "float"),
    _form_field("growth", "choice", ("auto", "0.05", "0.1", "0.2", "0.3", "0.5")),
    _form_field("new_vms_per_month", "float"),
    _form_field("backtest_days", "float"),
    _form_field("confidence", "float"),
    _form_field("headroom_frac", "float"),
    _form_field("ha_hosts", "int"),
    _form_field("ha_policy", "choice"),
    _form_field("sizing", "choice"),
    _form_field("buckets", "int"),
    _form_field("period", "choice"),
    _form_field("statistic", "choice", ("peak", "p99", "p95", "p90")),
    _form_field("vcpu_per_core_ratio", "float", hint="empty: no limit"),
    _form_field("cpu_ready_limit_frac", "float", hint="empty: no limit; 0.05: VMware's guidance"),
    _form_field("objective", "choice"),
    _form_field("strategy", "choice"),
    _form_field("storage.provisioning", "choice"),
    _form_field("storage.oversubscription_ratio", "float"),
    _form_field("storage.appliance", "choice"),
    _form_field("storage.mirrored", "bool"),
    _form_field("storage.snapshot_reserve_frac", "float", hint="empty: the catalog's"),
    _form_field("storage.horizon_days", "int"),
    _form_field("storage.io_quantile", "float"),
    _form_field("network.uplink_oversubscription_ratio", "float", hint="empty: the catalog's"),
    _form_field("network.vpn_frac", "float", hint="empty: the catalog's"),
    _form_field("time_limit_s", "float"),
    _form_field("seed", "int"),
)
FIELDS_BY_PATH: Mapping[str, FormField] = MappingProxyType({f.path: f for f in FORM_FIELDS})
#: Host table columns an analyst may edit (catalog host parameters), with their units.
EDITABLE_HOST_KEYS: tuple[str, ...] = ("price_usd", "perf_factor", "mtbf_h", "mttr_h")
BOOL_CHOICES = ("no", "yes")


@dataclass(frozen=True)
class HostRow:
    """One host model in the form: offered or not, how many at most, edited parameters."""

    model: str
    offered: bool = False
    max_count: int | None = None
    params: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyForm:
    """Everything the set-up form holds.

    Attributes
    ----------
    name
        Study name.
    workload
        ``dataset:<id>`` or ``demo``.
    values
        Dotted field path → list of values (already typed).
    hosts
        One row per catalog host model.
    """

    name: str
    workload: str
    values: Mapping[str, tuple[Any, ...]]
    hosts: tuple[HostRow, ...] = ()


# ----------------------------------------------------------------------------- parsing
def parse_values(field_def: FormField, raw: Any) -> tuple[tuple[Any, ...], str | None]:
    """Turn one control's raw value into typed values; return ``(values, problem or None)``.

    Number fields take text (``"1, 1.5"``); choice fields take a list of ticked options.
    """
    if field_def.kind in ("choice", "bool"):
        items = [raw] if isinstance(raw, str) else list(raw or [])
        if not items:
            return (), "tick at least one option"
        if field_def.kind == "bool":
            bad = [v for v in items if v not in BOOL_CHOICES]
            if bad:
                return (), f"expected 'no' or 'yes', got {bad[0]!r}"
            return tuple(v == "yes" for v in dict.fromkeys(items)), None
        return tuple(dict.fromkeys(str(v) for v in items)), None
    text = "" if raw is None else str(raw)
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    if not parts:
        if field_def.optional:
            return (), None
        return (), "enter a number, or several separated by commas"
    values: list[Any] = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            return (), f"{part!r} is not a number"
        if not math.isfinite(number):
            return (), f"{part!r} is not a finite number"
        if field_def.kind == "int":
            if number != int(number):
                return (), f"{part!r} is not a whole number"
            values.append(int(number))
        else:
            values.append(number)
    return tuple(dict.fromkeys(values)), None


def form_from_controls(
    name: str,
    workload: str,
    controls: Mapping[str, Any],
    hosts: Sequence[HostRow] = (),
) -> StudyForm:
    """Build a :class:`StudyForm` from raw control values, listing every problem at once.

    Raises
    ------
    SpecError
        With one ``(base.<path>, what)`` problem per bad control.
    """
    problems: list[tuple[str, str]] = []
    values: dict[str, tuple[Any, ...]] = {}
    for field_def in FORM_FIELDS:
        parsed, problem = parse_values(field_def, controls.get(field_def.path))
        if problem:
            problems.append((f"base.{field_def.path}", problem))
        values[field_def.path] = parsed
    if not name.strip():
        problems.append(("name", "give the study a name"))
    if not workload:
        problems.append(("base.workload", "choose a workload (upload one or pick the demo)"))
    if problems:
        raise SpecError(problems)
    return StudyForm(name=name.strip(), workload=workload, values=values, hosts=tuple(hosts))


def control_value(field_def: FormField, values: Sequence[Any]) -> Any:
    """The raw control value that shows ``values`` (inverse of :func:`parse_values`)."""
    if field_def.kind == "bool":
        return [BOOL_CHOICES[int(bool(v))] for v in values]
    if field_def.kind == "choice":
        return [str(v) for v in values]
    return ", ".join(_number_text(v) for v in values)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return str(value)


# ----------------------------------------------------------------------------- documents
def _set(doc: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    target = doc
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    target: Any = doc
    for part in dotted.split("."):
        if not isinstance(target, Mapping) or part not in target:
            return None
        target = target[part]
    return target


def form_to_doc(form: StudyForm, catalog_ref: str | None) -> dict[str, Any]:
    """The study document (what the TOML holds) of a form.

    Parameters
    ----------
    catalog_ref
        ``catalog:<id>`` when the analyst edited host parameters, else ``None`` (bundled).
    """
    base: dict[str, Any] = {"workload": form.workload}
    if catalog_ref:
        base["catalog"] = catalog_ref
    axes: dict[str, list[Any]] = {}
    for path, values in form.values.items():
        if not values:  # an optional setting left empty: the scenario's none
            continue
        _set(base, path, values[0])
        if len(values) > 1:
            axes[path] = list(values)
    offered = [
        {"model": h.model, **({"max_count": h.max_count} if h.max_count is not None else {})}
        for h in form.hosts
        if h.offered
    ]
    if offered:
        base["hosts"] = offered
    doc: dict[str, Any] = {"name": form.name, "base": base}
    if axes:
        doc["axes"] = axes
    return doc


def doc_to_form(doc: Mapping[str, Any], host_rows: Sequence[HostRow]) -> StudyForm:
    """The form that shows a study document (axes become multi-valued controls).

    Parameters
    ----------
    host_rows
        Rows of the catalog the study uses; those the study offers are ticked.

    Raises
    ------
    SpecError
        When the study uses an axis or a field the form cannot show.
    """
    base = doc.get("base") or {}
    axes = doc.get("axes") or {}
    problems = [
        (f"axes.{name}", "this axis cannot be edited in the dashboard; use `capplan report`")
        for name in axes
        if name not in FIELDS_BY_PATH
    ]
    if problems:
        raise SpecError(problems)
    values: dict[str, tuple[Any, ...]] = {}
    for field_def in FORM_FIELDS:
        if field_def.path in axes:
            values[field_def.path] = tuple(axes[field_def.path])
        else:
            value = _get(base, field_def.path)
            values[field_def.path] = field_def.default if value is None else (value,)
    offers = {h.get("model"): h.get("max_count") for h in base.get("hosts") or []}
    rows = tuple(
        HostRow(
            model=row.model,
            offered=row.model in offers,
            max_count=offers.get(row.model, row.max_count),
            params=row.params,
        )
        for row in host_rows
    )
    return StudyForm(
        name=str(doc.get("name") or "study"),
        workload=str(base.get("workload") or ""),
        values=values,
        hosts=rows,
    )


# ----------------------------------------------------------------------------- TOML
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


_ESCAPES: Mapping[str, str] = MappingProxyType(
    {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
)


def _string(text: str) -> str:
    """A TOML basic string (UTF-8 kept; quotes, backslashes and control characters escaped)."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError("a lone surrogate cannot be written to TOML")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(doc: Mapping[str, Any], header: str = "") -> str:
    """Write a document of tables, scalars and lists as TOML (what ``tomllib`` reads back).

    ``None`` values are left out (TOML has no null). Nested mappings become ``[a.b]`` tables;
    lists of mappings become arrays of inline tables.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def table(prefix: str, data: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in data.items() if v is not None and not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
        if prefix:
            lines.append("")
            lines.append(f"[{prefix}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars)
        for key, sub in tables:
            table(f"{prefix}.{_key(key)}" if prefix else _key(key), sub)

    table("", doc)
    return "\n".join(lines).lstrip("\n") + "\n"


def host_rows_from_table(
    data: Sequence[Mapping[str, Any]] | None, selected_rows: Sequence[int] | None
) -> list[HostRow]:
    """Host rows from the set-up page's host table (edited cells and ticked rows).

    Raises
    ------
    SpecError
        With ``hosts.<model>.<column>`` for every cell that is not a number (or blank).
    """
    problems: list[tuple[str, str]] = []
    rows: list[HostRow] = []
    ticked = set(selected_rows or [])
    for index, cells in enumerate(data or []):
        model = str(cells.get("model"))
        params: dict[str, float | None] = {}
        for key in EDITABLE_HOST_KEYS:
            value, problem = _cell_number(cells.get(key), minimum_exclusive=key != "price_usd")
            if problem:
                problems.append((f"hosts.{model}.{key}", problem))
            params[key] = value
        count, problem = _cell_number(cells.get("max_count"), minimum_exclusive=False)
        if problem:
            problems.append((f"hosts.{model}.max_count", problem))
        elif count is not None and count != int(count):
            problems.append((f"hosts.{model}.max_count", f"{count!r} is not a whole number"))
        rows.append(
            HostRow(
                model=model,
                offered=index in ticked,
                max_count=None if count is None else int(count),
                params=params,
            )
        )
    if problems:
        raise SpecError(problems)
    return rows


def _cell_number(value: Any, *, minimum_exclusive: bool) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"{value!r} is not a number"
    if not math.isfinite(number) or number < 0 or (minimum_exclusive and number == 0):
        bound = "above 0" if minimum_exclusive else "0 or more"
        return None, f"{value!r}: expected a number {bound}"
    return number, None


def host_table_data(
    info: Sequence[Mapping[str, Any]], hosts: Sequence[HostRow]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows and ticked row indexes of the host table for a form.

    Parameters
    ----------
    info
        Catalog facts per model (cores, RAM, power...) in table order.
    hosts
        The form's host rows (offered, max count, edited parameters).
    """
    by_model = {h.model: h for h in hosts}
    data: list[dict[str, Any]] = []
    selected: list[int] = []
    for index, row in enumerate(info):
        host = by_model.get(str(row["model"]))
        merged = dict(row)
        if host is not None:
            merged.update({k: v for k, v in host.params.items() if k in EDITABLE_HOST_KEYS})
            merged["max_count"] = host.max_count
            if host.offered:
                selected.append(index)
        data.append(merged)
    return data, selected
