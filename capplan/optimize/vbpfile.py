"""Reader of the VPSolver ``.vbp`` vector bin packing format (benchmark instances).

Format (VPSolver manual; files of Mommessin et al.'s benchmark)::

    d                  number of dimensions
    C_1 ... C_d        bin capacity per dimension
    m                  number of item types (lines that follow)
    w_1 ... w_d  q     sizes per dimension, then the number of copies q

Some Caprara-style triplet files of the benchmark hold a few negative sizes (an artefact of
their generator, which makes three items fill a bin exactly; the stated optimum n/3 relies on
them). They are kept as they are, and the instance's notes say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from capplan.errors import TraceFormatError
from capplan.optimize.instance import Instance, make_instance


def read_vbp(path: Path) -> Instance:
    """Read a ``.vbp`` file into a one-bucket :class:`Instance` (objective: number of bins).

    Item sizes may be negative (see the module notes); counts and capacities may not.

    Raises
    ------
    TraceFormatError
        On a missing file, a non-integer token, a wrong token count or a negative value; the
        message names the file and line.
    """
    if not path.is_file():
        raise TraceFormatError("no such .vbp file", path=path)
    lines = [
        (n, line.split())
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if line.strip()
    ]

    def ints(k: int, want: int | None, what: str, signed: bool = False) -> list[int]:
        if k >= len(lines):
            raise TraceFormatError(f"file ends early; expected {what}", path=path)
        n, tokens = lines[k]
        if want is not None and len(tokens) != want:
            raise TraceFormatError(
                f"{len(tokens)} values; expected {want} ({what})", path=path, line=n
            )
        try:
            values = [int(tok) for tok in tokens]
        except ValueError:
            raise TraceFormatError(
                f"non-integer value; expected {what}", path=path, line=n
            ) from None
        if not signed and any(v < 0 for v in values):
            raise TraceFormatError(f"negative value; expected {what}", path=path, line=n)
        return values

    (n_dims,) = ints(0, 1, "the number of dimensions")
    if n_dims < 1:
        raise TraceFormatError("number of dimensions must be >= 1", path=path, line=lines[0][0])
    capacity = ints(1, n_dims, f"{n_dims} bin capacities")
    (n_types,) = ints(2, 1, "the number of item types")
    rows = [
        ints(3 + k, n_dims + 1, f"{n_dims} sizes and a count", signed=True) for k in range(n_types)
    ]
    bad_count = [k for k, r in enumerate(rows) if r[n_dims] < 0]
    if bad_count:
        raise TraceFormatError(
            "negative item count; expected a count >= 0", path=path, line=lines[3 + bad_count[0]][0]
        )
    if len(lines) > 3 + n_types:
        raise TraceFormatError(
            f"extra line after the {n_types} item types", path=path, line=lines[3 + n_types][0]
        )
    sizes = np.array([r[:n_dims] for r in rows], dtype=np.int64).reshape(-1, n_dims)
    counts = np.array([r[n_dims] for r in rows], dtype=np.int64)
    demand = np.repeat(sizes, counts, axis=0)
    n_negative = int((demand < 0).sum())
    notes = [f"{n_negative} negative size(s) kept as written in {path.name}"] if n_negative else []
    return make_instance(
        demand,
        np.array(capacity, dtype=np.int64),
        item_names=[f"i{k}" for k in range(len(demand))],
        type_names=["bin"],
        dim_names=[f"d{k}" for k in range(n_dims)],
        bucket_names=["all"],
        objective_unit="bins",
        notes=notes,
    )
