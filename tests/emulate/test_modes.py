"""Guest compatibility rules of the virtualization modes."""

from __future__ import annotations

import numpy as np

from capplan.emulate.modes import check_compat
from capplan.spec.catalog import load_catalog

CATALOG = load_catalog()
VMS = np.array(["a", "b", "c", "d"])
HOSTS = np.array(["h0", "h1"])


def run(mode: str, families: list[str | None], hosts: list[int]):
    return check_compat(
        CATALOG.mode(mode),
        vm_ids=VMS[: len(families)],
        os_family=families,
        host_of_vm=np.array(hosts),
        host_ids=HOSTS,
    )


def test_legacy_guests_need_binary_translation() -> None:
    fams = ["legacy", "linux", "windows", None]
    assert run("full-bt", fams, [0, 0, 1, 1]).n_incompatible_vms == 0
    report = run("hw-assisted", fams, [0, 0, 1, 1])
    assert report.incompatible_vms.tolist() == [True, False, False, False]
    assert "legacy" in report.problems[0] and report.n_unknown_os == 1


def test_paravirt_needs_a_modifiable_kernel() -> None:
    report = run("paravirt", ["linux", "windows", "other", None], [0, 0, 1, 1])
    assert report.incompatible_vms.tolist() == [False, True, True, False]


def test_containers_need_one_os_family_per_host() -> None:
    ok = run("containers", ["linux", "linux", "windows", "windows"], [0, 0, 1, 1])
    assert ok.n_incompatible_vms == 0
    mixed = run("containers", ["linux", "windows", "windows", None], [0, 0, 1, 1])
    assert mixed.incompatible_vms.tolist() == [True, True, False, False]
    assert "h0" in mixed.problems[0]


def test_bare_metal_runs_one_workload_per_server() -> None:
    report = run("bare-metal", ["linux"] * 4, [0, 0, 1, 1])
    assert report.n_incompatible_vms == 4
    assert run("bare-metal", ["linux"] * 2, [0, 1]).n_incompatible_vms == 0
