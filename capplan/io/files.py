"""Safe access to trace files: plain files, gzip files, folders and zip archives.

Every reader opens its input through these helpers so that size limits (a zip that expands
enormously, a gzip bomb) and encoding problems are handled once, with clear errors.
"""

from __future__ import annotations

import gzip
import os
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from capplan.errors import TraceFormatError

#: Largest number of bytes capplan expands from one archive or compressed file by default.
DEFAULT_MAX_EXPANDED_BYTES = 8 * 1024**3
#: Largest expansion ratio accepted for a compressed member (zip bombs reach 1000:1 and more).
MAX_COMPRESSION_RATIO = 200.0
#: The ratio is only checked once a member or gzip file expands beyond this many bytes.
RATIO_CHECK_FROM_BYTES = 1024**2
SNIFF_BYTES = 64 * 1024


class ZipArchive:
    """One zip archive, opened once and shared by all its members.

    Opening a ``ZipFile`` parses the whole central directory, so opening it again for every
    member made reading an archive quadratic in its member count (20,000 small files: tens of
    minutes). The handle is opened on first use, reads from several threads are serialized by
    ``zipfile`` itself, and a pickled copy (a Dask task) reopens its own handle.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    def zipfile(self) -> zipfile.ZipFile:
        """The open archive."""
        with self._lock:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            return self._zip

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(Path(str(state["path"])))  # type: ignore[misc]


@dataclass(frozen=True)
class Member:
    """One input file, on disk or inside a zip archive.

    Attributes
    ----------
    label
        How errors name it: ``path`` or ``archive.zip!inner/name.csv``.
    name
        The file's own name (last path part).
    """

    label: str
    name: str
    _path: Path
    _inner: str | None = None
    _archive: ZipArchive | None = field(default=None, compare=False, repr=False)

    def _open_archive(self) -> zipfile.ZipFile:
        if self._archive is not None:
            return self._archive.zipfile()
        return zipfile.ZipFile(self._path)

    def read_bytes(self, max_bytes: int = DEFAULT_MAX_EXPANDED_BYTES) -> bytes:
        """Return the whole (decompressed) content, refusing more than ``max_bytes``."""
        if self._inner is not None:
            try:
                with self._open_archive().open(self._inner) as handle:
                    data = handle.read(max_bytes + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                raise TraceFormatError(
                    f"archive member is damaged ({exc})", path=self.label
                ) from exc
        elif self.name.endswith(".gz"):
            compressed = self._path.stat().st_size
            ratio_cap = max(RATIO_CHECK_FROM_BYTES, int(MAX_COMPRESSION_RATIO * compressed))
            try:
                with gzip.open(self._path, "rb") as handle:
                    data = handle.read(min(max_bytes, ratio_cap) + 1)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise TraceFormatError(
                    f"not a readable gzip file ({exc})", path=self.label
                ) from exc
            if len(data) > ratio_cap:
                raise TraceFormatError(
                    f"gzip file of {compressed:,} bytes expands beyond "
                    f"{MAX_COMPRESSION_RATIO:,.0f}:1; refusing a possible gzip bomb",
                    path=self.label,
                )
        else:
            size = self._path.stat().st_size
            if size > max_bytes:
                raise TraceFormatError(
                    f"file is {size:,} bytes, above the limit of {max_bytes:,}", path=self.label
                )
            data = self._path.read_bytes()
        if len(data) > max_bytes:
            raise TraceFormatError(
                f"expands to more than {max_bytes:,} bytes; refusing to read further",
                path=self.label,
            )
        return strip_bom(data)

    def head(self, n_bytes: int = SNIFF_BYTES) -> bytes:
        """Return up to ``n_bytes`` of the (decompressed) start of the file, without a BOM."""
        try:
            if self._inner is not None:
                with self._open_archive().open(self._inner) as handle:
                    return strip_bom(handle.read(n_bytes))
            if self.name.endswith(".gz"):
                with gzip.open(self._path, "rb") as handle:
                    return strip_bom(handle.read(n_bytes))
            with self._path.open("rb") as handle:
                return strip_bom(handle.read(n_bytes))
        except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile):
            return b""

    @property
    def disk_path(self) -> Path | None:
        """The path on disk when the member is a plain file (not inside a zip)."""
        return self._path if self._inner is None else None

    @property
    def size_bytes(self) -> int:
        """Stored size on disk (compressed size for zip members)."""
        if self._inner is not None:
            return self._open_archive().getinfo(self._inner).compress_size
        return self._path.stat().st_size


def _check_zip(path: Path, max_bytes: int) -> list[zipfile.ZipInfo]:
    return check_zip_archive(path, str(path), max_bytes)


def check_zip_archive(
    source: Path | IO[bytes], label: str, max_bytes: int = DEFAULT_MAX_EXPANDED_BYTES
) -> list[zipfile.ZipInfo]:
    """Refuse a zip container (``.zip``, ``.xlsx``) that is unreadable, unsafe or a zip bomb.

    Parameters
    ----------
    source
        The archive on disk, or its bytes as a binary file object.
    label
        How errors name the archive.
    max_bytes
        Largest total expanded size accepted.

    Returns
    -------
    list of zipfile.ZipInfo
        The archive's file entries (directories left out).

    Raises
    ------
    TraceFormatError
        If the archive is unreadable, has an unsafe member path, a member that expands more
        than :data:`MAX_COMPRESSION_RATIO` (and above 1 MiB), or a total above ``max_bytes``.
    """
    path = label
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise TraceFormatError(f"not a readable zip archive ({exc})", path=path) from exc
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    total = 0
    for info in infos:
        inner = Path(info.filename)
        if inner.is_absolute() or ".." in inner.parts:
            raise TraceFormatError(
                f"archive member {info.filename!r} has an unsafe path", path=path
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and info.file_size > RATIO_CHECK_FROM_BYTES:
            raise TraceFormatError(
                f"archive member {info.filename!r} expands {ratio:,.0f}:1 "
                f"(limit {MAX_COMPRESSION_RATIO:,.0f}:1); refusing a possible zip bomb",
                path=path,
            )
    if total > max_bytes:
        raise TraceFormatError(
            f"archive expands to {total:,} bytes, above the limit of {max_bytes:,}", path=path
        )
    return infos


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in {"SOURCE.md", "__MACOSX"}


def _list_folder(root: Path, recursive: bool) -> list[Path]:
    """Visible files under ``root``, sorted as ``sorted(paths)`` sorts them (by path parts).

    Uses ``os.scandir`` rather than ``Path.glob``: a folder of 1,000+ small files (PlanetLab)
    is listed several times faster.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while pending:
        folder, parts = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if not _visible(entry.name):
                    continue
                if entry.is_file():
                    found.append(((*parts, entry.name), entry.path))
                elif recursive and entry.is_dir():
                    pending.append((entry.path, (*parts, entry.name)))
    found.sort(key=lambda item: item[0])
    return [Path(full) for _, full in found]


def list_members(
    path: Path, max_bytes: int = DEFAULT_MAX_EXPANDED_BYTES, *, recursive: bool = True
) -> list[Member]:
    """List the files a path stands for, sorted by name.

    Parameters
    ----------
    path
        A file, a folder (its files, recursively when ``recursive``) or a ``.zip`` archive.
    max_bytes
        Total expanded size limit for a zip archive.

    Raises
    ------
    TraceFormatError
        If the path does not exist, is an empty folder, or is an unsafe archive.
    """
    if not path.exists():
        raise TraceFormatError("no such file or folder", path=path)
    if path.is_dir():
        files = _list_folder(path, recursive)
        if not files:
            raise TraceFormatError("folder holds no files", path=path)
        return [Member(str(p), p.name, p) for p in files]
    if path.suffix.lower() == ".zip":
        infos = _check_zip(path, max_bytes)
        shared = ZipArchive(path)
        members = [
            Member(f"{path}!{info.filename}", Path(info.filename).name, path, info.filename, shared)
            for info in infos
            if all(_visible(part) for part in Path(info.filename).parts)
        ]
        if not members:
            raise TraceFormatError("zip archive holds no files", path=path)
        return sorted(members, key=lambda m: m.label)
    return [Member(str(path), path.name, path)]


#: The UTF-8 byte-order mark Excel and Notepad write at the start of a "UTF-8" CSV.
UTF8_BOM = b"\xef\xbb\xbf"


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (as Excel saves CSV files)."""
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def iter_lines_head(member: Member, n_lines: int = 20) -> Iterator[str]:
    """Yield the first lines of a member decoded leniently (for format detection only)."""
    text = member.head().decode("utf-8", errors="replace")
    yield from text.splitlines()[:n_lines]


def decode_text(data: bytes, label: str, encodings: tuple[str, ...] = ("utf-8",)) -> str:
    """Decode bytes with the first encoding that works; name the offending byte otherwise."""
    error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = error or exc
    assert error is not None
    line = data.count(b"\n", 0, error.start) + 1
    raise TraceFormatError(
        f"byte 0x{data[error.start]:02x} at offset {error.start} is not valid "
        f"{'/'.join(encodings)} text",
        path=label,
        line=line,
    )
