"""The bundled catalog and demo workload are found from a checkout (and, in CI, from a wheel:
scripts/check-wheel.sh installs one outside the checkout and runs the demo from it)."""

from __future__ import annotations

import pytest

from capplan.resources import bundled_dir


def test_checkout_folders_are_found() -> None:
    assert (bundled_dir("models") / "hosts.toml").is_file()
    assert (bundled_dir("workloads") / "studies" / "demo.toml").is_file()


def test_unknown_folder_is_refused() -> None:
    with pytest.raises(ValueError, match="models"):
        bundled_dir("secrets")
