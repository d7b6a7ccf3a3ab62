"""Property tests: mutated Bitbrains files give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import read_trace

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "bitbrains" / "vms" / "2013-7" / "1.csv"
)
SEED = FIXTURE.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(SEED, separator=b";\t"), fmt=st.sampled_from(["bitbrains", None]))
def test_mutated_file(data: bytes, fmt: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "2013-7"
        target.mkdir()
        (target / "1.csv").write_bytes(data)
        (target / "2.csv").write_bytes(SEED)
        check_outcome(lambda: read_trace(target, fmt))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=512 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "bitbrains"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
