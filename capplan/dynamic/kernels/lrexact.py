"""CloudSim's own arithmetic for the LR / LRR test, for values on the 1.0 boundary.

capplan evaluates the local-regression test from per-host sums that are linear in the
history (:data:`~capplan.dynamic.detection.W_MEAN`, :data:`~capplan.dynamic.detection.
W_SLOPE`): fast, and equal to CloudSim's value up to the last bits. CloudSim computes it
another way: the host history summed over its VM list in list order (each term
``history × VM MIPS / host MIPS``), the newest ten samples reversed, commons-math's
``SimpleRegression`` fed one point at a time (``addData``), then
``(intercept + slope × (10 + steps)) × safety ≥ 1``. When a predicted value lands within
:data:`BOUNDARY_TOL` of 1, the two ways can disagree by one ulp and the decision flips;
on PlanetLab 20110403 this happens a handful of times and changes lr-mu's and lr-mc's
migration counts. Near the boundary the test is therefore re-done here, CloudSim's way.
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from capplan.dynamic.detection import LR_SAMPLES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: |safety × predicted − 1| below which the test is recomputed CloudSim's way. The linear
#: form and CloudSim's differ by a few ulps (≈ 1e-16); 1e-9 leaves ample margin and is hit
#: only a few times a day.
BOUNDARY_TOL: Final = 1e-9

#: :func:`over_exact` results.
EXACT_SHORT: Final = -1  # the summed history is shorter than LR_SAMPLES: keep the fast value
EXACT_NOT_OVER: Final = 0
EXACT_OVER: Final = 1


@numba.njit(cache=True, nogil=True)
def regression_line(y: FloatArray) -> tuple[float, float]:  # pragma: no cover - compiled
    """(intercept, slope) of y against x = 1..n, as commons-math's ``SimpleRegression``.

    Points are added one at a time with its running-mean update, and the estimates are
    ``slope = Sxy / Sxx``, ``intercept = (Σy − slope·Σx) / n``.
    """
    n = 0
    x_bar = 0.0
    y_bar = 0.0
    sum_xx = 0.0
    sum_xy = 0.0
    sum_x = 0.0
    sum_y = 0.0
    for i in range(len(y)):
        x = float(i + 1)
        if n == 0:
            x_bar = x
            y_bar = y[i]
        else:
            fact1 = 1.0 + n
            fact2 = n / (1.0 + n)
            dx = x - x_bar
            dy = y[i] - y_bar
            sum_xx += dx * dx * fact2
            sum_xy += dx * dy * fact2
            x_bar += dx / fact1
            y_bar += dy / fact1
        sum_x += x
        sum_y += y[i]
        n += 1
    slope = sum_xy / sum_xx
    return (sum_y - slope * sum_x) / n, slope


@numba.njit(cache=True, nogil=True)
def over_exact(
    vm_hist: FloatArray,
    vm_mips: FloatArray,
    members: IntArray,
    n_members: int,
    extra_vm: int,
    total_mips: float,
    steps: float,
    safety: float,
) -> int:  # pragma: no cover - compiled
    """The LR test on one host, CloudSim's way.

    Parameters
    ----------
    vm_hist
        Utilisation history per VM, newest sample first, ``(n_vms, n_samples)``.
    vm_mips
        MIPS per VM.
    members, n_members
        The host's VM list in list order (the first ``n_members`` entries).
    extra_vm
        A VM appended to the list for the test (the candidate), or -1.
    total_mips
        The host's MIPS.
    steps
        ⌈longest migration time / interval⌉.
    safety
        The test's safety parameter.

    Returns
    -------
    int
        :data:`EXACT_OVER`, :data:`EXACT_NOT_OVER`, or :data:`EXACT_SHORT` when the summed
        history (zero tail trimmed) has fewer than ``LR_SAMPLES`` samples.
    """
    n_samples = vm_hist.shape[1]
    history = np.zeros(n_samples)
    n_list = n_members + (1 if extra_vm >= 0 else 0)
    for k in range(n_list):
        v = members[k] if k < n_members else extra_vm
        for i in range(n_samples):
            history[i] += vm_hist[v, i] * vm_mips[v] / total_mips
    length = n_samples
    while length > 0 and history[length - 1] == 0.0:
        length -= 1
    if length < LR_SAMPLES:
        return EXACT_SHORT
    oldest_first = np.empty(LR_SAMPLES)
    for i in range(LR_SAMPLES):
        oldest_first[i] = history[LR_SAMPLES - 1 - i]
    intercept, slope = regression_line(oldest_first)
    predicted = (intercept + slope * (LR_SAMPLES + steps)) * safety
    return EXACT_OVER if predicted >= 1.0 else EXACT_NOT_OVER
