"""VM → host aggregation: the one place where per-VM demand becomes per-host demand.

Every subsystem of the replay sums VM rows onto hosts (optionally with per-VM weights, e.g.
the share of a VM's traffic that leaves its host). They all go through :func:`aggregate`.

How it is done, and why (10,000 VMs × 8,640 steps onto 800 hosts, float32, ratios to a
plain single-threaded ``numpy.sum`` over the same array, measured on this project's 2-core
machine):

- a compiled kernel (numba, GIL released) that adds each VM row of a host into the host's
  output row, hosts split over two threads: ≈ 0.87× (k = 2 weighted sums in one pass ≈ 1.0×);
- the numpy version it replaced, gathering each host's rows into a cache-sized buffer
  (``np.take``) and summing it with a BLAS product ``ones @ block`` on two threads: ≈ 1.3–1.4×
  (k = 2: ≈ 2.0×), one thread ≈ 2.1×;
- a sparse assignment-matrix product ≈ 2.1–2.9×; a Python loop adding VM rows one by one
  ≈ 2.2×; ``np.add.reduceat`` ≈ 24×; polars join + group_by ≈ 1,100×.

No temporary of the input's size is made. ``capplan bench emulate`` prints the end-to-end
figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import numpy.typing as npt

from capplan.emulate.blocks import TASKS_PER_WORKER, default_workers, thread_pool
from capplan.errors import CapplanError

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class HostMap:
    """Which host (group) each VM belongs to, with the VM order grouped by host.

    Attributes
    ----------
    group_of_vm
        Group index of each VM, int64 ``(n_vms,)`` in ``[0, n_groups)``.
    n_groups
        Number of hosts (or racks ...), including empty ones.
    order
        VM rows sorted by group (stable), int64 ``(n_vms,)``.
    starts
        ``order[starts[g]:starts[g+1]]`` are the VMs of group ``g``, int64 ``(n_groups+1,)``.
    contiguous
        True when the VM rows are already grouped (``order`` is the identity).
    """

    group_of_vm: npt.NDArray[np.int64]
    n_groups: int
    order: npt.NDArray[np.int64] = field(init=False, repr=False)
    starts: npt.NDArray[np.int64] = field(init=False, repr=False)
    contiguous: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        groups = np.ascontiguousarray(self.group_of_vm, dtype=np.int64)
        if groups.ndim != 1:
            raise CapplanError("group_of_vm must be one-dimensional")
        if len(groups) and (groups.min() < 0 or groups.max() >= self.n_groups):
            raise CapplanError(
                f"group_of_vm holds an index outside [0, {self.n_groups}); "
                "the placement and the host list disagree"
            )
        order = np.argsort(groups, kind="stable").astype(np.int64)
        counts = np.bincount(groups, minlength=self.n_groups)
        starts = np.zeros(self.n_groups + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        object.__setattr__(self, "group_of_vm", groups)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "contiguous", bool(np.all(order == np.arange(len(order)))))

    @property
    def n_vms(self) -> int:
        """Number of VMs."""
        return len(self.group_of_vm)

    def counts(self) -> npt.NDArray[np.int64]:
        """VMs per group, ``(n_groups,)``."""
        return np.diff(self.starts)

    def members(self, group: int) -> npt.NDArray[np.int64]:
        """VM rows of one group."""
        return self.order[self.starts[group] : self.starts[group + 1]]

    def sum_per_group(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Sum a per-VM constant ``(n_vms,)`` per group → float64 ``(n_groups,)``."""
        v = np.asarray(values, dtype=np.float64)
        summed = np.bincount(self.group_of_vm, weights=v, minlength=self.n_groups)
        return np.asarray(summed, dtype=np.float64)


def _chunks(host_map: HostMap, workers: int) -> list[npt.NDArray[np.int64]]:
    """Split the non-empty groups into up to ``TASKS_PER_WORKER × workers`` lists of about
    equal VM count, at least two groups each (one list for one worker or few groups)."""
    counts = host_map.counts()
    groups = np.flatnonzero(counts)
    if workers <= 1 or len(groups) < 2 * workers:
        return [groups]
    n_tasks = max(workers, min(workers * TASKS_PER_WORKER, len(groups) // 2))
    cum = np.cumsum(counts[groups])
    bounds = np.searchsorted(cum, np.linspace(0, cum[-1], n_tasks + 1)[1:-1])
    return [part for part in np.split(groups, bounds) if len(part)]


@numba.njit(nogil=True, cache=True)
def _sum_rows(
    values: F32,
    bits: npt.NDArray[np.int32],
    order: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    scale: float,
    out: F32,
    row_max_bits: npt.NDArray[np.int32],
    less: F32,
) -> None:  # pragma: no cover - compiled; its results are tested through aggregate()
    """Add the VM rows of each group ``g`` of ``groups`` into ``out[g]``, then scale it.

    ``out`` must hold zeros in the rows of ``groups``. The loop over steps is vectorized by
    the compiler; a host's output row stays in the L1/L2 cache while its VM rows stream
    through once. When ``row_max_bits`` has one slot per VM, each VM's largest value is
    stored there too, in the same loop, as the bits of a float32 at least 0. When ``less``
    has one value per VM, each VM adds ``max(value − less[vm], 0)`` instead (as numpy's
    ``maximum(values − less, 0)``; NaN stays NaN).

    ``bits`` is ``values`` viewed as int32: a float32 that is at least 0 orders as its bits
    do, and every negative float32 has negative bits, so the integer maximum against 0 is
    the float maximum against 0, and the compiler vectorizes an integer maximum where it
    cannot a float one. (A NaN with the sign bit clear propagates, one with it set does not;
    the replay's inputs hold none: gaps are filled before.)
    """
    n_steps = values.shape[1]
    factor = np.float32(scale)
    zero = np.float32(0.0)
    keep_max = row_max_bits.shape[0] == values.shape[0]
    subtract = less.shape[0] == values.shape[0]
    for g in groups:
        acc = out[g]
        for i in range(starts[g], starts[g + 1]):
            vm = order[i]
            row = values[vm]
            if subtract:
                cut = less[vm]
                for t in range(n_steps):
                    v = row[t] - cut
                    acc[t] += v if (v > zero or v != v) else zero
            elif keep_max:
                row_bits = bits[vm]
                top = np.int32(0)
                for t in range(n_steps):
                    acc[t] += row[t]
                    b = row_bits[t]
                    top = b if b > top else top
                row_max_bits[vm] = top
            else:
                for t in range(n_steps):
                    acc[t] += row[t]
        if factor != 1.0:
            for t in range(n_steps):
                acc[t] *= factor


# Relaxed floating-point flags let the compiler vectorize the multiply-add over steps (k = 2:
# 1.6× a numpy.sum instead of 4.8×, measured here). Each output element is still one
# multiply-add per VM in VM order (no reduction to reorder), and NaN/inf keep propagating
# (no "nnan"/"ninf").
@numba.njit(nogil=True, cache=True, fastmath={"contract", "reassoc", "nsz", "arcp"})
def _weighted_rows(
    values: F32,
    order: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    weights: F32,
    out: F32,
) -> None:  # pragma: no cover - compiled; its results are tested through aggregate()
    """Add ``weights[j, v] · values[v]`` into ``out[j, g]`` for each VM ``v`` of each ``g``.

    ``out`` must hold zeros in the rows of ``groups``; one pass over each VM row serves all
    ``k`` weighted sums.
    """
    n_steps = values.shape[1]
    for g in groups:
        for i in range(starts[g], starts[g + 1]):
            vm = order[i]
            row = values[vm]
            for j in range(weights.shape[0]):
                w = weights[j, vm]
                acc = out[j, g]
                for t in range(n_steps):
                    acc[t] += w * row[t]


def _weight_rows(weights: npt.ArrayLike | None, n_vms: int) -> npt.NDArray[np.float32] | None:
    """``weights`` as contiguous float32 ``(k, n_vms)`` rows (None: every weight 1)."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] != n_vms:
        raise CapplanError(f"weights must be (n_vms,) or (k, n_vms); got shape {np.shape(weights)}")
    return np.ascontiguousarray(w)


def _row_max_slots(row_max: F32 | None, unweighted: bool, n_vms: int) -> npt.NDArray[np.int32]:
    """The int32 view that receives the row maxima' bits (empty: none asked for)."""
    if row_max is None:
        return np.zeros(0, dtype=np.int32)
    if not unweighted or row_max.shape != (n_vms,) or row_max.dtype != np.float32:
        raise CapplanError("row_max needs unweighted sums and one float32 slot per VM")
    if not row_max.flags.c_contiguous:
        raise CapplanError("row_max must be a contiguous float32 array")
    return row_max.view(np.int32)


def aggregate(
    values: npt.NDArray[np.floating],
    host_map: HostMap,
    *,
    weights: npt.ArrayLike | None = None,
    scale: float = 1.0,
    workers: int | None = None,
    row_max: F32 | None = None,
    less: npt.ArrayLike | None = None,
) -> F32:
    """Sum VM rows per host: ``out[h, t] = Σ_{v: host(v)=h} w_v · values[v, t]``.

    Parameters
    ----------
    values
        ``(n_vms, n_steps)`` demand (float32 as stored by the Workload; any unit).
    host_map
        The VM → host assignment.
    weights
        ``None`` (every weight 1), per-VM weights ``(n_vms,)``, or ``(k, n_vms)`` for ``k``
        weighted sums computed in one pass over ``values`` (result ``(k, n_hosts, n_steps)``).
    scale
        Factor applied to every unweighted sum (applied while the host's row is in cache).
    workers
        Threads; ``None`` → :func:`default_workers`.
    row_max
        Unweighted sums only: a float32 ``(n_vms,)`` array that receives each VM's largest
        value (at least 0), in the same pass.
    less
        Unweighted sums without ``row_max`` only: per VM ``(n_vms,)``, an amount taken off
        each of its values, none going below 0 (``maximum(values − less, 0)`` without the
        copy).

    Returns
    -------
    ndarray
        float32 ``(n_hosts, n_steps)`` or ``(k, n_hosts, n_steps)``, in the unit of
        ``values``. Hosts with no VM hold 0.

    Notes
    -----
    Accumulation is in float32 over the VMs of one host (a few to a few hundred values per
    cell); the relative rounding error is below ``n_vms_on_host × 6e-8``.
    """
    if values.ndim != 2 or values.shape[0] != host_map.n_vms:
        raise CapplanError(
            f"values must be (n_vms={host_map.n_vms}, n_steps); got shape {values.shape}"
        )
    n_steps = values.shape[1]
    w = _weight_rows(weights, host_map.n_vms)
    k = 1 if w is None else w.shape[0]
    # Zeroed here, not lazily by the threads: page faults taken by two threads at once
    # contend in the kernel, and made the weighted sums up to 3× slower (measured here).
    out = np.empty((k, host_map.n_groups, n_steps), dtype=np.float32)
    out.fill(0.0)
    src = np.ascontiguousarray(values, dtype=np.float32)
    n_workers = default_workers() if workers is None else workers
    parts = _chunks(host_map, n_workers)
    order, starts = host_map.order, host_map.starts

    maxima = _row_max_slots(row_max, w is None, host_map.n_vms)
    cut = np.zeros(0, dtype=np.float32)
    if less is not None:
        if w is not None or row_max is not None or np.shape(less) != (host_map.n_vms,):
            raise CapplanError("less needs unweighted sums without row_max, one value per VM")
        cut = np.asarray(less, dtype=np.float32)

    def run(part: npt.NDArray[np.int64]) -> None:
        if w is None:
            bits = src.view(np.int32)
            _sum_rows(src, bits, order, starts, part, scale, out[0], maxima, cut)
        else:
            _weighted_rows(src, order, starts, part, w, out)

    if len(parts) == 1:
        run(parts[0])
    else:
        pool = thread_pool(n_workers)
        for future in [pool.submit(run, part) for part in parts]:
            future.result()
    if weights is not None and np.ndim(weights) == 2:
        return out
    return out[0]


def served_share(
    values: npt.NDArray[np.floating],
    host_map: HostMap,
    host_frac: npt.NDArray[np.floating],
) -> npt.NDArray[np.float64]:
    """Per VM, the demand-weighted share served: ``Σ_t d[v,t]·f[host(v),t] / Σ_t d[v,t]``.

    The reverse direction of :func:`aggregate`: a per-host fraction (share of demand served
    in each step) applies to every VM on the host.

    Parameters
    ----------
    values
        ``(n_vms, n_steps)`` demand.
    host_map
        The VM → host assignment.
    host_frac
        ``(n_hosts, n_steps)`` fraction in [0, 1].

    Returns
    -------
    ndarray
        float64 ``(n_vms,)``; a VM with no demand at all gets 1.0.
    """
    served = np.zeros(host_map.n_vms, dtype=np.float64)
    total = np.zeros(host_map.n_vms, dtype=np.float64)
    frac = np.asarray(host_frac, dtype=np.float32)
    for g in np.flatnonzero(host_map.counts()).tolist():
        rows = host_map.members(g)
        block = values[rows]
        served[rows] = block @ frac[g]
        total[rows] = block.sum(axis=1, dtype=np.float64)
    safe = np.where(total > 0, total, 1.0)
    return np.clip(np.where(total > 0, served / safe, 1.0), 0.0, 1.0)
