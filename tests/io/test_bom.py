"""A UTF-8 byte-order mark (Excel's "CSV UTF-8") changes nothing: same VMs, same arrays."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from capplan.demand import load_workload
from capplan.io.files import UTF8_BOM, strip_bom

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _with_bom(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(UTF8_BOM + source.read_bytes())
    return target


@pytest.mark.parametrize(
    "relative",
    ["esxtop/three_vms.csv", "perfmon/classic_en.csv", "bitbrains/vms/2013-7"],
)
def test_bom_file_reads_like_the_plain_one(tmp_path: Path, relative: str) -> None:
    source = FIXTURES / relative
    if source.is_dir():
        copy = tmp_path / source.name
        shutil.copytree(source, copy)
        for f in copy.glob("*.csv"):
            f.write_bytes(UTF8_BOM + f.read_bytes())
    else:
        copy = _with_bom(source, tmp_path / source.name)
    plain, bom = load_workload(str(source)), load_workload(str(copy))
    assert plain.format == bom.format
    assert plain.vm_ids.tolist() == bom.vm_ids.tolist()
    for metric in plain.metrics:
        np.testing.assert_array_equal(plain.demand(metric), bom.demand(metric))


def test_canonical_csv_with_bom_is_detected(tmp_path: Path) -> None:
    text = (
        "vm_id,timestamp,cpu_demand_mhz\nvm1,2024-01-01T00:00:00,100\nvm1,2024-01-01T00:05:00,120\n"
    )
    path = tmp_path / "usage.csv"
    path.write_bytes(UTF8_BOM + text.encode())
    wl = load_workload(str(path))
    assert wl.format == "canonical-csv" and wl.vm_ids.tolist() == ["vm1"]


def test_strip_bom_only_strips_a_leading_mark() -> None:
    assert strip_bom(UTF8_BOM + b"a,b") == b"a,b"
    assert strip_bom(b"a" + UTF8_BOM) == b"a" + UTF8_BOM
