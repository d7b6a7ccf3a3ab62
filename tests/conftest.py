"""Shared fixtures: where the real public data lives (../shared beside the checkout)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
