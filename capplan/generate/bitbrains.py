"""Write synthetic workloads in the Bitbrains GWA-T-12 format (one file per VM).

The files reproduce the real format, quirks included: the two-character field separator
``;`` + TAB (header too), Unix epoch **seconds** under the ``Timestamp [ms]`` header, memory in
KiB under ``[KB]``, disk and network throughput in KiB/s under ``[KB/s]``, and the redundant
``CPU usage [%]`` column. Optional realism: ±``jitter_s`` seconds of timestamp jitter and
``duplicate_frac`` of rows written twice (both seen in the real files). Disk IOPS are not part
of the format and are dropped.

Values are written with 5 decimals at most (no scientific notation), so a round trip through
the ``bitbrains`` reader returns the same numbers within 1e-5 of the file units.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import CapplanError
from capplan.generate.params import GeneratorParams
from capplan.generate.population import Population
from capplan.generate.synth import SyntheticWorkload, iter_blocks, make_population, sample_times
from capplan.units import KIB_PER_MIB, MBPS_PER_KIB_S, PERCENT

FloatArray = npt.NDArray[np.float64]

#: The header of a GWA-T-12 file (vendor names, in order).
HEADER = (
    "Timestamp [ms]",
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
    "CPU usage [%]",
    "Memory capacity provisioned [KB]",
    "Memory usage [KB]",
    "Disk read throughput [KB/s]",
    "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]",
    "Network transmitted throughput [KB/s]",
)
SEPARATOR = ";\t"
#: Decimals written for every float value (polars prints smaller numbers in scientific form).
DECIMALS = 5


def _file_frame(
    epoch_s: npt.NDArray[np.int64],
    population: Population,
    arrays: dict[str, FloatArray],
    rng: np.random.Generator | None,
    jitter_s: int,
    duplicate_frac: float,
) -> tuple[pl.DataFrame, npt.NDArray[np.int64]]:
    """Long frame (VM-major) of the formatted lines and the row count per VM."""
    n_vms, n_steps = arrays["cpu_demand_mhz"].shape
    cores = np.repeat(population.inventory.get_column("n_vcpus").to_numpy(), n_steps)
    capacity = np.repeat(population.cpu_capacity_mhz, n_steps)
    mem_prov_kib = np.repeat(population.mem_provisioned_mib * KIB_PER_MIB, n_steps)
    ts = np.tile(epoch_s, n_vms)
    if jitter_s and rng is not None:
        ts = ts + rng.integers(-jitter_s, jitter_s + 1, ts.size)
    cpu = arrays["cpu_demand_mhz"].ravel()
    columns = {
        HEADER[0]: pl.Series(ts, dtype=pl.Int64),
        HEADER[1]: pl.Series(cores, dtype=pl.Int64),
        HEADER[2]: pl.Series(capacity),
        HEADER[3]: pl.Series(cpu),
        HEADER[4]: pl.Series(cpu / capacity * PERCENT),
        HEADER[5]: pl.Series(mem_prov_kib),
        HEADER[6]: pl.Series(arrays["mem_active_mib"].ravel() * KIB_PER_MIB),
        HEADER[7]: pl.Series(arrays["disk_read_mib_s"].ravel() * KIB_PER_MIB),
        HEADER[8]: pl.Series(arrays["disk_write_mib_s"].ravel() * KIB_PER_MIB),
        HEADER[9]: pl.Series(arrays["net_rx_mbps"].ravel() / MBPS_PER_KIB_S),
        HEADER[10]: pl.Series(arrays["net_tx_mbps"].ravel() / MBPS_PER_KIB_S),
    }
    frame = pl.DataFrame(columns)
    counts = np.full(n_vms, n_steps, dtype=np.int64)
    if duplicate_frac > 0 and rng is not None:
        repeat = rng.random(frame.height) < duplicate_frac
        times = np.where(repeat, 2, 1)
        frame = frame.gather(np.repeat(np.arange(frame.height), times))
        counts = np.add.reduceat(times, np.arange(0, times.size, n_steps))
    line = pl.concat_str(
        [
            pl.col(name).round(DECIMALS).cast(pl.String)
            if frame.schema[name].is_float()
            else pl.col(name).cast(pl.String)
            for name in HEADER
        ],
        separator=SEPARATOR,
    ).alias(SEPARATOR.join(HEADER))
    return frame.select(line), counts


def write_block(
    directory: Path,
    vm_ids: list[str],
    epoch_s: npt.NDArray[np.int64],
    population: Population,
    arrays: dict[str, FloatArray],
    *,
    rng: np.random.Generator | None = None,
    jitter_s: int = 0,
    duplicate_frac: float = 0.0,
) -> list[Path]:
    """Write one ``<vm_id>.csv`` per VM of a block; return the paths.

    Parameters
    ----------
    directory
        Existing output folder.
    vm_ids
        File stems, one per row of the arrays.
    epoch_s
        Sample times, shape ``(n_steps,)``.
    population
        The block's VMs (cores, capacities).
    arrays
        Canonical metric → ``(n_vms, n_steps)`` values.
    rng
        Random stream for jitter and duplicates (required when either is on).
    """
    if (jitter_s or duplicate_frac) and rng is None:
        raise ValueError("an rng is needed for jitter or duplicates")
    lines, counts = _file_frame(epoch_s, population, arrays, rng, jitter_s, duplicate_frac)
    paths: list[Path] = []
    offsets = np.concatenate(([0], np.cumsum(counts)))
    for i, vm_id in enumerate(vm_ids):
        path = directory / f"{vm_id}.csv"
        lines.slice(int(offsets[i]), int(counts[i])).write_csv(
            path, quote_style="never", line_terminator="\n"
        )
        paths.append(path)
    return paths


def write_bitbrains(workload: SyntheticWorkload, directory: Path) -> list[Path]:
    """Write a generated workload as Bitbrains files (no jitter, no duplicates)."""
    directory.mkdir(parents=True, exist_ok=True)
    return write_block(
        directory,
        workload.population.vm_ids,
        workload.epoch_s,
        workload.population,
        workload.arrays,
    )


def write_bitbrains_set(
    params: GeneratorParams,
    seed: int,
    directory: Path,
    *,
    jitter_s: int = 0,
    duplicate_frac: float = 0.0,
    on_block: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Generate and write a Bitbrains set block by block (memory stays bounded).

    Parameters
    ----------
    params, seed
        What to generate.
    directory
        Output folder (created).
    jitter_s
        Timestamps move by a uniform integer in ``[−jitter_s, jitter_s]`` seconds.
    duplicate_frac
        Share of rows written twice (exact duplicates).
    on_block
        Called with ``(VMs written so far, total VMs)`` after each block (progress bars).
    """
    if jitter_s < 0 or not 0.0 <= duplicate_frac < 1.0:
        raise CapplanError(
            f"jitter_s={jitter_s}, duplicate_frac={duplicate_frac}: expected jitter_s ≥ 0 "
            "and 0 ≤ duplicate_frac < 1"
        )
    directory.mkdir(parents=True, exist_ok=True)
    population = make_population(params, seed)
    epoch = sample_times(params)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    ids = population.vm_ids
    paths: list[Path] = []
    for lo, hi, block in iter_blocks(params, seed, population):
        paths += write_block(
            directory,
            ids[lo:hi],
            epoch,
            population.rows(lo, hi),
            block,
            rng=rng,
            jitter_s=jitter_s,
            duplicate_frac=duplicate_frac,
        )
        if on_block is not None:
            on_block(hi, population.n_vms)
    return paths
