"""The dashboard's child processes: ``python -m capplan.dashboard.worker run|ingest ...``.

- ``run ROOT RUN_ID [--scheduler ADDRESS]``: run a study run that the server's queue has
  claimed (:mod:`capplan.dashboard.runner`), on the Dask cluster at ``ADDRESS`` when given,
  write its outputs atomically and record its end.
- ``ingest STAGING``: read the uploaded files in ``STAGING/files`` (after checking how much
  its archives expand) and write ``trace.parquet`` and ``outcome.json`` (the workload
  summary, or the message for the page) into ``STAGING``.

Both first limit themselves (``--memory`` bytes of address space, ``--cpu`` seconds of CPU
time) and arrange to die with the server (``--parent``); see :mod:`capplan.dashboard.limits`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run one child job; return the exit code (0 done, 1 failed, 2 not started)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] not in ("run", "ingest"):
        args = ["run", *args]  # the form of earlier versions: ROOT RUN_ID
    parser = argparse.ArgumentParser(prog="python -m capplan.dashboard.worker")
    parser.add_argument("--memory", type=int, default=None, help="address-space limit, bytes")
    parser.add_argument("--cpu", type=float, default=None, help="CPU-time limit, s")
    parser.add_argument("--parent", type=int, default=None, help="die when this process ends")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("root", type=Path)
    run.add_argument("run_id")
    run.add_argument("--scheduler", default=None, help="Dask scheduler the study runs on")
    ingest = commands.add_parser("ingest")
    ingest.add_argument("staging", type=Path)
    ingest.add_argument("--budget", type=int, required=True, help="expansion budget, bytes")
    options = parser.parse_args(args)

    from capplan.dashboard.limits import apply_limits, die_with_parent

    die_with_parent(options.parent)
    apply_limits(options.memory, options.cpu)
    if options.command == "run":
        from capplan.dashboard.services import execute_run

        return execute_run(
            options.root, options.run_id, memory_bytes=options.memory, scheduler=options.scheduler
        )
    from capplan.dashboard.services import ingest_staged

    return ingest_staged(options.staging, options.budget, memory_bytes=options.memory)


if __name__ == "__main__":
    raise SystemExit(main())
