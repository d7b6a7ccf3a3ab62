"""Property tests: mutated Alibaba files give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import read_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alibaba"
USAGE = (FIXTURES / "machine_usage.csv").read_bytes()
META = (FIXTURES / "machine_meta.csv").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage=mutated(USAGE), meta=mutated(META), which=st.sampled_from(["u", "m"]))
def test_mutated_files(usage: bytes, meta: bytes, which: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "machine_usage.csv").write_bytes(usage if which == "u" else USAGE)
        (root / "machine_meta.csv").write_bytes(meta if which == "m" else META)
        check_outcome(lambda: read_trace(root, "alibaba"))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=512 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "alibaba"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
