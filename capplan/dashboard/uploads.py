"""Checking an upload batch before anything is written: names, sizes and encoding.

``dcc.Upload`` delivers each file as a ``data:<mime>;base64,<payload>`` URL and its name. A
batch is refused as a whole, with a message naming the file, when a name has path parts or
is otherwise unsafe, two files share a name, the batch is above the size limit, or a payload
is not valid base64. Nothing touches the disk until the whole batch has passed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from capplan.errors import CapplanError

MAX_NAME_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATA_URL = re.compile(r"^data:[^,]*?(;base64)?,", re.DOTALL)


class UploadError(CapplanError):
    """An upload was refused; the message says which file and why."""


@dataclass(frozen=True)
class UploadedFile:
    """One checked, decoded file of an upload batch."""

    name: str
    data: bytes


def check_file_name(name: object) -> str:
    """Return ``name`` if it is a plain file name; raise :class:`UploadError` otherwise.

    A plain name has no folder parts (``/``, ``\\``, a drive letter), is not ``.`` or ``..``,
    does not start with a dot, holds no control characters and is at most
    :data:`MAX_NAME_CHARS` characters long.
    """
    if not isinstance(name, str) or not name.strip():
        raise UploadError("a file has no name; upload files from your computer")
    shown = _CONTROL.sub("?", name)
    if "/" in name or "\\" in name or re.match(r"^[A-Za-z]:", name):
        raise UploadError(
            f"file name {shown!r} has path parts; upload the files themselves, or a zip "
            "archive of the folder"
        )
    if _CONTROL.search(name):
        raise UploadError(f"file name {shown!r} holds control characters")
    if name in (".", "..") or name.startswith("."):
        raise UploadError(f"file name {shown!r} is not allowed (hidden or special name)")
    if len(name) > MAX_NAME_CHARS:
        raise UploadError(
            f"file name {shown[:40]!r}... is {len(name)} characters long; "
            f"at most {MAX_NAME_CHARS} are allowed"
        )
    return name


def decoded_size(content: str) -> int:
    """Bytes a data URL's payload decodes to (an upper bound, before decoding it)."""
    match = _DATA_URL.match(content)
    payload_chars = len(content) - (match.end() if match else 0)
    return payload_chars * 3 // 4


def check_batch(
    names: Sequence[object] | None, contents: Sequence[object] | None, max_bytes: int
) -> list[UploadedFile]:
    """Check and decode an upload batch.

    Parameters
    ----------
    names, contents
        What ``dcc.Upload`` gives: file names and data URLs, in the same order.
    max_bytes
        Largest total decoded size of the batch.

    Raises
    ------
    UploadError
        For the first problem found; nothing has been written.
    """
    if not names or not contents:
        raise UploadError("no files received; drop trace files or a zip archive here")
    if len(names) != len(contents):
        raise UploadError("the upload arrived damaged (names and contents differ); try again")
    checked = [check_file_name(name) for name in names]
    seen: set[str] = set()
    for name in checked:
        if name.lower() in seen:
            raise UploadError(f"two files are named {name!r}; rename one or zip them")
        seen.add(name.lower())
    for name, content in zip(checked, contents, strict=True):
        if not isinstance(content, str):
            raise UploadError(f"{name}: the upload arrived damaged; try again")
    total = sum(decoded_size(str(c)) for c in contents)
    if total > max_bytes:
        raise UploadError(
            f"the upload is {total / 1e6:,.1f} MB, above the limit of {max_bytes / 1e6:,.1f} MB "
            "(setting CAPPLAN_MAX_UPLOAD_MB); upload fewer files or a compressed zip"
        )
    files: list[UploadedFile] = []
    for name, content in zip(checked, contents, strict=True):
        text = str(content)
        match = _DATA_URL.match(text)
        if match is None or not match.group(1):
            raise UploadError(f"{name}: the upload is not base64 data; try again")
        try:
            data = base64.b64decode(text[match.end() :], validate=True)
        except (binascii.Error, ValueError):
            raise UploadError(f"{name}: the upload is not valid base64 data; try again") from None
        if not data:
            raise UploadError(f"{name}: the file is empty")
        files.append(UploadedFile(name, data))
    return files
