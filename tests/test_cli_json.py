"""``--json`` output is always valid JSON: NaN and infinities print as null."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capplan.cli_app import json_ready, print_json


def test_nan_and_numpy_values_become_plain_json(capsys: pytest.CaptureFixture[str]) -> None:
    payload = {
        "nan": float("nan"),
        "inf": -np.inf,
        "f32": np.float32(1.5),
        "array": np.array([1.0, np.nan]),
        "nested": {"tuple": (1, np.int64(2)), "path": Path("/x/y")},
    }
    print_json(payload)
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    doc = json.loads(out)
    assert doc == {
        "nan": None,
        "inf": None,
        "f32": 1.5,
        "array": [1.0, None],
        "nested": {"tuple": [1, 2], "path": "/x/y"},
    }


def test_json_ready_keeps_plain_values() -> None:
    assert json_ready({"a": [True, None, "s", 3, 2.5]}) == {"a": [True, None, "s", 3, 2.5]}
