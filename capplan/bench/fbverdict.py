"""``capplan bench cloudsim --fb-verdict``: a fair verdict on capplan's own policy ``capplan-fb``.

The rules (issue 15, "A fair verdict on capplan-fb"):

- **RAM on every move.** capplan-fb checks host RAM on every placement and move, in compat
  mode too (:mod:`capplan.dynamic.forecast`). Every run here goes through
  :func:`ram_watched`, a wrapper that reads the simulation at the start and at every round,
  before and after the policy's moves, and records the most RAM any host holds (resident VMs,
  VMs migrating in, and VMs about to migrate in): the verdict reports it, and a run with a
  host above its RAM counts as a violation.
- **Both starts.** ``capplan-fb`` starts from its own packing; ``capplan-fb-pabfd`` starts from
  the CloudSim policies' initial placement (PABFD, which spreads the VMs over the fleet in
  compat mode) and consolidates from there. Both are reported.
- **Tuned on days 1–5, reported on days 6–10.** The day folders are sorted by name; the first
  :data:`N_TUNE_DAYS` are the tuning days (:func:`tune_fb`, :data:`TUNE_GRID`), the rest the
  test days, on which the verdict runs.
- **CloudSim's own figures.** The other side is what CloudSim 4.0 printed
  (``tests/fixtures/cloudsim/summary_sorted.csv``, read afresh on every run, so new rows are
  picked up), never capplan's emulation: energy, migrations, SLATAH, PDM, SLAV, overall and
  average SLA violation, for the 20 migrating policies (the baselines ``npa`` and ``dvfs``
  migrate nothing and have no SLA violation; they are not counted).
- **Bitbrains.** The Bitbrains traces are not the CloudSim setup, so there the comparison is
  against capplan's own default-mode runs of the CloudSim-style policies (labelled as such).
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from capplan.dynamic.config import CLOUDSIM_CONFIG
from capplan.dynamic.contract import Policy
from capplan.dynamic.engine import simulate
from capplan.dynamic.fleet import HostFleet, VmSet, sum_by
from capplan.dynamic.forecast import ForecastBudgetParams, make_forecast_policy
from capplan.dynamic.policies import BASELINES, CLOUDSIM_POLICIES, get_policy
from capplan.dynamic.state import Simulation
from capplan.errors import CapplanError

FloatArray = npt.NDArray[np.float64]

#: The first this many name-sorted day folders are the tuning days; the rest are test days.
N_TUNE_DAYS: Final = 5
#: capplan's policies in the verdict: its own packing start and the CloudSim (PABFD) start.
FB_POLICIES: Final[tuple[str, ...]] = ("capplan-fb", "capplan-fb-pabfd")
#: Verdict metrics (all: lower is better): capplan summary key → column of summary_sorted.csv.
VERDICT_METRICS: Final[dict[str, str]] = {
    "energy_kwh": "energy_kWh",
    "n_migrations": "vm_migrations",
    "slatah_frac": "slatah_fraction",
    "pdm_frac": "pdm_fraction",
    "slav": "slav_fraction",
    "sla_overall_frac": "sla_overall_violation_fraction",
    "sla_average_frac": "sla_average_violation_fraction",
}
#: Short labels of the metrics for the printed table.
METRIC_LABELS: Final[dict[str, str]] = {
    "energy_kwh": "energy kWh",
    "n_migrations": "migrations",
    "slatah_frac": "SLATAH",
    "pdm_frac": "PDM",
    "slav": "SLAV",
    "sla_overall_frac": "overall SLA",
    "sla_average_frac": "average SLA",
}
#: The tuning grid (:func:`tune_fb`): a few ForecastBudgetParams fields, every combination.
TUNE_GRID: Final[dict[str, tuple[float, ...]]] = {
    "budget_per_vm_day": (1.0, 2.0, 4.0),
    "initial_frac": (0.1, 0.5),
    "max_drains_per_round": (2, 8, 32),
    "max_drain_attempts": (8, 64),
    "pack_frac": (0.95, 1.0),
}
#: Bitbrains workloads of the default-mode comparison (relative to the shared data folder).
BITBRAINS_WORKLOADS: Final[tuple[str, ...]] = (
    "bitbrains:bitbrains-gwa-t-12/rnd",
    "opendc:opendc-bitbrains-small",
)


def default_data_root() -> Path:
    """``../shared/data`` beside the repository."""
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


# ---------------------------------------------------------------------------- CloudSim figures
def read_cloudsim_figures(path: Path) -> tuple[dict[str, dict[str, dict[str, float]]], int]:
    """CloudSim's printed figures per day and policy, and how many rows were skipped.

    A row with an empty or non-numeric verdict column is skipped, not refused: the fixture is
    appended to while CloudSim runs, so its last row can be incomplete. A later row for the
    same (day, policy) replaces an earlier one.

    Raises
    ------
    CapplanError
        The file is missing or lacks a column.
    """
    if not path.is_file():
        raise CapplanError(
            "CloudSim reference summary not found (tests/fixtures/cloudsim/summary_sorted.csv)",
            path=path,
        )
    out: dict[str, dict[str, dict[str, float]]] = {}
    skipped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        needed = ("day", "policy", *VERDICT_METRICS.values())
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise CapplanError(
                f"CloudSim summary lacks column(s) {', '.join(missing)}", path=path, line=1
            )
        for raw in reader:
            try:
                values = {key: float(raw[col]) for key, col in VERDICT_METRICS.items()}
            except (TypeError, ValueError):
                skipped += 1
                continue
            if not all(math.isfinite(v) for v in values.values()):
                skipped += 1
                continue
            out.setdefault(raw["day"].strip(), {})[raw["policy"].strip()] = values
    return out, skipped


def migrating_rows(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The rows of CloudSim's 20 migrating policies (the baselines left out)."""
    return {p: v for p, v in rows.items() if p not in BASELINES and p in CLOUDSIM_POLICIES}


# ---------------------------------------------------------------------------- RAM watch
@dataclass
class RamWatch:
    """The most RAM any host held, seen at the start and at every round of a run."""

    cap_mib: FloatArray = field(default_factory=lambda: np.zeros(0))
    max_ram_mib: float = 0.0
    max_ram_frac: float = 0.0
    max_vms_on_host: int = 0
    n_checks: int = 0
    n_over: int = 0
    first_over: tuple[float, int, float] | None = None

    def check(self, sim: Simulation, time_s: float, moves: Iterable[tuple[int, int]]) -> None:
        """Record RAM held per host: resident + migrating in + the moves about to start."""
        placed = sim.host_of >= 0
        ram = sum_by(sim.host_of[placed], sim.vms.ram_mib[placed], sim.n_hosts)
        count = np.bincount(sim.host_of[placed], minlength=sim.n_hosts)
        fl_vm, fl_tg, _ = sim.flight_arrays()
        if len(fl_vm):
            live = sim.host_of[fl_vm] >= 0
            ram = ram + sum_by(fl_tg[live], sim.vms.ram_mib[fl_vm[live]], sim.n_hosts)
        flying = set(zip(fl_vm.tolist(), fl_tg.tolist(), strict=True))
        for vm, target in moves:
            vm, target = int(vm), int(target)
            source = int(sim.host_of[vm])
            if source >= 0 and source != target and (vm, target) not in flying:
                ram[target] += sim.vms.ram_mib[vm]
        cap = sim.fleet.ram_mib * sim.config.mem_overcommit_ratio
        self.n_checks += 1
        self.max_ram_mib = max(self.max_ram_mib, float(ram.max(initial=0.0)))
        self.max_ram_frac = max(self.max_ram_frac, float((ram / cap).max(initial=0.0)))
        self.max_vms_on_host = max(self.max_vms_on_host, int(count.max(initial=0)))
        over = np.flatnonzero(ram > cap + 1e-6)
        if len(over):
            self.n_over += len(over)
            if self.first_over is None:
                host = int(over[0])
                self.first_over = (time_s, host, float(ram[host]))

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "max_host_ram_mib": self.max_ram_mib,
            "max_host_ram_frac": self.max_ram_frac,
            "max_vms_on_host": self.max_vms_on_host,
            "ram_checks": self.n_checks,
            "ram_violations": self.n_over,
            "first_ram_violation": list(self.first_over) if self.first_over else None,
        }


def ram_watched(policy: Policy, watch: RamWatch) -> Policy:
    """``policy`` with the RAM of every host recorded into ``watch``; same decisions."""

    def place_initial(sim: Simulation) -> None:
        policy.place_initial(sim)
        watch.check(sim, 0.0, ())

    def optimize(sim: Simulation, time_s: float) -> list[tuple[int, int]]:
        watch.check(sim, time_s, ())
        moves = policy.optimize(sim, time_s) if policy.optimize is not None else []
        watch.check(sim, time_s, moves)
        return moves

    return Policy(policy.name, place_initial, optimize, policy.energy_model)


# ---------------------------------------------------------------------------- runs
def fb_policy(name: str, params: ForecastBudgetParams | None = None) -> Policy:
    """``capplan-fb`` or ``capplan-fb-pabfd`` with its defaults, or with ``params``."""
    if params is None:
        return get_policy(name)
    start = "pabfd" if name.endswith("-pabfd") else "pack"
    return make_forecast_policy(name, replace(params, start=start))


def run_fb_day(
    vms: VmSet,
    fleet: HostFleet,
    name: str,
    params: ForecastBudgetParams | None = None,
    *,
    seed: int = 42,
) -> dict[str, Any]:
    """One compat-mode run of a capplan-fb variant: its summary plus the RAM watch."""
    watch = RamWatch()
    policy = ram_watched(fb_policy(name, params), watch)
    result = simulate(vms, fleet, policy, CLOUDSIM_CONFIG.with_(seed=seed), mode="cloudsim")
    figures = {key: float(getattr(result, key)) for key in VERDICT_METRICS}
    figures["n_host_shutdowns"] = result.n_host_shutdowns
    figures["mean_active_hosts"] = float(np.mean(result.active_hosts))
    figures["wall_s"] = result.wall_s
    figures.update(watch.summary())
    return figures


def split_days(data_dir: Path) -> tuple[list[str], list[str]]:
    """Tuning days (the first :data:`N_TUNE_DAYS` name-sorted folders) and test days."""
    from capplan.bench.cloudsim_diff import list_days

    days = list_days(data_dir)
    return days[:N_TUNE_DAYS], days[N_TUNE_DAYS:]


# ---------------------------------------------------------------------------- comparison
def compare(own: dict[str, Any], reference: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per metric: own value, best CloudSim policy and value, how many policies it beats.

    "Beats" is strictly lower; a tie is counted apart.
    """
    out: dict[str, Any] = {}
    for key in VERDICT_METRICS:
        values = {p: v[key] for p, v in reference.items()}
        if not values:
            continue
        best = min(values, key=lambda p: (values[p], p))
        mine = float(own[key])
        out[key] = {
            "own": mine,
            "best_policy": best,
            "best": values[best],
            "beats": sum(1 for v in values.values() if mine < v),
            "ties": sum(1 for v in values.values() if mine == v),
            "of": len(values),
        }
    return out


def _mean_rows(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {key: float(np.mean([float(r[key]) for r in rows])) for key in VERDICT_METRICS}


def run_fb_verdict(
    data_dir: Path,
    fixture_dir: Path,
    *,
    days: list[str] | None = None,
    policies: Sequence[str] = FB_POLICIES,
    bitbrains: bool = True,
    ram_emulation: bool = True,
    data_root: Path | None = None,
    seed: int = 42,
    progress: bool = False,
) -> dict[str, Any]:
    """The verdict on the test days (default) against CloudSim's own figures; JSON-ready.

    Parameters
    ----------
    data_dir
        Folder of PlanetLab day folders.
    fixture_dir
        Folder with CloudSim's ``summary_sorted.csv``.
    days
        Days to report (default: the test days, all but the first :data:`N_TUNE_DAYS`).
    policies
        capplan's policies to judge.
    bitbrains
        Also the default-mode comparison on the Bitbrains traces (:func:`run_bitbrains`).
    ram_emulation
        Also capplan's emulation of the 20 CloudSim policies with RAM checked after the start
        on the same days (:func:`run_ram_enforced_emulation`): RAM enforced on both sides,
        which CloudSim itself does not do. Labelled as capplan's runs.
    data_root
        Folder holding the Bitbrains folders (default ``../shared/data``).
    """
    from capplan.bench.cloudsim_diff import load_day
    from capplan.dynamic.compat import cloudsim_fleet

    tune_days, test_days = split_days(data_dir)
    chosen = days or test_days
    reference, skipped = read_cloudsim_figures(fixture_dir / "summary_sorted.csv")
    fleet = cloudsim_fleet()
    per_day: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in policies}
    missing: list[str] = []
    emulated: list[dict[str, dict[str, float]]] = []
    for day in chosen:
        vms = load_day(data_dir, day)
        ref = migrating_rows(reference.get(day, {}))
        entry: dict[str, Any] = {"n_vms": vms.n_vms, "cloudsim_policies": sorted(ref)}
        if not ref:
            missing.append(day)
        for name in policies:
            own = run_fb_day(vms, fleet, name, seed=seed)
            runs[name].append(own)
            entry[name] = {"figures": own, "vs_cloudsim": compare(own, ref)}
            if progress:
                print(
                    f"{day} {name:17s} {own['energy_kwh']:8.2f} kWh "
                    f"{own['n_migrations']:6.0f} migr. max host RAM "
                    f"{own['max_host_ram_mib']:,.0f} MiB ({own['wall_s']:.1f} s)",
                    flush=True,
                )
        if ram_emulation:
            emu = run_ram_enforced_emulation(vms, fleet, seed=seed)
            emulated.append(emu)
            entry["ram_enforced_emulation"] = emu
            for name in policies:
                entry[name]["vs_ram_enforced_emulation"] = compare(entry[name]["figures"], emu)
        per_day[day] = entry
    # means over the days that have CloudSim rows for every policy of the first such day
    with_ref = [d for d in chosen if d not in missing]
    common = (
        set.intersection(*(set(migrating_rows(reference[d])) for d in with_ref))
        if with_ref
        else set()
    )
    means: dict[str, Any] = {}
    if with_ref and common:
        ref_means = {p: _mean_rows([reference[d][p] for d in with_ref]) for p in sorted(common)}
        for name in policies:
            own_rows = [r for d, r in zip(chosen, runs[name], strict=True) if d in with_ref]
            own_mean = _mean_rows(own_rows)
            means[name] = {"figures": own_mean, "vs_cloudsim": compare(own_mean, ref_means)}
        means["cloudsim"] = ref_means
    if emulated:
        emu_means = {p: _mean_rows([e[p] for e in emulated]) for p in emulated[0]}
        means["ram_enforced_emulation"] = emu_means
        for name in policies:
            own_all = _mean_rows(runs[name])
            means.setdefault(name, {"figures": own_all})
            means[name]["all_days_figures"] = own_all
            means[name]["vs_ram_enforced_emulation"] = compare(own_all, emu_means)
    figures: dict[str, Any] = {
        "data_dir": str(data_dir),
        "fixture": str(fixture_dir / "summary_sorted.csv"),
        "fixture_rows_skipped": skipped,
        "tune_days": tune_days,
        "test_days": test_days,
        "days": chosen,
        "days_without_cloudsim_rows": missing,
        "policies": list(policies),
        "params": {name: _params_of(name) for name in policies},
        "per_day": per_day,
        "mean_days": with_ref,
        "means": means,
        "ram_violations": sum(r["ram_violations"] for rs in runs.values() for r in rs),
        "max_host_ram_mib": max(
            (r["max_host_ram_mib"] for rs in runs.values() for r in rs), default=0.0
        ),
    }
    if bitbrains:
        figures["bitbrains"] = run_bitbrains(data_root or default_data_root(), progress=progress)
    return figures


def run_ram_enforced_emulation(
    vms: VmSet, fleet: HostFleet, *, seed: int = 42
) -> dict[str, dict[str, float]]:
    """capplan's compat emulation of the 20 CloudSim policies, RAM checked after the start.

    Not CloudSim: CloudSim's policies stop checking RAM once the VMs run (their cloudlets
    request 0 MB), which is what lets them stack VMs beyond a host's RAM. This is the other
    side with RAM enforced on both sides, for reference.
    """
    cfg = CLOUDSIM_CONFIG.with_(seed=seed, ram_checked_after_start=True)
    out: dict[str, dict[str, float]] = {}
    for name in CLOUDSIM_POLICIES:
        result = simulate(vms, fleet, get_policy(name), cfg, mode="cloudsim")
        out[name] = {key: float(getattr(result, key)) for key in VERDICT_METRICS}
    return out


def _params_of(name: str) -> dict[str, Any]:
    from dataclasses import asdict

    from capplan.dynamic.forecast import FORECAST_POLICIES, ForecastBudgetPolicy

    policy = FORECAST_POLICIES[name]()
    state = getattr(policy.optimize, "__self__", None)
    if isinstance(state, ForecastBudgetPolicy):
        return asdict(state.params)
    return {}


# ---------------------------------------------------------------------------- Bitbrains
def run_bitbrains(
    data_root: Path,
    *,
    workloads: Sequence[str] = BITBRAINS_WORKLOADS,
    policies: Sequence[str] | None = None,
    seed: int = 42,
    progress: bool = False,
) -> dict[str, Any]:
    """capplan-fb against capplan's default-mode runs of the CloudSim-style policies.

    Each workload spec is ``READER:PATH`` with ``PATH`` relative to ``data_root``; a
    workload whose folder is absent is listed as skipped. The CloudSim-style figures are
    capplan's own runs (default mode, quirks fixed), not CloudSim's.
    """
    from capplan.demand import load_workload
    from capplan.dynamic.run import run_dynamic

    chosen = list(policies or (*CLOUDSIM_POLICIES, "dvfs", *FB_POLICIES))
    out: dict[str, Any] = {"note": "default mode; CloudSim-style rows are capplan's own runs"}
    results: dict[str, Any] = {}
    skipped: list[str] = []
    for spec in workloads:
        reader, rel = spec.split(":", 1)
        path = data_root / rel
        if not path.exists():
            skipped.append(spec)
            continue
        workload = load_workload(f"{reader}:{path}")
        rows: dict[str, dict[str, Any]] = {}
        for name in chosen:
            started = time.perf_counter()
            result = run_dynamic(workload, name, seed=seed)
            rows[name] = {key: float(getattr(result, key)) for key in VERDICT_METRICS}
            rows[name]["n_hosts"] = result.n_hosts
            rows[name]["n_vms"] = result.n_vms
            if progress:
                print(
                    f"{spec} {name:17s} {result.energy_kwh:9.2f} kWh {result.n_migrations:6d} "
                    f"migr. ({time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
        ref = {p: v for p, v in rows.items() if p in CLOUDSIM_POLICIES}
        results[spec] = {
            "rows": rows,
            "vs_capplan_cloudsim_style": {
                name: compare(rows[name], ref) for name in chosen if name in FB_POLICIES
            },
        }
    out["workloads"] = results
    out["skipped"] = skipped
    return out


# ---------------------------------------------------------------------------- tuning
def grid_params(
    base: ForecastBudgetParams | None = None,
    grid: dict[str, tuple[float, ...]] = TUNE_GRID,
) -> list[ForecastBudgetParams]:
    """Every combination of :data:`TUNE_GRID` on top of ``base``."""
    start = base or ForecastBudgetParams()
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        changes = {
            k: (int(v) if isinstance(getattr(start, k), int) else float(v))
            for k, v in zip(keys, values, strict=True)
        }
        out.append(replace(start, **changes))  # type: ignore[arg-type]
    return out


def tune_fb(
    data_dir: Path,
    fixture_dir: Path,
    *,
    name: str = "capplan-fb",
    grid: dict[str, tuple[float, ...]] = TUNE_GRID,
    seed: int = 42,
    progress: bool = False,
) -> dict[str, Any]:
    """Tune capplan-fb on the tuning days only (the first :data:`N_TUNE_DAYS`).

    Objective: the lowest mean energy over the tuning days among the grid points whose mean
    SLAV and mean overall SLA violation are no worse than those of the best CloudSim policy
    on each (CloudSim's own figures, means over the same days) and that never exceed a host's
    RAM; ties by fewer migrations.
    """
    from capplan.bench.cloudsim_diff import load_day
    from capplan.dynamic.compat import cloudsim_fleet

    tune_days, _ = split_days(data_dir)
    reference, _skipped = read_cloudsim_figures(fixture_dir / "summary_sorted.csv")
    ref_days = [d for d in tune_days if migrating_rows(reference.get(d, {}))]
    if not ref_days:
        raise CapplanError("no CloudSim rows for the tuning days", path=fixture_dir)
    common = set.intersection(*(set(migrating_rows(reference[d])) for d in ref_days))
    ref_means = {p: _mean_rows([reference[d][p] for d in ref_days]) for p in common}
    slav_limit = min(v["slav"] for v in ref_means.values())
    overall_limit = min(v["sla_overall_frac"] for v in ref_means.values())
    fleet = cloudsim_fleet()
    day_vms = {d: load_day(data_dir, d) for d in ref_days}
    rows: list[dict[str, Any]] = []
    for params in grid_params(grid=grid):
        runs = [run_fb_day(day_vms[d], fleet, name, params, seed=seed) for d in ref_days]
        mean = _mean_rows(runs)
        feasible = (
            mean["slav"] <= slav_limit
            and mean["sla_overall_frac"] <= overall_limit
            and all(r["ram_violations"] == 0 for r in runs)
        )
        row = {"params": {k: getattr(params, k) for k in grid}, **mean, "feasible": feasible}
        rows.append(row)
        if progress:
            print(
                f"{name} {row['params']} {mean['energy_kwh']:.2f} kWh "
                f"{mean['n_migrations']:.0f} migr. SLAV {mean['slav']:.2e} "
                f"overall {mean['sla_overall_frac']:.2e} {'ok' if feasible else '-'}",
                flush=True,
            )
    ok = [r for r in rows if r["feasible"]]
    best = min(ok, key=lambda r: (r["energy_kwh"], r["n_migrations"])) if ok else None
    return {
        "policy": name,
        "tune_days": ref_days,
        "grid": {k: list(v) for k, v in grid.items()},
        "objective": (
            "min mean energy over the tuning days s.t. mean SLAV <= best CloudSim mean SLAV, "
            "mean overall SLA violation <= best CloudSim mean, no host over its RAM"
        ),
        "slav_limit": slav_limit,
        "overall_limit": overall_limit,
        "rows": rows,
        "chosen": best,
    }


# ---------------------------------------------------------------------------- printing
def _fmt(key: str, value: float) -> str:
    if key == "energy_kwh":
        return f"{value:.2f}"
    if key == "n_migrations":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _beats(v: dict[str, Any]) -> str:
    """``beats/of``, with the ties when there are any (``0/20, 20 tied``)."""
    text = f"{v['beats']}/{v['of']}"
    return f"{text}, {v['ties']} tied" if v["ties"] else text


def print_fb_verdict(figures: dict[str, Any], out: Console | None = None) -> None:
    """The verdict tables: per test day and the mean, then Bitbrains."""
    con = out or Console(width=160)
    con.print(
        f"capplan-fb verdict: tuned on {', '.join(figures['tune_days'])}; reported on "
        f"{', '.join(figures['days'])}. Other side: CloudSim 4.0's own printed figures "
        f"({figures['fixture']}), its 20 migrating policies. Every capplan-fb move is RAM-checked; "
        f"max host RAM {figures['max_host_ram_mib']:,.0f} MiB, "
        f"{figures['ram_violations']} violation(s)."
    )
    if figures["days_without_cloudsim_rows"]:
        con.print(f"no CloudSim rows yet for: {', '.join(figures['days_without_cloudsim_rows'])}")
    blocks = [(day, figures["per_day"][day]) for day in figures["days"]]
    if figures["means"].get("cloudsim"):
        blocks.append((f"mean of {len(figures['mean_days'])} day(s)", figures["means"]))
    for label, entry in blocks:
        table = Table(title=label)
        table.add_column("metric")
        for name in figures["policies"]:
            table.add_column(name, justify="right")
            table.add_column("beats", justify="right")
        table.add_column("best CloudSim (its own figure)", justify="right")
        table.add_column("policy")
        first = entry[figures["policies"][0]]["vs_cloudsim"]
        for key in VERDICT_METRICS:
            if key not in first:
                continue
            cells = [METRIC_LABELS[key]]
            for name in figures["policies"]:
                v = entry[name]["vs_cloudsim"][key]
                cells += [_fmt(key, v["own"]), _beats(v)]
            cells += [_fmt(key, first[key]["best"]), first[key]["best_policy"]]
            table.add_row(*cells)
        con.print(table)
    means = figures["means"]
    if "ram_enforced_emulation" in means:
        table = Table(
            title=(
                f"mean of {len(figures['days'])} day(s) vs capplan's emulation of the CloudSim "
                "policies with RAM checked after the start too (capplan's runs, not CloudSim)"
            )
        )
        table.add_column("metric")
        for name in figures["policies"]:
            table.add_column(name, justify="right")
            table.add_column("beats", justify="right")
        table.add_column("best emulated, RAM checked", justify="right")
        table.add_column("policy")
        first = means[figures["policies"][0]]["vs_ram_enforced_emulation"]
        for key in VERDICT_METRICS:
            cells = [METRIC_LABELS[key]]
            for name in figures["policies"]:
                v = means[name]["vs_ram_enforced_emulation"][key]
                cells += [_fmt(key, v["own"]), _beats(v)]
            cells += [_fmt(key, first[key]["best"]), first[key]["best_policy"]]
            table.add_row(*cells)
        con.print(table)
    bb = figures.get("bitbrains")
    if bb:
        for spec, res in bb["workloads"].items():
            table = Table(title=f"{spec} (default mode; CloudSim-style rows are capplan's runs)")
            table.add_column("metric")
            names = list(res["vs_capplan_cloudsim_style"])
            for name in names:
                table.add_column(name, justify="right")
                table.add_column("beats", justify="right")
            table.add_column("best CloudSim-style (capplan)", justify="right")
            table.add_column("policy")
            for key in VERDICT_METRICS:
                cells = [METRIC_LABELS[key]]
                ref = res["vs_capplan_cloudsim_style"][names[0]][key]
                for name in names:
                    v = res["vs_capplan_cloudsim_style"][name][key]
                    cells += [_fmt(key, v["own"]), _beats(v)]
                cells += [_fmt(key, ref["best"]), ref["best_policy"]]
                table.add_row(*cells)
            con.print(table)
        if bb["skipped"]:
            con.print(f"Bitbrains workloads absent: {', '.join(bb['skipped'])}")


def print_tuning(result: dict[str, Any], out: Console | None = None) -> None:
    """The tuning grid, feasible rows first by energy."""
    con = out or Console(width=160)
    con.print(
        f"{result['policy']} tuned on {', '.join(result['tune_days'])}: {result['objective']} "
        f"(SLAV <= {result['slav_limit']:.3g}, overall <= {result['overall_limit']:.3g})"
    )
    table = Table()
    for column in (*result["grid"], "energy kWh", "migrations", "SLAV", "overall", "ok"):
        table.add_column(column, justify="right")
    ordered = sorted(result["rows"], key=lambda r: (not r["feasible"], r["energy_kwh"]))
    for row in ordered:
        table.add_row(
            *(f"{row['params'][k]:g}" for k in result["grid"]),
            f"{row['energy_kwh']:.2f}",
            f"{row['n_migrations']:,.0f}",
            f"{row['slav']:.3g}",
            f"{row['sla_overall_frac']:.3g}",
            "yes" if row["feasible"] else "no",
        )
    con.print(table)
    con.print(f"chosen: {result['chosen']['params'] if result['chosen'] else None}")
