"""``capplan bench vbp``: quality of the packing solver on vector bin packing benchmarks.

Instances: ``../shared/benchmarks/vbp/`` (129 instances of Mommessin, Erlebach, Shakhlevich,
"Classification and evaluation of the algorithms for vector bin packing", Computers &
Operations Research, 2025; see its SOURCE.md). For each class it prints the mean gap to the best
known bin count (signed: below zero where a best known that is not proven optimal is beaten;
the "excess" gap counts those as 0), the share of instances solved to the best known count,
and the share proven optimal (our bin count equals our lower bound).

Reference: the best of about 350 published heuristics evaluated by Mommessin et al. has a mean
gap of 1.62 % on the Panigrahy benchmark, 5.23 % on "New" and 16.8 % on "Triplet" (figures as
quoted in the capplan issue that set the targets).
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.errors import CapplanError
from capplan.optimize.strategies import solve
from capplan.optimize.vbpfile import read_vbp

#: Mean gap of the best published heuristic per benchmark family (Mommessin et al., 2025).
PUBLISHED_BEST_GAP_FRAC: dict[str, float] = {"Panigrahy": 0.0162, "New": 0.0523, "Triplet": 0.168}


def default_dir() -> Path:
    """``../shared/benchmarks/vbp`` relative to the repository root."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmarks" / "vbp"


def load_index(directory: Path) -> list[dict[str, str]]:
    """Rows of ``known_optima.csv`` (raises a CapplanError naming the file if absent)."""
    index = directory / "known_optima.csv"
    if not index.is_file():
        raise CapplanError(
            "benchmark index not found; expected known_optima.csv "
            "(see ../shared/benchmarks/vbp/SOURCE.md)",
            path=index,
        )
    with index.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = {"instance_file", "benchmark", "cls", "best_known_bins", "n_items", "dims"}
    missing = need - set(rows[0] if rows else {})
    if missing:
        raise CapplanError(f"missing columns {sorted(missing)}", path=index, line=1)
    return rows


def run_vbp(
    directory: Path,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    classes: list[str] | None = None,
    limit: int | None = None,
    strategy: str = "auto",
    on_instance: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Solve the selected instances; return per-instance rows, per-class and overall figures.

    Parameters
    ----------
    directory
        The benchmark folder (with ``known_optima.csv``).
    classes
        Substrings; an instance is kept when its ``benchmark/cls`` path contains one of them
        (e.g. ``Panigrahy/class1``, ``New``, ``Triplet``).
    limit
        Keep at most this many instances (after the class filter), spread over the classes.
    """
    rows = load_index(directory)
    if classes:
        rows = [
            r
            for r in rows
            if any(c in f"{r['benchmark']}/{r['cls']}/ {r['instance_file']}" for c in classes)
        ]
    if limit is not None:
        rows = _spread(rows, limit)
    results: list[dict[str, Any]] = []
    for r in rows:
        inst = read_vbp(directory / r["instance_file"])
        res = solve(
            inst, strategy=strategy, time_limit_s=time_limit_s, workers=workers, explain=False
        )
        rep = res.report
        best_known = int(r["best_known_bins"])
        n_bins = rep.n_bins if rep.objective is not None else None
        row = {
            "instance": r["instance_file"],
            "benchmark": r["benchmark"],
            "cls": r["cls"],
            "n_items": int(r["n_items"]),
            "dims": int(r["dims"]),
            "best_known": best_known,
            "best_known_proven": r.get("proven_optimal", "").startswith("yes"),
            "n_bins": n_bins,
            "bound": rep.bound,
            "status": rep.status,
            "method": rep.method,
            "gap_frac": None if n_bins is None else (n_bins - best_known) / best_known,
            "wall_s": round(rep.wall_s, 3),
        }
        results.append(row)
        if on_instance is not None:
            on_instance(row)
    return {"instances": results, **summarise(results)}


def _spread(rows: list[dict[str, str]], limit: int) -> list[dict[str, str]]:
    """Take ``limit`` rows round-robin over the classes (smallest instances first)."""
    by_class: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: int(r["n_items"])):
        by_class[f"{r['benchmark']}/{r['cls']}"].append(r)
    out: list[dict[str, str]] = []
    queues = list(by_class.values())
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r for r in rows if r["n_bins"] is not None]
    n = len(rows)
    gaps = [float(r["gap_frac"]) for r in solved]
    return {
        "n": n,
        "n_solved": len(solved),
        "mean_gap_frac": round(sum(gaps) / len(gaps), 6) if gaps else None,
        "mean_excess_gap_frac": round(sum(max(g, 0.0) for g in gaps) / len(gaps), 6)
        if gaps
        else None,
        "n_better_than_best_known": sum(1 for g in gaps if g < 0),
        "n_bound_above_best_known": sum(1 for r in rows if int(r["bound"]) > int(r["best_known"])),
        "hit_frac": round(sum(1 for g in gaps if g <= 0) / n, 4) if n else None,
        "proven_frac": round(sum(1 for r in rows if r["status"] == "optimal") / n, 4)
        if n
        else None,
        "mean_wall_s": round(sum(float(r["wall_s"]) for r in rows) / n, 3) if n else None,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per class, per benchmark family and overall figures."""
    per_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    per_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        per_class[f"{r['benchmark']}/{r['cls']}"].append(r)
        per_family[str(r["benchmark"])].append(r)
    families = {}
    for name, items in per_family.items():
        fig = _figures(items)
        fig["published_best_gap_frac"] = PUBLISHED_BEST_GAP_FRAC.get(name)
        families[name] = fig
    return {
        "classes": {k: _figures(v) for k, v in sorted(per_class.items())},
        "families": families,
        "overall": _figures(rows),
    }


@bench_app.command("vbp")
@user_errors
def vbp_command(
    directory: Path = typer.Option(
        None, "--dir", help="Benchmark folder (default: ../shared/benchmarks/vbp)."
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds per instance."),
    workers: int = typer.Option(2, "--workers", help="CP-SAT workers."),
    classes: str = typer.Option(
        "", "--classes", help="Comma-separated filters, e.g. 'Panigrahy/class1,New'."
    ),
    limit: int = typer.Option(None, "--limit", help="Solve at most this many instances."),
    strategy: str = typer.Option("auto", "--strategy", help="Solve strategy."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Mean gap to the best known, share hit and share proven, per class and overall."""
    folder = directory or default_dir()
    start = time.perf_counter()

    def show(row: dict[str, Any]) -> None:
        if not as_json:
            console.print(
                f"{row['instance']}: {row['n_bins']} bins (best known "
                f"{row['best_known']}, bound {row['bound']}, {row['status']}, "
                f"{row['wall_s']} s)",
                highlight=False,
            )

    out = run_vbp(
        folder,
        time_limit_s=time_limit,
        workers=workers,
        classes=[c for c in classes.split(",") if c] or None,
        limit=limit,
        strategy=strategy,
        on_instance=show,
    )
    out["total_wall_s"] = round(time.perf_counter() - start, 1)
    out["time_limit_s"] = time_limit
    if as_json:
        print_json(out)
        return
    table = Table(title=f"VBP benchmark ({time_limit:g} s per instance)")
    cols = (
        "class",
        "n",
        "mean gap %",
        "excess gap %",
        "better",
        "bound > best",
        "hit %",
        "proven %",
        "published best %",
    )
    for col in cols:
        table.add_column(col, justify="right" if col != "class" else "left")
    fams: dict[str, dict[str, Any]] = out["families"]
    for name, fig in (
        list(out["classes"].items())
        + [(f"[b]{k}[/b]", v) for k, v in fams.items()]
        + [("[b]overall[/b]", out["overall"])]
    ):
        pub = fig.get("published_best_gap_frac")
        table.add_row(
            name,
            str(fig["n"]),
            _pct(fig["mean_gap_frac"]),
            _pct(fig["mean_excess_gap_frac"]),
            str(fig["n_better_than_best_known"]),
            str(fig["n_bound_above_best_known"]),
            _pct(fig["hit_frac"]),
            _pct(fig["proven_frac"]),
            _pct(pub) if pub is not None else "",
        )
    console.print(table)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.2f}"
