"""The catalog's and the economics settings' JSON Schemas accept the bundled files and refuse
broken ones, as the loaders do (checked with an independent JSON Schema validator)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import SpecError
from capplan.spec.catalog import CatalogFile, HostEntry, bundled_catalog_dir, load_catalog
from capplan.spec.economics import bundled_economics_path, load_economics


def _schema(option: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["validate", option])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(".".join(map(str, e.absolute_path)) for e in validator.iter_errors(doc))


@pytest.mark.parametrize("file", sorted(bundled_catalog_dir().glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_catalog_file_meets_the_catalog_schema(file: Path) -> None:
    doc = tomllib.loads(file.read_text(encoding="utf-8"))
    assert _errors(_schema("--catalog-schema"), doc) == []
    CatalogFile.model_validate(doc)


def test_catalog_schema_refuses_what_the_loader_refuses(tmp_path: Path) -> None:
    bundled = tomllib.loads((bundled_catalog_dir() / "hosts.toml").read_text(encoding="utf-8"))
    host = dict(next(iter(bundled["hosts"].values())))
    host.update(sockets=0, colour="red", status="retired")
    doc = {"extends": "bundled", "hosts": {"odd": host}}
    schema = _schema("--catalog-schema")
    assert _errors(schema, doc) == ["hosts.odd", "hosts.odd.sockets", "hosts.odd.status"]
    host_schema = schema["$defs"]["HostEntry"]
    assert host_schema["properties"]["ram_mib"]["description"]
    lines = [f"{k} = {json.dumps(v)}" for k, v in host.items()]
    (tmp_path / "mine.toml").write_text(
        'extends = "bundled"\n[hosts.odd]\n' + "\n".join(lines) + "\n", encoding="utf-8"
    )
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert {path for path, _ in info.value.problems} == {
        "mine.toml:hosts.odd.sockets",
        "mine.toml:hosts.odd.colour",
        "mine.toml:hosts.odd.status",
    }


def test_economics_schema_takes_cited_and_plain_values(tmp_path: Path) -> None:
    schema = _schema("--economics-schema")
    bundled = tomllib.loads(bundled_economics_path().read_text(encoding="utf-8"))
    assert _errors(schema, bundled) == []
    plain = json.loads(json.dumps(bundled))
    for section in ("energy", "finance", "labor", "availability", "baseline"):
        plain[section] = {
            k: v["value"] if isinstance(v, dict) else v for k, v in plain[section].items()
        }
    assert _errors(schema, plain) == []
    plain["energy"]["pue_ratio"] = 0.5
    plain["energy"]["typo"] = 1
    plain["finance"]["horizon_years"] = {"value": 5, "source": "x", "note": "?"}
    assert _errors(schema, plain) == ["energy", "energy.pue_ratio", "finance.horizon_years"]
    lines = ['extends = "bundled"', "[energy]", "pue_ratio = 0.5", "typo = 1"]
    (tmp_path / "mine.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_economics(tmp_path / "mine.toml")
    assert [path for path, _ in info.value.problems] == [
        "mine.toml:energy.pue_ratio",
        "mine.toml:energy.typo",
    ]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == math.inf else repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.floats(-1e4, 1e4), max_size=12),
)
HOST_KEYS = [*HostEntry.model_fields, "colour"]
ECONOMICS_KEYS = [("energy", k) for k in ("pue_ratio", "power_model", "fan_r")] + [
    ("availability", k) for k in ("host_mtbf_h", "mc_runs", "ha_enabled")
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.sampled_from(HOST_KEYS), value=VALUES)
def test_fuzzed_host_entries_load_or_fail_by_name(tmp_path: Path, key: str, value: object) -> None:
    bundled = tomllib.loads((bundled_catalog_dir() / "hosts.toml").read_text(encoding="utf-8"))
    host = {**next(iter(bundled["hosts"].values())), key: value}
    lines = [f"{k} = {_toml_value(v)}" for k, v in host.items()]
    (tmp_path / "mine.toml").write_text(
        'extends = "bundled"\n[hosts.fuzz]\n' + "\n".join(lines) + "\n", encoding="utf-8"
    )
    try:
        catalog = load_catalog(tmp_path)
    except SpecError as exc:
        assert exc.problems
        assert all(path.startswith("mine.toml:hosts.fuzz") for path, _ in exc.problems)
    else:
        assert catalog.host("fuzz").sockets >= 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.sampled_from(ECONOMICS_KEYS), value=VALUES)
def test_fuzzed_economics_values_load_or_fail_by_name(
    tmp_path: Path, where: tuple[str, str], value: object
) -> None:
    section, key = where
    text = f'extends = "bundled"\n[{section}]\n{key} = {_toml_value(value)}\n'
    (tmp_path / "mine.toml").write_text(text, encoding="utf-8")
    try:
        settings_ = load_economics(tmp_path / "mine.toml")
    except SpecError as exc:
        assert [path for path, _ in exc.problems] == [f"mine.toml:{section}.{key}"]
    else:
        assert getattr(getattr(settings_, section), key) == value
