"""Typed TOML tables: strict values, one problem style with paths, dataclasses' file models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, model_validator

from capplan.spec.problems import dotted, several
from capplan.spec.tables import (
    SPEC_CONFIG,
    Flag,
    Hours,
    Int,
    Num,
    Text,
    attribute_docs,
    file_model,
    one_of,
    validated,
)


class Host(BaseModel):
    model_config = SPEC_CONFIG

    cores: Annotated[Int, Field(ge=1)]
    clock: Num
    ratio: Annotated[Num, Field(le=1.0)]
    share: Annotated[Num, Field(gt=0.0)]
    on: Flag
    mode: Annotated[Text, one_of("a", "b")]
    name: Text
    missing: Num
    mtbf_h: Hours = math.inf
    optional: Num = 2.0

    @model_validator(mode="after")
    def _pair(self) -> Host:
        if self.ratio > 0.5 and self.share > 0.5:
            raise several([("share", "and ratio may not both exceed 0.5")])
        return self


def test_every_problem_is_reported_with_its_path_and_the_value() -> None:
    problems: list[tuple[str, str]] = []
    table = {
        "cores": 0,
        "clock": "fast",
        "ratio": 1.5,
        "share": 0.0,
        "on": "yes",
        "mode": "warp",
        "name": " ",
        "typo": 1,
    }
    assert validated(Host, table, "hosts.toml:hosts.x", problems) is None
    assert problems == [
        ("hosts.toml:hosts.x.cores", "Input should be greater than or equal to 1, got 0"),
        ("hosts.toml:hosts.x.clock", "Input should be a valid number, got 'fast'"),
        ("hosts.toml:hosts.x.ratio", "Input should be less than or equal to 1, got 1.5"),
        ("hosts.toml:hosts.x.share", "Input should be greater than 0, got 0.0"),
        ("hosts.toml:hosts.x.on", "Input should be a valid boolean, got 'yes'"),
        ("hosts.toml:hosts.x.mode", "expected one of a, b; got 'warp'"),
        ("hosts.toml:hosts.x.name", "expected a non-empty string, got ' '"),
        ("hosts.toml:hosts.x.missing", "is required"),
        ("hosts.toml:hosts.x.typo", "unknown key"),
    ]


GOOD = {
    "cores": 2,
    "clock": 2600,
    "ratio": 0.25,
    "share": 0.5,
    "on": True,
    "mode": "a",
    "name": "x",
    "missing": 1,
}


def test_numbers_are_strict_and_finite_but_hours_may_be_infinite() -> None:
    problems: list[tuple[str, str]] = []
    host = validated(Host, {**GOOD, "mtbf_h": math.inf}, "t", problems)
    assert host is not None and host.clock == 2600.0 and host.mtbf_h == math.inf
    assert host.optional == 2.0
    bad = {**GOOD, "clock": True, "cores": 2.0, "ratio": math.inf, "mtbf_h": math.nan}
    assert validated(Host, bad, "t", problems) is None
    assert dict(problems) == {
        "t.cores": "Input should be a valid integer, got 2.0",
        "t.clock": "Input should be a valid number, got True",
        "t.ratio": "Input should be a finite number, got inf",
        "t.mtbf_h": "expected a number or inf, got nan",
    }


def test_a_check_over_several_keys_is_reported_at_its_key() -> None:
    problems: list[tuple[str, str]] = []
    assert validated(Host, {**GOOD, "ratio": 0.9, "share": 0.9}, "t", problems) is None
    assert problems == [("t.share", "and ratio may not both exceed 0.5")]


def test_non_tables_and_list_paths() -> None:
    problems: list[tuple[str, str]] = []
    assert validated(Host, [1, 2], "u", problems) is None
    assert problems == [("u", "expected a table, got list")]
    assert dotted(("x", "power_w", 3), "f.toml:hosts") == "f.toml:hosts.x.power_w[3]"
    assert dotted(("power_w", 3)) == "power_w[3]"
    assert dotted((0, "a"), "p") == "p[0].a"


@dataclass(frozen=True)
class Settings:
    """Two settings.

    Attributes
    ----------
    pue_ratio
        Facility power / IT power,
        at least 1.
    low_w, high_w
        A range, W.

    Notes
    -----
    Not an attribute.
    """

    pue_ratio: Annotated[Num, Field(ge=1.0)]
    low_w: Num = 0.0
    high_w: Num = 1.0


def test_attribute_docs_read_the_numpy_section() -> None:
    assert attribute_docs(Settings) == {
        "pue_ratio": "Facility power / IT power, at least 1.",
        "low_w": "A range, W.",
        "high_w": "A range, W.",
    }


def test_file_model_requires_every_field_but_the_optional_ones() -> None:
    model = file_model(Settings, optional=("high_w",))
    problems: list[tuple[str, str]] = []
    assert validated(model, {"pue_ratio": 0.5}, "energy", problems) is None
    assert problems == [
        ("energy.pue_ratio", "Input should be greater than or equal to 1, got 0.5"),
        ("energy.low_w", "is required"),
    ]
    entry = validated(model, {"pue_ratio": 1.5, "low_w": 3}, "energy", problems)
    assert entry is not None and Settings(**dict(entry)) == Settings(1.5, 3.0, 1.0)
    schema = model.model_json_schema()
    assert schema["required"] == ["pue_ratio", "low_w"]
    assert schema["properties"]["pue_ratio"]["minimum"] == 1.0
    assert schema["properties"]["low_w"]["description"] == "A range, W."
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("value", [0, -1, "1", None, [1]])
def test_fuzzed_values_never_crash(value: object) -> None:
    problems: list[tuple[str, str]] = []
    for key in GOOD:
        validated(Host, {**GOOD, key: value}, "t", problems)
    assert all(path.startswith("t.") for path, _ in problems)
    assert problems
