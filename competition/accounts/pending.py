"""Form input posted after the session ended, kept server-side until its author logs in again.

Only the browser that posted it can get it back: the cookie holds a random key, the table its
hash. Passwords, CSRF tokens and files are never kept; entries expire after a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from flask import session as cookie_session

from competition.accounts.models import PendingInput
from competition.extensions import db

COOKIE_KEY = "kept_input"
KEEP_FOR = dt.timedelta(hours=24)
SKIPPED_FIELDS = frozenset({"csrf_token", "password", "confirm"})
MAX_FIELD_CHARS = 200_000


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keep(path: str, form: Any, *, now: dt.datetime) -> None:
    """Store the posted fields for ``path`` and remember the key in this browser's cookie."""
    data = {
        name: form.get(name, "")[:MAX_FIELD_CHARS]
        for name in form.keys()
        if name not in SKIPPED_FIELDS
    }
    if not data:
        return
    key = secrets.token_urlsafe(24)
    db.session.execute(sa.delete(PendingInput).where(PendingInput.created_at < now - KEEP_FOR))
    db.session.add(PendingInput(key_hash=_hash(key), path=path, data=data, created_at=now))
    db.session.commit()
    cookie_session[COOKIE_KEY] = key


def take(path_prefix: str, *, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The kept input of this browser for paths under ``path_prefix``, removed once taken."""
    key = cookie_session.get(COOKIE_KEY)
    if not key:
        return {}
    row = db.session.scalar(sa.select(PendingInput).where(PendingInput.key_hash == _hash(key)))
    if row is None or row.created_at < now - KEEP_FOR:
        cookie_session.pop(COOKIE_KEY, None)
        return {}
    if not row.path.startswith(path_prefix):
        return {}
    kept = {row.path: dict(row.data)}
    db.session.delete(row)
    db.session.commit()
    cookie_session.pop(COOKIE_KEY, None)
    return kept
