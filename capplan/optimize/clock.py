"""The clock a solve runs on: work units (deterministic) or wall seconds.

Same inputs and seed must give the same plan. A search that stops when the wall clock says so
does not: how far it got depends on the machine's load. So by default a solve runs on a
*work clock*: every search step charges a fixed cost computed from the instance (its size, the
bins it touched), and CP-SAT charges its own deterministic time; a budget of ``T`` units stops
the search at the same point on every run. One unit is calibrated to be about one second on
this project's reference machine (2 cores): CP-SAT's deterministic time is converted with
:data:`CPSAT_DET_PER_S` (CP-SAT then runs one worker: its parallel search is not reproducible
under a time limit, and its interleaved mode overshoots the deterministic limit by batches).

The wall clock stays an upper bound: when a solve has used ``wall_limit_s`` of real time it
stops wherever it is, and :attr:`Clock.stopped_by_wall` says so (the result may then differ
between runs, and the solve report states it).

A :class:`Clock` with ``deterministic=False`` reads the wall clock only (the behaviour before
the work clock existed); deadlines are then ``time.perf_counter()`` values.
"""

from __future__ import annotations

import time
from typing import Any

#: Work units charged per (item × bin × column) of a greedy packing pass. Calibrated on the
#: vbp and PlanetLab benches so that one unit is about one second of this machine's time.
UNIT_PER_PACK_CELL = 4e-8
#: Work units per (bin × column) of one ejection-chain or neighbourhood step.
UNIT_PER_STEP_CELL = 3e-8
#: Fixed work units of one search step (bookkeeping around the vectorized part).
UNIT_PER_STEP = 1e-4
#: CP-SAT deterministic time per wall second of one CP-SAT worker on the reference machine
#: (measured: 1.0 deterministic unit took 2.2 s on a vbp class-5 model, 60 items × 22 bins).
CPSAT_DET_PER_S = 0.45
#: Share of a time limit given to the deterministic work budget; the rest is margin before
#: the wall limit, so that on a normally loaded machine the work budget ends the search.
WORK_SHARE = 0.85


class Clock:
    """Progress of a solve against its budget.

    Parameters
    ----------
    deterministic
        Count work units (True) or wall seconds (False).
    wall_limit_s
        Real seconds after which everything stops (None: no wall limit). With a work clock
        this is the safety net; with a wall clock it is normally the deadline itself.
    """

    def __init__(self, *, deterministic: bool = True, wall_limit_s: float | None = None) -> None:
        self.deterministic = deterministic
        self.wall_limit_s = wall_limit_s
        self.wall_start = time.perf_counter()
        self.used = 0.0
        self.stopped_by_wall = False

    def now(self) -> float:
        """Current reading: work units used, or ``time.perf_counter()`` for a wall clock."""
        return self.used if self.deterministic else time.perf_counter()

    def charge(self, units: float) -> None:
        """Count ``units`` of work done (ignored by a wall clock)."""
        if self.deterministic:
            self.used += max(float(units), 0.0)

    def wall_elapsed_s(self) -> float:
        """Real seconds since the clock started."""
        return time.perf_counter() - self.wall_start

    def wall_left_s(self) -> float:
        """Real seconds left before the wall limit (infinite without one)."""
        if self.wall_limit_s is None:
            return float("inf")
        return self.wall_limit_s - self.wall_elapsed_s()

    def wall_out(self) -> bool:
        """True once the wall limit has passed (and remembers it)."""
        if self.wall_limit_s is not None and self.wall_elapsed_s() >= self.wall_limit_s:
            self.stopped_by_wall = True
        return self.stopped_by_wall

    def past(self, deadline: float) -> bool:
        """True when the reading has reached ``deadline`` or the wall limit has passed."""
        return self.now() >= deadline or self.wall_out()

    def left(self, deadline: float) -> float:
        """Units (or seconds) left before ``deadline``; 0 once the wall limit has passed."""
        if self.wall_out():
            return 0.0
        return deadline - self.now()


def wall_clock() -> Clock:
    """A clock that reads real time only (deadlines are ``time.perf_counter()`` values)."""
    return Clock(deterministic=False)


def set_cpsat_limits(
    parameters: Any, clock: Clock | None, time_limit_s: float, workers: int
) -> None:
    """Set a CP-SAT solver's limits for ``time_limit_s`` on ``clock``.

    A deterministic clock gets one worker and a deterministic-time limit (``time_limit_s``
    work units), capped by the clock's wall limit; otherwise ``time_limit_s`` wall seconds
    with ``workers`` workers.
    """
    if clock is not None and clock.deterministic:
        parameters.num_workers = 1
        parameters.max_deterministic_time = max(time_limit_s, 0.001) * CPSAT_DET_PER_S
        parameters.max_time_in_seconds = max(min(clock.wall_left_s(), 1e6), 0.01)
    else:
        parameters.num_workers = max(int(workers), 1)
        parameters.max_time_in_seconds = max(time_limit_s, 0.01)


def charge_cpsat(clock: Clock | None, deterministic_time: float) -> None:
    """Charge a finished CP-SAT solve's deterministic time to ``clock``."""
    if clock is not None and clock.deterministic:
        clock.charge(deterministic_time / CPSAT_DET_PER_S)
    if clock is not None:
        clock.wall_out()
