"""Creating and revoking personal API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _

from competition.accounts.models import User
from competition.api.auth import TOKEN_PREFIX, hash_token
from competition.api.models import ApiToken
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db

MAX_DAYS = 366


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    secret: str  # shown once, never stored


@operation
def create_token(
    user: User, *, name: str, scopes: list[str], expires_at: dt.datetime, now: dt.datetime
) -> NewToken:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Name the token, so you know later what uses it.")]
    if not scopes:
        errors["scopes"] = [_("Choose at least one area.")]
    if expires_at <= now:
        errors["expires_on"] = [_("The token must expire in the future.")]
    elif expires_at > now + dt.timedelta(days=MAX_DAYS):
        errors["expires_on"] = [_("A token lives at most a year.")]
    if errors:
        raise DomainError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        prefix=secret[: len(TOKEN_PREFIX) + 4],
        token_hash=hash_token(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        actor=user,
        action="api_token.created",
        object_type="api_token",
        object_id=row.id,
        after={"name": row.name, "scopes": row.scopes, "expires_at": expires_at.isoformat()},
        now=now,
    )
    return NewToken(row, secret)


@operation
def revoke_token(user: User, token: ApiToken, *, now: dt.datetime) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    record_event(
        actor=user,
        action="api_token.revoked",
        object_type="api_token",
        object_id=token.id,
        before={"name": token.name},
        now=now,
    )
