"""The archive a person downloads with all their data (GDPR Art. 15 and 20): ``data.json``,
``README.txt`` and the files they uploaded under ``attachments/``. Pure: the caller reads the
rows and the files; this module names the files and packs them."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ATTACHMENTS = "attachments"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class ExportedFile:
    """One uploaded file: where it came from (``proposal ABC-0001``), its name as uploaded."""

    folder: str
    filename: str
    data: bytes


def safe_name(name: str, *, fallback: str = "file") -> str:
    """A file or folder name that unpacks the same everywhere: no path, no control characters,
    accents folded, nothing that climbs out of the archive."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", folded.replace("/", "_").replace("\\", "_")).strip(" ._")
    return cleaned[:120] or fallback


def file_paths(files: Sequence[ExportedFile]) -> list[str]:
    """Each file's path in the archive, in order; a name taken twice in one folder gets
    ``-2``, ``-3`` before its extension."""
    taken: set[str] = set()
    paths = []
    for file in files:
        folder = safe_name(file.folder, fallback="files")
        stem, dot, extension = safe_name(file.filename).rpartition(".")
        if not dot:
            stem, extension = extension, ""
        suffix = f".{extension}" if extension else ""
        candidate = f"{ATTACHMENTS}/{folder}/{stem}{suffix}"
        number = 2
        while candidate in taken:
            candidate = f"{ATTACHMENTS}/{folder}/{stem}-{number}{suffix}"
            number += 1
        taken.add(candidate)
        paths.append(candidate)
    return paths


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not exported")


def to_json(data: Mapping[str, Any]) -> bytes:
    """Readable JSON: times as ISO 8601 in UTC, amounts as exact decimal strings."""
    return json.dumps(data, default=_plain, ensure_ascii=False, indent=2, sort_keys=False).encode(
        "utf-8"
    )


def archive(
    data: Mapping[str, Any],
    readme: str,
    files: Sequence[ExportedFile],
) -> tuple[bytes, list[str]]:
    """The ZIP and the paths of the files in it. Entries carry a fixed time, so the same data
    give the same bytes."""
    buffer = io.BytesIO()
    paths = file_paths(files)
    stamp = (2000, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        entries: Iterable[tuple[str, bytes]] = [
            ("README.txt", readme.encode("utf-8")),
            ("data.json", to_json(data)),
            *((path, file.data) for path, file in zip(paths, files, strict=True)),
        ]
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zipped.writestr(info, content)
    return buffer.getvalue(), paths
