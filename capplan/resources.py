"""Where the bundled data lives: the catalog (``models/``) and the demo workload and studies
(``workloads/``).

In a source checkout (and an editable install) they are the checkout's top-level folders. A
wheel carries copies inside the package, under ``capplan/_bundled/`` (``setup.py`` puts them
there at build time), read through :mod:`importlib.resources`. The checkout wins when both
exist, so editing ``models/`` takes effect at once during development.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from capplan.errors import CapplanError

#: Top-level folders shipped inside the wheel.
BUNDLED_FOLDERS = ("models", "workloads")


def bundled_dir(name: str) -> Path:
    """The bundled folder ``name`` (``models`` or ``workloads``).

    Raises
    ------
    CapplanError
        If neither the checkout nor the installed package holds it.
    """
    if name not in BUNDLED_FOLDERS:
        raise ValueError(f"unknown bundled folder {name!r}; expected one of {BUNDLED_FOLDERS}")
    checkout = Path(__file__).resolve().parents[1] / name
    if checkout.is_dir() and (Path(__file__).resolve().parents[1] / "pyproject.toml").is_file():
        return checkout
    packaged = Path(str(files("capplan") / "_bundled" / name))
    if packaged.is_dir():
        return packaged
    raise CapplanError(
        f"the bundled folder {name!r} is missing from this installation (looked in the source "
        "checkout and in the package's _bundled/); reinstall capplan",
        path=packaged,
    )
