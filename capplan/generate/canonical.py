"""Write a generated workload as one canonical Parquet file, block by block.

The file has the layout of :func:`capplan.io.canonical.write_canonical_parquet` (usage rows,
inventory as JSON in the key-value metadata), but rows are written one block of VMs at a time,
so workloads far larger than memory can be generated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from capplan.generate.params import GeneratorParams
from capplan.generate.synth import iter_blocks, make_population, sample_times, usage_frame
from capplan.io.canonical import INVENTORY_METADATA_KEY


def write_canonical_set(
    params: GeneratorParams,
    seed: int,
    out: Path,
    *,
    on_block: Callable[[int, int], None] | None = None,
) -> Path:
    """Generate ``params`` for ``seed`` into canonical Parquet ``out``; return ``out``.

    Written to a temporary name and renamed, so a failure leaves no partial file.
    ``on_block(done, total)`` is called after each block of VMs (progress bars).
    """
    population = make_population(params, seed)
    epoch = sample_times(params)
    ids = population.vm_ids
    inventory = json.dumps(population.inventory.rows(), default=str).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for lo, hi, block in iter_blocks(params, seed, population):
            table = usage_frame(ids[lo:hi], epoch, block).to_arrow()
            if writer is None:
                metadata = dict(table.schema.metadata or {})
                metadata[INVENTORY_METADATA_KEY] = inventory
                writer = pq.ParquetWriter(
                    tmp, table.schema.with_metadata(metadata), compression="zstd"
                )
            writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
            if on_block is not None:
                on_block(hi, population.n_vms)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(out)
    return out
