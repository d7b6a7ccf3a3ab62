"""Build step the declarative ``pyproject.toml`` cannot express: ship the top-level data folders.

The catalog (``models/``) and the demo workload and studies (``workloads/``) stay at the top of
the checkout, where analysts find and edit them. A wheel must carry them too, so building the
package copies them into ``capplan/_bundled/``; :mod:`capplan.resources` reads them from there
when no checkout is around. Everything else is configured in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("models", "workloads")


class BuildPyWithData(build_py):
    """``build_py`` that also copies the bundled data folders into the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "capplan" / "_bundled"
        for name in BUNDLED:
            source = HERE / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing: the package cannot be built")
            shutil.copytree(source, target / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithData})
