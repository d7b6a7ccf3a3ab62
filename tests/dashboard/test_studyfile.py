"""The set-up form ↔ study document ↔ TOML: parsing, axes, and a lossless TOML writer."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dashboard.studyfile import (
    FIELDS_BY_PATH,
    FORM_FIELDS,
    HostRow,
    control_value,
    doc_to_form,
    dumps_toml,
    form_from_controls,
    form_to_doc,
    host_rows_from_table,
    host_table_data,
    parse_values,
)
from capplan.errors import SpecError


def controls(**overrides: Any) -> dict[str, Any]:
    values = {f.path: control_value(f, f.default) for f in FORM_FIELDS}
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return values


def test_number_lists_and_ticks_become_axes_the_base_takes_the_first_value() -> None:
    form = form_from_controls(
        "cmp",
        "dataset:0123456789abcdef",
        controls(mode=["full-bt", "paravirt"], mem_overcommit_ratio="1.0, 1.5", ha_hosts="1"),
    )
    doc = form_to_doc(form, None)
    assert doc["base"]["mode"] == "full-bt"
    assert doc["base"]["mem_overcommit_ratio"] == 1.0
    assert doc["base"]["ha_hosts"] == 1
    assert doc["axes"] == {"mode": ["full-bt", "paravirt"], "mem_overcommit_ratio": [1.0, 1.5]}
    assert doc["base"]["storage"]["mirrored"] is False
    assert "catalog" not in doc["base"]


def test_every_bad_control_is_reported_at_once_with_its_path() -> None:
    with pytest.raises(SpecError) as info:
        form_from_controls(
            "",
            "",
            controls(headroom_frac="abc", ha_hosts="1.5", mode=[], storage__horizon_days="inf"),
        )
    where = dict(info.value.problems)
    assert where["base.headroom_frac"] == "'abc' is not a number"
    assert "whole number" in where["base.ha_hosts"]
    assert "tick at least one" in where["base.mode"]
    assert "finite" in where["base.storage.horizon_days"]
    assert "name" in where and "base.workload" in where


def test_parse_values_keeps_order_and_drops_repeats() -> None:
    assert parse_values(FIELDS_BY_PATH["cpu_overcommit_ratio"], "2, 1;2 , 3") == (
        (2.0, 1.0, 3.0),
        None,
    )
    assert parse_values(FIELDS_BY_PATH["storage.mirrored"], ["yes", "no"]) == ((True, False), None)


def test_doc_to_form_inverts_form_to_doc() -> None:
    hosts = (HostRow("a", offered=True, max_count=4, params={"price_usd": 100.0}), HostRow("b"))
    form = form_from_controls("s", "demo", controls(sizing=["time-aware", "peak"], seed="7"), hosts)
    doc = form_to_doc(form, "catalog:00000000000000aa")
    back = doc_to_form(doc, [HostRow("a", params={"price_usd": 100.0}), HostRow("b")])
    assert back.values == form.values
    assert back.name == "s" and back.workload == "demo"
    assert [(h.model, h.offered, h.max_count) for h in back.hosts] == [
        ("a", True, 4),
        ("b", False, None),
    ]


def test_axes_the_form_cannot_show_are_refused() -> None:
    doc = {"name": "x", "base": {"workload": "demo"}, "axes": {"workers": [1, 2]}}
    with pytest.raises(SpecError, match=r"axes\.workers"):
        doc_to_form(doc, [])


def test_host_table_cells_are_checked() -> None:
    data = [
        {
            "model": "a",
            "price_usd": "12",
            "perf_factor": 1,
            "mtbf_h": None,
            "mttr_h": "",
            "max_count": 3,
        },
        {
            "model": "b",
            "price_usd": "-1",
            "perf_factor": 0,
            "mtbf_h": "x",
            "mttr_h": 1,
            "max_count": 1.5,
        },
    ]
    with pytest.raises(SpecError) as info:
        host_rows_from_table(data, [0])
    where = [p for p, _ in info.value.problems]
    assert where == [
        "hosts.b.price_usd",
        "hosts.b.perf_factor",
        "hosts.b.mtbf_h",
        "hosts.b.max_count",
    ]
    rows = host_rows_from_table(data[:1], [0])
    assert rows == [
        HostRow(
            "a", True, 3, {"price_usd": 12.0, "perf_factor": 1.0, "mtbf_h": None, "mttr_h": None}
        )
    ]
    table, ticked = host_table_data([{"model": "a", "cores": 2}, {"model": "b"}], rows)
    assert ticked == [0] and table[0]["price_usd"] == 12.0 and table[0]["max_count"] == 3


KEYS = st.text(alphabet='abcxyz_-. "é', min_size=1, max_size=8)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.lists(st.dictionaries(KEYS, SCALARS, max_size=3), max_size=3),
)
DOCS = st.recursive(
    st.dictionaries(KEYS, VALUES, max_size=4),
    lambda inner: st.dictionaries(KEYS, st.one_of(VALUES, inner), max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(DOCS)
def test_dumps_toml_round_trips_through_tomllib(doc: dict[str, Any]) -> None:
    loaded = tomllib.loads(dumps_toml(doc, header="a header\nover two lines"))
    assert _normal(loaded) == _normal(doc)


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return ("inf", value > 0)
    return value
