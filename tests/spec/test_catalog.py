"""The hardware catalog: the bundled models/ folder and validation of broken catalogs."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from capplan.errors import CapplanError, SpecError
from capplan.spec.catalog import (
    LAUNCH_YEAR_RANGE,
    POWER_LOAD_FRACS,
    bundled_catalog_dir,
    current_models,
    guest_kernel_saved_mib,
    load_catalog,
)

CLOUDSIM_CURVES = {
    "hp-proliant-ml110-g4": [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117],
    "hp-proliant-ml110-g5": [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135],
    "ibm-x3250-m3-x3470": [41.6, 46.7, 52.3, 57.9, 65.4, 73, 80.7, 89.5, 99.6, 105, 113],
    "ibm-x3250-m3-x3480": [42.3, 46.7, 49.7, 55.4, 61.8, 69.3, 76.1, 87, 96.1, 106, 113],
    "ibm-x3550-m3-x5670": [66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247],
    "ibm-x3550-m3-x5675": [58.4, 98, 109, 118, 128, 140, 153, 170, 189, 205, 222],
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_bundled_catalog_has_the_six_cloudsim_curves(catalog) -> None:
    for name, curve in CLOUDSIM_CURVES.items():
        assert list(catalog.host(name).power_w) == pytest.approx(curve), name


def test_bundled_catalog_has_current_two_socket_servers(catalog) -> None:
    current = [h for h in catalog.hosts.values() if h.sockets == 2 and h.n_cores >= 100]
    assert len(current) >= 3
    for host in current:
        assert len(host.power_w) == 11 and host.power_w[0] < host.power_w[-1]
        assert "SPECpower" in host.source


def test_every_entry_cites_a_source(catalog) -> None:
    entries = [
        *catalog.hosts.values(),
        *catalog.modes.values(),
        *catalog.san_tiers.values(),
        catalog.san,
        catalog.fabric,
        catalog.memory,
    ]
    for entry in entries:
        assert entry.source.strip(), entry
    assert set(catalog.modes) >= {"bare-metal", "full-bt", "hw-assisted", "paravirt", "containers"}
    assert set(catalog.san_tiers) >= {"nvme", "ssd", "hdd-15k", "hdd-10k", "nl-sas"}


def test_bundled_catalog_marks_current_and_legacy_models(catalog) -> None:
    current = current_models(catalog)
    assert len(current) >= 2
    assert list(current) == [n for n in catalog.hosts if n in current]  # catalog order
    for name in CLOUDSIM_CURVES:
        host = catalog.host(name)
        assert host.status == "legacy" and not host.is_current, name
        assert name not in current
    lo, hi = LAUNCH_YEAR_RANGE
    for host in catalog.hosts.values():
        assert host.status in ("current", "legacy"), host.name
        assert host.launch_year is not None and lo <= host.launch_year <= hi, host.name
    # The rule follows the CPU generation: the 2007-2012 servers and the Cascade Lake ones
    # are legacy; Ice Lake-SP, Sapphire Rapids and EPYC 9004 servers are current.
    assert catalog.host("dell-poweredge-r720-e5-2670").status == "legacy"
    assert catalog.host("inspur-nf5280m5-gold5218").status == "legacy"
    assert set(current) == {
        "hpe-dl380-gen11",
        "lenovo-sr665-v3",
        "asus-rs720a-e12-rs12",
        "inspur-nf5180m6-gold6336y",
    }
    assert min(catalog.host(n).n_cores for n in current) >= 48


def test_every_bundled_host_cites_its_status_source(catalog) -> None:
    folder = bundled_catalog_dir()
    raw_hosts = tomllib.loads((folder / "hosts.toml").read_text(encoding="utf-8"))["hosts"]
    sources = tomllib.loads((folder / "sources.toml").read_text(encoding="utf-8"))["sources"]
    assert set(raw_hosts) == set(catalog.hosts)
    for name, entry in raw_hosts.items():
        assert {"status", "launch_year", "status_source"} <= set(entry), name
        keys = entry["status_source"]
        keys = [keys] if isinstance(keys, str) else keys
        assert keys and all(k in sources for k in keys), (name, keys)
        assert "status-rule" in keys, name
        assert catalog.host(name).status_source.strip(), name


def test_host_properties_hand_worked(catalog) -> None:
    host = catalog.host("ibm-x3550-m3-x5670")
    assert host.n_cores == 12 and host.n_threads == 24
    assert host.cpu_capacity_mhz == pytest.approx(12 * 2933)
    assert host.idle_w == 66 and host.max_w == 247
    # Unpublished figures stay undefined rather than invented.
    assert math.isnan(host.price_usd)


def test_current_servers_take_a_measured_shape_not_a_line(catalog) -> None:
    # DL380 Gen11: published idle 201 W and 100 % 689 W only; the DL380 Gen10 Plus curve
    # (127 ... 619 W) gives the shape: P(u) = 201 + 488 × (P10+(u) − 127) / 492.
    gen10_plus = [127, 198, 226, 253, 281, 314, 354, 405, 464, 576, 619]
    expected = [201 + 488 * (w - 127) / 492 for w in gen10_plus]
    assert list(catalog.host("hpe-dl380-gen11").power_w) == pytest.approx(expected, abs=0.06)
    # SR665 V3 (117 W / 634 W) takes the shape of the same CPUs' ASUS result.
    asus = catalog.host("asus-rs720a-e12-rs12").power_w
    shape = [117 + 517 * (w - asus[0]) / (asus[-1] - asus[0]) for w in asus]
    assert list(catalog.host("lenovo-sr665-v3").power_w) == pytest.approx(shape, abs=0.06)
    # Against the line used before, the shape draws more at low load and less near 100 %.
    line = [201 + 488 * x for x in POWER_LOAD_FRACS]
    assert expected[1] > line[1] and expected[6] < line[6]


def test_idle_max_entries_become_linear_curves(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    host = load_catalog(tmp_path).host("ok")
    assert list(host.power_w) == pytest.approx([50 + 100 * x for x in POWER_LOAD_FRACS])


def test_dimms_beyond_the_measured_ones_add_their_power(tmp_path: Path) -> None:
    # 16 DIMMs installed, 6 measured, 5 W each: + 50 W at every load.
    _write_minimal(
        tmp_path,
        hosts=GOOD_HOST.replace("idle_w", "dimms = 16\ntested_dimms = 6\ndimm_w = 5\nidle_w"),
    )
    host = load_catalog(tmp_path).host("ok")
    assert host.dimm_extra_w == 50
    assert list(host.power_w) == pytest.approx([100 + 100 * x for x in POWER_LOAD_FRACS])
    # The bundled R720: 16 x 32 GB against the 6 x 4 GB of its SPECpower result.
    r720 = load_catalog().host("dell-poweredge-r720-e5-2670")
    assert (r720.idle_w, r720.max_w, r720.dimm_extra_w) == (101, 281, 50)
    # The three fields go together.
    _write_minimal(tmp_path, hosts=GOOD_HOST.replace("idle_w", "dimms = 16\nidle_w"))
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert "missing tested_dimms, dimm_w" in str(info.value)


def test_felter_figures_become_mode_factors(catalog) -> None:
    kvm = catalog.mode("hw-assisted")
    assert kvm.cpu_overhead_frac == pytest.approx(1 - 284.2 / 290.8, abs=1e-4)
    assert kvm.io_iops_factor == pytest.approx(42543 / 84044, abs=1e-4)
    assert kvm.net_latency_factor == pytest.approx(1.8)
    # No kernel-level KVM figure: kernel code slows as user code does, whatever the share.
    assert float(kvm.cpu_multiplier(0.5)) == pytest.approx(1 / (1 - kvm.cpu_overhead_frac))
    # The fio logs: +372.55 us per read, +624.0 per write, +2.91 us of CPU per I/O on a 2.4 GHz
    # Sandy Bridge-EP core (1.149 reference MHz per MHz, the catalog's E5-2670).
    assert kvm.io_added_read_latency_ms == pytest.approx((643.12 - 270.57) / 1000, abs=1e-4)
    assert kvm.io_added_write_latency_ms == pytest.approx((842.60 - 218.60) / 1000, abs=1e-4)
    assert kvm.io_cpu_mhz_per_iops == pytest.approx(2.91e-6 * 2400 * 1.149)
    assert catalog.host("dell-poweredge-r720-e5-2670").perf_factor == pytest.approx(1.149)
    docker = catalog.mode("containers")
    assert docker.cpu_overhead_frac == 0 and docker.io_iops_factor == 1 and docker.same_os_kernel
    xen = catalog.mode("paravirt")
    bt = catalog.mode("full-bt")
    # User-level code from SPEC INT2000 (567 / 567 / 554); at the Linux build's 7 % kernel
    # share the split gives back the paper's whole-build times (263 / 271 / 334 s).
    assert xen.cpu_overhead_frac == 0
    assert bt.cpu_overhead_frac == pytest.approx(1 - 554 / 567, abs=1e-4)
    assert float(xen.cpu_multiplier(0.07)) == pytest.approx(271 / 263, rel=1e-4)
    assert float(bt.cpu_multiplier(0.07)) == pytest.approx(334 / 263, rel=1e-4)
    assert float(bt.cpu_multiplier(0.0)) == pytest.approx(567 / 554, rel=1e-4)
    assert catalog.guest.cpu_kernel_frac == 0.07
    assert xen.needs_modified_guest and not xen.supports_legacy_guests
    assert catalog.mode("full-bt").supports_legacy_guests


def test_guest_kernel_memory_by_hand(catalog) -> None:
    # Red Hat's ~110 MiB at boot in a 2 GiB VM holds the page map (2,048 MiB / 64 = 32 MiB, one
    # 64-byte struct page per 4 KiB page); the rest, 78 MiB, is fixed.
    guest = catalog.guest
    assert guest.kernel_fixed_mib == 78.0 and guest.kernel_page_map_frac == 64 / 4096
    np.testing.assert_allclose(guest.kernel_mem_mib([2048.0, 65536.0]), [110.0, 1102.0])
    saved = guest_kernel_saved_mib(catalog.mode("containers"), guest, [2048.0])
    assert saved.tolist() == [110.0]
    for name in ("bare-metal", "full-bt", "hw-assisted", "paravirt"):
        assert guest_kernel_saved_mib(catalog.mode(name), guest, [2048.0]).tolist() == [0.0]
    assert "Red Hat" in guest.source and "struct page" in guest.source


def test_vmware_overhead_table_at_grid_points_and_between(catalog) -> None:
    kvm = catalog.mode("hw-assisted")
    grid = kvm.mem_overhead_mib([1, 2, 4, 8, 1, 8], [256, 256, 1024, 4096, 16384, 16384])
    np.testing.assert_allclose(grid, [20.29, 24.28, 37.86, 76.78, 139.62, 168.60])
    # Halfway between 1 and 2 vCPUs at 1 GiB: (25.90 + 29.91) / 2.
    assert kvm.mem_overhead_mib(1.5, 1024)[()] == pytest.approx(27.905)
    # Halfway between 1 GiB and 4 GiB at 1 vCPU: (25.90 + 48.64) / 2.
    assert kvm.mem_overhead_mib(1, 2560)[()] == pytest.approx(37.27)
    # Beyond the table: linear extrapolation of the last segment, never negative.
    big = kvm.mem_overhead_mib(16, 65536)[()]
    assert big > 168.60
    assert kvm.mem_overhead_mib(1, 0)[()] >= 0


def test_other_overhead_models(catalog) -> None:
    # Xen libxl: 1 MiB per vCPU + 8 KiB per MiB of RAM → 2 vCPU, 4096 MiB = 2 + 32 = 34 MiB.
    assert catalog.mode("paravirt").mem_overhead_mib(2, 4096)[()] == pytest.approx(34.0)
    assert catalog.mode("containers").mem_overhead_mib([4], [8192]).tolist() == [0.0]
    assert catalog.mode("bare-metal").mem_overhead_mib(8, 1 << 20)[()] == 0.0


def test_san_and_fabric_properties(catalog) -> None:
    fabric = catalog.fabric
    assert fabric.vlan_tag_bytes == 4 and fabric.n_vlans_usable == 4094
    assert fabric.wire_factor_untagged == pytest.approx(1538 / 1500)
    assert fabric.wire_factor_tagged == pytest.approx(1542 / 1500)
    assert fabric.oversubscription_ratio == pytest.approx(48 * 25000 / (4 * 100000))
    san = catalog.san
    assert san.active_paths == 2 and san.failover_paths == 1
    assert not san.single_point_of_failure and san.added_latency_ms == 0.0


def test_unknown_names_list_the_valid_ones(catalog) -> None:
    with pytest.raises(CapplanError, match=r"unknown host model 'nope'.*hpe-dl380-gen11"):
        catalog.host("nope")
    with pytest.raises(CapplanError, match="valid: bare-metal"):
        catalog.mode("kvm")


BROKEN_HOSTS = """
[hosts.bad]
sockets = 0
cores_per_socket = "eight"
base_clock_mhz = 2000
ram_mib = 1024
nic_count = 1
nic_speed_mbps = 1000
power_w = [1, 2, 3]
colour = "red"
source = "nowhere"

[hosts.falling]
sockets = 1
cores_per_socket = 2
base_clock_mhz = 2000
ram_mib = 1024
nic_count = 1
nic_speed_mbps = 1000
power_w = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
source = "s"
"""


def _write_minimal(folder: Path, *, hosts: str, extra: str = "") -> None:
    (folder / "hosts.toml").write_text(hosts)
    (folder / "rest.toml").write_text(
        """
[sources]
s = "a source"

[modes.m]
cpu_overhead_frac = 0.1
io_iops_factor = 0.9
net_latency_factor = 1.0
net_throughput_factor = 1.0
page_sharing = false
live_migration = true
same_os_kernel = false
needs_modified_guest = false
supports_legacy_guests = false
source = "s"

[san_tiers.t]
media = "ssd"
usable_gib = 100
max_iops = 1000
max_mib_s = 100
base_latency_ms = 1
write_penalty = 2
source = "s"

[san]
appliance = "none"
multipath_paths = 2
multipath_mode = "active-active"
path_speed_mib_s = 100
snapshot_overhead_frac = 0
thin_provisioning = true
default_tier = "t"
swap_tier = "t"
latency_slo_ms = 10
source = "s"

[fabric]
hosts_per_tor = 2
tor_uplinks = 1
uplink_speed_mbps = 1000
tor_downlink_ports = 2
tor_port_speed_mbps = 1000
core_port_speed_mbps = 1000
mtu_bytes = 1500
ethernet_overhead_bytes = 38
vlan_tag_bytes = 4
vlan_id_bits = 12
n_vlans_usable = 4094
east_west_frac = 0.5
source = "s"

[memory]
balloon_max_frac = 0.65
active_window_s = 60
page_size_kib = 4
source = "s"
"""
        + extra
    )


GOOD_HOST = """
[hosts.ok]
sockets = 1
cores_per_socket = 2
base_clock_mhz = 2000
ram_mib = 1024
nic_count = 1
nic_speed_mbps = 1000
idle_w = 50
max_w = 150
source = "s"
"""


def test_minimal_catalog_loads(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    catalog = load_catalog(tmp_path)
    assert catalog.host("ok").power_w[5] == pytest.approx(100.0)
    assert catalog.sources == {"s": "a source"}
    assert catalog.host("ok").source == "a source"


def test_network_factors_per_direction_default_to_the_bulk_factor(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    mode = load_catalog(tmp_path).mode("m")
    assert (mode.net_tx_factor, mode.net_rx_factor) == (1.0, 1.0)
    text = (tmp_path / "rest.toml").read_text()
    (tmp_path / "rest.toml").write_text(
        text.replace(
            "net_throughput_factor = 1.0", "net_throughput_factor = 0.5\nnet_rx_factor = 0.8"
        )
    )
    mode = load_catalog(tmp_path).mode("m")
    assert (mode.net_tx_factor, mode.net_rx_factor) == (0.5, 0.8)
    (tmp_path / "rest.toml").write_text(
        text.replace(
            "net_throughput_factor = 1.0", "net_throughput_factor = 1.0\nnet_tx_factor = 1.5"
        )
    )
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert any(p.endswith("modes.m.net_tx_factor") for p, _ in info.value.problems)


def test_bundled_full_bt_network_comes_from_ttcp() -> None:
    mode = load_catalog().mode("full-bt")
    assert mode.net_tx_factor == pytest.approx(291 / 897, abs=1e-4)
    assert mode.net_rx_factor == pytest.approx(615 / 897, abs=1e-4)
    assert "ttcp" in mode.source


def test_broken_catalog_reports_every_problem_at_once(tmp_path: Path) -> None:
    _write_minimal(
        tmp_path,
        hosts=BROKEN_HOSTS,
        extra=(
            "\n[wires]\nx = 1\n"
            '\n[guest]\ncpu_kernel_frac = 0.1\nkernel_fixed_mib = -5\nsource = "x"\n'
        ),
    )
    (tmp_path / "rest.toml").write_text(
        (tmp_path / "rest.toml").read_text().replace('default_tier = "t"', 'default_tier = "zz"')
    )
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    where = [p for p, _ in info.value.problems]
    text = str(info.value)
    assert "hosts.toml:hosts.bad.sockets" in where
    assert "hosts.toml:hosts.bad.cores_per_socket" in where
    assert "hosts.toml:hosts.bad.power_w" in where
    assert "hosts.toml:hosts.bad.colour" in where
    assert "hosts.toml:hosts.bad.source" in where
    assert "hosts.toml:hosts.falling.power_w" in where
    assert "rest.toml:san.default_tier" in where
    assert "rest.toml:wires" in where
    assert "rest.toml:guest.kernel_fixed_mib" in where
    assert "expected 11 values" in text and "never fall" in text and "unknown SAN tier 'zz'" in text
    assert len(info.value.problems) >= 8


def test_availability_fields_are_optional(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    host = load_catalog(tmp_path).host("ok")
    assert host.status == "current" and host.is_current
    assert host.launch_year is None and host.status_source == ""


def test_current_models_in_catalog_order(tmp_path: Path) -> None:
    hosts = (
        GOOD_HOST.replace("[hosts.ok]", "[hosts.old]")
        + 'launch_year = 2009\nstatus = "legacy"\nstatus_source = "s"\n'
        + GOOD_HOST.replace("[hosts.ok]", "[hosts.new]")
        + 'launch_year = 2024\nstatus = "current"\nstatus_source = ["s"]\n'
        + GOOD_HOST.replace("[hosts.ok]", "[hosts.mine]")
    )
    _write_minimal(tmp_path, hosts=hosts)
    catalog = load_catalog(tmp_path)
    assert current_models(catalog) == ("new", "mine")
    assert catalog.host("old").launch_year == 2009
    assert catalog.host("new").status_source == "a source"
    legacy_only = GOOD_HOST + 'status = "legacy"\nstatus_source = "s"\n'
    _write_minimal(tmp_path, hosts=legacy_only)
    assert current_models(load_catalog(tmp_path)) == ()


BAD_AVAILABILITY = (
    GOOD_HOST.replace("[hosts.ok]", "[hosts.odd]")
    + 'status = "retired"\nlaunch_year = 1850\nstatus_source = "s"\n'
    + GOOD_HOST.replace("[hosts.ok]", "[hosts.text-year]")
    + 'status = "legacy"\nlaunch_year = "2021"\nstatus_source = "nowhere"\n'
    + GOOD_HOST.replace("[hosts.ok]", "[hosts.uncited]")
    + 'status = "current"\nlaunch_year = 2023\n'
)


def test_bad_status_and_year_are_reported_at_once(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=BAD_AVAILABILITY)
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    problems = dict(info.value.problems)
    status_problem = problems["hosts.toml:hosts.odd.status"]
    assert status_problem == "expected one of current, legacy; got 'retired'"
    lo, _ = LAUNCH_YEAR_RANGE
    assert problems["hosts.toml:hosts.odd.launch_year"] == (
        f"Input should be greater than or equal to {lo}, got 1850"
    )
    assert problems["hosts.toml:hosts.text-year.launch_year"] == (
        "Input should be a valid integer, got '2021'"
    )
    assert "unknown source key(s) 'nowhere'" in problems["hosts.toml:hosts.text-year.status_source"]
    assert problems["hosts.toml:hosts.uncited.status_source"] == "is required"
    assert len(info.value.problems) == 5
    assert "hosts.odd.status" in str(info.value)


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    (tmp_path / "zz.toml").write_text("[hosts.x\nsockets = 1\n")
    with pytest.raises(SpecError, match=r"zz\.toml: not valid TOML.*line 1"):
        load_catalog(tmp_path)


def test_duplicate_entries_across_files(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    (tmp_path / "more.toml").write_text(GOOD_HOST)
    with pytest.raises(SpecError, match="defined twice"):
        load_catalog(tmp_path)


def test_vlan_limit_follows_the_id_width(tmp_path: Path) -> None:
    _write_minimal(tmp_path, hosts=GOOD_HOST)
    rest = tmp_path / "rest.toml"
    rest.write_text(rest.read_text().replace("n_vlans_usable = 4094", "n_vlans_usable = 4095"))
    with pytest.raises(SpecError, match="at most 4094 usable VLANs"):
        load_catalog(tmp_path)


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such catalog"):
        load_catalog(tmp_path / "absent")
    with pytest.raises(SpecError, match=r"no \*\.toml files"):
        load_catalog(tmp_path)


def test_user_catalog_extends_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'extends = "bundled"\n'
        '[sources]\nmine = "my measurement"\n'
        "[hosts.my-box]\nsockets = 1\ncores_per_socket = 4\nbase_clock_mhz = 3000\n"
        "ram_mib = 8192\nnic_count = 2\nnic_speed_mbps = 10000\nidle_w = 40\nmax_w = 120\n"
        'source = "mine"\n'
        "[fabric]\nmtu_bytes = 9000\n"
    )
    catalog = load_catalog(tmp_path)
    assert catalog.host("my-box").cpu_capacity_mhz == 12000
    assert "hp-proliant-ml110-g4" in catalog.hosts
    assert catalog.fabric.mtu_bytes == 9000 and catalog.fabric.n_vlans_usable == 4094


def test_fewer_dimms_than_tested_is_refused(tmp_path: Path) -> None:
    hosts = GOOD_HOST.replace("idle_w", "dimms = 4\ntested_dimms = 6\ndimm_w = 5\nidle_w")
    _write_minimal(tmp_path, hosts=hosts)
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    assert "hosts.toml:hosts.ok.dimms" in [p for p, _ in info.value.problems]
