"""``capplan bench dynamic-speed``: capplan's dynamic simulation against CloudSim 4.0, equal work.

Two rows (issue 15):

- **One policy-day, whole processes.** ``capplan dynamic --compat cloudsim`` on the pinned
  policy-day (mad-mmt, PlanetLab 20110303, where both sides now make the same migrations) is
  started as a fresh process: once with an empty numba cache (as after a fresh install) and
  :data:`WARM_RUNS` times warm. Wall time and peak RSS of each child come from ``os.wait4``.
  CloudSim's wall time and peak RSS are the pinned run of ``tests/fixtures/cloudsim/speed.csv``
  (one JVM under ``/usr/bin/time -v`` on this machine; CI has no Java, so it is not re-run).
- **Scale.** The VMs of every PlanetLab day side by side as one fleet (11,746 VMs over 10
  days' traces) on ten times the paper's hosts, simulated in-process (one warm-up day first).

Targets: ≥ 30× less wall time than CloudSim and ≤ 500 MB for the policy-day; the whole
process ≤ 1 s warm. Figures are printed, never asserted.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import typer
from rich.table import Table

from capplan.bench.measure import measure
from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.errors import CapplanError

#: The policy-day timed on both sides.
SPEED_DAY: Final = "20110303"
SPEED_POLICY: Final = "mad-mmt"
#: Warm whole-process runs (the median is reported).
WARM_RUNS: Final = 3
#: Targets of issue 15.
TARGET_SPEEDUP: Final = 30.0
TARGET_RSS_BYTES: Final = 500 * 10**6
TARGET_WARM_WALL_S: Final = 1.0
#: The scale row's fleet: this many times the paper's 800 hosts.
SCALE_HOST_FACTOR: Final = 10


def cloudsim_pinned(fixture_dir: Path) -> dict[str, Any]:
    """CloudSim's pinned run of the speed policy-day from ``speed.csv``."""
    path = fixture_dir / "speed.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise CapplanError(f"cannot read CloudSim's pinned speed run: {exc}", path=path) from exc
    for line, row in enumerate(rows, start=2):
        if row.get("day") == SPEED_DAY and row.get("policy") == SPEED_POLICY:
            try:
                return {
                    "wall_s": float(row["jvm_wall_s"]),
                    "peak_rss_bytes": int(row["jvm_peak_rss_kB"]) * 1024,
                    "cpu_percent": float(row["jvm_cpu_percent"]),
                    "source": f"{path.name} line {line}",
                }
            except (KeyError, ValueError) as exc:
                raise CapplanError(
                    f"expected jvm_wall_s, jvm_peak_rss_kB and jvm_cpu_percent numbers: {exc}",
                    path=path,
                    line=line,
                ) from exc
    raise CapplanError(f"no row for {SPEED_DAY} {SPEED_POLICY}", path=path)


def run_process(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``args``; return its wall time, peak RSS (bytes) and exit code."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty child cannot block
        start = time.perf_counter()
        child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if child.returncode != 0:
        raise CapplanError(f"{' '.join(args)} failed ({child.returncode}): {stderr[-500:]}")
    return {"wall_s": wall_s, "peak_rss_bytes": usage.ru_maxrss * 1024}


def time_whole_process(day_dir: Path, *, warm_runs: int = WARM_RUNS) -> dict[str, Any]:
    """``capplan dynamic`` on ``day_dir`` as fresh processes: cold (empty numba cache) and warm."""
    args = [
        sys.executable,
        "-m",
        "capplan",
        "dynamic",
        "--workload",
        f"planetlab:{day_dir}",
        "--compat",
        "cloudsim",
        "--policy",
        SPEED_POLICY,
        "--json",
    ]
    with tempfile.TemporaryDirectory(prefix="capplan-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = run_process(args, env)
        warm = [run_process(args, env) for _ in range(max(warm_runs, 1))]
    walls = [w["wall_s"] for w in warm]
    return {
        "cold_wall_s": cold["wall_s"],
        "cold_peak_rss_bytes": cold["peak_rss_bytes"],
        "warm_wall_s": statistics.median(walls),
        "warm_walls_s": walls,
        "warm_peak_rss_bytes": max(w["peak_rss_bytes"] for w in warm),
    }


def scale_row(data_dir: Path, days: list[str]) -> dict[str, Any]:
    """Every day's VMs side by side as one fleet on ten times the paper's hosts, in-process."""
    from capplan.bench.cloudsim_diff import load_day
    from capplan.dynamic.compat import CLOUDSIM_N_HOSTS, cloudsim_fleet
    from capplan.dynamic.config import CLOUDSIM_CONFIG
    from capplan.dynamic.engine import simulate
    from capplan.dynamic.fleet import VmSet
    from capplan.dynamic.policies import get_policy

    sets = [load_day(data_dir, day) for day in days]
    n_samples = max(s.util_frac.shape[1] for s in sets)
    util = np.zeros((sum(s.n_vms for s in sets), n_samples))
    row = 0
    for s in sets:
        util[row : row + s.n_vms, : s.util_frac.shape[1]] = s.util_frac
        row += s.n_vms
    names = [np.char.add(f"{day}/", s.vm_ids) for day, s in zip(days, sets, strict=True)]
    vms = VmSet(
        vm_ids=np.concatenate(names),
        n_pes=np.concatenate([s.n_pes for s in sets]),
        mips=np.concatenate([s.mips for s in sets]),
        ram_mib=np.concatenate([s.ram_mib for s in sets]),
        bw_mbps=np.concatenate([s.bw_mbps for s in sets]),
        util_frac=util,
        sample_s=sets[0].sample_s,
        exact_percent=all(s.exact_percent for s in sets),
    )
    fleet = cloudsim_fleet(CLOUDSIM_N_HOSTS * SCALE_HOST_FACTOR)
    simulate(sets[0], cloudsim_fleet(), get_policy(SPEED_POLICY), CLOUDSIM_CONFIG, mode="cloudsim")
    with measure() as mem:
        result = simulate(vms, fleet, get_policy(SPEED_POLICY), CLOUDSIM_CONFIG, mode="cloudsim")
    return {
        "n_vms": vms.n_vms,
        "n_hosts": fleet.n_hosts,
        "wall_s": mem.wall_s,
        "peak_rss_bytes": mem.peak_rss_bytes,
        "energy_kwh": result.energy_kwh,
        "n_migrations": result.n_migrations,
    }


def run_dynamic_speed(data_dir: Path, fixture_dir: Path, *, scale: bool = True) -> dict[str, Any]:
    """Both rows as a JSON-ready dict (see the module docstring)."""
    from capplan.bench.cloudsim_diff import list_days

    day_dir = data_dir / SPEED_DAY
    if not day_dir.is_dir():
        raise CapplanError("PlanetLab day folder not found; pass --data DIR", path=day_dir)
    cloudsim = cloudsim_pinned(fixture_dir)
    own = time_whole_process(day_dir)
    figures: dict[str, Any] = {
        "day": SPEED_DAY,
        "policy": SPEED_POLICY,
        "cloudsim": cloudsim,
        "capplan": own,
        "speedup_warm": cloudsim["wall_s"] / own["warm_wall_s"],
        "speedup_cold": cloudsim["wall_s"] / own["cold_wall_s"],
        "targets": {
            "speedup": TARGET_SPEEDUP,
            "peak_rss_bytes": TARGET_RSS_BYTES,
            "warm_wall_s": TARGET_WARM_WALL_S,
        },
        "load_average_1min": os.getloadavg()[0],
    }
    figures["met"] = {
        "speedup": figures["speedup_warm"] >= TARGET_SPEEDUP,
        "peak_rss": own["warm_peak_rss_bytes"] <= TARGET_RSS_BYTES,
        "warm_wall": own["warm_wall_s"] <= TARGET_WARM_WALL_S,
    }
    if scale:
        figures["scale"] = scale_row(data_dir, list_days(data_dir))
    return figures


def _print(figures: dict[str, Any]) -> None:
    cs, own = figures["cloudsim"], figures["capplan"]
    mb = 10**6
    table = Table(title=f"{figures['policy']} {figures['day']}: CloudSim 4.0 vs capplan dynamic")
    for column in ("", "wall s", "peak RSS MB", "× less wall than CloudSim"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row(
        f"CloudSim 4.0 (pinned, {cs['source']})",
        f"{cs['wall_s']:.2f}",
        f"{cs['peak_rss_bytes'] / mb:.0f}",
        "1",
    )
    table.add_row(
        "capplan, fresh numba cache",
        f"{own['cold_wall_s']:.2f}",
        f"{own['cold_peak_rss_bytes'] / mb:.0f}",
        f"{figures['speedup_cold']:.1f}",
    )
    table.add_row(
        f"capplan, warm (median of {len(own['warm_walls_s'])})",
        f"{own['warm_wall_s']:.2f}",
        f"{own['warm_peak_rss_bytes'] / mb:.0f}",
        f"{figures['speedup_warm']:.1f}",
    )
    console.print(table)
    met = figures["met"]
    console.print(
        f"targets: ≥ {TARGET_SPEEDUP:.0f}× less wall: {'met' if met['speedup'] else 'MISSED'}; "
        f"≤ {TARGET_RSS_BYTES / mb:.0f} MB: {'met' if met['peak_rss'] else 'MISSED'}; "
        f"whole process ≤ {TARGET_WARM_WALL_S:.0f} s warm: "
        f"{'met' if met['warm_wall'] else 'MISSED'} (load average "
        f"{figures['load_average_1min']:.1f})"
    )
    scale = figures.get("scale")
    if scale:
        console.print(
            f"scale: {scale['n_vms']:,} VMs on {scale['n_hosts']:,} hosts, {SPEED_POLICY}: "
            f"{scale['wall_s']:.1f} s, peak RSS {scale['peak_rss_bytes'] / mb:.0f} MB, "
            f"{scale['energy_kwh']:,.1f} kWh, {scale['n_migrations']:,} migrations "
            "(CloudSim not run at this scale here)"
        )


@bench_app.command("dynamic-speed")
@user_errors
def dynamic_speed_command(
    data: Path | None = typer.Option(None, "--data", help="Folder of PlanetLab day folders."),
    scale: bool = typer.Option(True, "--scale/--no-scale", help="Also the all-days scale row."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """CloudSim 4.0 vs capplan dynamic on equal work: one policy-day as whole processes
    (cold and warm), and all PlanetLab days as one fleet."""
    from capplan.bench.cloudsim import default_data_dir
    from capplan.bench.cloudsim_diff import default_fixture_dir

    figures = run_dynamic_speed(data or default_data_dir(), default_fixture_dir(), scale=scale)
    if json:
        print_json(figures)
    else:
        _print(figures)
