"""Solve strategies, chosen by name, and the one entry point :func:`solve`.

Strategies (``STRATEGIES``):

- ``ffd``: first-fit decreasing with every size measure; the best packing is kept.
- ``bfd``: best-fit decreasing likewise.
- ``heuristics``: every greedy rule (item-centric, bin-centric, pair look-ahead) and the
  multi-bin binary search.
- ``cpsat``: one CP-SAT model of the whole instance, warm-started by FFD.
- ``lns``: the greedy rules, then large-neighbourhood search until the time limit.
- ``eject``: the greedy rules, then bin elimination by ejection chains until the time limit.
- ``auto``: the greedy rules and the multi-bin search; the full CP-SAT model when the
  instance is small; then ejection chains, simulated annealing
  (:mod:`capplan.optimize.anneal`, on time-varying instances) and overflow repair
  (:mod:`capplan.optimize.overflow`), both on instances without per-bin rules beyond type
  and zone, and CP-SAT neighbourhoods in turn. Where the annealing runs, it comes first: the
  ejection chains wait for the second round.

Every result is checked by :mod:`capplan.optimize.validator` (which does not import the
solver) and reports a lower bound and the gap to it. An infeasible instance or a time-out
without a packing gives a :class:`SolveReport` that says so; nothing raises for them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from capplan.errors import InfeasibleError, SolverError
from capplan.optimize import cpsat, heuristics, lns
from capplan.optimize.bounds import BoundReport, lower_bound
from capplan.optimize.clock import WORK_SHARE, Clock
from capplan.optimize.explain import Explanation, explain_solution, infeasibility_reason
from capplan.optimize.instance import Instance, Solution
from capplan.optimize.rules.affinity import contract_affinity
from capplan.optimize.validator import validate
from capplan.status import SolveStatus

OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN = (
    SolveStatus.OPTIMAL,
    SolveStatus.FEASIBLE,
    SolveStatus.INFEASIBLE,
    SolveStatus.UNKNOWN,
)

#: Largest (items × candidate bins) for which ``auto`` builds the full CP-SAT model.
FULL_MODEL_MAX_VARS = 6000
#: Larger limit used when no greedy rule found a packing (the model is then the only hope).
NO_START_MAX_VARS = 250_000


@dataclass(frozen=True)
class ProgressEvent:
    """A progress report during a solve.

    Attributes
    ----------
    phase
        ``bounds``, ``heuristics``, ``cpsat``, ``lns`` or ``done``.
    elapsed_s
        Seconds since the solve started.
    objective
        Best objective so far (None before the first packing).
    bound
        Best lower bound so far.
    message
        Human-readable detail.
    """

    phase: str
    elapsed_s: float
    objective: int | None
    bound: int
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class SolveReport:
    """Outcome of a solve: status, objective, bound and gap, time.

    Attributes
    ----------
    status
        ``optimal`` (objective equals the bound), ``feasible`` (a packing, gap open),
        ``infeasible`` (no packing exists; ``reason`` says why) or ``unknown`` (no packing
        found within the time limit).
    objective
        Objective of the packing in objective units, or None.
    bound
        Lower bound on the objective.
    gap_frac
        ``(objective - bound) / objective`` (0 when both are 0), or None without a packing.
    wall_s
        Seconds spent.
    n_bins
        Open bins in the packing (0 without one).
    bins_by_type
        Open bins per type name.
    strategy
        Strategy name requested.
    method
        What produced the final packing (``ffd-avg_sum``, ``cpsat``, ``lns``...).
    objective_unit, objective_scale
        One objective unit is ``objective_scale`` of ``objective_unit``.
    bound_source
        Kind of bound that is tightest (``volume``, ``l2``, ``clique``, ``anti_affinity``,
        ``cpsat``).
    reason
        Why there is no packing (infeasible or unknown).
    stopped_by
        What ended the search: ``proof`` (optimal, or infeasibility proven), ``work budget``
        (the deterministic budget ran out: the same inputs and seed give the same result),
        ``wall-clock limit`` (the time limit in real seconds came first: the result may differ
        between runs) or ``search exhausted`` (every step of the strategy ran).
    notes
        Remarks (data reductions, checks that were sampled...).
    stats
        Counters (heuristic results, LNS steps...).
    """

    status: SolveStatus
    objective: int | None
    bound: int
    gap_frac: float | None
    wall_s: float
    n_bins: int
    bins_by_type: dict[str, int]
    strategy: str
    method: str
    objective_unit: str
    objective_scale: float
    bound_source: str
    reason: str = ""
    notes: tuple[str, ...] = ()
    stopped_by: str = ""
    stats: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One vocabulary: a status given as text becomes its SolveStatus (unknown text raises).
        object.__setattr__(self, "status", SolveStatus(self.status))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the status as its text)."""
        return {
            "status": str(self.status),
            "objective": self.objective,
            "bound": self.bound,
            "gap_frac": None if self.gap_frac is None else round(self.gap_frac, 6),
            "wall_s": round(self.wall_s, 3),
            "n_bins": self.n_bins,
            "bins_by_type": self.bins_by_type,
            "strategy": self.strategy,
            "method": self.method,
            "objective_unit": self.objective_unit,
            "objective_scale": self.objective_scale,
            "bound_source": self.bound_source,
            "reason": self.reason,
            "stopped_by": self.stopped_by,
            "notes": list(self.notes),
            "stats": self.stats,
        }


@dataclass(frozen=True)
class SolveResult:
    """A report, the packing (of the original instance's items) and its explanation."""

    report: SolveReport
    solution: Solution | None
    explanation: Explanation | None
    bounds: BoundReport | None


@dataclass
class Context:
    """State shared by a strategy run: the instance, the clock, the best packing so far.

    ``start`` and ``deadline`` are readings of ``clock`` (work units, or ``perf_counter``
    seconds for a wall clock).
    """

    inst: Instance
    start: float
    deadline: float
    workers: int
    seed: int
    bounds: BoundReport
    progress: ProgressCallback | None
    clock: Clock = field(default_factory=Clock)
    best: Solution | None = None
    best_obj: int | None = None
    method: str = ""
    solver_bound: int = 0
    proven_infeasible: bool = False
    failure: str = ""
    stats: dict[str, object] = field(default_factory=dict)
    history: list[tuple[int, Solution, str]] = field(default_factory=list)

    @property
    def bound(self) -> int:
        """Best lower bound known."""
        return max(self.bounds.value, self.solver_bound)

    def left(self) -> float:
        """Budget left before the deadline (0 once the wall limit has passed)."""
        return self.clock.left(self.deadline)

    def at(self, share: float) -> float:
        """Clock reading at ``share`` of the whole budget."""
        return self.start + share * (self.deadline - self.start)

    def done(self) -> bool:
        """True when the best packing is proven optimal."""
        return self.best_obj is not None and self.best_obj <= self.bound

    def emit(self, phase: str, message: str = "") -> None:
        """Send a progress event."""
        if self.progress is not None:
            self.progress(
                ProgressEvent(
                    phase, self.clock.wall_elapsed_s(), self.best_obj, self.bound, message
                )
            )

    def offer(self, sol: Solution | None, method: str) -> bool:
        """Keep ``sol`` if it respects the global rules and beats the best; True if kept."""
        if sol is None:
            return False
        inst = self.inst
        if inst.migration_budget is not None:
            at = sol.bin_existing[sol.assign]
            moved = (inst.current >= 0) & (at != inst.current)
            if int(inst.move_weight[moved].sum()) > inst.migration_budget:
                return False
        obj = sol.objective(inst)
        if self.best_obj is not None and obj >= self.best_obj:
            return False
        self.best, self.best_obj, self.method = sol, obj, method
        self.history.append((obj, sol, method))
        self.emit("improve", f"{method}: {obj}")
        return True


# ------------------------------------------------------------------------- strategies
def _run_rules(ctx: Context, names: list[str], share: float = 1.0) -> None:
    deadline = ctx.at(share)
    failures: list[str] = []

    def take(res: heuristics.HeuristicResult) -> None:
        if res.solution is None:
            failures.append(f"{res.name}: {res.reason}")
        else:
            ctx.offer(res.solution, res.name)

    results = heuristics.portfolio(
        ctx.inst, rules=names, deadline=deadline, on_result=take, clock=ctx.clock
    )
    ctx.stats["heuristics"] = {r.name: r.objective for r in results}
    if ctx.best is None and failures:
        ctx.failure = failures[0]
    if ctx.inst.current.max(initial=-1) >= 0:
        try:
            ctx.offer(heuristics.pack_from_current(ctx.inst), "from-current")
        except heuristics.PackingFailed as exc:
            ctx.failure = ctx.failure or exc.reason


def _multi_bin(ctx: Context, share: float) -> None:
    if ctx.best is None or ctx.done() or ctx.inst.migration_budget is not None:
        return
    deadline = ctx.at(share)
    for rule in ("best", "dot", "worst"):
        for measure in ("avg_sum", "sum", "l2"):
            if ctx.clock.past(deadline) or ctx.done() or ctx.best is None:
                return
            sol = heuristics.multi_bin_search(
                ctx.inst, ctx.best, ctx.bounds.n_bins, rule, measure, deadline, ctx.clock
            )
            ctx.offer(sol, f"multibin-{rule}-{measure}")


def _full_cpsat(ctx: Context, time_s: float) -> None:
    inst = ctx.inst
    sub = cpsat.full_subproblem(inst, ctx.best, ctx.bound)
    hint = hint_open = None
    if ctx.best is not None:
        mapped = cpsat.hint_positions(sub, ctx.best)
        if mapped is not None:
            hint, pos = mapped
            hint_open = pos
    ctx.emit("cpsat", f"full model: {inst.n_items} items × {sub.n_cand} candidate bins")

    def on_solution(obj: int, bound: int, elapsed: float) -> None:
        ctx.solver_bound = max(ctx.solver_bound, bound)
        ctx.emit("cpsat", f"solution {obj}, bound {bound}")

    stop_at = ctx.bound if ctx.bound > 0 else None
    res = cpsat.solve(
        inst,
        sub,
        hint=hint,
        hint_open=hint_open,
        time_limit_s=time_s,
        workers=ctx.workers,
        seed=ctx.seed,
        on_solution=on_solution,
        stop_at=stop_at,
        clock=ctx.clock,
    )
    ctx.stats["cpsat"] = {
        "status": res.status,
        "wall_s": round(res.wall_s, 3),
        "candidate_bins": sub.n_cand,
    }
    if res.status == cpsat.INFEASIBLE and ctx.best is None:
        ctx.proven_infeasible = True
        return
    if res.status == cpsat.OPTIMAL and res.objective is not None:
        ctx.solver_bound = max(ctx.solver_bound, res.objective)
    elif res.status in (cpsat.FEASIBLE, cpsat.UNKNOWN):
        ctx.solver_bound = max(ctx.solver_bound, res.bound)
    if res.assign is not None:
        sol = cpsat.to_solution(sub, res, inst.n_items)
        ctx.offer(_with_spares(ctx, sol), "cpsat")


def _lns(ctx: Context, deadline: float | None = None, round_no: int = 0) -> None:
    if ctx.best is None or ctx.done() or ctx.left() <= 0.1:
        return
    ctx.emit("lns", "large-neighbourhood search")

    def on_improve(sol: Solution, obj: int) -> None:
        ctx.offer(_with_spares(ctx, sol), "lns")

    _, stats = lns.search(
        ctx.inst,
        ctx.best,
        deadline=ctx.deadline if deadline is None else deadline,
        lower_bound=ctx.bound,
        workers=1 if ctx.inst.n_items < 2000 else ctx.workers,
        seed=ctx.seed + round_no,
        on_improve=on_improve,
        clock=ctx.clock,
    )
    _add_stats(ctx, "lns", stats.__dict__)


#: Bin-elimination searches of the improve loop: name → (module, what the progress says,
#: whether a found packing gets its strict-HA spares added). Each module offers
#: ``applicable(inst)`` (ejection chains: always) and ``search(inst, start, ...)``.
_ELIMINATIONS: dict[str, tuple[str, str, bool]] = {
    "eject": ("capplan.optimize.eject", "bin elimination by ejection chains", True),
    "overflow": ("capplan.optimize.overflow", "bin elimination by overflow repair", False),
    "anneal": ("capplan.optimize.anneal", "bin elimination by simulated annealing", False),
}


def _module(name: str) -> Any:
    """The module of a search of :data:`_ELIMINATIONS`, imported on first use (the annealing
    is compiled with numba, which a solve that never anneals need not load)."""
    return importlib.import_module(_ELIMINATIONS[name][0])


def _annealing(inst: Instance) -> bool:
    """Whether the annealing runs on ``inst`` (one-bucket instances never import it)."""
    return inst.n_buckets > 1 and bool(_module("anneal").applicable(inst))


def _eliminate(ctx: Context, name: str, deadline: float, round_no: int = 0) -> None:
    """Run one bin-elimination search of :data:`_ELIMINATIONS` until ``deadline``."""
    _, message, spares = _ELIMINATIONS[name]
    module = _module(name)
    if ctx.best is None or ctx.done() or ctx.left() <= 0.1:
        return
    if name != "eject" and not module.applicable(ctx.inst):
        return
    ctx.emit(name, message)

    def on_improve(sol: Solution, obj: int) -> None:
        ctx.offer(_with_spares(ctx, sol) if spares else sol, name)

    _, stats = module.search(
        ctx.inst,
        ctx.best,
        deadline=deadline,
        lower_bound=ctx.bound,
        seed=ctx.seed + round_no,
        on_improve=on_improve,
        clock=ctx.clock,
    )
    _add_stats(ctx, name, stats.__dict__)


def _chunk(ctx: Context, share: float, most: float = float("inf")) -> float:
    """Work for the next search step: ``share`` of what is left (at most ``most``, at least
    0.2); all that is left once under 0.5."""
    if ctx.left() < 0.5:
        return ctx.left()
    return max(min(most, share * ctx.left()), 0.2)


def _add_stats(ctx: Context, key: str, values: dict[str, int]) -> None:
    old = ctx.stats.get(key)
    if isinstance(old, dict):
        ctx.stats[key] = {k: int(old.get(k, 0)) + int(v) for k, v in values.items()}
    else:
        ctx.stats[key] = dict(values)


def _improve(ctx: Context) -> None:
    """Alternate ejection chains, annealing, overflow repair and CP-SAT neighbourhoods.

    Until the deadline. Where the annealing applies, the first round starts with it (it
    closes in a few units the bins the ejection chains take most of their chunk for, and
    goes on where they stall: PlanetLab 20110420 at 30 s, 81 hosts instead of 83).
    """
    round_no = 0
    annealing = _annealing(ctx.inst)
    while not ctx.done() and ctx.left() > 0.1:
        if round_no > 0 or not annealing:
            _eliminate(ctx, "eject", ctx.clock.now() + _chunk(ctx, 0.5, 4.0), round_no)
        if ctx.done() or ctx.left() <= 0.1:
            break
        # Annealing, then overflow repair, each most of what is left where they apply: on
        # two nearly full resources they gain where the ejection chains and the
        # neighbourhoods stall (PlanetLab days, issue 14); the annealing's attempts grow
        # longer as the bins get harder to close.
        for name in ("anneal", "overflow") if annealing else ("overflow",):
            if _module(name).applicable(ctx.inst):
                _eliminate(ctx, name, ctx.clock.now() + _chunk(ctx, 0.8), round_no)
                if ctx.done() or ctx.left() <= 0.1:
                    break
        if ctx.done() or ctx.left() <= 0.1:
            break
        _lns(ctx, ctx.clock.now() + _chunk(ctx, 0.5, 3.0), round_no)
        round_no += 1


def _with_spares(ctx: Context, sol: Solution) -> Solution | None:
    if ctx.inst.ha_spares <= 0 or ctx.inst.ha_policy != "strict":
        return sol
    try:
        return heuristics.add_spares(ctx.inst, sol)
    except heuristics.PackingFailed:
        return None


def _strategy_ffd(ctx: Context) -> None:
    _run_rules(ctx, [n for n in heuristics.rule_names(ctx.inst) if n.startswith("ffd-")])


def _strategy_bfd(ctx: Context) -> None:
    _run_rules(ctx, [n for n in heuristics.rule_names(ctx.inst) if n.startswith("bfd-")])


def _strategy_heuristics(ctx: Context) -> None:
    _run_rules(ctx, heuristics.rule_names(ctx.inst))
    _multi_bin(ctx, 1.0)


def _strategy_cpsat(ctx: Context) -> None:
    _run_rules(ctx, ["ffd-avg_sum"])
    if not ctx.done() and ctx.left() > 0.05:
        _full_cpsat(ctx, ctx.left())


def _strategy_lns(ctx: Context) -> None:
    _run_rules(ctx, heuristics.rule_names(ctx.inst), share=0.3)
    _lns(ctx)


def _strategy_eject(ctx: Context) -> None:
    _run_rules(ctx, heuristics.rule_names(ctx.inst), share=0.3)
    _eliminate(ctx, "eject", ctx.deadline)


def _strategy_auto(ctx: Context) -> None:
    _run_rules(ctx, heuristics.rule_names(ctx.inst), share=0.3)
    _multi_bin(ctx, 0.2)
    if ctx.done() or ctx.left() <= 0.05:
        return
    pool = ctx.inst.n_items * (ctx.best.n_bins if ctx.best is not None else ctx.inst.n_items)
    if pool <= FULL_MODEL_MAX_VARS or (ctx.best is None and pool <= NO_START_MAX_VARS):
        _full_cpsat(ctx, ctx.left() * (0.5 if ctx.best is not None else 1.0))
    _improve(ctx)


#: Strategy name → function running it on a context.
STRATEGIES: dict[str, Callable[[Context], None]] = {
    "ffd": _strategy_ffd,
    "bfd": _strategy_bfd,
    "heuristics": _strategy_heuristics,
    "cpsat": _strategy_cpsat,
    "lns": _strategy_lns,
    "eject": _strategy_eject,
    "auto": _strategy_auto,
}


def get_strategy(name: str) -> Callable[[Context], None]:
    """The strategy function of ``name``; an unknown name raises listing the valid ones."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise SolverError(
            f"unknown strategy {name!r}; valid strategies: {', '.join(sorted(STRATEGIES))}"
        ) from None


# ----------------------------------------------------------------------------- solve


def _stopped_by(clock: Clock, proven: bool, budget_spent: bool = False) -> str:
    if clock.stopped_by_wall:
        return "wall-clock limit"
    if proven:
        return "proof"
    return "work budget" if budget_spent else "search exhausted"


def _start_clock(
    inst: Instance,
    strategy: str,
    time_limit_s: float,
    wall_limit_s: float | None,
    deterministic: bool,
) -> tuple[Clock, float]:
    """The solve's clock and its budget (work units, or wall seconds).

    The annealing loop is compiled first (when ``auto`` may run it): that is not search work.
    """
    if strategy == "auto" and inst.n_items > 1 and _annealing(inst):
        _module("anneal").warm_up()
    wall_s = time_limit_s if wall_limit_s is None else max(wall_limit_s, 0.01)
    clock = Clock(deterministic=deterministic, wall_limit_s=wall_s)
    return clock, WORK_SHARE * time_limit_s if deterministic else wall_s


def solve(
    inst: Instance,
    *,
    strategy: str = "auto",
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    explain: bool = True,
    deterministic: bool = True,
    wall_limit_s: float | None = None,
) -> SolveResult:
    """Solve ``inst`` with a strategy; always returns a result (infeasible and time-outs too).

    Parameters
    ----------
    inst
        The prepared instance.
    strategy
        A name of :data:`STRATEGIES`.
    time_limit_s
        Upper bound on the wall time (the first greedy rule always runs to completion, and
        compiling the annealing loop of :mod:`capplan.optimize.anneal`, once per process,
        comes before the clock starts).
        With ``deterministic``, the search itself runs on a work budget of
        :data:`WORK_SHARE` × ``time_limit_s`` units (:mod:`capplan.optimize.clock`), so the
        same inputs and seed give the same result whatever the machine's load, unless the
        wall limit comes first (the report's ``stopped_by`` says which).
    workers
        CP-SAT workers (with ``deterministic``, CP-SAT runs one: same result for any number).
    seed
        Random seed (LNS neighbourhoods, CP-SAT).
    progress
        Called with :class:`ProgressEvent` as the solve advances.
    explain
        Build the :class:`Explanation` of the packing.
    deterministic
        Run on the work clock (default) rather than the wall clock.
    wall_limit_s
        Real-time limit when it differs from ``time_limit_s`` (e.g. what is left of a
        caller's limit); the work budget still follows ``time_limit_s``.

    Raises
    ------
    SolverError
        For an unknown strategy, or if a returned packing fails validation (a bug).
    """
    run = get_strategy(strategy)
    start = time.perf_counter()
    if time_limit_s <= 0:
        raise SolverError(f"time limit must be > 0 seconds, got {time_limit_s}")
    clock, budget = _start_clock(inst, strategy, time_limit_s, wall_limit_s, deterministic)

    def finish_infeasible(
        reason: str, bounds: BoundReport | None, status: SolveStatus
    ) -> SolveResult:
        report = SolveReport(
            status,
            None,
            bounds.value if bounds else 0,
            None,
            time.perf_counter() - start,
            0,
            {},
            strategy,
            "",
            inst.objective_unit,
            inst.objective_scale,
            bounds.source() if bounds else "",
            reason,
            inst.notes,
            _stopped_by(clock, status in (INFEASIBLE,)),
        )
        if progress is not None:
            progress(ProgressEvent("done", report.wall_s, None, report.bound, reason))
        return SolveResult(report, None, None, bounds)

    reason = infeasibility_reason(inst)
    if reason:
        return finish_infeasible(reason, None, INFEASIBLE)
    try:
        contraction = contract_affinity(inst)
    except InfeasibleError as exc:
        return finish_infeasible(exc.message, None, INFEASIBLE)
    work = contraction.reduced if contraction is not None else inst
    bounds = lower_bound(work)
    if progress is not None:
        progress(
            ProgressEvent(
                "bounds",
                clock.wall_elapsed_s(),  # the clock every later event reads (monotone)
                None,
                bounds.value,
                f"lower bound {bounds.value} ({bounds.source()})",
            )
        )
    if bounds.infeasible_reason:
        return finish_infeasible(bounds.infeasible_reason, bounds, INFEASIBLE)
    origin = clock.now()
    ctx = Context(work, origin, origin + budget, workers, seed, bounds, progress, clock)
    run(ctx)
    if ctx.best is None:
        if ctx.proven_infeasible:
            return finish_infeasible(
                "CP-SAT proved that no packing exists (no simpler reason was found)",
                bounds,
                INFEASIBLE,
            )
        why = ctx.failure or "no packing was found within the time limit"
        return finish_infeasible(why, bounds, UNKNOWN)
    # Every packing is validated; should the best break a rule (a bug), the next best valid
    # one is returned and the report says so.
    notes = list(inst.notes)
    sol = None
    method = ctx.method
    for _, candidate, cand_method in reversed(ctx.history):
        full = contraction.expand(candidate) if contraction is not None else candidate
        violations = validate(inst, full)
        if not violations:
            sol, method = full, cand_method
            break
        shown = "; ".join(v.message for v in violations[:3])
        notes.append(
            f"internal: the {cand_method} packing broke {len(violations)} rule(s) and was "
            f"dropped: {shown}"
        )
    if sol is None:
        raise SolverError("internal error: no packing passed validation; " + "; ".join(notes))
    obj = sol.objective(inst)
    if ctx.bound > obj:
        notes.append(
            f"internal: lower bound {ctx.bound} exceeds a valid packing's {obj}; "
            "the bound is capped at the objective"
        )
    bound = min(ctx.bound, obj)
    gap = 0.0 if obj == 0 else (obj - bound) / obj
    source = "cpsat" if ctx.solver_bound > bounds.value else bounds.source()
    report = SolveReport(
        status=OPTIMAL if obj <= bound else FEASIBLE,
        objective=obj,
        bound=bound,
        gap_frac=gap,
        wall_s=time.perf_counter() - start,
        n_bins=sol.n_bins,
        bins_by_type=sol.bins_by_type(inst),
        strategy=strategy,
        method=method,
        objective_unit=inst.objective_unit,
        objective_scale=inst.objective_scale,
        bound_source=source,
        notes=tuple(notes),
        stats={**ctx.stats, "work_units": round(clock.used, 3)},
        stopped_by=_stopped_by(clock, obj <= bound, ctx.clock.past(ctx.deadline)),
    )
    if progress is not None:
        progress(ProgressEvent("done", report.wall_s, obj, bound, report.status))
    explanation = explain_solution(inst, sol, bounds) if explain else None
    return SolveResult(report, sol, explanation, bounds)
