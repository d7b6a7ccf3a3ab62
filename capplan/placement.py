"""The :class:`Placement`: which host each VM runs on, and which hosts exist.

The optimizer produces placements; the emulation, economics and reports consume them. The
CSV form (one row per VM: ``vm_id,host_id,host_model``) is what ``capplan consolidate --out``
writes and ``capplan emulate --placement`` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import TraceFormatError

PLACEMENT_COLUMNS = ("vm_id", "host_id", "host_model")


@dataclass(frozen=True)
class Placement:
    """Assignment of VMs to hosts.

    Attributes
    ----------
    vm_ids
        VM ids, shape ``(n_vms,)``, in the order of the workload's rows.
    host_of_vm
        Host index of each VM, int64 ``(n_vms,)``, in ``[0, n_hosts)``.
    host_ids
        Host names, shape ``(n_hosts,)``.
    host_models
        Catalog model name of each host, shape ``(n_hosts,)``.
    """

    vm_ids: npt.NDArray[np.str_]
    host_of_vm: npt.NDArray[np.int64]
    host_ids: npt.NDArray[np.str_]
    host_models: npt.NDArray[np.str_]

    def __post_init__(self) -> None:
        if self.host_of_vm.shape != self.vm_ids.shape:
            raise ValueError("host_of_vm must have one entry per VM")
        if len(self.host_ids) != len(self.host_models):
            raise ValueError("host_ids and host_models must have the same length")
        if len(self.host_of_vm) and (
            self.host_of_vm.min() < 0 or self.host_of_vm.max() >= len(self.host_ids)
        ):
            raise ValueError("host_of_vm holds an index outside [0, n_hosts)")

    @property
    def n_hosts(self) -> int:
        """Number of hosts in the placement (including any left empty)."""
        return len(self.host_ids)

    @property
    def n_vms(self) -> int:
        """Number of VMs placed."""
        return len(self.vm_ids)

    def vms_per_host(self) -> npt.NDArray[np.int64]:
        """Number of VMs on each host, shape ``(n_hosts,)``."""
        return np.bincount(self.host_of_vm, minlength=self.n_hosts).astype(np.int64)

    @classmethod
    def from_assignment(
        cls,
        vm_ids: Sequence[str] | npt.NDArray[np.str_],
        host_of_vm: Sequence[int] | npt.NDArray[np.integer],
        host_models: Sequence[str],
        host_ids: Sequence[str] | None = None,
    ) -> Placement:
        """Build a placement; hosts are named ``host-0001``... unless ``host_ids`` is given."""
        names = (
            list(host_ids)
            if host_ids is not None
            else [f"host-{i + 1:04d}" for i in range(len(host_models))]
        )
        return cls(
            np.asarray(vm_ids, dtype=np.str_),
            np.asarray(host_of_vm, dtype=np.int64),
            np.asarray(names, dtype=np.str_),
            np.asarray(list(host_models), dtype=np.str_),
        )

    def aligned_to(self, vm_ids: npt.NDArray[np.str_], *, label: str = "placement") -> Placement:
        """Return the same placement with VMs in the order of ``vm_ids``.

        Raises
        ------
        TraceFormatError
            If a VM of ``vm_ids`` is missing from the placement, or the placement places a VM
            the workload does not have (a placement made for another workload): both name the
            first few VMs.
        """
        index = {vm: i for i, vm in enumerate(self.vm_ids.tolist())}
        wanted = set(vm_ids.tolist())
        missing = [vm for vm in vm_ids.tolist() if vm not in index]
        unknown = [vm for vm in self.vm_ids.tolist() if vm not in wanted]
        problems = []
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            problems.append(
                f"{len(missing)} VM(s) of the workload have no row in the placement, e.g. {shown}"
            )
        if unknown:
            shown = ", ".join(repr(m) for m in unknown[:5])
            problems.append(
                f"{len(unknown)} VM(s) of the placement are not in the workload, e.g. {shown}"
            )
        if problems:
            raise TraceFormatError("; ".join(problems), path=label)
        order = np.fromiter((index[vm] for vm in vm_ids.tolist()), dtype=np.int64)
        return Placement(vm_ids, self.host_of_vm[order], self.host_ids, self.host_models)

    def to_frame(self) -> pl.DataFrame:
        """One row per VM: ``vm_id, host_id, host_model``."""
        return pl.DataFrame(
            {
                "vm_id": self.vm_ids.tolist(),
                "host_id": self.host_ids[self.host_of_vm].tolist(),
                "host_model": self.host_models[self.host_of_vm].tolist(),
            },
            schema={name: pl.String() for name in PLACEMENT_COLUMNS},
        )

    def write_csv(self, path: Path) -> Path:
        """Write the CSV form atomically (temporary file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self.to_frame().write_csv(tmp)
        tmp.replace(path)
        return path

    @classmethod
    def read_csv(cls, path: Path) -> Placement:
        """Read the CSV form; errors name the file, line and column."""
        from capplan.io.csvtools import read_csv_typed

        if not path.is_file():
            raise TraceFormatError("no such placement file", path=path)
        data = path.read_bytes()
        header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip().split(",")
        if [h.strip().strip('"') for h in header] != list(PLACEMENT_COLUMNS):
            raise TraceFormatError(
                f"header is {header}; expected {','.join(PLACEMENT_COLUMNS)}", path=path, line=1
            )
        frame = read_csv_typed(data, label=str(path), columns=PLACEMENT_COLUMNS, dtypes={})
        for name in PLACEMENT_COLUMNS:
            empty = frame.get_column(name).is_null()
            if empty.any():
                raise TraceFormatError(
                    "value is empty", path=path, line=2 + int(empty.arg_max() or 0), column=name
                )
        dup = ~frame.get_column("vm_id").is_first_distinct()
        if dup.any():
            row = int(dup.arg_max() or 0)
            raise TraceFormatError(
                f"VM {frame['vm_id'][row]!r} is placed more than once",
                path=path,
                line=2 + row,
                column="vm_id",
            )
        hosts = frame.select("host_id", "host_model").unique(maintain_order=True)
        clash = hosts.get_column("host_id").is_duplicated()
        if clash.any():
            host = hosts["host_id"][int(clash.arg_max() or 0)]
            raise TraceFormatError(
                f"host {host!r} is given more than one host_model", path=path, column="host_model"
            )
        host_ids = hosts.get_column("host_id").to_list()
        lookup = {h: i for i, h in enumerate(host_ids)}
        host_of_vm = np.fromiter(
            (lookup[h] for h in frame.get_column("host_id").to_list()), dtype=np.int64
        )
        return cls.from_assignment(
            frame.get_column("vm_id").to_list(),
            host_of_vm,
            hosts.get_column("host_model").to_list(),
            host_ids,
        )
