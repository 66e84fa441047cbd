"""Personal API tokens: which areas a person's token may name, reading a person's tokens, and
creating and revoking them (operations, audited)."""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.api.auth import TOKEN_PREFIX, hash_token
from competition.api.models import ApiArea, ApiToken, scope
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.permissions import ALLOWED, Decision, require

MAX_DAYS = 366
DEFAULT_DAYS = 90
NAME_LENGTH = 100

# The areas whose endpoints show a person of the role anything: what the account page offers.
AREAS_FOR_ROLE: dict[Role, tuple[ApiArea, ...]] = {
    Role.APPLICANT: (ApiArea.PROGRAMMES, ApiArea.PROPOSALS, ApiArea.GRANTS),
    Role.JUROR: (ApiArea.PROGRAMMES, ApiArea.PROPOSALS, ApiArea.REVIEWS),
    Role.OFFICER: tuple(ApiArea),
    Role.ADMIN: tuple(ApiArea),
}
VALID_SCOPES = frozenset(scope(area, write) for area in ApiArea for write in (False, True))


class TokenState(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return str(TOKEN_STATE_LABELS[self])


TOKEN_STATE_LABELS = {
    TokenState.ACTIVE: _l("Active"),
    TokenState.EXPIRED: _l("Expired"),
    TokenState.REVOKED: _l("Revoked"),
}


def state_of(token: ApiToken, now: dt.datetime) -> TokenState:
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.ACTIVE


def areas_for(user: User) -> list[ApiArea]:
    """The areas offered to ``user``, in the API's order."""
    offered = {area for role in user.roles for area in AREAS_FOR_ROLE.get(role, ())}
    return [area for area in ApiArea if area in offered]


def access_in_words(token: ApiToken) -> list[tuple[str, str]]:
    """(area, "read" or "read and write") for each area the token names, in the API's order."""
    shown = []
    for area in ApiArea:
        if scope(area, True) in token.scopes:
            shown.append((area.label, _("read and write")))
        elif scope(area) in token.scopes:
            shown.append((area.label, _("read")))
    return shown


def can_revoke_token(user: User, token: ApiToken) -> Decision:
    """A token is its owner's alone to revoke."""
    if token.user_id != user.id:
        return Decision(False, _("Only the person a token belongs to can revoke it."))
    return ALLOWED


# --- queries --------------------------------------------------------------------------------


def list_tokens(user: User) -> list[ApiToken]:
    """The person's tokens, newest first."""
    return list(
        db.session.execute(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).scalars()
    )


def find_token(user: User, token_id: int) -> ApiToken | None:
    """One of the person's tokens; someone else's is None, as if it did not exist."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


# --- operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    secret: str  # shown once, never stored


@operation
def create_token(
    user: User, *, name: str, scopes: list[str], expires_at: dt.datetime, now: dt.datetime
) -> NewToken:
    """A new token for ``user`` with ``scopes`` (``"<area>:read|write"``), live until
    ``expires_at``. Keeps its SHA-256 and its first characters; the secret is returned once.
    Side effects: the audit event ``api_token.created``."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("Name the token, so that you know later what uses it.")]
    elif len(name) > NAME_LENGTH:
        errors["name"] = [_("Keep the name to %(count)d characters.", count=NAME_LENGTH)]
    unknown = sorted(set(scopes) - VALID_SCOPES)
    if unknown:
        errors["scopes"] = [_("Unknown scope: %(scopes)s.", scopes=", ".join(unknown))]
    elif not scopes:
        errors["scopes"] = [_("Choose at least one area the token may read.")]
    if expires_at <= now:
        errors["expires_on"] = [_("Choose a day after today: the token would never work.")]
    elif expires_at > now + dt.timedelta(days=MAX_DAYS):
        errors["expires_on"] = [
            _("A token lives at most %(days)d days: choose an earlier day.", days=MAX_DAYS)
        ]
    if errors:
        raise DomainError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
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
        after={
            "name": row.name,
            "prefix": row.prefix,
            "scopes": row.scopes,
            "expires_at": expires_at.isoformat(),
        },
        now=now,
    )
    return NewToken(row, secret)


@operation
def revoke_token(user: User, token: ApiToken, *, now: dt.datetime) -> None:
    """The token stops working at once. Revoking a revoked token does nothing. Side effects:
    the audit event ``api_token.revoked``."""
    require(can_revoke_token(user, token))
    # Compare-and-set: of two revocations at once, one is recorded.
    revoked = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not revoked.rowcount:  # type: ignore[attr-defined]
        return
    record_event(
        actor=user,
        action="api_token.revoked",
        object_type="api_token",
        object_id=token.id,
        before={"name": token.name, "prefix": token.prefix, "scopes": token.scopes},
        after={"revoked_at": now.isoformat()},
        now=now,
    )
