"""Placement CSV round trip and error reporting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capplan.errors import TraceFormatError
from capplan.placement import Placement


def test_round_trip_and_alignment(tmp_path: Path) -> None:
    placement = Placement.from_assignment(["a", "b", "c"], [0, 1, 0], ["m1", "m2"])
    back = Placement.read_csv(placement.write_csv(tmp_path / "p.csv"))
    assert back.host_models.tolist() == ["m1", "m2"]
    assert back.vms_per_host().tolist() == [2, 1]
    aligned = back.aligned_to(np.array(["c", "a", "b"]))
    assert aligned.host_ids[aligned.host_of_vm].tolist() == ["host-0001", "host-0001", "host-0002"]
    with pytest.raises(TraceFormatError, match="no row in the placement"):
        back.aligned_to(np.array(["a", "zz"]))


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("vm,host\n", "expected vm_id,host_id,host_model", 1),
        ("vm_id,host_id,host_model\na,h1,m1\na,h2,m1\n", "more than once", 3),
        ("vm_id,host_id,host_model\na,,m1\n", "empty", 2),
        ("vm_id,host_id,host_model\na,h1,m1\nb,h1,m2\n", "more than one host_model", None),
    ],
)
def test_bad_placements(tmp_path: Path, text: str, message: str, line: int | None) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(TraceFormatError, match=message) as info:
        Placement.read_csv(path)
    assert info.value.line == line


def test_placement_with_vms_the_workload_lacks_is_refused_with_their_names() -> None:
    placement = Placement.from_assignment(["a", "b", "ghost"], [0, 0, 1], ["m", "m"])
    with pytest.raises(TraceFormatError) as err:
        placement.aligned_to(np.array(["a", "b", "c"]), label="plan.csv")
    text = str(err.value)
    assert "plan.csv" in text and "'ghost'" in text and "'c'" in text
    assert "not in the workload" in text and "no row in the placement" in text
