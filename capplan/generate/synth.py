"""The seeded synthetic workload generator: :func:`generate_trace` and friends.

Reproducibility: every random draw comes from a stream derived from the seed and a fixed key
(``numpy.random.SeedSequence(seed, spawn_key=...)``): one stream for the population, one per
block of :data:`BLOCK_VMS` VMs for the time series. The same seed and parameters give identical
arrays, whether the VMs are generated all at once or block by block (as the Bitbrains writer
does for large sets).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import SpecError
from capplan.generate.params import GeneratorParams
from capplan.generate.population import Population, draw_population
from capplan.generate.series import block_series, site_noise
from capplan.io.trace import Trace
from capplan.schema import TIMESTAMP_DTYPE, USAGE_METRICS
from capplan.units import US_PER_S

FloatArray = npt.NDArray[np.float64]

#: VMs per time-series block (part of the reproducibility contract: changing it changes output).
BLOCK_VMS = 128
#: Largest grid (VMs × steps) :func:`generate` holds in memory (8 float64 arrays: 3.2 GB);
#: larger workloads are streamed block by block by the writers.
MAX_IN_MEMORY_CELLS = 50_000_000
_POPULATION_KEY = 1
_SERIES_KEY = 2
_SITE_KEY = 3


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecError([("seed", f"is {seed!r}; expected a non-negative integer")])
    return int(seed)


def sample_times(params: GeneratorParams) -> npt.NDArray[np.int64]:
    """Sample times in Unix seconds, shape ``(n_steps,)``."""
    start = int(params.start.timestamp())
    return start + np.arange(params.n_steps, dtype=np.int64) * int(params.step_s)


def make_population(params: GeneratorParams, seed: int) -> Population:
    """Draw the VM population (inventory and behaviour) for ``seed``."""
    params.validate()
    seed = _check_seed(seed)
    return draw_population(
        params, _stream(seed, _POPULATION_KEY), site_rng=_stream(seed, _SITE_KEY, 1)
    )


def iter_blocks(
    params: GeneratorParams, seed: int, population: Population | None = None
) -> Iterator[tuple[int, int, dict[str, FloatArray]]]:
    """Yield ``(lo, hi, arrays)`` per block of VMs ``lo:hi``; arrays ``(hi − lo, n_steps)``."""
    seed = _check_seed(seed)
    pop = population if population is not None else make_population(params, seed)
    epoch = sample_times(params)
    shared = site_noise(params, epoch.size, _stream(seed, _SITE_KEY, 0))
    for index, lo in enumerate(range(0, pop.n_vms, BLOCK_VMS)):
        hi = min(lo + BLOCK_VMS, pop.n_vms)
        rng = _stream(seed, _SERIES_KEY, index)
        yield lo, hi, block_series(pop.rows(lo, hi), params, epoch, rng, shared)


def usage_frame(
    vm_ids: list[str], epoch_s: npt.NDArray[np.int64], arrays: dict[str, FloatArray]
) -> pl.DataFrame:
    """Canonical long usage rows (VM-major) of arrays ``(len(vm_ids), len(epoch_s))``."""
    n_vms, n_steps = len(vm_ids), epoch_s.size
    ids = pl.Series("vm_id", vm_ids, dtype=pl.String)
    timestamps = pl.Series("timestamp", epoch_s * int(US_PER_S)).cast(TIMESTAMP_DTYPE)
    columns: dict[str, pl.Series] = {
        "vm_id": ids.gather(np.repeat(np.arange(n_vms), n_steps)),
        "timestamp": timestamps.gather(np.tile(np.arange(n_steps), n_vms)),
    }
    for name in USAGE_METRICS:
        columns[name] = pl.Series(name, arrays[name].ravel())
    return pl.DataFrame(columns)


@dataclass(frozen=True)
class SyntheticWorkload:
    """A generated workload in array form.

    Attributes
    ----------
    params, seed
        What it was generated from.
    population
        Inventory and per-VM behaviour parameters.
    epoch_s
        Sample times, Unix seconds, shape ``(n_steps,)``.
    arrays
        Every canonical metric → float64 ``(n_vms, n_steps)``.
    """

    params: GeneratorParams
    seed: int
    population: Population
    epoch_s: npt.NDArray[np.int64]
    arrays: dict[str, FloatArray]

    @property
    def inventory(self) -> pl.DataFrame:
        """Canonical inventory."""
        return self.population.inventory

    def usage_frame(self) -> pl.DataFrame:
        """The canonical long usage table (one row per VM and sample, VM-major order)."""
        return usage_frame(self.population.vm_ids, self.epoch_s, self.arrays)

    def to_trace(self, sources: tuple[str, ...] = ()) -> Trace:
        """Return the workload as a canonical :class:`Trace` (format ``"synthetic"``)."""
        return Trace.build(
            self.usage_frame(),
            self.inventory,
            format="synthetic",
            sources=sources,
            native_step_s=float(self.params.step_s),
        )


def generate(params: GeneratorParams, seed: int) -> SyntheticWorkload:
    """Generate a workload in array form.

    Parameters
    ----------
    params
        What to generate (validated here; a SpecError lists every problem).
    seed
        Non-negative integer; the same seed gives identical arrays.
    """
    seed = _check_seed(seed)
    n_steps = params.validate().n_steps
    if params.n_vms * n_steps > MAX_IN_MEMORY_CELLS:
        raise SpecError(
            [
                (
                    "n_vms",
                    f"{params.n_vms} VMs × {n_steps} steps is above the {MAX_IN_MEMORY_CELLS:,} "
                    "cells generated in memory; write it block by block "
                    "(capplan generate, write_canonical_set, write_bitbrains_set)",
                )
            ]
        )
    population = make_population(params, seed)
    arrays = {name: np.empty((population.n_vms, n_steps)) for name in USAGE_METRICS}
    for lo, hi, block in iter_blocks(params, seed, population):
        for name in USAGE_METRICS:
            arrays[name][lo:hi] = block[name]
    return SyntheticWorkload(params, seed, population, sample_times(params), arrays)


def generate_trace(params: GeneratorParams, seed: int) -> Trace:
    """Generate a canonical :class:`Trace` (usage LazyFrame + inventory) for ``seed``."""
    return generate(params, seed).to_trace()
