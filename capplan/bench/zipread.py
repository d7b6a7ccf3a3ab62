"""``capplan bench zip``: reading a zip archive costs about what reading its folder costs.

Two figures (targets from issue 19): the ten PlanetLab days read from a zip of them against
the same days as a folder (target: within 1.3× the folder time), and a zip of 20,000 small
Bitbrains files made from one real file's first rows (target: at most 10 s). Archives are
built in a temporary folder; the shared data is only read.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Annotated, Any

import typer

from capplan.bench.tbpp import shared_dir
from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.errors import CapplanError


def _timed(spec: str) -> tuple[float, int]:
    from capplan.demand import load_workload

    start = time.perf_counter()
    workload = load_workload(spec)
    return time.perf_counter() - start, workload.n_vms


def run_zip_bench(shared: Path, *, n_small: int = 20_000) -> dict[str, Any]:
    """Time folder vs zip reads; return the figures."""
    days = sorted(p for p in (shared / "data" / "planetlab").glob("2011*") if p.is_dir())
    if not days:
        raise CapplanError("no PlanetLab day folder found", path=shared / "data" / "planetlab")
    bb_file = next((shared / "data" / "bitbrains-gwa-t-12").rglob("*.csv"), None)
    if bb_file is None:
        raise CapplanError("no Bitbrains file found", path=shared / "data")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="capplan-bench-zip-") as tmp:
        folder = Path(tmp) / "planetlab"
        for day in days:
            shutil.copytree(day, folder / day.name)
        archive = Path(tmp) / "planetlab.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(folder))
        folder_s, n_vms = _timed(f"planetlab:{folder}")
        zip_s, _ = _timed(f"planetlab:{archive}")
        out["planetlab"] = {
            "days": len(days),
            "n_vms": n_vms,
            "folder_s": round(folder_s, 2),
            "zip_s": round(zip_s, 2),
            "zip_over_folder_ratio": round(zip_s / folder_s, 3),
        }
        head = b"\n".join(bb_file.read_bytes().split(b"\n")[:4]) + b"\n"
        small = Path(tmp) / "bitbrains-small.zip"
        with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(1, n_small + 1):
                z.writestr(f"vms/{i}.csv", head)
        small_s, n_small_vms = _timed(f"bitbrains:{small}")
        out["bitbrains_small_files"] = {
            "n_members": n_small,
            "n_vms": n_small_vms,
            "archive_bytes": small.stat().st_size,
            "read_s": round(small_s, 2),
        }
    return out


@bench_app.command("zip")
@user_errors
def zip_command(
    shared: Annotated[
        Path | None, typer.Option("--shared", help="The shared folder (default ../shared).")
    ] = None,
    n_small: Annotated[
        int, typer.Option("--n-small", min=1, help="Members of the small-file zip.")
    ] = 20_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Zip vs folder reading: PlanetLab's ten days, and 20,000 small Bitbrains files."""
    root = shared or shared_dir()
    out = run_zip_bench(root, n_small=n_small)
    if as_json:
        print_json(out)
        return
    pl_fig, bb = out["planetlab"], out["bitbrains_small_files"]
    console.print(
        f"PlanetLab {pl_fig['days']} days ({pl_fig['n_vms']} VMs): folder {pl_fig['folder_s']} s, "
        f"zip {pl_fig['zip_s']} s, ratio {pl_fig['zip_over_folder_ratio']} (target <= 1.3)",
        highlight=False,
    )
    console.print(
        f"Bitbrains zip of {bb['n_members']:,} small files ({bb['archive_bytes'] / 1e6:.1f} MB): "
        f"{bb['read_s']} s (target <= 10 s)",
        highlight=False,
    )
