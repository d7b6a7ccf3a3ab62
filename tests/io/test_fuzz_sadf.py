"""Property tests: mutated sadf -d exports give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import ReadOptions, read_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sadf"
SEEDS = [
    (FIXTURES / name).read_bytes()
    for name in ("cpu_all.csv", "activities.csv", "cpu_noheader_local.csv")
]
OPTIONS = [
    ReadOptions(),
    ReadOptions(local_timezone="Europe/Berlin", extra={"host_cpu_mhz": {"db1": 8000.0}}),
]
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "abc", "1,5", "1e400", "-0", "100.01", "1.7976931348623157e308"]),
)
STAMPS = st.sampled_from(
    [
        "2024-05-02 08:05:01 UTC",
        "2024-05-02 08:05:01 UTC",
        "2024-05-02 08:00:01",
        "2024-03-31 02:30:00",
        "1714636800",
        "2024-13-45 99:99:99",
        "",
        "LINUX-RESTART",
    ]
)


def _read(data: bytes, fmt: str | None, options: ReadOptions) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sa.csv"
        path.write_bytes(data)
        check_outcome(lambda: read_trace(path, fmt, options))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    data=st.data(),
    fmt=st.sampled_from(["sadf", None]),
    options=st.sampled_from(OPTIONS),
)
def test_mutated_export(
    seed: bytes, data: st.DataObject, fmt: str | None, options: ReadOptions
) -> None:
    _read(data.draw(mutated(seed, separator=b";")), fmt, options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["h1", "h2", ""]), STAMPS, CELLS, CELLS, CELLS),
        min_size=1,
        max_size=5,
    ),
    header=st.booleans(),
    options=st.sampled_from(OPTIONS),
)
def test_arbitrary_cells_and_times(
    rows: list[tuple[str, str, str, str, str]], header: bool, options: ReadOptions
) -> None:
    lines = ["# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle"]
    lines = lines if header else []
    lines += [f"{h};600;{t};-1;{u};0;{s};0;0;{i}" for h, t, u, s, i in rows]
    _read("\n".join(lines).encode(), "sadf", options)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=64 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "sadf"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
