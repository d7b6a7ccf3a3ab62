"""Study specs: validation reports every problem with its path; expansion is stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan.errors import SpecError
from capplan.spec.study import load_study, scenario_id

GOOD = """
name = "modes"
[base]
workload = "trace.parquet"
mem_overcommit_ratio = 1.0
[base.storage]
mirrored = false
[axes]
mode = ["bare-metal", "hw-assisted", "containers"]
mem_overcommit_ratio = [1.0, 1.5]
"storage.mirrored" = [false, true]
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "trace.parquet").touch()  # the workload path must exist (checked by validation)
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_every_problem_at_once_including_missing_workload_and_catalog_names(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\n[base]\nworkload = "nothere/trace.csv"\nmode = "warp"\n'
        'buckets = -3\nhosts = [{ model = "cray-1" }]\n'
    )
    with pytest.raises(SpecError) as err:
        load_study(path)
    where = [w for w, _ in err.value.problems]
    assert where == ["base.buckets", "base.workload", "base.mode", "base.hosts[0].model"]
    assert "nothere" in dict(err.value.problems)["base.workload"]


def test_expands_cartesian_product_with_stable_ids(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, GOOD))
    scenarios = study.expand()
    assert len(scenarios) == 3 * 2 * 2
    names = [s.name for s in scenarios]
    assert len(set(names)) == len(names)
    assert names == [s.name for s in load_study(_write(tmp_path, GOOD)).expand()]
    mirrored = [s for s in scenarios if s.storage.mirrored]
    assert len(mirrored) == 6
    assert study.base.storage.mirrored is False  # expansion never mutates the base
    assert scenarios[0].workload == str((tmp_path / "trace.parquet").resolve())


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    bad = GOOD.replace("mem_overcommit_ratio = 1.0\n", "mem_overcommit_ratio = -1\nbogus = 3\n")
    bad = bad.replace('"containers"]', '"containers", "quantum"]') + "colour = [1]\n"
    with pytest.raises(SpecError) as info:
        load_study(_write(tmp_path, bad))
    where = [p for p, _ in info.value.problems]
    assert "base.mem_overcommit_ratio" in where
    assert "base.bogus" in where
    assert "axes.colour" in where
    assert str(tmp_path / "study.toml") in str(info.value)


def test_bad_axis_values_show_even_when_the_base_is_bad_too(tmp_path: Path) -> None:
    """One round: a bad base does not hide the bad axis values (they used to show only once
    the base was fixed)."""
    bad = GOOD.replace("mem_overcommit_ratio = 1.0\n", "mem_overcommit_ratio = -1\n")
    bad = bad.replace("mem_overcommit_ratio = [1.0, 1.5]", "mem_overcommit_ratio = [1.0, -2]")
    bad = bad.replace('"storage.mirrored" = [false, true]', "buckets = [24, 0]")
    with pytest.raises(SpecError) as info:
        load_study(_write(tmp_path, bad))
    where = [p for p, _ in info.value.problems]
    assert "base.mem_overcommit_ratio" in where
    assert "axes.mem_overcommit_ratio[1]" in where
    assert "axes.buckets[1]" in where
    assert "-2" in dict(info.value.problems)["axes.mem_overcommit_ratio[1]"]


def test_axis_values_checked_one_by_one(tmp_path: Path) -> None:
    bad = GOOD.replace('"containers"]', '"containers", "quantum"]')
    with pytest.raises(SpecError) as info:
        load_study(_write(tmp_path, bad))
    assert [p for p, _ in info.value.problems] == ["axes.mode[3]"]


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not valid TOML"):
        load_study(_write(tmp_path, "name = [unclosed"))
    with pytest.raises(SpecError, match="no such study file"):
        load_study(tmp_path / "absent.toml")


def test_scenario_id_is_order_independent() -> None:
    assert scenario_id({"a": 1, "b": "x"}) == scenario_id({"b": "x", "a": 1})
    assert scenario_id({}) == "base"


def test_dotted_axis_needs_a_table_and_axis_paths_resolve(tmp_path: Path) -> None:
    bad = GOOD.replace('"storage.mirrored" = [false, true]', '"mode.x" = ["a"]')
    with pytest.raises(SpecError) as info:
        load_study(_write(tmp_path, bad))
    assert [p for p, _ in info.value.problems] == ["axes.mode.x"]
    axes = GOOD.replace('"storage.mirrored" = [false, true]', 'workload = ["a.csv", "b.csv"]')
    (tmp_path / "a.csv").touch()
    (tmp_path / "b.csv").touch()
    scenarios = load_study(_write(tmp_path, axes)).expand()
    assert {s.workload for s in scenarios} == {
        str((tmp_path / "a.csv").resolve()),
        str((tmp_path / "b.csv").resolve()),
    }


def test_folder_and_low_ratio_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot be read"):
        load_study(tmp_path)
    low = GOOD.replace("mirrored = false", "mirrored = false\noversubscription_ratio = 0.8")
    with pytest.raises(SpecError, match=r"base\.storage\.oversubscription_ratio"):
        load_study(_write(tmp_path, low))


def test_spec_errors_survive_pickling() -> None:
    import pickle

    error = SpecError([("base.mode", "unknown")], path="s.toml")
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems and str(again) == str(error)
