"""The worker process of one dashboard run: ``python -m capplan.dashboard.worker ROOT RUN_ID``.

The dashboard's background callback starts it as a child process and follows its progress in
the workspace catalog; it runs the study, writes the outputs atomically and records the end.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the queued run ``RUN_ID`` of the workspace at ``ROOT``; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m capplan.dashboard.worker WORKSPACE RUN_ID\n")
        return 2
    from capplan.dashboard.services import execute_run

    return execute_run(Path(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
