"""The :class:`Workload`: dense demand arrays on a regular time grid.

This module is the only pivot from polars (long usage rows) to numpy (``(n_vms, n_steps)``
arrays). Nothing after it loops over time steps in Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from capplan.errors import WorkloadError
from capplan.io.trace import Problem
from capplan.schema import INVENTORY_SCHEMA, USAGE_METRICS, conform_inventory

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Quality:
    """Data quality of a workload.

    Attributes
    ----------
    vm_frac
        Per VM, shape ``(n_vms,)``: share of the expected points (the steps between the VM's
        first and last sample) that hold a real, non-suspicious sample.
    overall_frac
        The same share over all VMs together.
    problems
        Every finding, from the reader and from resampling.
    """

    vm_frac: npt.NDArray[np.float64]
    overall_frac: float
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Workload:
    """Demand of ``n_vms`` VMs over ``n_steps`` regular steps.

    Attributes
    ----------
    vm_ids
        VM ids, shape ``(n_vms,)``; row ``i`` of every array is VM ``vm_ids[i]``.
    inventory
        Canonical inventory, one row per VM in the same order as ``vm_ids``.
    start
        UTC time of step 0 (the centre of its bucket).
    step_s
        Seconds between steps.
    mean
        Metric name → float32 array ``(n_vms, n_steps)``: mean demand in each step. Steps
        with no data (outside the VM's life, or in a gap longer than the fill limit) hold 0.
        Only metrics the trace has are present.
    peak
        Metric name → float32 array ``(n_vms, n_steps)``: the largest sample in each step,
        kept only for metrics where some step held more than one sample.
    observed
        Bool array ``(n_vms, n_steps)``: True where the step holds a real sample or a value
        filled within the gap limit.
    quality
        Data quality per VM and overall.
    format
        Reader that produced the trace.
    sources
        Input files.
    """

    vm_ids: npt.NDArray[np.str_]
    inventory: pl.DataFrame
    start: datetime
    step_s: int
    mean: dict[str, FloatArray]
    observed: BoolArray
    quality: Quality
    peak: dict[str, FloatArray] = field(default_factory=dict)
    format: str = "canonical"
    sources: tuple[str, ...] = ()

    @property
    def n_vms(self) -> int:
        """Number of VMs (rows of every array)."""
        return len(self.vm_ids)

    @property
    def n_steps(self) -> int:
        """Number of time steps (columns of every array)."""
        return int(self.observed.shape[1])

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names present, in canonical order."""
        return tuple(name for name in USAGE_METRICS if name in self.mean)

    @property
    def end(self) -> datetime:
        """UTC time of the last step."""
        return datetime.fromtimestamp(
            self.start.timestamp() + (self.n_steps - 1) * self.step_s, tz=UTC
        )

    def times(self) -> npt.NDArray[np.datetime64]:
        """Step times as ``datetime64[s]`` (UTC), shape ``(n_steps,)``."""
        start = np.datetime64(int(self.start.timestamp()), "s")
        return start + np.arange(self.n_steps, dtype=np.int64) * np.timedelta64(self.step_s, "s")

    def demand(self, metric: str, *, statistic: str = "mean") -> FloatArray:
        """Return the ``(n_vms, n_steps)`` array of ``metric``.

        Parameters
        ----------
        metric
            A canonical metric name; a missing one raises a WorkloadError listing those present.
        statistic
            ``"mean"`` or ``"peak"`` (the peak falls back to the mean where no finer data existed).
        """
        if metric not in self.mean:
            raise WorkloadError(
                f"metric {metric!r} is not in this workload; present: {list(self.metrics)}"
            )
        if statistic == "peak":
            return self.peak.get(metric, self.mean[metric])
        if statistic != "mean":
            raise WorkloadError(f"unknown statistic {statistic!r}; expected 'mean' or 'peak'")
        return self.mean[metric]

    def inventory_column(self, name: str, default: float | None = None) -> npt.NDArray[np.float64]:
        """Return a numeric inventory column as float64 ``(n_vms,)``, nulls → ``default`` or NaN
        (an inventory without the column reads as all null)."""
        if name not in self.inventory.columns:
            return np.full(self.n_vms, np.nan if default is None else default)
        series = self.inventory.get_column(name).cast(pl.Float64)
        fill = np.nan if default is None else default
        return series.fill_null(fill).to_numpy().astype(np.float64, copy=False)

    def select_vms(self, mask: npt.NDArray[np.bool_]) -> Workload:
        """Return a workload holding only the VMs where ``mask`` is True."""
        rows = np.flatnonzero(mask)
        return Workload(
            vm_ids=self.vm_ids[rows],
            inventory=self.inventory[rows.tolist()],
            start=self.start,
            step_s=self.step_s,
            mean={k: v[rows] for k, v in self.mean.items()},
            peak={k: v[rows] for k, v in self.peak.items()},
            observed=self.observed[rows],
            quality=Quality(
                self.quality.vm_frac[rows],
                float(np.mean(self.quality.vm_frac[rows])) if len(rows) else 0.0,
                self.quality.problems,
            ),
            format=self.format,
            sources=self.sources,
        )

    def summary(self) -> dict[str, object]:
        """Return the JSON-ready summary that ``capplan inspect --json`` prints."""
        return {
            "format": self.format,
            "n_vms": self.n_vms,
            "n_steps": self.n_steps,
            "step_s": self.step_s,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "metrics": list(self.metrics),
            "quality_frac": round(self.quality.overall_frac, 6),
            "sum_of_peaks_ratio": self.sum_of_peaks_ratio(),
            "problems": [p.to_dict() for p in self.quality.problems],
            "sources": list(self.sources),
        }

    def security_zones(self) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
        """Each VM's security zone as an index into the sorted zone names (a VM without one
        is in ``"default"``): int64 ``(n_vms,)`` and the names."""
        labels = [z if z is not None else "default" for z in self.inventory["security_zone"]]
        names = tuple(sorted(set(labels)))
        position = {name: k for k, name in enumerate(names)}
        return np.array([position[z] for z in labels], dtype=np.int64), names

    def sum_of_peaks_ratio(self) -> dict[str, float]:
        """Per metric, the sum of the VMs' peaks over the peak of their sum (1: all VMs peak
        together; large: complementary profiles, what time-aware sizing gains from).

        Metrics whose summed demand is never above 0 are left out.
        """
        out: dict[str, float] = {}
        for name, values in self.mean.items():
            demand = np.where(self.observed, values, 0.0)
            peak_of_sum = float(demand.sum(axis=0, dtype=np.float64).max(initial=0.0))
            if peak_of_sum > 0:
                sum_of_peaks = float(demand.max(axis=1, initial=0.0).sum(dtype=np.float64))
                out[name] = round(sum_of_peaks / peak_of_sum, 4)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        """Save to ``directory`` (one ``.npz`` of arrays, inventory Parquet, JSON metadata)."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"observed": self.observed, "vm_ids": self.vm_ids}
        arrays |= {f"mean__{k}": v for k, v in self.mean.items()}
        arrays |= {f"peak__{k}": v for k, v in self.peak.items()}
        arrays["quality_vm_frac"] = self.quality.vm_frac
        np.savez(directory / "arrays.npz", **arrays)  # type: ignore[arg-type]
        self.inventory.write_parquet(directory / "inventory.parquet")
        meta = {
            "start": self.start.isoformat(),
            "step_s": self.step_s,
            "format": self.format,
            "sources": list(self.sources),
            "overall_frac": self.quality.overall_frac,
            "problems": [p.to_dict() for p in self.quality.problems],
        }
        (directory / "workload.json").write_text(json.dumps(meta, indent=1))
        return directory

    @classmethod
    def load(cls, directory: Path) -> Workload:
        """Load a workload written by :meth:`save`."""
        meta = json.loads((directory / "workload.json").read_text())
        with np.load(directory / "arrays.npz", allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        problems = tuple(Problem(**p) for p in meta["problems"])
        return cls(
            vm_ids=arrays["vm_ids"],
            inventory=conform_inventory(pl.read_parquet(directory / "inventory.parquet")),
            start=datetime.fromisoformat(meta["start"]),
            step_s=int(meta["step_s"]),
            mean={k[6:]: v for k, v in arrays.items() if k.startswith("mean__")},
            peak={k[6:]: v for k, v in arrays.items() if k.startswith("peak__")},
            observed=arrays["observed"],
            quality=Quality(arrays["quality_vm_frac"], float(meta["overall_frac"]), problems),
            format=meta["format"],
            sources=tuple(meta["sources"]),
        )


def inventory_schema_names() -> tuple[str, ...]:
    """Canonical inventory column names (for callers that build inventories by hand)."""
    return tuple(INVENTORY_SCHEMA)
