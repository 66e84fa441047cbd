"""Form input posted after the session ended, kept server-side until its author logs in again.

Only the browser that posted it can get it back, and only for the account whose session ended:
a cookie of its own holds a random key (the session cookie is replaced at login, so the key
cannot live there), the table its hash and the account. Passwords, CSRF tokens and files are
never kept; entries expire after a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from flask import after_this_request, current_app, request

from competition.accounts.models import PendingInput
from competition.extensions import db

COOKIE_NAME = "kept_input"
KEEP_FOR = dt.timedelta(hours=24)
SKIPPED_FIELDS = frozenset({"csrf_token", "password", "confirm"})
MAX_FIELD_CHARS = 200_000


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _set_cookie(key: str | None) -> None:
    """Set (or, for None, remove) this browser's key on the response to this request."""

    @after_this_request
    def write(response):  # type: ignore[no-untyped-def]
        if key is None:
            response.delete_cookie(COOKIE_NAME, path="/")
        else:
            response.set_cookie(
                COOKIE_NAME,
                key,
                max_age=int(KEEP_FOR.total_seconds()),
                path="/",
                httponly=True,
                samesite="Lax",
                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            )
        return response


def keep(path: str, form: Any, *, user_id: str | None, now: dt.datetime) -> bool:
    """Store the posted fields for ``path`` and remember the key in a cookie of this browser;
    False when there was nothing to keep.

    ``user_id`` is the account whose session ended (None when unknown); only it gets them back.
    """
    fields = {
        name: form.get(name, "")[:MAX_FIELD_CHARS]
        for name in form.keys()
        if name not in SKIPPED_FIELDS
    }
    if not fields:
        return False
    key = secrets.token_urlsafe(24)
    db.session.execute(sa.delete(PendingInput).where(PendingInput.created_at < now - KEEP_FOR))
    db.session.add(
        PendingInput(
            key_hash=_hash(key),
            path=path,
            data={"user_id": user_id, "fields": fields},
            created_at=now,
        )
    )
    db.session.commit()
    _set_cookie(key)
    return True


def take(path_prefix: str, *, user_id: int, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The kept input of this browser and account for paths under ``path_prefix``, removed once
    taken: ``{path: {field: value}}``."""
    key = request.cookies.get(COOKIE_NAME)
    if not key:
        return {}
    row = db.session.scalar(sa.select(PendingInput).where(PendingInput.key_hash == _hash(key)))
    if row is None or row.created_at < now - KEEP_FOR:
        _set_cookie(None)
        return {}
    owner = row.data.get("user_id")
    if not row.path.startswith(path_prefix) or (owner is not None and owner != str(user_id)):
        return {}
    kept = {row.path: dict(row.data.get("fields", {}))}
    db.session.delete(row)
    db.session.commit()
    _set_cookie(None)
    return kept
