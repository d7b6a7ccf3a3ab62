"""The emulation engine as the economics layer's replay (host CPU utilization for power)."""

from __future__ import annotations

import numpy as np

from capplan.demand.workload import Workload
from capplan.economics.evaluate import Replay
from capplan.errors import CapplanError
from capplan.placement import Placement
from capplan.spec.catalog import Catalog


def emulation_replay(catalog: Catalog) -> Replay:
    """A :data:`~capplan.economics.evaluate.Replay` that runs :func:`capplan.emulate.emulate`.

    It returns each host's CPU utilization per step, float64 ``(n_hosts, n_steps)``, and the
    replay's findings (mode incompatibilities, then assumptions).
    """
    from capplan.emulate.engine import emulate

    def replay(workload: Workload, placement: Placement, mode: str) -> tuple[np.ndarray, list[str]]:
        emulation = emulate(workload, placement, catalog, mode)
        if emulation.cpu is None:
            raise CapplanError(
                "the workload has no cpu_demand_mhz: host power (and so energy and cost) "
                "cannot be derived without CPU utilization"
            )
        findings = [*emulation.compat.problems, *emulation.notes]
        return np.asarray(emulation.cpu.util_frac, dtype=np.float64), findings

    return replay
