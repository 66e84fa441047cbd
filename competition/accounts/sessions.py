"""Server-side sessions: the signed cookie only names a session row, which the server can end."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import session as cookie_session
from sqlalchemy import orm

from competition.accounts.models import User, UserSession
from competition.db import built_once
from competition.extensions import db

COOKIE_KEY = "sid"
# Writing last_seen_at on every request would turn every page view into a write.
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: User, *, now: dt.datetime) -> str:
    """Create a session row for ``user`` and return the token for the cookie (caller commits)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(user_id=user.id, token_hash=_hash(token), created_at=now, last_seen_at=now)
    )
    return token


def end_sessions(user: User, *, reason: str, now: dt.datetime) -> int:
    """End every open session of ``user`` (caller commits). Returns how many were ended."""
    result = db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return result.rowcount or 0


def end_session(token: str | None, *, reason: str, now: dt.datetime) -> None:
    """End the session that ``token`` (from the cookie) names (caller commits)."""
    if token:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )


@built_once
def _session_with_user() -> sa.Select[tuple[UserSession, User]]:
    # Every signed-in request asks this. The session, its user and the user's roles come in
    # one query (the token hash is unique, so the rows are that user's).
    return (
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .options(orm.joinedload(User.role_rows))
        .where(
            UserSession.token_hash == sa.bindparam("token_hash"),
            UserSession.user_id == sa.bindparam("user_id"),
            UserSession.ended_at.is_(None),
        )
    )


def user_for_cookie(
    user_id: str, *, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta
) -> User | None:
    """The user of this request, if the cookie's session is open, fresh and the account active.

    A session past its idle or absolute limit is ended here, so it cannot come back.
    """
    token = cookie_session.get(COOKIE_KEY)
    if not token or not user_id.isdigit():
        return None
    found = (
        db.session.execute(
            _session_with_user(), {"token_hash": _hash(token), "user_id": int(user_id)}
        )
        .unique()
        .one_or_none()
    )
    if found is None:
        return None
    row, user = found
    expired = None
    if now - row.last_seen_at > idle:
        expired = "idle"
    elif now - row.created_at > absolute:
        expired = "absolute"
    if expired or not user.is_active:
        row.ended_at = now
        row.end_reason = expired or "account inactive"
        db.session.commit()
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    return user
