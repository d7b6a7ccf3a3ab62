"""Upload batches are checked before anything is written: names, sizes, encoding."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.dashboard.uploads import UploadError, check_batch, check_file_name, decoded_size


def data_url(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("traces/1.csv", "path parts"),
        ("..\\1.csv", "path parts"),
        ("/etc/passwd", "path parts"),
        ("C:evil.csv", "path parts"),
        ("..", "not allowed"),
        (".hidden.csv", "not allowed"),
        ("a\x00b.csv", "control characters"),
        ("x" * 300, "characters long"),
        ("", "no name"),
    ],
)
def test_unsafe_names_are_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(UploadError, match=why):
        check_file_name(name)


def test_plain_names_pass() -> None:
    for name in ("1.csv", "vm_cpu_readings-file-1-of-125.csv.gz", "RVTools export (1).xlsx"):
        assert check_file_name(name) == name


def test_batch_decodes_every_file() -> None:
    files = check_batch(["a.csv", "b.csv"], [data_url(b"x,y\n1,2\n"), data_url(b"z")], 100)
    assert [(f.name, f.data) for f in files] == [("a.csv", b"x,y\n1,2\n"), ("b.csv", b"z")]


def test_batch_above_the_limit_is_refused_before_decoding() -> None:
    big = data_url(b"0" * 3000)
    with pytest.raises(UploadError, match=r"above the limit of 0\.0 MB.*CAPPLAN_MAX_UPLOAD_MB"):
        check_batch(["a.csv"], [big], 2000)


@pytest.mark.parametrize(
    ("names", "contents", "why"),
    [
        (["a.csv", "A.CSV"], [data_url(b"1"), data_url(b"2")], "two files are named"),
        (["a.csv"], ["data:text/csv;base64,@@@@"], "not valid base64"),
        (["a.csv"], ["data:text/csv,plain"], "not base64 data"),
        (["a.csv"], [data_url(b"")], "empty"),
        (["a.csv", "b.csv"], [data_url(b"1")], "arrived damaged"),
        ([], [], "no files received"),
        (None, None, "no files received"),
    ],
)
def test_bad_batches_name_the_problem(names: list[str], contents: list[str], why: str) -> None:
    with pytest.raises(UploadError, match=why):
        check_batch(names, contents, 10_000)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_decoded_size_is_the_exact_payload_size_or_a_slight_overestimate(data: bytes) -> None:
    estimate = decoded_size(data_url(data))
    assert len(data) <= estimate <= len(data) + 2
