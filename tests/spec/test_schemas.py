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
    # TOML basic strings take JSON's escapes, except that DEL must be escaped too.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


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
        host_model = catalog.host("fuzz")
        if key in ("sockets", "cores_per_socket", "ram_mib", "base_clock_mhz", "nic_count"):
            assert getattr(host_model, key) == value


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


def test_partial_files_that_extend_the_bundled_ones_meet_the_schemas() -> None:
    economics = _schema("--economics-schema")
    assert _errors(economics, {"extends": "bundled", "energy": {"pue_ratio": 1.2}}) == []
    assert _errors(economics, {"energy": {"pue_ratio": 1.2}}) != []
    assert _errors(economics, {"extends": "bundled", "energy": {"pue_ratio": 0.5}}) == [
        "energy.pue_ratio"
    ]
    catalog = _schema("--catalog-schema")
    assert _errors(catalog, {"extends": "bundled", "san": {"latency_slo_ms": 10}}) == []
    assert _errors(catalog, {"san": {"latency_slo_ms": -1}}) == ["san"]


def _broken_host(tmp_path: Path, **keys: object) -> list[tuple[str, str]]:
    host = {
        "sockets": 2,
        "cores_per_socket": 8,
        "base_clock_mhz": 2000,
        "ram_mib": 65536,
        "nic_count": 2,
        "nic_speed_mbps": 10000,
        "source": "cloudsim-specpower",
        **keys,
    }
    lines = [f"{k} = {_toml_value(v)}" for k, v in host.items()]
    text = 'extends = "bundled"\n[hosts.odd]\n' + "\n".join(lines) + "\n"
    (tmp_path / "mine.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    return info.value.problems


def test_rules_over_several_keys_are_all_reported_with_a_bad_key(tmp_path: Path) -> None:
    # No power curve, one DIMM key of three, a status without its source, and a bad sockets
    # value: every problem at once, each at its key or at the entry.
    problems = _broken_host(tmp_path, dimms=16, status="legacy").copy()
    problems += _broken_host(tmp_path, sockets=0, idle_w=100)
    assert problems == [
        ("mine.toml:hosts.odd", "needs a power curve: power_w (11 points) or idle_w and max_w"),
        (
            "mine.toml:hosts.odd",
            "dimms, tested_dimms and dimm_w go together; missing tested_dimms, dimm_w",
        ),
        ("mine.toml:hosts.odd.status_source", "is required"),
        ("mine.toml:hosts.odd", "idle_w and max_w must be given together"),
        ("mine.toml:hosts.odd.sockets", "Input should be greater than or equal to 1, got 0"),
    ]


def test_a_bad_citation_is_one_problem_at_its_key(tmp_path: Path) -> None:
    for value, shown in ((5, "5"), ([], "[]"), ("", "''")):
        problems = _broken_host(tmp_path, idle_w=1, max_w=2, source=value)
        assert problems == [
            (
                "mine.toml:hosts.odd.source",
                f"expected a source key or a non-empty list of keys, got {shown}",
            )
        ]


def test_memory_overhead_keys_are_checked_one_by_one(tmp_path: Path) -> None:
    mode = (
        'extends = "bundled"\n[modes.odd]\ncpu_overhead_frac = 0.1\nio_iops_factor = 0.9\n'
        "net_latency_factor = 1.2\nnet_throughput_factor = 0.9\npage_sharing = false\n"
        "live_migration = true\nsame_os_kernel = false\nneeds_modified_guest = false\n"
        'supports_legacy_guests = true\nsource = "felter2015"\n'
    )
    (tmp_path / "mine.toml").write_text(
        mode + '[modes.odd.mem_overhead]\nkind = "table"\nvcpus = [1, 2]\nbase_mib = 3\n',
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert info.value.problems == [
        ("mine.toml:modes.odd.mem_overhead.base_mib", "does not apply to kind 'table'"),
        ("mine.toml:modes.odd.mem_overhead.mem_mib", "is required for kind 'table'"),
        ("mine.toml:modes.odd.mem_overhead.overhead_mib", "is required for kind 'table'"),
    ]
    (tmp_path / "mine.toml").write_text(mode + "mem_overhead = 5\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert info.value.problems == [
        ("mine.toml:modes.odd.mem_overhead", "expected a table, got int")
    ]


def test_economics_needs_and_bad_values_are_reported_together(tmp_path: Path) -> None:
    text = (
        'extends = "bundled"\n[labor]\nmodel = "user"\nwage_usd_per_hour = -1\n'
        "[energy]\npue_ratio = { v = 1.2 }\n"
        "[availability]\nmaintenance_windows_per_year = 100\nmaintenance_window_h = 100\n"
        "mc_runs = 1\n"
    )
    (tmp_path / "mine.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_economics(tmp_path / "mine.toml")
    assert info.value.problems == [
        ("mine.toml:energy.pue_ratio", "expected a value or { value, source }"),
        ("mine.toml:labor.user_hours_per_vm_year", "is required for model 'user'"),
        ("mine.toml:labor.user_hours_per_host_year", "is required for model 'user'"),
        ("mine.toml:labor.wage_usd_per_hour", "Input should be greater than or equal to 0, got -1"),
        ("mine.toml:availability.mc_runs", "Input should be greater than or equal to 2, got 1"),
        (
            "mine.toml:availability",
            "maintenance_windows_per_year × maintenance_window_h exceeds a year",
        ),
    ]
