"""Economics settings: the bundled defaults cite a source each; bad files report every problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from capplan.errors import SpecError
from capplan.spec.economics import bundled_economics_path, load_economics, parse_economics


def test_bundled_defaults_load_and_every_value_cites_a_source() -> None:
    s = load_economics()
    assert s.energy.pue_ratio == pytest.approx(1.58)
    assert s.energy.fan_r == pytest.approx(1.4)
    assert s.availability.ha_restart_s == pytest.approx(15 + 44.2)
    assert s.availability.restart_s("windows") == pytest.approx(15 + 429)
    # Labour per workload (Azure Migrate's shape), none per server, at the loaded rate.
    assert s.labor.model == "per-vm"
    assert s.labor.hours_per_instance_year == pytest.approx(2080 / 80)
    assert s.labor.hours_per_server_year == 0.0
    assert s.labor.admin_usd_per_hour == pytest.approx(42.51 * 1.419)
    assert s.finance.discount_rate_frac == pytest.approx(0.07)
    doc = tomllib.loads(bundled_economics_path().read_text())
    sections = ("energy", "finance", "labor", "availability", "baseline")
    expected = {f"{sec}.{key}" for sec in sections for key in doc[sec]}
    for kind in ("hypervisor", "guest_os"):
        for name, table in doc["licences"][kind].items():
            expected |= {f"licences.{kind}.{name}.{key}" for key in table}
    assert expected <= set(s.sources)
    for key in expected:
        assert s.sources[key] and not s.sources[key].startswith("user setting"), key
    assert "Uptime Institute" in s.source_of("energy.pue_ratio")


def test_all_problems_reported_at_once_with_dotted_paths() -> None:
    doc = tomllib.loads(bundled_economics_path().read_text())
    doc["energy"]["pue_ratio"] = {"value": 0.8, "source": "uptime-2023"}
    doc["energy"]["power_model"] = {"value": "cubic", "source": "fan-2007"}
    doc["labor"]["wage_usd_per_hour"] = {"value": "forty", "source": "bls-oes-2019"}
    doc["finance"]["horizon_years"] = {"value": 5, "source": "nowhere"}
    doc["availability"]["typo_key"] = 3
    del doc["baseline"]["host_model"]
    doc["licences"]["guest_os"]["windows"].pop("datacenter_usd_per_16_cores")
    doc["surprise"] = {}
    with pytest.raises(SpecError) as info:
        parse_economics(doc, label="e.toml", origins={})
    where = {p for p, _ in info.value.problems}
    assert {
        "e.toml:energy.pue_ratio",
        "e.toml:energy.power_model",
        "e.toml:labor.wage_usd_per_hour",
        "e.toml:finance.horizon_years.source",
        "e.toml:availability.typo_key",
        "e.toml:baseline.host_model",
        "e.toml:licences.guest_os.windows.datacenter_usd_per_16_cores",
        "e.toml:surprise",
    } <= where
    assert len(info.value.problems) >= 8


def test_bundled_values_without_a_source_are_rejected() -> None:
    doc = tomllib.loads(bundled_economics_path().read_text())
    doc["energy"]["pue_ratio"] = 1.4
    with pytest.raises(SpecError, match=r"energy.pue_ratio.*cite"):
        parse_economics(doc, label="economics.toml", origins={"energy.pue_ratio": "bundled"})


def test_user_file_extends_bundled(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "bundled"\n[energy]\npue_ratio = 1.2\n[availability]\nreserve_hosts = 2\n'
    )
    s = load_economics(path)
    assert s.energy.pue_ratio == pytest.approx(1.2)
    assert s.availability.reserve_hosts == 2
    assert s.source_of("energy.pue_ratio") == "user setting (mine.toml)"
    assert s.energy.electricity_usd_per_kwh == pytest.approx(0.1252)  # untouched default


def test_bad_user_file_names_file_and_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('extends = "bundled"\n[energy]\npue_ratio = -1\nfan_r = "x"\n')
    with pytest.raises(SpecError) as info:
        load_economics(path)
    message = str(info.value)
    assert "bad.toml" in message and "energy.pue_ratio" in message and "energy.fan_r" in message
    broken = tmp_path / "broken.toml"
    broken.write_text("[energy\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_economics(broken)
    with pytest.raises(SpecError, match="no such"):
        load_economics(tmp_path / "absent.toml")
