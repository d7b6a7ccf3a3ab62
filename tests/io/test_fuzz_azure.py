"""Property tests: mutated Azure files give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import read_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
VMTABLE = (FIXTURES / "vmtable.csv").read_bytes()
READINGS = gzip.decompress((FIXTURES / "vm_cpu_readings-file-1-of-1.csv.gz").read_bytes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=mutated(VMTABLE),
    readings=mutated(READINGS),
    which=st.sampled_from(["t", "r"]),
    packed=st.booleans(),
)
def test_mutated_files(table: bytes, readings: bytes, which: str, packed: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "vmtable.csv").write_bytes(table if which == "t" else VMTABLE)
        body = readings if which == "r" else READINGS
        if packed:
            (root / "readings.csv.gz").write_bytes(gzip.compress(body))
        else:
            (root / "readings.csv").write_bytes(body)
        check_outcome(lambda: read_trace(root, "azure"))


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    from capplan.io import ReadOptions

    (tmp_path / "vmtable.csv").write_bytes(VMTABLE)
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(b"0,vmA,1,2,3\n" * 2_000_000))
    options = replace(ReadOptions(), max_expanded_bytes=1024**2)
    outcome = check_outcome(lambda: read_trace(tmp_path, "azure", options))
    assert isinstance(outcome, CapplanError)
    assert "r.csv.gz" in str(outcome) and "more than" in str(outcome)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=512 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "azure"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
