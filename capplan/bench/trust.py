"""``capplan bench trust``: do the optimizer's bounds and "optimal" labels hold on tiny instances?

Seeded random instances (≤ 8 items, 1–4 bin types with different capacities and costs, 1–3
dimensions, 1–4 time buckets, N+k with k ≤ 2 under both policies, zones, anti-affinity,
affinity, labels with limits, binding ``n_available``, per-item costs) are solved by
:func:`capplan.optimize.strategies.solve` and by the exhaustive reference search
(:mod:`capplan.optimize.reference`, which shares no code with the optimizer). Each instance is
checked for:

- ``bound``: the reported lower bound exceeds the true optimum;
- ``false_optimal``: status ``optimal`` but the objective is not the true optimum;
- ``feasibility``: one side says infeasible and the other has (or proves) a packing;
- ``below_optimum``: the objective is below the true optimum (an invalid packing got through);
- ``superset``: offered a superset of the bin types of a sub-instance, the solver reports a
  bound above the sub-instance's optimum, or "optimal" above it, or infeasible;
- ``oracle_witness``: the reference packing breaks a rule according to the validator (other
  than the first-fit strict N+k check, which is only sufficient): one of the two is wrong;
- ``solver_error``: ``solve`` raised.

Figures: counts per kind, the mean reported gap and the mean true gap (objective vs. optimum).
It exits 0 whatever it finds; it is a bench that prints figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import typer
from rich.table import Table

from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app
from capplan.optimize.instance import Instance, make_instance
from capplan.optimize.reference import exact_solve
from capplan.optimize.strategies import solve
from capplan.optimize.validator import validate

#: Violation kinds, in the order they are reported, with what each means.
KINDS: dict[str, str] = {
    "bound": "reported bound > true optimum",
    "false_optimal": "status optimal, objective != true optimum",
    "feasibility": "infeasible on one side, a packing on the other",
    "below_optimum": "objective < true optimum (invalid packing)",
    "superset": "more bin types offered, worse bound/optimum",
    "oracle_witness": "reference packing rejected by the validator",
    "solver_error": "solve raised an exception",
}

#: Capacity scale of the smallest bin type (demand is drawn relative to it).
BASE_CAPACITY = 20


# ------------------------------------------------------------------------ instances
def random_spec(seed: int, index: int) -> dict[str, Any]:
    """A random tiny instance as plain JSON-ready data; the same (seed, index) gives the same.

    Keys: ``seed``, ``index``, ``demand`` (items × dims × buckets), ``capacity`` (types × dims),
    ``cost``, ``n_available``, ``allowed`` (or None), ``zone``, ``anti_affinity``, ``affinity``,
    ``label`` and ``label_limit`` (or None), ``item_cost`` (or None), ``ha_spares``,
    ``ha_policy``, ``economy`` (how cost grows with size) and ``subset`` (the bin types of the
    sub-instance used by the superset check, or None with one type).
    """
    rng = np.random.default_rng([seed, index])
    n_items = int(rng.choice(np.arange(1, 9), p=[0.03, 0.05, 0.1, 0.14, 0.17, 0.17, 0.17, 0.17]))
    n_dims = int(rng.integers(1, 4))
    n_buckets = int(rng.integers(1, 5))
    n_types = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.3, 0.2]))
    # Bin types: a size factor, a per-dimension shape, a cost growing with size.
    factor = np.sort(rng.choice([1.0, 1.5, 2.0, 3.0], n_types))
    shape = rng.uniform(0.75, 1.25, (n_types, n_dims))
    capacity = np.maximum(np.rint(BASE_CAPACITY * factor[:, None] * shape), 1).astype(np.int64)
    economy = str(rng.choice(["bulk", "linear", "premium"]))
    exponent = {"bulk": 0.6, "linear": 1.0, "premium": 1.4}[economy]
    cost = np.maximum(np.rint(4.0 * factor**exponent + rng.integers(0, 3, n_types)), 1)
    # Demand: a size per item and dimension, and a time profile per item (peaks differ).
    big = rng.random(n_items) < 0.15
    size = rng.integers(1, int(0.6 * BASE_CAPACITY) + 1, (n_items, n_dims))
    size[big] = rng.integers(int(0.6 * BASE_CAPACITY), int(1.3 * BASE_CAPACITY) + 1, n_dims)
    profile = rng.uniform(0.2, 1.0, (n_items, n_buckets))
    profile[np.arange(n_items), rng.integers(0, n_buckets, n_items)] = 1.0
    demand = np.rint(size[:, :, None] * profile[:, None, :]).astype(np.int64)
    # Rules.
    ha_spares = int(rng.choice([0, 0, 1, 1, 2]))
    ha_policy = str(rng.choice(["reserve", "strict"]))
    n_zones = 2 if rng.random() < 0.3 else 1
    zone = rng.integers(0, n_zones, n_items)
    anti: list[list[int]] = []
    if n_items >= 2 and rng.random() < 0.4:
        for _ in range(int(rng.integers(1, 3))):
            members = rng.choice(n_items, int(rng.integers(2, min(3, n_items) + 1)), replace=False)
            anti.append(sorted(int(i) for i in members))
    label = label_limit = None
    if rng.random() < 0.3:
        label = rng.integers(-1, 3, n_items)
        label_limit = rng.choice([-1, 1, 2], n_types)
    allowed = None
    if rng.random() < 0.2:
        allowed = rng.random((n_items, n_types)) > 0.25
        stuck = ~allowed.any(axis=1)
        if rng.random() < 0.9:
            allowed[stuck, rng.integers(0, n_types, int(stuck.sum()))] = True
    item_cost = rng.integers(0, 3, (n_items, n_types)) if rng.random() < 0.1 else None
    affinity: list[list[int]] = []
    if n_items >= 2 and rng.random() < 0.1:
        a, b = (int(i) for i in rng.choice(n_items, 2, replace=False))
        if not any(a in g and b in g for g in anti):
            affinity.append(sorted([a, b]))
            zone[b] = zone[a]
            if label is not None:
                label[b] = label[a]
    n_available = np.full(n_types, n_items + ha_spares * n_zones, dtype=np.int64)
    if rng.random() < 0.35:
        # Limit the cheapest type per unit of capacity (and maybe others) so the limit binds.
        per_unit = cost / capacity.sum(axis=1)
        n_available[int(np.argmin(per_unit))] = int(rng.integers(1, 3))
        for t in range(n_types):
            if rng.random() < 0.25:
                n_available[t] = int(rng.integers(1, 4))
    subset = None
    if n_types >= 2:
        keep = rng.choice(n_types, int(rng.integers(1, n_types)), replace=False)
        subset = sorted(int(t) for t in keep)
    return {
        "seed": seed,
        "index": index,
        "demand": demand.tolist(),
        "capacity": capacity.tolist(),
        "cost": cost.astype(np.int64).tolist(),
        "economy": economy,
        "n_available": n_available.tolist(),
        "allowed": None if allowed is None else allowed.tolist(),
        "zone": zone.tolist(),
        "anti_affinity": anti,
        "affinity": affinity,
        "label": None if label is None else label.tolist(),
        "label_limit": None if label_limit is None else label_limit.tolist(),
        "item_cost": None if item_cost is None else item_cost.tolist(),
        "ha_spares": ha_spares,
        "ha_policy": ha_policy,
        "subset": subset,
    }


def build_instance(spec: dict[str, Any], types: Sequence[int] | None = None) -> Instance:
    """The instance of a spec, offering only the bin types ``types`` when given."""
    keep = np.arange(len(spec["cost"])) if types is None else np.asarray(types, dtype=np.int64)

    def cols(value: Any) -> Any:
        return None if value is None else np.asarray(value)[:, keep]

    def rows(value: Any) -> Any:
        return None if value is None else np.asarray(value)[keep]

    zone = np.asarray(spec["zone"], dtype=np.int64)
    n_zones = int(zone.max()) + 1 if len(zone) else 1
    return make_instance(
        np.asarray(spec["demand"], dtype=np.int64).reshape(
            len(spec["demand"]), len(spec["capacity"][0]), -1
        ),
        rows(spec["capacity"]),
        cost=rows(spec["cost"]),
        n_available=rows(spec["n_available"]),
        allowed=cols(spec["allowed"]),
        zone=zone,
        zone_names=[f"z{z}" for z in range(n_zones)],
        anti_affinity=spec["anti_affinity"],
        affinity=spec["affinity"],
        label=spec["label"],
        label_limit=rows(spec["label_limit"]),
        item_cost=cols(spec["item_cost"]),
        ha_spares=spec["ha_spares"],
        ha_policy=spec["ha_policy"],
    )


def describe(spec: dict[str, Any]) -> str:
    """One line with everything needed to rebuild the instance by hand."""
    dem = np.asarray(spec["demand"])
    n_items = len(spec["demand"])
    n_dims = len(spec["capacity"][0])
    n_buckets = dem.shape[2] if n_items else 0
    parts = [
        f"{n_items} items × {n_dims} dims × {n_buckets} buckets",
        f"cap {spec['capacity']} cost {spec['cost']} avail {spec['n_available']}",
        f"HA {spec['ha_policy']} k={spec['ha_spares']}" if spec["ha_spares"] else "no HA",
    ]
    if max(spec["zone"], default=0) > 0:
        parts.append(f"zone {spec['zone']}")
    if spec["anti_affinity"]:
        parts.append(f"anti {spec['anti_affinity']}")
    if spec["affinity"]:
        parts.append(f"affinity {spec['affinity']}")
    if spec["label"] is not None:
        parts.append(f"label {spec['label']} limit {spec['label_limit']}")
    if spec["allowed"] is not None:
        parts.append(f"allowed {np.asarray(spec['allowed'], dtype=int).tolist()}")
    if spec["item_cost"] is not None:
        parts.append(f"item_cost {spec['item_cost']}")
    parts.append(f"demand {dem.tolist()}")
    return "; ".join(parts)


# ------------------------------------------------------------------------ checks
def check_instance(
    spec: dict[str, Any],
    *,
    time_limit_s: float = 2.0,
    workers: int = 1,
    seed: int = 0,
    strategy: str = "auto",
) -> dict[str, Any]:
    """Solve one spec with the optimizer and the reference search; list what disagrees.

    Returns
    -------
    dict
        ``index``, ``status``, ``objective``, ``bound``, ``gap_frac``, ``optimum`` (None:
        infeasible), ``subset_optimum``, ``true_gap_frac``, ``issues`` (list of
        ``{"kind", "message"}``), ``notes``, ``solve_s``, ``oracle_s``.
    """
    inst = build_instance(spec)
    issues: list[dict[str, str]] = []
    notes: list[str] = []

    def issue(kind: str, message: str) -> None:
        issues.append({"kind": kind, "message": message})

    start = time.perf_counter()
    exact = exact_solve(inst)
    oracle_s = time.perf_counter() - start
    opt = None if exact is None else exact.objective
    ffd_only = False
    if exact is not None:
        broken = validate(inst, exact.solution)
        if broken and all(v.kind == "ha_strict" for v in broken):
            ffd_only = True
            notes.append("reference packing fails only the first-fit strict N+k check")
        elif broken:
            issue("oracle_witness", "; ".join(v.message for v in broken[:3]))
    sub_opt = None
    if spec["subset"] is not None:
        sub = exact_solve(build_instance(spec, spec["subset"]))
        sub_opt = None if sub is None else sub.objective
    oracle_s = time.perf_counter() - start
    row: dict[str, Any] = {
        "index": spec["index"],
        "seed": spec["seed"],
        "optimum": opt,
        "subset_optimum": sub_opt,
        "oracle_s": round(oracle_s, 3),
    }
    start = time.perf_counter()
    try:
        res = solve(
            inst,
            strategy=strategy,
            time_limit_s=time_limit_s,
            workers=workers,
            seed=seed,
            explain=False,
        )
    except Exception as exc:  # a crash is a finding to report, not to raise
        issue("solver_error", f"{type(exc).__name__}: {exc}")
        row.update(status="error", objective=None, bound=None, gap_frac=None, true_gap_frac=None)
        row.update(issues=issues, notes=notes, solve_s=round(time.perf_counter() - start, 3))
        return row
    rep = res.report
    row.update(
        status=rep.status,
        objective=rep.objective,
        bound=rep.bound,
        gap_frac=rep.gap_frac,
        bound_source=rep.bound_source,
        method=rep.method,
        solve_s=round(time.perf_counter() - start, 3),
    )
    seen = f"status {rep.status}, objective {rep.objective}, bound {rep.bound}"
    if ffd_only:
        # The optimum needs a restart placement first-fit decreasing misses: the validator
        # (and so the solver) cannot accept it, which is a gap of the strict check itself.
        seen += " [optimum passes the strict N+k rule only with an exact re-placement]"
    has_packing = rep.objective is not None
    if opt is None:
        row["true_gap_frac"] = None
        if has_packing:
            issue("feasibility", f"reference: infeasible; solver: {seen}")
    else:
        row["true_gap_frac"] = (
            None
            if rep.objective is None
            else (0.0 if rep.objective == 0 else (rep.objective - opt) / rep.objective)
        )
        if rep.status == "infeasible":
            issue("feasibility", f"reference optimum {opt}; solver: infeasible ({rep.reason})")
        if rep.bound > opt:
            issue("bound", f"optimum {opt}; solver: {seen} ({rep.bound_source})")
        if rep.status == "optimal" and rep.objective != opt:
            issue("false_optimal", f"optimum {opt}; solver: {seen}")
        if rep.objective is not None and rep.objective < opt:
            issue("below_optimum", f"optimum {opt}; solver: {seen}")
        if rep.status == "unknown":
            notes.append("no packing within the time limit")
    if sub_opt is not None:
        what = f"types {spec['subset']} alone: optimum {sub_opt}; all types: {seen}"
        if rep.bound > sub_opt:
            issue("superset", "bound above the sub-instance optimum; " + what)
        elif rep.status == "optimal" and rep.objective is not None and rep.objective > sub_opt:
            issue("superset", "'optimal' above the sub-instance optimum; " + what)
        elif rep.status == "infeasible":
            issue("superset", "infeasible although the sub-instance is feasible; " + what)
    row["issues"] = issues
    row["notes"] = notes
    return row


def run_trust(
    n: int = 500,
    *,
    seed: int = 0,
    time_limit_s: float = 2.0,
    workers: int = 1,
    strategy: str = "auto",
    on_row: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Check ``n`` random instances; return per-kind counts, figures and the violations.

    ``on_row(spec, row)`` is called after each instance.
    """
    rows: list[dict[str, Any]] = []
    violations: list[dict[str, Any]] = []
    for index in range(n):
        spec = random_spec(seed, index)
        row = check_instance(
            spec, time_limit_s=time_limit_s, workers=workers, seed=0, strategy=strategy
        )
        rows.append(row)
        for item in row["issues"]:
            violations.append({**item, "seed": seed, "index": index, "spec": describe(spec)})
        if on_row is not None:
            on_row(spec, row)
    return {
        "n": n,
        "seed": seed,
        "time_limit_s": time_limit_s,
        **summarise(rows),
        "violations": violations,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of instances per violation kind and the gap figures."""
    counts = {kind: 0 for kind in KINDS}
    for r in rows:
        for kind in {i["kind"] for i in r["issues"]}:
            counts[kind] += 1
    feasible = [r for r in rows if r["optimum"] is not None]
    packed = [r for r in feasible if r.get("objective") is not None]
    gaps = [float(r["gap_frac"]) for r in packed if r.get("gap_frac") is not None]
    true_gaps = [float(r["true_gap_frac"]) for r in packed if r.get("true_gap_frac") is not None]
    return {
        "counts": counts,
        "n_instances_with_violations": sum(1 for r in rows if r["issues"]),
        "n_feasible": len(feasible),
        "n_infeasible": len(rows) - len(feasible),
        "n_packed": len(packed),
        "n_unknown": sum(1 for r in feasible if r.get("status") == "unknown"),
        "n_claimed_optimal": sum(1 for r in rows if r.get("status") == "optimal"),
        "n_truly_optimal": sum(1 for r in packed if r["objective"] == r["optimum"]),
        "n_ffd_strict_notes": sum(
            1 for r in rows for note in r["notes"] if "first-fit strict" in note
        ),
        "mean_gap_frac": round(sum(gaps) / len(gaps), 6) if gaps else None,
        "mean_true_gap_frac": round(sum(true_gaps) / len(true_gaps), 6) if true_gaps else None,
        "mean_solve_s": round(sum(float(r.get("solve_s", 0.0)) for r in rows) / len(rows), 3)
        if rows
        else None,
        "mean_oracle_s": round(sum(float(r["oracle_s"]) for r in rows) / len(rows), 3)
        if rows
        else None,
    }


# ------------------------------------------------------------------------ command
@bench_app.command("trust")
@user_errors
def trust_command(
    n: int = typer.Option(500, "--n", help="Number of random instances."),
    seed: int = typer.Option(0, "--seed", help="Seed of the instance generator."),
    time_limit: float = typer.Option(2.0, "--time-limit", help="Seconds per solve."),
    workers: int = typer.Option(1, "--workers", help="CP-SAT workers."),
    strategy: str = typer.Option("auto", "--strategy", help="Solve strategy."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Bounds, "optimal" labels and feasibility of solve against an exhaustive reference."""
    start = time.perf_counter()

    def show(spec: dict[str, Any], row: dict[str, Any]) -> None:
        if as_json:
            return
        for item in row["issues"]:
            console.print(
                f"[bold red]{item['kind']}[/] seed {spec['seed']} index {spec['index']}: "
                f"{item['message']}\n    repro: random_spec({spec['seed']}, {spec['index']}) "
                f"= {describe(spec)}",
                highlight=False,
            )
        done = spec["index"] + 1
        if done % 50 == 0:
            console.print(f"[dim]{done} instances checked[/]", highlight=False)

    out = run_trust(
        n, seed=seed, time_limit_s=time_limit, workers=workers, strategy=strategy, on_row=show
    )
    out["total_wall_s"] = round(time.perf_counter() - start, 1)
    if as_json:
        print_json(out)
        return
    table = Table(title=f"Trust: {n} instances, seed {seed}, {time_limit:g} s per solve")
    table.add_column("check")
    table.add_column("instances", justify="right")
    table.add_column("meaning")
    for kind, meaning in KINDS.items():
        count = out["counts"][kind]
        shown = f"[bold red]{count}[/]" if count else "0"
        table.add_row(kind, shown, meaning)
    console.print(table)
    console.print(
        f"feasible {out['n_feasible']}, infeasible {out['n_infeasible']}, packed "
        f"{out['n_packed']}, no packing in time {out['n_unknown']}; claimed optimal "
        f"{out['n_claimed_optimal']}, truly optimal {out['n_truly_optimal']}; mean reported gap "
        f"{_pct(out['mean_gap_frac'])} %, mean true gap {_pct(out['mean_true_gap_frac'])} %; "
        f"reference packings rejected only by first-fit strict N+k: "
        f"{out['n_ffd_strict_notes']}; {out['total_wall_s']} s",
        highlight=False,
    )
    total = out["n_instances_with_violations"]
    style = "bold red" if total else "bold green"
    console.print(f"[{style}]{total} of {n} instances with violations[/]", highlight=False)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.2f}"
