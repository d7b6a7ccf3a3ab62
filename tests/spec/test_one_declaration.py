"""One declaration of a scenario: the CLI, the dashboard form, the optimizer's options and the
study file take their defaults (the same objects) and their words from ``Scenario``."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from capplan.commands.backtest import backtest_command
from capplan.commands.consolidate import consolidate_command
from capplan.commands.scenario_options import CLI_INPUTS, CLI_SETTINGS, new_vms_value
from capplan.dashboard.studyfile import FORM_FIELDS
from capplan.optimize.consolidate import ConsolidateOptions
from capplan.pipeline import _consolidation_options
from capplan.spec.study import (
    CONSOLIDATION_SETTINGS,
    Scenario,
    Study,
    scenario_default,
    scenario_field,
    scenario_help,
)


def _all_paths() -> list[str]:
    paths = []
    for name, info in Scenario.model_fields.items():
        if name in ("storage", "network"):
            paths += [f"{name}.{sub}" for sub in type(info.default).model_fields]
        else:
            paths.append(name)
    return paths


@pytest.mark.parametrize("path", _all_paths())
def test_every_setting_has_a_label_and_a_description(path: str) -> None:
    info = scenario_field(path)
    assert info.description and len(info.description) > 8
    assert (info.json_schema_extra or {}).get("label")


@pytest.mark.parametrize("command", [consolidate_command, backtest_command])
def test_cli_defaults_and_help_are_the_declared_ones(command: object) -> None:
    fn = inspect.unwrap(command)  # type: ignore[arg-type]
    params = inspect.signature(fn).parameters
    hints = typing.get_type_hints(fn, include_extras=True)
    checked = 0
    for param, setting in CLI_SETTINGS.items():
        if param not in params:
            continue
        default = params[param].default
        declared = scenario_default(setting)
        if param == "new_vms_per_month":  # a text option ("auto" or a number)
            assert new_vms_value(default) == declared
        else:
            assert default is declared, (param, default, declared)
        option = next(m for m in hints[param].__metadata__ if hasattr(m, "help"))
        assert option.help.startswith(scenario_help(setting)), param
        checked += 1
    assert checked >= 17


def test_every_scenario_setting_the_cli_shows_is_mapped() -> None:
    # No consolidate parameter named like a scenario setting escapes the mapping.
    params = inspect.signature(inspect.unwrap(consolidate_command)).parameters
    unmapped = [
        p
        for p in params
        if p in Scenario.model_fields and p not in CLI_SETTINGS and p not in CLI_INPUTS
    ]
    assert unmapped == []


def test_optimizer_defaults_are_the_declared_objects() -> None:
    fields = {f.name: f for f in dataclasses.fields(ConsolidateOptions)}
    for name in CONSOLIDATION_SETTINGS:
        assert name in fields, name
        assert fields[name].default is scenario_default(name), name


def test_a_study_sets_every_consolidation_setting() -> None:
    # Every setting reaches the optimizer's options under its own name from a study.
    values = {
        "sizing": "peak",
        "buckets": 12,
        "period": "week",
        "statistic": "p95",
        "ha_policy": "strict",
        "vcpu_per_core_ratio": 4.0,
        "vlan_limit": 8,
        "expected_cpu_util_frac": 0.5,
        "strategy": "lns",
        "seed": 7,
        "ha_hosts": 2,
        "headroom_frac": 0.1,
    }
    scenario = Scenario(workload="demo", **values)
    opts = _consolidation_options(scenario)
    for name, value in values.items():
        assert getattr(opts, name) == value, name
    for name in CONSOLIDATION_SETTINGS:
        assert getattr(opts, name) == getattr(scenario, name), name


def test_every_setting_is_a_study_axis() -> None:
    study = Study(
        name="s",
        base=Scenario(workload="demo"),
        axes={"ha_policy": ("reserve", "strict"), "statistic": ("peak", "p99")},
    )
    got = {(s.ha_policy, s.statistic) for s in study.expand()}
    assert got == {("reserve", "peak"), ("reserve", "p99"), ("strict", "peak"), ("strict", "p99")}
    with pytest.raises(Exception, match="statistic"):
        Scenario(workload="demo", statistic="median")


def test_form_defaults_and_words_are_the_declared_ones() -> None:
    for f in FORM_FIELDS:
        declared = scenario_default(f.path)
        assert f.default == (() if declared is None else (declared,)), f.path
        if f.default:
            assert f.default[0] is declared, f.path
        if f.path != "mode":
            assert f.help.startswith(scenario_help(f.path)), f.path
    paths = {f.path for f in FORM_FIELDS}
    assert {"ha_policy", "period", "statistic", "strategy", "vcpu_per_core_ratio"} <= paths


def test_validate_prints_the_json_schema_with_descriptions_and_units() -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "capplan", "validate", "--schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    props = json.loads(out)["$defs"]["Scenario"]["properties"]
    assert set(props) == set(Scenario.model_fields)
    assert props["headroom_frac"]["default"] == 0.2
    assert props["headroom_frac"]["unit"] == "fraction"
    assert props["ha_policy"]["enum"] == ["reserve", "strict"]
    assert all(p.get("description") for p in props.values())
