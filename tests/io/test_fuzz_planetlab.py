"""Property tests: mutated PlanetLab files give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings

from capplan.errors import CapplanError
from capplan.io import read_trace

DAY = Path(__file__).resolve().parents[1] / "fixtures" / "planetlab" / "20110303"
SEED = (DAY / "node_d_slice").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(SEED, separator=b"\n"))
def test_mutated_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        day = Path(folder) / "20110303"
        day.mkdir()
        (day / "vm one").write_bytes(data)
        (day / "vm_two").write_bytes(SEED)
        check_outcome(lambda: read_trace(day, "planetlab"))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=512 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "planetlab"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
