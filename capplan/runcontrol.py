"""What a running study shares with its caller: progress reports and cancellation.

Both the in-process run (:mod:`capplan.pipeline`) and the Dask run (:mod:`capplan.study_dask`)
use these, so neither needs the other.
"""

from __future__ import annotations

from collections.abc import Callable

from capplan.errors import CapplanError

#: ``progress(label, done_frac)``: what is running, and the share of the run done.
Progress = Callable[[str, float], None]
#: Seconds between checks of the cancel flag while scenarios run on Dask.
CANCEL_POLL_S = 0.5


class Cancelled(CapplanError):
    """A run was cancelled by its caller."""
