"""``capplan bench determinism``: the same study, run several times, gives the same results.

Runs one study three times in-process and once on a local Dask cluster, and compares every
figure of every scenario (placement, solve report, KPIs, economics, storage plan) exactly,
leaving out only wall times. Prints whether all runs are identical, what stopped each solve
(a solve stopped by the wall clock may legitimately differ, and is listed), and, for any
difference, the first figures that differ.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app

#: Keys whose values are wall times (they differ between runs by nature); so is any key
#: ending in ``wall_s``.
TIMING_KEYS = frozenset({"timings_s", "elapsed_s"})


def _is_timing(key: str) -> bool:
    return key in TIMING_KEYS or key.endswith("wall_s")


def _strip(value: Any) -> Any:
    """``value`` without wall-time entries, with floats kept exactly (repr)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in sorted(value.items()) if not _is_timing(str(k))}
    if isinstance(value, list | tuple):
        return [_strip(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def scenario_fingerprint(result: Any) -> dict[str, Any]:
    """Everything a scenario result reports, minus wall times, in a comparable form.

    Parameters
    ----------
    result
        A :class:`capplan.results.ScenarioResult`.
    """
    placement = result.placement.to_frame().sort("vm_id")
    return _strip(
        {
            "summary": result.summary.to_dict(),
            "solve": result.solve.to_dict(),
            "kpis": None if result.kpis is None else result.kpis.to_dict(),
            "economics": None if result.economics is None else result.economics.to_dict(),
            "storage": result.storage.to_dict(),
            "placement": placement.to_dicts(),
        }
    )


def study_fingerprint(study_result: Any) -> dict[str, dict[str, Any]]:
    """Scenario name → :func:`scenario_fingerprint` of a study result."""
    return {r.name: scenario_fingerprint(r) for r in study_result.results}


def digest(fingerprint: dict[str, Any]) -> str:
    """Short SHA-256 of a fingerprint."""
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def first_differences(a: Any, b: Any, path: str = "", limit: int = 5) -> list[str]:
    """Dotted paths (with both values) where two fingerprints differ, at most ``limit``."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if len(out) >= limit:
                break
            out += first_differences(a.get(key), b.get(key), f"{path}.{key}", limit - len(out))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if len(out) >= limit:
                break
            out += first_differences(x, y, f"{path}[{i}]", limit - len(out))
    elif a != b:
        out.append(f"{path.lstrip('.')}: {str(a)[:60]} != {str(b)[:60]}")
    return out


def run_determinism(study_path: Path, *, runs: int = 3, dask_workers: int = 1) -> dict[str, Any]:
    """Run the study ``runs`` times in-process and once on a local Dask cluster; compare."""
    from capplan.pipeline import run_study
    from capplan.spec.study import load_study

    study = load_study(study_path)
    prints: list[tuple[str, dict[str, Any], float]] = []
    stopped: dict[str, str] = {}
    for k in range(runs):
        start = time.perf_counter()
        res = run_study(study)
        prints.append((f"in-process #{k + 1}", study_fingerprint(res), time.perf_counter() - start))
        for r in res.results:
            stopped[f"{r.name} (run {k + 1})"] = str(r.solve.stopped_by or "")
    if dask_workers > 0:
        start = time.perf_counter()
        res = run_study(study, workers=dask_workers)
        prints.append(("dask LocalCluster", study_fingerprint(res), time.perf_counter() - start))
        for r in res.results:
            stopped[f"{r.name} (dask)"] = str(r.solve.stopped_by or "")
    reference = prints[0][1]
    rows = []
    for label, fp, wall in prints:
        rows.append(
            {
                "run": label,
                "digest": digest(fp),
                "identical": fp == reference,
                "wall_s": round(wall, 2),
                "differences": [] if fp == reference else first_differences(reference, fp),
            }
        )
    return {
        "study": str(study_path),
        "n_scenarios": len(reference),
        "all_identical": all(r["identical"] for r in rows),
        "runs": rows,
        "stopped_by_wall_clock": sorted(k for k, v in stopped.items() if v == "wall-clock limit"),
    }


@bench_app.command("determinism")
@user_errors
def determinism_command(
    study: Annotated[
        Path,
        typer.Option("--study", help="Study file (default: workloads/studies/compare-modes.toml)."),
    ] = Path("workloads/studies/compare-modes.toml"),
    runs: Annotated[int, typer.Option("--runs", min=1, help="In-process runs.")] = 3,
    dask_workers: Annotated[
        int, typer.Option("--dask-workers", min=0, help="LocalCluster workers (0: no Dask run).")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one study several times in-process and on Dask; print whether all are identical."""
    out = run_determinism(study, runs=runs, dask_workers=dask_workers)
    if as_json:
        print_json(out)
        return
    console.print(f"study {out['study']}: {out['n_scenarios']} scenarios", highlight=False)
    for row in out["runs"]:
        mark = "identical" if row["identical"] else "DIFFERENT"
        console.print(
            f"  {row['run']:<20} {row['digest']}  {mark}  ({row['wall_s']} s)", highlight=False
        )
        for line in row["differences"]:
            console.print(f"      {line}", highlight=False)
    console.print(f"all identical: {out['all_identical']}", highlight=False)
    if out["stopped_by_wall_clock"]:
        console.print(
            "solves stopped by the wall clock (may differ): "
            + ", ".join(out["stopped_by_wall_clock"]),
            highlight=False,
        )
