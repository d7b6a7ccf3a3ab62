"""Property tests: mutated PDH-CSV logs give a CapplanError or a valid Trace, nothing else."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from fuzzing import check_outcome, mutated, write_zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError
from capplan.io import ReadOptions, read_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perfmon"
SEEDS = [(FIXTURES / name).read_bytes() for name in ("classic_en.csv", "classic_de_cp1252.csv")]
OPTIONS = [ReadOptions(), ReadOptions(extra={"host_mem_mib": 8192, "core_mhz": 2000})]
HEADER = (
    '"(PDH-CSV 4.0) (W. Europe Standard Time)(-60)","\\\\H\\Processor(_Total)\\% Processor Time",'
    '"\\\\H\\Memory\\Available MBytes","\\\\H\\Network Interface(nic)\\Bytes Sent/sec"'
)
TIMES = st.sampled_from(
    [
        "06/03/2024 10:00:00.120",
        "06/03/2024 10:00:00.120",
        "06/03/2024 09:59:59.999",
        "06/03/2024 10:00:15",
        "3/6/2024 10:01",
        "13/40/2024 10:00:00.000",
        "",
        " ",
        "10/27/2024 02:30:00.000",
    ]
)
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from([" ", "", "abc", "1,5", "1e400", "-0", "0x10", "1.7976931348623157e308"]),
    st.text(max_size=4),
)


def _read(data: bytes, fmt: str | None, options: ReadOptions) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "DataCollector01.csv"
        path.write_bytes(data)
        check_outcome(lambda: read_trace(path, fmt, options))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    data=st.data(),
    fmt=st.sampled_from(["perfmon", "esxtop", None]),
    options=st.sampled_from(OPTIONS),
)
def test_mutated_log(
    seed: bytes, data: st.DataObject, fmt: str | None, options: ReadOptions
) -> None:
    _read(data.draw(mutated(seed, separator=b",")), fmt, options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(TIMES, CELLS, CELLS, CELLS), min_size=1, max_size=5),
    options=st.sampled_from(OPTIONS),
)
def test_arbitrary_cells_and_times(
    rows: list[tuple[str, str, str, str]], options: ReadOptions
) -> None:
    lines = [HEADER] + [",".join(f'"{cell}"' for cell in row) for row in rows]
    _read("\r\n".join(lines).encode("utf-8", errors="surrogatepass"), "perfmon", options)


def test_zip_bomb_and_zipped_logs(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.zip", expanded_bytes=64 * 1024**2)
    outcome = check_outcome(lambda: read_trace(bomb, "perfmon"))
    assert isinstance(outcome, CapplanError) and "zip bomb" in str(outcome)
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for name in ("classic_en.csv", "classic_de_cp1252.csv"):
            handle.write(FIXTURES / name, f"logs/{name}")
    trace = check_outcome(lambda: read_trace(archive))
    assert not isinstance(trace, CapplanError)
    assert sorted(trace.inventory.get_column("vm_id").to_list()) == ["DBSRV02", "WEB01"]
