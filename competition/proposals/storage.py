"""Attachment files on disk, written so that a file named in a receipt survives a crash intact:
written to a temporary name, flushed to disk, then renamed into place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _path(key: str) -> Path:
    if not key.isalnum():
        raise ValueError("storage keys are alphanumeric")
    return _root() / key[:2] / key


def store(data: bytes) -> str:
    """Write ``data`` durably and return its new storage key."""
    key = secrets.token_hex(20)
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return key


def read(key: str) -> bytes:
    return _path(key).read_bytes()


def remove(key: str) -> bool:
    """Delete the file; False if it was gone already (a second run of a cleanup)."""
    try:
        _path(key).unlink()
    except FileNotFoundError:
        return False
    return True
