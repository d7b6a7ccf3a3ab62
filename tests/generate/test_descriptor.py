"""Workload descriptors: the bundled demo, the cache, and precise errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan.demand import load_workload
from capplan.errors import SpecError
from capplan.generate.descriptor import cached_path, load_descriptor
from capplan.io import detect_format, read_trace

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "workloads" / "demo"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPPLAN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_demo_descriptor_loads() -> None:
    desc = load_descriptor(DEMO / "workload.toml")
    assert desc.seed == 20240101
    assert desc.params.n_vms == 200
    assert desc.params.days == 7
    assert desc.params.step_s == 300
    assert desc.params.n_steps == 2016
    assert desc.params.site_profile == "single-site"


def test_demo_folder_is_detected_and_cached(_cache: Path) -> None:
    assert detect_format(DEMO) == "synthetic"
    first = load_workload(str(DEMO))
    cached = cached_path(load_descriptor(DEMO / "workload.toml"))
    assert cached.exists() and cached.is_relative_to(_cache)
    second = load_workload(str(DEMO / "workload.toml"))
    assert first.format == second.format == "synthetic"
    assert (first.n_vms, first.n_steps, first.step_s) == (200, 2016, 300)
    for name in first.metrics:
        assert (first.mean[name] == second.mean[name]).all()
    assert first.inventory.equals(second.inventory)
    assert first.quality.overall_frac == 1.0


def test_unwritable_cache_still_generates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CAPPLAN_CACHE_DIR", str(blocker))
    desc = tmp_path / "w.toml"
    desc.write_text("[synthetic]\nseed = 1\nn_vms = 3\ndays = 0.5\nstep_s = 600\n")
    trace = read_trace(desc)
    assert trace.format == "synthetic"
    assert trace.usage.collect().height == 3 * 72


def test_cache_key_follows_parameters(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text("[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\n")
    b.write_text("[synthetic]\nseed = 2\nn_vms = 3\ndays = 1\nstep_s = 300\n")
    assert load_descriptor(a).cache_key() != load_descriptor(b).cache_key()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\n", "synthetic.step_s"),
        ("[synthetic]\nseed = 1\nn_vms = 'x'\ndays = 1\nstep_s = 300\n", "synthetic.n_vms"),
        ("[synthetic]\nseed = -4\nn_vms = 3\ndays = 1\nstep_s = 300\n", "synthetic.seed"),
        (
            "[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\ncolour = 2\n",
            "synthetic.colour",
        ),
        ("[synthetic]\nseed = 1\nn_vms = 0\ndays = 1\nstep_s = 300\n", "synthetic.n_vms"),
        (
            "[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\nstart = 'monday'\n",
            "synthetic.start",
        ),
        (
            "[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\n"
            "[synthetic.overrides]\nbogus = 1\n",
            "synthetic.overrides.bogus",
        ),
        (
            "[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\n"
            "[synthetic.overrides]\ncpu_log_ac_1h = 1.5\n",
            "synthetic.overrides.cpu_log_ac_1h",
        ),
        ("[other]\nx = 1\n", "synthetic"),
        (
            "[synthetic]\nseed = 1\nn_vms = 3\ndays = 1\nstep_s = 300\nsite_profile = 'moon'\n",
            "synthetic.site_profile",
        ),
    ],
)
def test_bad_descriptors_name_the_spec_path(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_descriptor(path)
    assert where in [w for w, _ in info.value.problems]
    assert str(path) in str(info.value)


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[synthetic]\nseed = 1\nn_vms = = 3\n")
    with pytest.raises(SpecError, match="line 3"):
        load_descriptor(path)
