"""The one exception hierarchy of capplan.

Every failure a user can meet is a :class:`CapplanError`. Its message says what was wrong,
where (file, line, column or spec path) and what was expected, so the CLI and the dashboard
can show it as is, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class CapplanError(Exception):
    """Base class of every user-facing capplan failure.

    Parameters
    ----------
    message
        What was wrong and what was expected.
    path
        The file the problem is in, if any.
    line
        1-based line number in ``path``, if known.
    column
        Column name or 1-based column number, if known.
    spec_path
        Dotted path inside a spec (``scenario.hosts[2].ram_mib``), if the problem is in a spec.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | int | None = None,
        spec_path: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.spec_path = spec_path
        super().__init__(self._render())

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle by the constructor's arguments, so errors cross process boundaries (Dask)."""
        kwargs = {"path": self.path, "line": self.line, "column": self.column}
        return (_rebuild, (type(self), (self.message,), kwargs | {"spec_path": self.spec_path}))

    def location(self) -> str:
        """Return ``file:line, column 'x'`` (the parts that are known), or an empty string."""
        parts: list[str] = []
        if self.path is not None:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.spec_path is not None:
            parts.append(f"at {self.spec_path}")
        return ", ".join(parts)

    def _render(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


def _rebuild(cls: type, args: tuple[object, ...], kwargs: dict[str, object]) -> CapplanError:
    """Recreate a pickled error (see :meth:`CapplanError.__reduce__`)."""
    error: CapplanError = cls(*args, **kwargs)
    return error


class TraceFormatError(CapplanError):
    """A trace or inventory file is malformed, or not in the format it was read as."""


class UnknownFormatError(TraceFormatError):
    """No reader recognises a file, or a format name is not registered."""


class SpecError(CapplanError):
    """A spec (catalog, scenario, study) is invalid; carries every problem found at once."""

    def __init__(self, problems: list[tuple[str, str]], *, path: str | Path | None = None) -> None:
        self.problems = list(problems)
        lines = [f"{where}: {what}" if where else what for where, what in self.problems]
        summary = f"{len(lines)} problem(s) in spec:\n  " + "\n  ".join(lines)
        super().__init__(summary, path=path)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.problems,), {"path": self.path}))


class InfeasibleError(CapplanError):
    """A planning problem has no solution; the message names the smallest reason found."""


class SolverError(CapplanError):
    """The optimizer failed for a reason other than infeasibility."""


class WorkloadError(CapplanError):
    """A workload cannot be built from a trace (no usable VMs, no time range, bad step)."""
