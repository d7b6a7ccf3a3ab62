"""PlanetLab CPU traces as shipped with CloudSim (reader ``"planetlab"``).

**Input**: a day folder (``20110303/``) of per-VM files, a zip of one, or a folder of day
folders. Each file is one VM: 288 lines, one integer each, the CPU utilisation in percent of
the VM's capacity, sampled every 300 s; no header, no capacities.

**Decisions**:

- VM order is the name-sorted order of the files (Python ``sorted``), not the file-system order
  CloudSim used, so results do not depend on the machine. An order file (``order_file=``, or
  ``ReadOptions.extra[ORDER_OPTION]``, CLI ``--trace-order``) gives another order: a TSV with a
  ``file`` column (``cloudsim-order/<day>.tsv``: ``index vm_type file``) or one file name a line
  (:func:`read_order`). It must name every trace file exactly once.
- Capacities: with ``ReadOptions.vm_types == "cloudsim"`` the VM at index ``i`` of ``n`` (in
  the order above) gets CloudSim's VM type ``i // ceil(n / 4)`` (:data:`CLOUDSIM_VM_TYPES`);
  otherwise every VM gets ``ReadOptions.default_vm_cpu_mhz`` / ``default_vm_mem_mib``. An
  inventory file read with the trace overrides both (merge in :func:`capplan.io.read_traces`).
- ``cpu_demand_mhz = value / 100 × cpu_capacity_mhz``. No memory usage is in the format.
- Time: the folder name is the day (``YYYYMMDD``, UTC); sample ``k`` is at midnight + 300 s × k.
  A folder name that is not a date gives 1970-01-01 and a Problem.
- Refused, with an error naming the file and line: a line that is not an integer 0..100 (ASCII
  digits only: no sign, decimal point or spaces; CloudSim would crash on a value above 100), a
  blank line, a file of other than 288 lines, an empty file. A UTF-8 BOM, CRLF line ends and a
  missing final newline are accepted; one final newline ends the file, a second is a blank line.
- Refused: an empty folder, an entry that is not a regular file or folder (broken link, pipe),
  and a folder (or a folder inside a zip) holding both files and sub-folders. A folder holds
  either the files of one day or day folders.

All files are read as bytes and parsed together by one CSV parse (a real parser, not a split),
so a day of 1,000+ tiny files costs one parse instead of 1,000.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Final

import numpy as np
import polars as pl

from capplan.errors import TraceFormatError
from capplan.io.files import Member, decode_text, list_members, strip_bom
from capplan.io.files import _visible as _visible_name
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
#: ``ReadOptions.extra`` key of an order file (``Path`` or ``str``), see :func:`read_order`.
ORDER_OPTION: Final = "planetlab_order"
#: What every line must hold, for error messages.
_EXPECTED_VALUE: Final = "expected an integer percentage 0..100"
_EXPECTED_LINES: Final = f"{SAMPLES_PER_DAY} lines expected (5-min samples over 24 h)"
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
    """VM type index per VM index (name-sorted or order-file order): ``i // ceil(n / 4)``."""
    per_type = max(1, math.ceil(n_vms / len(CLOUDSIM_VM_TYPES)))
    return np.minimum(np.arange(n_vms) // per_type, len(CLOUDSIM_VM_TYPES) - 1)


def _parse(members: list[Member], options: ReadOptions) -> tuple[pl.Series, np.ndarray]:
    """Parse all files at once; return values (Int64) and line count per file.

    The fast path checks all bytes together (digits and newlines only, no blank line, 288
    lines a file, values ≤ 100); anything else goes to :func:`_diagnose`, which names the
    first bad file and line in file order.
    """
    blobs: list[bytes] = []
    counts = np.zeros(len(members), dtype=np.int64)
    budget = options.max_expanded_bytes
    for index, member in enumerate(members):
        data = member.read_bytes(budget)  # without a UTF-8 BOM
        budget -= len(data)
        if not data:
            raise TraceFormatError(
                f"file is empty; {_EXPECTED_LINES}, each an integer percentage 0..100",
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
    clean = (
        not joined.translate(None, b"0123456789\n")
        and not joined.startswith(b"\n")
        and b"\n\n" not in joined
        and bool((counts == SAMPLES_PER_DAY).all())
    )
    values: pl.Series | None = None
    if clean:
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
        except pl.exceptions.PolarsError:  # a number too long for Int64
            values = None
    if (
        values is None
        or values.len() != int(counts.sum())
        or values.null_count()
        or (values.len() and int(values.max()) > int(PERCENT))  # type: ignore[arg-type]
    ):
        _diagnose(blobs, members)
        # valid after all (e.g. zero-padded numbers the fast parse refused): parse line by line
        numbers = [int(raw) for data in blobs for raw in data.split(b"\n")[:-1]]
        values = pl.Series("value", numbers, dtype=pl.Int64)
    return values, counts


def _shown(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= 40 else text[:40] + "…"


def _diagnose(blobs: list[bytes], members: list[Member]) -> None:
    """Raise at the first file (in ``members`` order) and line that breaks the format."""
    for data, member in zip(blobs, members, strict=True):
        lines = data.split(b"\n")[:-1]  # data ends with its one final newline
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                raise TraceFormatError(
                    f"line is blank; {_EXPECTED_VALUE} on every line (a single newline may "
                    "end the file)",
                    path=member.label,
                    line=number,
                )
            if not (raw.isdigit() and (len(raw) <= 3 or not raw.lstrip(b"0")[3:])):
                if raw.isdigit():
                    message = f"value {_shown(raw)} is above 100; {_EXPECTED_VALUE}"
                else:
                    message = f"{_EXPECTED_VALUE}, got {_shown(raw)!r}"
                raise TraceFormatError(message, path=member.label, line=number)
            if int(raw) > int(PERCENT):
                raise TraceFormatError(
                    f"value {int(raw)} is above 100; {_EXPECTED_VALUE}",
                    path=member.label,
                    line=number,
                )
        if len(lines) != SAMPLES_PER_DAY:
            raise TraceFormatError(
                f"{_EXPECTED_LINES}, file has {len(lines)}",
                path=member.label,
                line=SAMPLES_PER_DAY + 1 if len(lines) > SAMPLES_PER_DAY else None,
            )


@dataclass(frozen=True)
class PlanetlabFiles:
    """The files of a PlanetLab trace and the VM of each.

    Attributes
    ----------
    path
        The folder, zip or file that was listed.
    members
        Its files, sorted by VM code, then by label (by label alone without an order file).
    vm_names
        VM ids (file names), name-sorted or in the order file's order: VM code ``i`` is
        ``vm_names[i]``.
    file_vm
        VM code of each file, shape ``(n_files,)``.
    """

    path: Path
    members: tuple[Member, ...]
    vm_names: tuple[str, ...]
    file_vm: np.ndarray


def _order_lines(path: Path) -> list[tuple[int, str]]:
    """The file names of an order file with their 1-based line numbers (see :func:`read_order`)."""
    label = str(path)
    if not path.is_file():
        raise TraceFormatError(
            "no such order file; expected a TSV with a 'file' column or one file name a line",
            path=path,
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TraceFormatError(f"cannot read the order file ({exc})", path=path) from exc
    text = decode_text(strip_bom(raw), label).replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    header = lines[0].split("\t") if lines else []
    column: int | None = None
    first = 1
    if "file" in header:
        column, first = header.index("file"), 2
    entries: list[tuple[int, str]] = []
    for number, line in enumerate(lines[first - 1 :], start=first):
        if not line.strip():
            raise TraceFormatError(
                "line is blank; expected one trace file name a line", path=label, line=number
            )
        if column is None:
            name = line
        else:
            fields = line.split("\t")
            if len(fields) != len(header):
                raise TraceFormatError(
                    f"{len(fields)} tab-separated field(s); expected {len(header)} as in the "
                    f"header ({', '.join(header)})",
                    path=label,
                    line=number,
                )
            name = fields[column]
        if not name or "/" in name or "\\" in name or "\r" in name:
            raise TraceFormatError(
                f"{name!r} is not a file name; expected the name of one trace file",
                path=label,
                line=number,
                column="file" if column is not None else None,
            )
        entries.append((number, name))
    if not entries:
        raise TraceFormatError(
            "order file names no trace file; expected one name a line (or a TSV with a "
            "'file' column)",
            path=label,
        )
    seen: dict[str, int] = {}
    for number, name in entries:
        if name in seen:
            raise TraceFormatError(
                f"{name!r} repeats line {seen[name]}; expected each trace file once",
                path=label,
                line=number,
            )
        seen[name] = number
    return entries


def read_order(path: Path | str) -> list[str]:
    """Read a PlanetLab order file: the trace file names, first VM first.

    Two layouts: a TSV whose header has a ``file`` column (``cloudsim-order/<day>.tsv``:
    ``index vm_type file``), or one file name a line (no header; a first line ``file`` is a
    header). UTF-8, BOM and CRLF accepted; names are taken as they are (spaces kept).

    Raises
    ------
    TraceFormatError
        If the file is missing, empty, has a blank line, a row of the wrong width, or repeats
        a name (naming the line).
    """
    return [name for _, name in _order_lines(Path(path))]


def order_options(order_file: Path | str, options: ReadOptions | None = None) -> ReadOptions:
    """``options`` (default ``ReadOptions()``) with the PlanetLab VM order from ``order_file``.

    ``load_workload(f"planetlab:{day}", options=order_options(day_tsv))`` reads a day in the
    order of ``day_tsv`` (VM ``i`` is its ``i``-th file, CloudSim type ``i // ceil(n / 4)``).
    """
    base = options or ReadOptions()
    return dataclasses.replace(base, extra={**base.extra, ORDER_OPTION: Path(order_file)})


def _ordered_names(order_file: Path, names: set[str], path: Path) -> list[str]:
    """The trace's VM names in the order file's order; refuse a name missing on either side."""
    entries = _order_lines(order_file)
    for number, name in entries:
        if name not in names:
            raise TraceFormatError(
                f"{name!r} is not a trace file of {path}; expected only names of its "
                f"{len(names):,} files",
                path=order_file,
                line=number,
            )
    missing = sorted(names - {name for _, name in entries})
    if missing:
        shown = ", ".join(repr(name) for name in missing[:3])
        raise TraceFormatError(
            f"misses {len(missing):,} of the {len(names):,} trace files of {path} (e.g. "
            f"{shown}); expected each of them once",
            path=order_file,
        )
    return [name for _, name in entries]


def _check_folder(root: Path) -> None:
    """Refuse an empty folder, an entry that is neither file nor folder, and a folder holding
    both files and sub-folders (anywhere under ``root``)."""
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted((e for e in scan if _visible_name(e.name)), key=lambda e: e.name)
        except OSError as exc:
            raise TraceFormatError(f"cannot list the folder ({exc})", path=folder) from exc
        if not entries:
            raise TraceFormatError(
                "folder is empty; expected one file per VM (288 lines each) or day folders "
                "(YYYYMMDD)",
                path=folder,
            )
        files = [e for e in entries if e.is_file()]
        folders = [e for e in entries if e.is_dir()]
        for entry in entries:
            if not (entry.is_file() or entry.is_dir()):
                raise TraceFormatError(
                    "not a regular file or folder (a broken link, a pipe or a device?); "
                    "expected one file per VM",
                    path=entry.path,
                )
        if files and folders:
            raise TraceFormatError(
                f"folder holds both files ({files[0].name!r}, ...) and sub-folders "
                f"({folders[0].name!r}, ...); expected one file per VM, or day folders only",
                path=folder,
            )
        pending.extend(Path(e.path) for e in folders)


def _check_archive(path: Path, members: list[Member]) -> None:
    """Refuse a zip in which one folder holds both files and sub-folders."""
    parents = {PurePosixPath(m.label.split("!", 1)[-1]).parent for m in members}
    above = {ancestor for parent in parents for ancestor in parent.parents}
    mixed = sorted(parents & above)
    if mixed:
        where = "its top level" if str(mixed[0]) == "." else f"folder {str(mixed[0])!r}"
        raise TraceFormatError(
            f"archive {where} holds both files and sub-folders; expected one file per VM, or "
            "day folders only",
            path=path,
        )


def list_planetlab_files(
    path: Path, options: ReadOptions, *, order_file: Path | str | None = None
) -> PlanetlabFiles:
    """List a PlanetLab trace's files and number its VMs (a VM is a file name).

    VM codes follow the names sorted, or ``order_file`` (default:
    ``options.extra[ORDER_OPTION]``) when given.
    """
    if path.is_dir():
        _check_folder(path)
    members = list_members(path, options.max_expanded_bytes)
    if not path.is_dir() and path.suffix.lower() == ".zip":
        _check_archive(path, members)
    order = order_file if order_file is not None else options.extra.get(ORDER_OPTION)
    names = {m.name for m in members}
    if order is None:
        vm_names = sorted(names)
    elif isinstance(order, str | Path):
        vm_names = _ordered_names(Path(order), names, path)
    else:
        raise TraceFormatError(
            f"ReadOptions.extra[{ORDER_OPTION!r}] is a {type(order).__name__}; expected the "
            "path of an order file"
        )
    code = {name: i for i, name in enumerate(vm_names)}
    members = sorted(members, key=lambda m: (code[m.name], m.label) if order else m.label)
    file_vm = np.array([code[m.name] for m in members], dtype=np.int64)
    return PlanetlabFiles(path, tuple(members), tuple(vm_names), file_vm)


@dataclass
class PlanetlabFindings:
    """What reading some files found; file indices are those of the whole file list.

    Attributes
    ----------
    bad_days
        (file index, folder name) of each file whose folder is not a day.
    n_repeated
        Rows repeating a VM and timestamp (one file name twice for the same day).
    """

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
    values, counts = _parse(members, options)  # refuses any bad value or line count
    first_data = np.concatenate(([0], np.cumsum(counts)[:-1]))

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
    problems: list[Problem] = []
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
def read_planetlab(
    path: Path, options: ReadOptions, *, order_file: Path | str | None = None
) -> Trace:
    """Read a PlanetLab day folder (or zip, or folder of day folders) into a Trace.

    ``order_file`` (default ``options.extra[ORDER_OPTION]``) sets the VM order and with it the
    CloudSim VM types; see :func:`read_order`.
    """
    files = list_planetlab_files(path, options, order_file=order_file)
    trace, findings = read_planetlab_vms(files, None, options)
    return dataclasses.replace(trace, problems=tuple(planetlab_problems(files, [findings])))
