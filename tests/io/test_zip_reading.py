"""A zip archive reads like the folder it was made from, opening the archive once."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from capplan.demand import load_workload
from capplan.errors import TraceFormatError
from capplan.io.files import list_members

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent))
    return target


@pytest.mark.parametrize("spec", ["bitbrains:bitbrains/vms", "planetlab:planetlab/20110303"])
def test_zip_reads_like_its_folder(tmp_path: Path, spec: str) -> None:
    fmt, relative = spec.split(":")
    folder = FIXTURES / relative
    archive = _zip(folder, tmp_path / "trace.zip")
    plain = load_workload(f"{fmt}:{folder}")
    zipped = load_workload(f"{fmt}:{archive}")
    assert plain.vm_ids.tolist() == zipped.vm_ids.tolist()
    for metric in plain.metrics:
        np.testing.assert_array_equal(plain.demand(metric), zipped.demand(metric))
    assert plain.inventory.drop("source", strict=False).equals(
        zipped.inventory.drop("source", strict=False)
    )


def test_archive_is_opened_once_for_all_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(50):
            z.writestr(f"f{i}.txt", f"{i}\n")
    members = list_members(archive)
    opened: list[object] = []
    real = zipfile.ZipFile

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            opened.append(args[0])
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile, "ZipFile", Counting)
    texts = [m.read_bytes() for m in members] + [m.head() for m in members]
    assert len(texts) == 100 and len(opened) == 1


def test_bad_line_in_a_zipped_bitbrains_file_is_named(tmp_path: Path) -> None:
    source = FIXTURES / "bitbrains" / "vms" / "2013-7"
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(source.glob("*.csv")):
            data = path.read_bytes()
            if path.name == sorted(p.name for p in source.glob("*.csv"))[0]:
                lines = data.split(b"\n")
                lines[3] = b"not;a;number"
                data = b"\n".join(lines)
            z.writestr(f"2013-7/{path.name}", data)
    with pytest.raises(TraceFormatError) as err:
        load_workload(f"bitbrains:{archive}")
    assert "!2013-7/" in str(err.value) and ":4" in str(err.value)
