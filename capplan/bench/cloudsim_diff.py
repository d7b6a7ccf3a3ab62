"""``capplan bench cloudsim --against DIR``: capplan's CloudSim compat mode beside CloudSim itself.

``DIR`` (usually ``tests/fixtures/cloudsim``, see its ``README.md``) holds what CloudSim 4.0
printed for the PlanetLab days, in name-sorted trace order:

- ``summary_sorted.csv``: one row per (day, policy) with CloudSim's summary figures;
- ``rounds/<day>_<policy>.csv``: the VM → host map at t = 0.1 s (``alloc`` rows), one
  ``round`` row per optimisation round (time, active hosts, hosts with VMs, VMs alive,
  migrations, cumulative energy in W·s) and the ``mig`` rows (vm, from, to) of the first
  rounds; ``rounds/<day>_<policy>_migrations.csv.gz`` holds every ``mig`` row.

Two comparisons:

1. :func:`compare_summaries`: for each selected row, capplan's compat emulation of the same
   day and policy (:func:`capplan.dynamic.simulate` with :data:`CLOUDSIM_CONFIG`, what
   ``capplan dynamic --compat cloudsim`` runs) and the relative error of energy, migrations,
   host shutdowns, SLATAH, PDM and SLAV; a row is within the issue's target when energy is
   within 0.1 % and migrations, SLATAH, PDM and SLAV within 1 %.
2. :func:`round_diff`: for the policy-days with a round log, capplan's per-round trace (a
   recording wrapper around the policy, :func:`traced_policy`; the engine is unchanged) beside
   CloudSim's, and the first place they part: the t = 0 map (first VM on another host), the
   first round whose counts or energy differ, and the first migration that differs.
   ``start="cloudsim"`` starts capplan from CloudSim's own t = 0 map instead of capplan's
   placement, to look past that first difference.

``*-rs`` rows: CloudSim's random selection draws from an unseeded ``new Random()`` on every
pick. ``summary_rs_seeded.csv`` holds the same policy-days run with one seeded generator
(``rs_seed`` column; the peer patch is described in the fixture's README): capplan draws from
``java.util.Random``'s own generator with that seed, so these rows are compared exactly like
the deterministic ones. In the as-shipped (unseeded) rows a CloudSim row is one sample of a
distribution: capplan runs the row with
``rs_seeds`` seeds and the row is within the target when, for every target metric, CloudSim's
sample lies within :data:`RS_Z_LIMIT` standard deviations of capplan's mean over the seeds
(the "capplan" value of such a row is that mean).
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rich import box
from rich.console import Console
from rich.table import Table

from capplan.cli_app import console
from capplan.demand import load_workload
from capplan.dynamic.compat import cloudsim_fleet, cloudsim_vms
from capplan.dynamic.config import CLOUDSIM_CONFIG
from capplan.dynamic.contract import Policy
from capplan.dynamic.engine import DynamicResult, simulate
from capplan.dynamic.fleet import HostFleet, VmSet
from capplan.dynamic.policies import get_policy
from capplan.dynamic.state import Simulation
from capplan.errors import CapplanError
from capplan.units import KWH_PER_WS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: The issue's targets: largest relative error per metric for a row to count as matching.
TARGETS: Final[dict[str, float]] = {
    "energy_kwh": 0.001,
    "n_migrations": 0.01,
    "slatah_frac": 0.01,
    "pdm_frac": 0.01,
    "slav": 0.01,
}
#: Compared metrics: capplan summary key → CloudSim column of ``summary_sorted.csv``.
METRIC_COLUMNS: Final[dict[str, str]] = {
    "energy_kwh": "energy_kWh",
    "n_migrations": "vm_migrations",
    "n_host_shutdowns": "host_shutdowns",
    "slatah_frac": "slatah_fraction",
    "pdm_frac": "pdm_fraction",
    "slav": "slav_fraction",
}
#: The seeded ``*-rs`` rows of a reference folder (optional).
SEEDED_RS_FILE: Final = "summary_rs_seeded.csv"
#: ``*-rs`` rows: largest |z| of CloudSim's sample against capplan's seeds, per target metric.
RS_Z_LIMIT: Final = 3.0
#: ``*-rs`` rows: seeds capplan runs by default (42, 43, ...).
RS_SEEDS: Final = 8
#: Relative tolerance on cumulative energy in the round differential (summation order).
ENERGY_RTOL: Final = 1e-9
#: Fields of a round row, in report order.
ROUND_FIELDS: Final = ("active_hosts", "hosts_with_vms", "vms_alive", "migrations", "energy_ws")
#: The starts :func:`round_diff` knows: capplan's own initial placement, or CloudSim's map.
STARTS: Final = ("capplan", "cloudsim")


def default_fixture_dir() -> Path:
    """``tests/fixtures/cloudsim`` of the checkout this module belongs to."""
    return Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cloudsim"


# ---------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class ReferenceRow:
    """One (day, policy) row of ``summary_sorted.csv`` (CloudSim's printed figures).

    ``rs_seed`` is set for an ``*-rs`` row run with a seeded generator (the optional
    ``rs_seed`` column of ``summary_rs_seeded.csv``): CloudSim drew every pick from one
    ``new java.util.Random(rs_seed)``, which capplan reproduces draw for draw
    (:mod:`capplan.dynamic.kernels.javarandom`), so the row is compared exactly.
    """

    day: str
    policy: str
    n_hosts: int
    n_vms: int
    energy_kwh: float
    n_migrations: int
    n_host_shutdowns: int
    slatah_frac: float
    pdm_frac: float
    slav: float
    sla_overall_frac: float
    rs_seed: int | None = None

    def metric(self, key: str) -> float:
        """The value of a :data:`METRIC_COLUMNS` key."""
        return float(getattr(self, key))


def read_summary(path: Path) -> list[ReferenceRow]:
    """Rows of a ``summary_sorted.csv``, in file order.

    Raises
    ------
    CapplanError
        The file is missing, lacks a column, or holds a value that is not a number.
    """
    if not path.is_file():
        raise CapplanError(
            "CloudSim reference summary not found; --against DIR needs DIR/summary_sorted.csv "
            "(tests/fixtures/cloudsim in the repository)",
            path=path,
        )
    needed = ("day", "policy", "hosts", "vms", "sla_overall_violation_fraction")
    rows: list[ReferenceRow] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in (*needed, *METRIC_COLUMNS.values()) if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise CapplanError(
                f"CloudSim summary lacks column(s) {', '.join(missing)}", path=path, line=1
            )
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append(
                    ReferenceRow(
                        day=raw["day"].strip(),
                        policy=raw["policy"].strip(),
                        n_hosts=int(raw["hosts"]),
                        n_vms=int(raw["vms"]),
                        energy_kwh=float(raw["energy_kWh"]),
                        n_migrations=int(raw["vm_migrations"]),
                        n_host_shutdowns=int(raw["host_shutdowns"]),
                        slatah_frac=float(raw["slatah_fraction"]),
                        pdm_frac=float(raw["pdm_fraction"]),
                        slav=float(raw["slav_fraction"]),
                        sla_overall_frac=float(raw["sla_overall_violation_fraction"]),
                        rs_seed=int(raw["rs_seed"]) if (raw.get("rs_seed") or "").strip() else None,
                    )
                )
            except (TypeError, ValueError) as exc:
                raise CapplanError(
                    f"CloudSim summary row is not numeric where expected ({exc})",
                    path=path,
                    line=line,
                ) from None
    return rows


@dataclass
class RoundLog:
    """CloudSim's per-round log of one policy-day (``rounds/<day>_<policy>.csv``).

    Attributes
    ----------
    alloc
        Host of each VM at t = 0.1 s, ``(n_vms,)`` (-1 for a VM without a row).
    times_s
        Round times, ``(n_rounds,)``.
    rounds
        Per round: ``active_hosts``, ``hosts_with_vms``, ``vms_alive``, ``migrations``
        (int64) and ``energy_ws`` (cumulative W·s, float64), each ``(n_rounds,)``.
    moves
        Per round time: the migrations started, ``(vm, from_host, to_host)`` in log order.
    moves_complete
        Whether ``moves`` covers every round (the ``_migrations.csv.gz`` file was read) or only
        the first ones the round log carries.
    """

    alloc: IntArray
    times_s: FloatArray
    rounds: dict[str, npt.NDArray[Any]]
    moves: dict[float, list[tuple[int, int, int]]] = field(default_factory=dict)
    moves_complete: bool = False


def _parse_moves(rows: Iterable[dict[str, str]]) -> dict[float, list[tuple[int, int, int]]]:
    moves: dict[float, list[tuple[int, int, int]]] = {}
    for raw in rows:
        if raw["kind"] != "mig":
            continue
        source = int(raw["from_host"]) if raw["from_host"] else -1
        moves.setdefault(float(raw["time_s"]), []).append(
            (int(raw["vm"]), source, int(raw["to_host"]))
        )
    return moves


def read_round_log(path: Path, n_vms: int | None = None) -> RoundLog:
    """Read ``rounds/<day>_<policy>.csv`` and, if present, its ``_migrations.csv.gz``.

    Raises
    ------
    CapplanError
        The file is missing or malformed (the message gives the line).
    """
    if not path.is_file():
        raise CapplanError("CloudSim round log not found", path=path)
    alloc_pairs: list[tuple[int, int]] = []
    times: list[float] = []
    values: dict[str, list[float]] = {name: [] for name in ROUND_FIELDS}
    mig_rows: list[dict[str, str]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        line = 1
        try:
            for row_line, raw in enumerate(reader, start=2):
                line = row_line  # named in the error below
                kind = raw["kind"]
                if kind == "alloc":
                    host = int(raw["to_host"]) if raw["to_host"] else -1
                    alloc_pairs.append((int(raw["vm"]), host))
                elif kind == "round":
                    times.append(float(raw["time_s"]))
                    values["active_hosts"].append(int(raw["active_hosts"]))
                    values["hosts_with_vms"].append(int(raw["hosts_with_vms"]))
                    alive = raw.get("vms_alive") or ""
                    values["vms_alive"].append(int(alive) if alive else -1)
                    values["migrations"].append(int(raw["migrations"]))
                    values["energy_ws"].append(float(raw["energy_cum_Ws"]))
                elif kind == "mig":
                    mig_rows.append(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise CapplanError(
                f"malformed CloudSim round log ({exc!r})", path=path, line=line
            ) from None
    size = max([vm for vm, _ in alloc_pairs] + [-1]) + 1 if n_vms is None else n_vms
    alloc = np.full(size, -1, dtype=np.int64)
    for vm, host in alloc_pairs:
        if vm < size:
            alloc[vm] = host
    rounds: dict[str, npt.NDArray[Any]] = {
        name: np.asarray(vals, dtype=np.float64 if name == "energy_ws" else np.int64)
        for name, vals in values.items()
    }
    log = RoundLog(alloc, np.asarray(times, dtype=np.float64), rounds, _parse_moves(mig_rows))
    full = path.with_name(path.stem + "_migrations.csv.gz")
    if full.is_file():
        with gzip.open(full, "rt", newline="", encoding="utf-8") as handle:
            log.moves = _parse_moves(csv.DictReader(handle))
        log.moves_complete = True
    return log


def round_log_path(against: Path, day: str, policy: str) -> Path:
    """Where the round log of a policy-day lives under ``against``."""
    return against / "rounds" / f"{day}_{policy}.csv"


# ---------------------------------------------------------------------------- capplan side
@dataclass
class RoundTrace:
    """capplan's per-round trace, recorded by :func:`traced_policy`.

    ``initial_host`` is the VM → host map right after the initial placement; the per-round
    lists are taken right after each round's host update (CloudSim logs its counts before
    optimising), ``moves`` are the migrations the engine starts in that round.
    """

    initial_host: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    times_s: list[float] = field(default_factory=list)
    active_hosts: list[int] = field(default_factory=list)
    hosts_with_vms: list[int] = field(default_factory=list)
    vms_alive: list[int] = field(default_factory=list)
    energy_ws: list[float] = field(default_factory=list)
    moves: list[list[tuple[int, int, int]]] = field(default_factory=list)

    def rounds(self) -> dict[str, npt.NDArray[Any]]:
        """The per-round fields as arrays (keys of :data:`ROUND_FIELDS`)."""
        return {
            "active_hosts": np.asarray(self.active_hosts, dtype=np.int64),
            "hosts_with_vms": np.asarray(self.hosts_with_vms, dtype=np.int64),
            "vms_alive": np.asarray(self.vms_alive, dtype=np.int64),
            "migrations": np.asarray([len(m) for m in self.moves], dtype=np.int64),
            "energy_ws": np.asarray(self.energy_ws, dtype=np.float64),
        }


def traced_policy(policy: Policy, trace: RoundTrace, initial: IntArray | None = None) -> Policy:
    """``policy`` with every round recorded into ``trace``; same decisions, same results.

    The wrapper reads the simulation before and after the policy's own calls and never
    writes to it, except that ``initial`` (a host per VM) replaces the initial placement.
    A policy without migrations gets an optimiser that returns none (the engine then
    starts nothing and updates nothing).
    """

    def place_initial(sim: Simulation) -> None:
        if initial is None:
            policy.place_initial(sim)
        else:
            if len(initial) != sim.n_vms or (initial < 0).any() or (initial >= sim.n_hosts).any():
                raise CapplanError(
                    f"the CloudSim t = 0 map does not place each of the {sim.n_vms} VMs on one "
                    f"of the {sim.n_hosts} hosts"
                )
            for vm, host in enumerate(initial.tolist()):
                sim.place(vm, host)
        trace.initial_host = sim.host_of.copy()

    def optimize(sim: Simulation, time_s: float) -> list[tuple[int, int]]:
        placed = sim.host_of[sim.host_of >= 0]
        trace.times_s.append(time_s)
        trace.active_hosts.append(int((sim.util_mips > 0).sum()))
        fl_tg = sim.flight_arrays().target
        trace.hosts_with_vms.append(len(np.union1d(placed, fl_tg)))
        trace.vms_alive.append(len(placed))
        trace.energy_ws.append(sim.energy_ws)
        moves = policy.optimize(sim, time_s) if policy.optimize is not None else []
        started: list[tuple[int, int, int]] = []
        for vm, target in moves:
            source = int(sim.host_of[int(vm)])
            if source >= 0 and source != int(target):  # what start_migrations skips
                started.append((int(vm), source, int(target)))
        trace.moves.append(started)
        return moves

    return Policy(policy.name, place_initial, optimize, policy.energy_model)


def run_policy_day(
    vms: VmSet,
    fleet: HostFleet,
    policy: str,
    *,
    seed: int = 42,
    trace: RoundTrace | None = None,
    initial: IntArray | None = None,
) -> DynamicResult:
    """capplan's CloudSim compat run of one policy-day (``capplan dynamic --compat cloudsim``).

    With ``trace``, rounds are recorded into it (:func:`traced_policy`); ``initial`` replaces
    the initial placement by a given VM → host map.
    """
    chosen = get_policy(policy)
    if trace is not None or initial is not None:
        chosen = traced_policy(chosen, trace if trace is not None else RoundTrace(), initial)
    return simulate(vms, fleet, chosen, CLOUDSIM_CONFIG.with_(seed=seed), mode="cloudsim")


# ---------------------------------------------------------------------------- summaries
def relative_error(ours: float, theirs: float) -> float:
    """``(ours − theirs) / |theirs|``; 0 when both are 0, ±inf when only CloudSim's is 0."""
    if theirs == 0:
        return 0.0 if ours == 0 else math.copysign(math.inf, ours)
    return (ours - theirs) / abs(theirs)


def compare_row(reference: ReferenceRow, result: DynamicResult) -> dict[str, Any]:
    """One row of the table: both sides' metrics, relative errors and the target verdict."""
    ours = result.summary()
    metrics: dict[str, dict[str, float]] = {}
    for key in METRIC_COLUMNS:
        value = float(ours[key])  # type: ignore[arg-type]
        theirs = reference.metric(key)
        metrics[key] = {
            "cloudsim": theirs,
            "capplan": value,
            "rel_error": relative_error(value, theirs),
        }
    misses = [k for k, limit in TARGETS.items() if not abs(metrics[k]["rel_error"]) <= limit]
    return {
        "day": reference.day,
        "policy": reference.policy,
        "rs_seed": reference.rs_seed,
        "n_vms": result.n_vms,
        "metrics": metrics,
        "within_target": not misses,
        "off_target": misses,
    }


def compare_rs_row(reference: ReferenceRow, results: list[DynamicResult]) -> dict[str, Any]:
    """An ``*-rs`` row: CloudSim's one sample against capplan's mean and spread over seeds.

    Each metric carries capplan's mean (``capplan``), its sample standard deviation
    (``capplan_sd``) and CloudSim's z-score against them (``z``; 0 when every seed gave the
    same value and CloudSim too, ±inf when only CloudSim differs). The row is within the
    target when every target metric has ``|z| ≤`` :data:`RS_Z_LIMIT`.
    """
    summaries = [r.summary() for r in results]
    metrics: dict[str, dict[str, float]] = {}
    for key in METRIC_COLUMNS:
        values = np.array([float(s[key]) for s in summaries])  # type: ignore[arg-type]
        mean = float(values.mean())
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        theirs = reference.metric(key)
        if sd > 0:
            z = (theirs - mean) / sd
        else:
            z = 0.0 if theirs == mean else math.copysign(math.inf, theirs - mean)
        metrics[key] = {
            "cloudsim": theirs,
            "capplan": mean,
            "capplan_sd": sd,
            "rel_error": relative_error(mean, theirs),
            "z": z,
        }
    misses = [k for k in TARGETS if not abs(metrics[k]["z"]) <= RS_Z_LIMIT]
    return {
        "day": reference.day,
        "policy": reference.policy,
        "n_vms": results[0].n_vms,
        "metrics": metrics,
        "n_seeds": len(results),
        "within_target": not misses,
        "off_target": misses,
    }


def _check_known(wanted: list[str] | None, known: list[str], what: str, option: str) -> None:
    """Refuse filter values the reference does not hold, listing those it holds."""
    unknown = [w for w in wanted or [] if w not in known]
    if unknown:
        raise CapplanError(
            f"no CloudSim reference for {what} {', '.join(unknown)}; available: {', '.join(known)}",
            spec_path=option,
        )


def select_rows(
    rows: list[ReferenceRow], days: list[str] | None, policies: list[str] | None
) -> list[ReferenceRow]:
    """Rows whose day and policy are in the filters (None: all).

    Raises
    ------
    CapplanError
        A filter names a day or policy the reference does not hold (listing those it holds).
    """
    _check_known(days, sorted({r.day for r in rows}), "day(s)", "--days")
    _check_known(policies, sorted({r.policy for r in rows}), "policy(ies)", "--policies")
    return [
        r for r in rows if (not days or r.day in days) and (not policies or r.policy in policies)
    ]


def compare_summaries(
    rows: list[ReferenceRow],
    data_dir: Path,
    *,
    seed: int = 42,
    rs_seeds: int = RS_SEEDS,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run capplan on every row's day and policy; return :func:`compare_row` per row.

    ``*-rs`` rows run ``rs_seeds`` seeds from ``seed`` on (:func:`compare_rs_row`).
    """
    fleet = cloudsim_fleet()
    out: list[dict[str, Any]] = []
    by_day: dict[str, list[ReferenceRow]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    for day, day_rows in by_day.items():
        vms = load_day(data_dir, day)
        for row in day_rows:
            if row.n_vms != vms.n_vms:
                raise CapplanError(
                    f"day {day}: CloudSim ran {row.n_vms} VMs, the trace folder has {vms.n_vms}",
                    path=data_dir / day,
                )
            if row.rs_seed is not None:
                result = run_policy_day(vms, fleet, row.policy, seed=row.rs_seed)
                out.append(compare_row(row, result))
            elif row.policy.endswith("-rs") and rs_seeds > 1:
                results = [
                    run_policy_day(vms, fleet, row.policy, seed=seed + k) for k in range(rs_seeds)
                ]
                result = results[0]
                out.append(compare_rs_row(row, results))
            else:
                result = run_policy_day(vms, fleet, row.policy, seed=seed)
                out.append(compare_row(row, result))
            if progress:
                err = out[-1]["metrics"]["energy_kwh"]["rel_error"]
                Console(stderr=True).print(
                    f"{day} {row.policy:8s} energy {result.energy_kwh:9.3f} kWh "
                    f"({err * 100:+.2f} %), {result.n_migrations:6d} migrations"
                )
    return out


def list_days(data_dir: Path) -> list[str]:
    """Day folders (``YYYYMMDD``) under ``data_dir``, sorted."""
    if not data_dir.is_dir():
        raise CapplanError(
            "PlanetLab data folder not found; pass --data DIR (a folder of day folders)",
            path=data_dir,
        )
    days = sorted(p.name for p in data_dir.iterdir() if p.is_dir() and p.name.isdigit())
    if not days:
        raise CapplanError("no day folders (YYYYMMDD) in the PlanetLab data folder", path=data_dir)
    return days


def load_day(data_dir: Path, day: str) -> VmSet:
    """The CloudSim VMs of one PlanetLab day folder (name-sorted trace order)."""
    folder = data_dir / day
    if not folder.is_dir():
        raise CapplanError("PlanetLab day folder not found; pass --data DIR", path=folder)
    return cloudsim_vms(load_workload(f"planetlab:{folder}"))


# ---------------------------------------------------------------------------- rounds
def _per_host(alloc: IntArray) -> dict[str, Any]:
    placed = alloc[alloc >= 0]
    counts = np.bincount(placed) if len(placed) else np.zeros(0, dtype=np.int64)
    counts = counts[counts > 0]
    histogram = Counter(counts.tolist())
    return {
        "hosts_used": len(counts),
        "vms_per_host": {str(k): histogram[k] for k in sorted(histogram)},
        "hosts_used_even": len(np.unique(placed[placed % 2 == 0])),
        "hosts_used_odd": len(np.unique(placed[placed % 2 == 1])),
    }


def diff_alloc(cloudsim: IntArray, capplan: IntArray) -> dict[str, Any]:
    """The t = 0 VM → host maps side by side: host usage and the first VM placed elsewhere."""
    n = min(len(cloudsim), len(capplan))
    differ = np.flatnonzero(cloudsim[:n] != capplan[:n])
    first: dict[str, int] | None = None
    if len(differ):
        vm = int(differ[0])
        first = {"vm": vm, "cloudsim_host": int(cloudsim[vm]), "capplan_host": int(capplan[vm])}
    return {
        "n_vms": n,
        "n_vms_elsewhere": len(differ),
        "first_difference": first,
        "cloudsim": _per_host(cloudsim),
        "capplan": _per_host(capplan),
    }


def _same(name: str, a: float, b: float) -> bool:
    if name == "energy_ws":
        return math.isclose(a, b, rel_tol=ENERGY_RTOL, abs_tol=1e-6)
    return a == b


def diff_rounds(log: RoundLog, trace: RoundTrace) -> dict[str, Any]:
    """Round rows side by side: the first round that differs, and the first per field."""
    ours = trace.rounds()
    ours_t = np.asarray(trace.times_s)
    n = min(len(log.times_s), len(ours_t))
    time_mismatch = np.flatnonzero(np.abs(log.times_s[:n] - ours_t[:n]) > 1e-6)
    first_per_field: dict[str, Any] = {}
    first_round: int | None = None
    for name in ROUND_FIELDS:
        theirs = log.rounds[name]
        if name == "vms_alive" and (theirs[:n] < 0).all():
            first_per_field[name] = None  # not logged by this CloudSim build
            continue
        index = next(
            (i for i in range(n) if not _same(name, float(theirs[i]), float(ours[name][i]))),
            None,
        )
        if index is None:
            first_per_field[name] = None
            continue
        first_per_field[name] = {
            "round": index + 1,
            "time_s": float(log.times_s[index]),
            "cloudsim": _number(theirs[index]),
            "capplan": _number(ours[name][index]),
        }
        first_round = index if first_round is None else min(first_round, index)
    at_first: dict[str, Any] | None = None
    if first_round is not None:
        at_first = {
            "round": first_round + 1,
            "time_s": float(log.times_s[first_round]),
            "fields": {
                name: {
                    "cloudsim": _number(log.rounds[name][first_round]),
                    "capplan": _number(ours[name][first_round]),
                }
                for name in ROUND_FIELDS
            },
        }
    end = (
        {
            name: {
                "cloudsim": _number(log.rounds[name][n - 1]),
                "capplan": _number(ours[name][n - 1]),
            }
            for name in ROUND_FIELDS
        }
        if n
        else {}
    )
    return {
        "n_rounds": {"cloudsim": len(log.times_s), "capplan": len(ours_t)},
        "round_times_match": len(time_mismatch) == 0 and len(log.times_s) == len(ours_t),
        "first_round_that_differs": at_first,
        "first_difference_per_field": first_per_field,
        "last_round": end,
    }


def _number(value: Any) -> float | int:
    return float(value) if isinstance(value, float | np.floating) else int(value)


def diff_moves(log: RoundLog, trace: RoundTrace) -> dict[str, Any]:
    """Migrations side by side: round 1 in full, then the first migration that differs."""
    times = list(log.times_s)
    first: dict[str, Any] | None = None
    compared = 0
    for index, t in enumerate(times):
        if index >= len(trace.moves):
            break
        if not log.moves_complete and t > max(log.moves, default=-1.0):
            break
        theirs = log.moves.get(t, [])
        ours = trace.moves[index]
        compared += 1
        if theirs == ours:
            continue
        k = next((i for i in range(min(len(theirs), len(ours))) if theirs[i] != ours[i]), None)
        k = min(len(theirs), len(ours)) if k is None else k
        first = {
            "round": index + 1,
            "time_s": t,
            "index": k,
            "cloudsim": list(theirs[k]) if k < len(theirs) else None,
            "capplan": list(ours[k]) if k < len(ours) else None,
            "n_cloudsim": len(theirs),
            "n_capplan": len(ours),
            "same_vm_target_pairs": len(
                {(v, d) for v, _, d in theirs} & {(v, d) for v, _, d in ours}
            ),
        }
        break
    round1: dict[str, Any] = {}
    if times and trace.moves:
        theirs = log.moves.get(times[0], [])
        ours = trace.moves[0]
        round1 = {
            "n_cloudsim": len(theirs),
            "n_capplan": len(ours),
            "same_vms": len({v for v, _, _ in theirs} & {v for v, _, _ in ours}),
            "same_vm_target_pairs": len(
                {(v, d) for v, _, d in theirs} & {(v, d) for v, _, d in ours}
            ),
            "cloudsim_sources": len({s for _, s, _ in theirs}),
            "capplan_sources": len({s for _, s, _ in ours}),
            "cloudsim_targets": len({d for _, _, d in theirs}),
            "capplan_targets": len({d for _, _, d in ours}),
        }
    return {
        "rounds_compared": compared,
        "complete_log": log.moves_complete,
        "first_difference": first,
        "round_1": round1,
    }


def round_diff(
    against: Path,
    data_dir: Path,
    day: str,
    policy: str,
    *,
    start: str = "capplan",
    seed: int = 42,
    vms: VmSet | None = None,
    fleet: HostFleet | None = None,
) -> dict[str, Any]:
    """Round-by-round differential of one policy-day against its CloudSim round log.

    Parameters
    ----------
    against
        The reference folder (holds ``rounds/<day>_<policy>.csv``).
    data_dir
        Folder of PlanetLab day folders.
    start
        ``"capplan"``: capplan's own initial placement; ``"cloudsim"``: CloudSim's t = 0 map.
    vms, fleet
        The day's VMs and the fleet, if already loaded.
    """
    if start not in STARTS:
        raise CapplanError(f"unknown start {start!r}; valid: {', '.join(STARTS)}")
    day_vms = vms if vms is not None else load_day(data_dir, day)
    hosts = fleet if fleet is not None else cloudsim_fleet()
    log = read_round_log(round_log_path(against, day, policy), day_vms.n_vms)
    trace = RoundTrace()
    initial = log.alloc if start == "cloudsim" else None
    result = run_policy_day(day_vms, hosts, policy, seed=seed, trace=trace, initial=initial)
    return {
        "day": day,
        "policy": policy,
        "start": start,
        "alloc": diff_alloc(log.alloc, trace.initial_host),
        "rounds": diff_rounds(log, trace),
        "migrations": diff_moves(log, trace),
        "capplan_energy_kwh": result.energy_kwh,
        "capplan_n_migrations": result.n_migrations,
        "capplan_energy_ws_check": result.energy_kwh / KWH_PER_WS,
    }


def available_round_logs(against: Path) -> list[tuple[str, str]]:
    """(day, policy) of every round log under ``against/rounds``, sorted."""
    folder = against / "rounds"
    if not folder.is_dir():
        return []
    found: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.csv")):
        day, _, policy = path.stem.partition("_")
        if day.isdigit() and policy:
            found.append((day, policy))
    return found


# ---------------------------------------------------------------------------- the bench
def run_against(
    against: Path,
    data_dir: Path,
    *,
    days: list[str] | None = None,
    policies: list[str] | None = None,
    rounds: bool = True,
    start: str = "capplan",
    seed: int = 42,
    rs_seeds: int = RS_SEEDS,
    progress: bool = False,
) -> dict[str, Any]:
    """The comparison table for the selected rows, and the round differentials; JSON-ready."""
    folder = against.resolve()
    reference = read_summary(folder / "summary_sorted.csv")
    if (folder / SEEDED_RS_FILE).is_file():
        reference += read_summary(folder / SEEDED_RS_FILE)
    chosen = select_rows(reference, days, policies)
    table = compare_summaries(chosen, data_dir, seed=seed, rs_seeds=rs_seeds, progress=progress)
    diffs: list[dict[str, Any]] = []
    if rounds:
        wanted = {(r.day, r.policy) for r in chosen}
        fleet = cloudsim_fleet()
        loaded: dict[str, VmSet] = {}
        for day, policy in available_round_logs(folder):
            if (day, policy) not in wanted:
                continue
            if day not in loaded:
                loaded[day] = load_day(data_dir, day)
            diffs.append(
                round_diff(
                    folder,
                    data_dir,
                    day,
                    policy,
                    start=start,
                    seed=seed,
                    vms=loaded[day],
                    fleet=fleet,
                )
            )
    return {
        "against": str(folder),
        "data_dir": str(data_dir),
        "targets": dict(TARGETS),
        "rows": table,
        "n_rows": len(table),
        "n_within_target": sum(1 for row in table if row["within_target"]),
        "round_diffs": diffs,
        "rs_seeds": rs_seeds,
        "note": (
            "'*-rs seed S' rows: CloudSim with one java.util.Random(S), compared exactly; "
            f"other *-rs rows: CloudSim's unseeded sample against capplan's mean over "
            f"{rs_seeds} seeds, within the target when |z| <= {RS_Z_LIMIT:g} on every "
            "target metric"
        ),
    }


# ---------------------------------------------------------------------------- printing
_LABELS: Final[dict[str, str]] = {
    "active_hosts": "active hosts",
    "hosts_with_vms": "hosts with VMs",
    "vms_alive": "VMs alive",
    "migrations": "migrations",
    "energy_ws": "energy W·s",
}


def _pct(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value * 100:+.2f}%"


def _delta(metric: dict[str, float]) -> str:
    """Relative error, and for an ``*-rs`` row CloudSim's z-score against capplan's seeds."""
    text = _pct(metric["rel_error"])
    if "z" in metric:
        text += f" z{metric['z']:+.1f}"
    return text


def print_against(figures: dict[str, Any], out: Console | None = None) -> None:
    """The comparison table, the target count and each round differential."""
    con = out or Console(width=max(console.width, 150))
    table = Table(
        title=f"CloudSim 4.0 ({figures['against']}) vs capplan --compat cloudsim",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = [
        "day",
        "policy",
        "kWh\nCloudSim",
        "kWh\ncapplan",
        "Δ kWh",
        "migr.\nCloudSim",
        "migr.\ncapplan",
        "Δ migr.",
        "shutdowns\nCloudSim",
        "shutdowns\ncapplan",
        "Δ\nSLATAH",
        "Δ\nPDM",
        "Δ\nSLAV",
        "target",
    ]
    for name in columns:
        left = name in ("day", "policy")
        table.add_column(name, justify="left" if left else "right", no_wrap=left)
    for row in figures["rows"]:
        m = row["metrics"]
        table.add_row(
            row["day"],
            row["policy"]
            if row.get("rs_seed") is None
            else f"{row['policy']} seed {row['rs_seed']}",
            f"{m['energy_kwh']['cloudsim']:.3f}",
            f"{m['energy_kwh']['capplan']:.3f}",
            _delta(m["energy_kwh"]),
            f"{m['n_migrations']['cloudsim']:,.0f}",
            f"{m['n_migrations']['capplan']:,.0f}",
            _delta(m["n_migrations"]),
            f"{m['n_host_shutdowns']['cloudsim']:,.0f}",
            f"{m['n_host_shutdowns']['capplan']:,.0f}",
            _delta(m["slatah_frac"]),
            _delta(m["pdm_frac"]),
            _delta(m["slav"]),
            "[green]yes[/]" if row["within_target"] else "[red]no[/]",
        )
    con.print(table)
    con.print(
        f"{figures['n_within_target']} of {figures['n_rows']} rows within the target "
        "(energy ±0.1 %, migrations, SLATAH, PDM and SLAV ±1 %). "
        f"{figures['note']}."
    )
    for diff in figures["round_diffs"]:
        print_round_diff(diff, con)


def print_round_diff(diff: dict[str, Any], out: Console | None = None) -> None:
    """One policy-day's differential: t = 0 map, first round and first migration that differ."""
    con = out or console
    con.print(
        f"\n[bold]{diff['day']} {diff['policy']}[/] "
        f"(capplan starts from the {diff['start']} t = 0 map)"
    )
    alloc = diff["alloc"]
    cs, cp = alloc["cloudsim"], alloc["capplan"]
    con.print(
        f"  t = 0 map: CloudSim uses {cs['hosts_used']} hosts {cs['vms_per_host']} "
        f"(G4 {cs['hosts_used_even']}, G5 {cs['hosts_used_odd']}); capplan {cp['hosts_used']} "
        f"{cp['vms_per_host']} (G4 {cp['hosts_used_even']}, G5 {cp['hosts_used_odd']}); "
        f"{alloc['n_vms_elsewhere']} of {alloc['n_vms']} VMs elsewhere"
    )
    if alloc["first_difference"]:
        f = alloc["first_difference"]
        con.print(
            f"    first: VM {f['vm']} on CloudSim host {f['cloudsim_host']}, "
            f"capplan host {f['capplan_host']}"
        )
    rounds = diff["rounds"]
    first = rounds["first_round_that_differs"]
    if not rounds["round_times_match"]:
        con.print(f"  round times differ: counts {rounds['n_rounds']}")
    if first is None:
        con.print("  every round row matches")
    else:
        parts = ", ".join(
            f"{_LABELS[k]} {_fmt(v['cloudsim'])} vs {_fmt(v['capplan'])}"
            for k, v in first["fields"].items()
        )
        con.print(f"  first round that differs: #{first['round']} at {first['time_s']} s: {parts}")
        per = [
            f"{_LABELS[k]} #{v['round']}"
            for k, v in rounds["first_difference_per_field"].items()
            if v
        ]
        con.print(f"    first difference per field (CloudSim vs capplan): {', '.join(per)}")
    moves = diff["migrations"]
    r1 = moves["round_1"]
    if r1:
        con.print(
            f"  round 1 migrations: CloudSim {r1['n_cloudsim']} (from {r1['cloudsim_sources']} "
            f"hosts to {r1['cloudsim_targets']}), capplan {r1['n_capplan']} (from "
            f"{r1['capplan_sources']} to {r1['capplan_targets']}); {r1['same_vms']} VMs and "
            f"{r1['same_vm_target_pairs']} (VM, target) pairs in common"
        )
    mf = moves["first_difference"]
    if mf is None:
        con.print(f"  migrations match in all {moves['rounds_compared']} rounds compared")
    else:
        con.print(
            f"  first migration that differs: round #{mf['round']} ({mf['time_s']} s), "
            f"move {mf['index']}: CloudSim {_move(mf['cloudsim'])}, capplan {_move(mf['capplan'])}"
        )
    last_energy = rounds["last_round"].get("energy_ws", {})
    con.print(
        f"  end of day: energy {last_energy.get('cloudsim', 0) / 3.6e6:.2f}"
        f" vs {last_energy.get('capplan', 0) / 3.6e6:.2f} kWh at the last round"
    )


def _fmt(value: float | int) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def _move(move: list[int] | None) -> str:
    if move is None:
        return "none"
    vm, source, target = move
    return f"VM {vm} host {source} → {target}"
