"""Shared fixtures: where the real public data lives (../shared beside the checkout).

Property and fuzz tests (hypothesis) are derandomized by default, so the suite and CI are
reproducible: every run draws the same examples. A fuzz campaign draws new ones with
``HYPOTHESIS_PROFILE=explore`` (e.g. ``HYPOTHESIS_PROFILE=explore pytest tests/io -k fuzz``,
repeated); every bug it finds gets a regression test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = (REPO_ROOT / ".." / "shared").resolve()


def shared_or_skip(*parts: str) -> Path:
    """Return ``../shared/<parts>``, or skip the test saying which folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (it lives beside the checkout)")
    return path


@pytest.fixture
def shared_path() -> type:
    """Fixture form of :func:`shared_or_skip`: ``shared_path("data", "planetlab")``."""

    class _Shared:
        def __new__(cls, *parts: str) -> Path:  # type: ignore[misc]
            return shared_or_skip(*parts)

    return _Shared
