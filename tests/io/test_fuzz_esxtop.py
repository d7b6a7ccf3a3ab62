"""Property tests: mutated esxtop batch files give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import ReadOptions, read_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "esxtop"
SEEDS = [(FIXTURES / name).read_bytes() for name in ("three_vms.csv", "host_minutes_resaved.csv")]
OPTIONS = [ReadOptions(), ReadOptions(extra={"core_mhz": 2600, "host_cpu_mhz": 41600})]
HEADER = (
    "(PDH-CSV 4.0) (UTC)(0),\\\\e\\Group Cpu(9:vm1)\\% Used,\\\\e\\Group Memory(9:vm1)\\Touched "
    "MBytes,\\\\e\\Network Port(vs0:1:2:vm1)\\MBits Received/sec,"
    "\\\\e\\Network Port(vs0:3:2:vm1)\\MBits Received/sec"
)
TIMES = st.sampled_from(
    [
        "03/12/2024 08:15:02",
        "03/12/2024 08:15:02",
        "03/12/2024 08:15:01",
        "3/12/2024 8:16",
        "03/12/2024",
        "",
        "12/31/1969 23:59:59",
    ]
)
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "abc", "1e400", "1.7976931348623157e308", "-1", "0"]),
)


def _read(data: bytes, fmt: str | None, options: ReadOptions) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "esxtop.csv"
        path.write_bytes(data)
        check_outcome(lambda: read_trace(path, fmt, options))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    data=st.data(),
    fmt=st.sampled_from(["esxtop", "perfmon", None]),
    options=st.sampled_from(OPTIONS),
)
def test_mutated_batch_file(
    seed: bytes, data: st.DataObject, fmt: str | None, options: ReadOptions
) -> None:
    _read(data.draw(mutated(seed, separator=b",")), fmt, options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(TIMES, CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=6),
    options=st.sampled_from(OPTIONS),
)
def test_arbitrary_cells_and_repeated_times(
    rows: list[tuple[str, str, str, str, str]], options: ReadOptions
) -> None:
    lines = [HEADER] + [",".join(row) for row in rows]
    _read("\n".join(lines).encode(), "esxtop", options)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=64 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "esxtop"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
