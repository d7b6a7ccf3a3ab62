"""PlanetLab CPU traces as shipped with CloudSim (reader ``"planetlab"``).

**Input**: a day folder (``20110303/``) of per-VM files, a zip of one, or a folder of day
folders. Each file is one VM: 288 lines, one integer each, the CPU utilisation in percent of
the VM's capacity, sampled every 300 s; no header, no capacities.

**Decisions**:

- VM order is the name-sorted order of the files (Python ``sorted``), not the file-system order
  CloudSim used, so results do not depend on the machine.
- Capacities: with ``ReadOptions.vm_types == "cloudsim"`` the VM at sorted index ``i`` of ``n``
  gets CloudSim's VM type ``i // ceil(n / 4)`` (:data:`CLOUDSIM_VM_TYPES`); otherwise every VM
  gets ``ReadOptions.default_vm_cpu_mhz`` / ``default_vm_mem_mib``. An inventory file read with
  the trace overrides both (merge in :func:`capplan.io.read_traces`).
- ``cpu_demand_mhz = value / 100 × cpu_capacity_mhz``. No memory usage is in the format.
- Time: the folder name is the day (``YYYYMMDD``, UTC); sample ``k`` is at midnight + 300 s × k.
  A folder name that is not a date gives 1970-01-01 and a Problem.
- Values must be integers ≥ 0 (else an error naming file and line). Values above 100 and files
  with other than 288 lines are kept and reported as Problems.

All files are read as bytes and parsed together by one CSV parse (a real parser, not a split),
so a day of 1,000+ tiny files costs one parse instead of 1,000.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Final

import numpy as np
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.files import Member, list_members
from capplan.io.registry import ReadOptions, register_reader
from capplan.io.trace import Problem, Trace
from capplan.schema import TIMESTAMP_DTYPE
from capplan.units import PERCENT, US_PER_S

#: Samples per file and their spacing.
SAMPLES_PER_DAY: Final = 288
STEP_S: Final = 300
#: CloudSim's four VM types used with the PlanetLab traces: (MIPS, RAM MB). Source: CloudSim
#: ``PowerConstants`` (VM_MIPS = 2500, 2000, 1000, 500; VM_RAM = 870, 1740, 1740, 613), as used
#: by Beloglazov & Buyya, CCPE 24(13):1397-1420, 2012 (DOI 10.1002/cpe.1867). capplan reads
#: MIPS as MHz and MB as MiB (CloudSim only compares them with host MIPS and MB).
CLOUDSIM_VM_TYPES: Final[tuple[tuple[float, float], ...]] = (
    (2500.0, 870.0),
    (2000.0, 1740.0),
    (1000.0, 1740.0),
    (500.0, 613.0),
)
_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_INTEGER_LINE = re.compile(rb"^\s*\d+\s*$")


def detect(members: list[Member]) -> float:
    """Score members as PlanetLab files: no extension, only lines holding one integer."""
    if not members:
        return 0.0
    sample = members[:: max(1, len(members) // 10)][:10]
    hits = 0
    for member in sample:
        if "." in member.name and not member.name.lower().endswith(".txt"):
            continue
        lines = member.head(4096).splitlines()
        if lines and all(_INTEGER_LINE.match(line) for line in lines[:-1] or lines):
            hits += 1 if len(member.head(4096)) < 4096 else 0
    share = hits / len(sample)
    return 0.8 * share if len(members) > 1 else 0.5 * share


def _day_start(folder: str) -> datetime | None:
    match = _DAY.match(folder)
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None


def _folder_of(member: Member) -> str:
    inner = PurePosixPath(member.label.split("!", 1)[-1])
    return inner.parent.name


def cloudsim_types(n_vms: int) -> np.ndarray:
    """VM type index per name-sorted VM index: ``i // ceil(n / 4)``, shape ``(n_vms,)``."""
    per_type = max(1, math.ceil(n_vms / len(CLOUDSIM_VM_TYPES)))
    return np.minimum(np.arange(n_vms) // per_type, len(CLOUDSIM_VM_TYPES) - 1)


def _parse(members: list[Member], options: ReadOptions) -> tuple[pl.Series, np.ndarray]:
    """Parse all files at once; return values (Int64) and line count per file."""
    blobs: list[bytes] = []
    counts = np.zeros(len(members), dtype=np.int64)
    budget = options.max_expanded_bytes
    for index, member in enumerate(members):
        data = member.read_bytes(budget)
        budget -= len(data)
        if not data.strip():
            raise TraceFormatError(
                "file is empty; expected 288 lines of integer CPU percentages",
                path=member.label,
                line=1,
            )
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        if not data.endswith(b"\n"):
            data += b"\n"
        counts[index] = data.count(b"\n")
        blobs.append(data)
    joined = b"".join(blobs)
    try:
        frame = pl.read_csv(
            joined,
            has_header=False,
            new_columns=["value"],
            schema_overrides={"value": pl.Int64},
            separator="\x1f",
            quote_char=None,
            infer_schema=False,
        )
        values = frame.get_column("value")
        if values.len() != int(counts.sum()) or values.null_count():
            raise ValueError("row count mismatch or empty line")
    except (pl.exceptions.PolarsError, ValueError):
        _diagnose(blobs, members)
        raise AssertionError("unreachable") from None
    return values, counts


def _diagnose(blobs: list[bytes], members: list[Member]) -> None:
    """Find the first file and line that is not a non-negative integer, and raise there."""
    for data, member in zip(blobs, members, strict=True):
        for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
            text = raw.strip()
            if not text.lstrip(b"-").isdigit() or len(text) > 15:
                shown = text.decode("utf-8", errors="replace")
                raise TraceFormatError(
                    f"value {shown!r} is not a non-negative integer CPU percentage",
                    path=member.label,
                    line=number,
                )
    raise TraceFormatError("could not parse the files as one integer per line")


@dataclass(frozen=True)
class PlanetlabFiles:
    """The files of a PlanetLab trace and the VM of each.

    Attributes
    ----------
    path
        The folder, zip or file that was listed.
    members
        Its files, sorted by label.
    vm_names
        VM ids (file names), sorted: VM code ``i`` is ``vm_names[i]``.
    file_vm
        VM code of each file, shape ``(n_files,)``.
    """

    path: Path
    members: tuple[Member, ...]
    vm_names: tuple[str, ...]
    file_vm: np.ndarray


def list_planetlab_files(path: Path, options: ReadOptions) -> PlanetlabFiles:
    """List a PlanetLab trace's files and number its VMs (a VM is a file name)."""
    members = sorted(list_members(path, options.max_expanded_bytes), key=lambda m: m.label)
    vm_names = sorted({m.name for m in members})
    code = {name: i for i, name in enumerate(vm_names)}
    file_vm = np.array([code[m.name] for m in members], dtype=np.int64)
    return PlanetlabFiles(path, tuple(members), tuple(vm_names), file_vm)


@dataclass
class PlanetlabFindings:
    """What reading some files found; file indices are those of the whole file list.

    Attributes
    ----------
    n_over
        Values above 100 %.
    first_over
        (file index, line) of the first of them.
    wrong_lines
        (file index, line count) of each file without 288 lines.
    bad_days
        (file index, folder name) of each file whose folder is not a day.
    n_repeated
        Rows repeating a VM and timestamp (one file name twice for the same day).
    """

    n_over: int = 0
    first_over: tuple[int, int] | None = None
    wrong_lines: list[tuple[int, int]] = field(default_factory=list)
    bad_days: list[tuple[int, str]] = field(default_factory=list)
    n_repeated: int = 0


def read_planetlab_vms(
    files: PlanetlabFiles, vm_codes: range | None, options: ReadOptions
) -> tuple[Trace, PlanetlabFindings]:
    """Read the files of a range of VM codes (all VMs when ``vm_codes`` is None).

    VM types (``vm_types="cloudsim"``) follow each VM's index among all VMs of ``files``.
    Returns the Trace of those VMs without the reader's problems and what the read found;
    :func:`planetlab_problems` turns the findings of one or several reads into the problems.
    """
    if vm_codes is None:
        selected = np.arange(len(files.members))
    else:
        wanted = np.zeros(len(files.vm_names), dtype=bool)
        wanted[np.asarray(vm_codes, dtype=np.int64)] = True
        selected = np.flatnonzero(wanted[files.file_vm])
    members = [files.members[i] for i in selected.tolist()]
    findings = PlanetlabFindings()
    values, counts = _parse(members, options)
    first_data = np.concatenate(([0], np.cumsum(counts)[:-1]))

    negative = (values < 0).fill_null(False)
    if negative.any():
        row = int(negative.arg_true()[0])
        file_index = int(np.searchsorted(first_data, row, side="right") - 1)
        raise TraceFormatError(
            f"value {values[row]} is negative; expected a CPU percentage ≥ 0",
            path=members[file_index].label,
            line=row - int(first_data[file_index]) + 1,
        )
    over = values > int(PERCENT)
    if over.any():
        row = int(over.arg_true()[0])
        file_index = int(np.searchsorted(first_data, row, side="right") - 1)
        findings.n_over = int(over.sum())
        findings.first_over = (
            int(selected[file_index]),
            row - int(first_data[file_index]) + 1,
        )
    findings.wrong_lines = [
        (int(selected[k]), int(counts[k])) for k in np.flatnonzero(counts != SAMPLES_PER_DAY)
    ]

    # VM ids: the file name; the same name in several day folders is the same VM.
    vm_names = files.vm_names
    n_vms = len(vm_names)
    if options.vm_types == "cloudsim":
        types = cloudsim_types(n_vms)
        cpu_mhz = np.array([CLOUDSIM_VM_TYPES[t][0] for t in types])
        mem_mib = np.array([CLOUDSIM_VM_TYPES[t][1] for t in types])
    else:
        cpu_mhz = np.full(n_vms, options.default_vm_cpu_mhz)
        mem_mib = np.full(n_vms, options.default_vm_mem_mib)

    day_starts_us = np.zeros(len(members), dtype=np.int64)
    for index, member in enumerate(members):
        folder = _folder_of(member)
        start = _day_start(folder)
        if start is None:
            findings.bad_days.append((int(selected[index]), folder or str(files.path)))
            start = datetime(1970, 1, 1, tzinfo=UTC)
        day_starts_us[index] = int(start.timestamp()) * int(US_PER_S)

    file_of_row = np.repeat(np.arange(len(members)), counts)
    index_in_file = np.arange(len(values)) - np.repeat(first_data, counts)
    vm_of_file = files.file_vm[selected]
    vm_of_row = vm_of_file[file_of_row]
    timestamps_us = day_starts_us[file_of_row] + index_in_file * STEP_S * int(US_PER_S)
    demand = values.to_numpy().astype(np.float64) / PERCENT * cpu_mhz[vm_of_row]
    usage = pl.DataFrame(
        {
            "vm_id": pl.Series(vm_names, dtype=pl.String).gather(vm_of_row),
            "timestamp": pl.Series(timestamps_us).cast(TIMESTAMP_DTYPE),
            "cpu_demand_mhz": demand,
        }
    )
    # Two files of one name for the same day (e.g. two copies of a day folder in one zip).
    seen: set[tuple[int, str]] = set()
    names = [m.name for m in members]
    for day_us, name, count in zip(day_starts_us.tolist(), names, counts.tolist(), strict=True):
        if (day_us, name) in seen:
            findings.n_repeated += count
        seen.add((day_us, name))
    codes = np.unique(vm_of_file)
    inventory = pl.DataFrame(
        {
            "vm_id": [vm_names[c] for c in codes.tolist()],
            "cpu_capacity_mhz": cpu_mhz[codes],
            "mem_provisioned_mib": mem_mib[codes],
        }
    )
    trace = Trace.build(
        usage,
        inventory,
        format="planetlab",
        sources=[m.label for m in members],
        native_step_s=float(STEP_S),
    )
    return trace, findings


def planetlab_problems(
    files: PlanetlabFiles, findings: Sequence[PlanetlabFindings]
) -> list[Problem]:
    """The reader's problems from the findings of reads of disjoint VMs."""
    members = files.members
    problems: list[Problem] = []
    n_over = sum(f.n_over for f in findings)
    firsts = [f.first_over for f in findings if f.first_over is not None]
    if n_over and firsts:
        file_index, line = min(firsts)
        problems.append(
            Problem(
                f"{n_over:,} values above 100 % (kept: demand above capacity)",
                path=members[file_index].label,
                line=line,
                count=n_over,
            )
        )
    wrong = sorted(item for f in findings for item in f.wrong_lines)
    if wrong:
        first, n_lines = wrong[0]
        problems.append(
            Problem(
                f"{len(wrong)} file(s) do not hold {SAMPLES_PER_DAY} lines (first has "
                f"{n_lines}); samples kept at 300 s from midnight",
                path=members[first].label,
                count=len(wrong),
            )
        )
    bad_days = sorted(item for f in findings for item in f.bad_days)
    if bad_days:
        problems.append(
            Problem(
                f"folder name {bad_days[0][1]!r} is not a day (YYYYMMDD); samples dated from "
                "1970-01-01 00:00 UTC",
                path=str(files.path),
                count=len(bad_days),
            )
        )
    repeated = sum(f.n_repeated for f in findings)
    if repeated:
        problems.append(
            Problem(
                f"{repeated:,} rows repeat a VM and timestamp (the same file name in two folders "
                "of the same day); the Workload builder keeps one per timestamp",
                count=repeated,
            )
        )
    return problems


@register_reader(
    "planetlab",
    detect=detect,
    description="PlanetLab/CloudSim day folder: one file per VM, 288 integer CPU % at 300 s",
    cpu_share=True,
)
def read_planetlab(path: Path, options: ReadOptions) -> Trace:
    """Read a PlanetLab day folder (or zip, or folder of day folders) into a Trace."""
    files = list_planetlab_files(path, options)
    trace, findings = read_planetlab_vms(files, None, options)
    return dataclasses.replace(trace, problems=tuple(planetlab_problems(files, [findings])))
