"""TableFields: every typed read reports its problem with the dotted path, all at once."""

from __future__ import annotations

import math

from capplan.spec.fields import MISSING, TableFields


def test_every_problem_is_reported_with_its_path() -> None:
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
    f = TableFields(table, "hosts.x", problems)
    assert f.integer("cores", lo=1) == 0
    assert math.isnan(f.num("clock"))
    assert f.num("ratio", hi=1.0) == 1.5
    assert f.num("share", lo=0.0, lo_open=True) == 0.0
    assert f.flag("on") is False
    assert f.text("mode", choices=("a", "b")) == "warp"
    assert f.text("name") == ""
    assert math.isnan(f.num("missing"))
    assert f.num("optional", default=2) == 2.0 and f.text("label", default=None) == ""
    f.finish()
    assert problems == [
        ("hosts.x.cores", "expected an integer >= 1, got 0"),
        ("hosts.x.clock", "expected a number, got 'fast'"),
        ("hosts.x.ratio", "expected a number <= 1, got 1.5"),
        ("hosts.x.share", "expected a number > 0, got 0"),
        ("hosts.x.on", "expected true or false, got 'yes'"),
        ("hosts.x.mode", "expected one of a, b; got 'warp'"),
        ("hosts.x.name", "expected a non-empty string, got ' '"),
        ("hosts.x.missing", "is required"),
        ("hosts.x.typo", "unknown key"),
    ]


def test_infinity_only_where_allowed_and_non_tables() -> None:
    problems: list[tuple[str, str]] = []
    f = TableFields({"a": math.inf, "b": math.inf}, "t", problems)
    assert f.num("a", allow_inf=True) == math.inf
    f.num("b")
    assert problems == [("t.b", "expected a finite number, got inf")]
    problems.clear()
    g = TableFields([1, 2], "u", problems)
    assert g.integer("n", default=MISSING) == 0
    assert problems == [("u", "expected a table, got list"), ("u.n", "is required")]
