"""Personal API tokens: what a person's programs use to call the API in their name."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.db import JSONData, utcnow
from competition.extensions import db
from competition.i18n import lazy_gettext as _


class ApiArea(enum.StrEnum):
    """What a token's scope names: an area of the API, read or read and write."""

    PROGRAMMES = "programmes"
    PROPOSALS = "proposals"
    REVIEWS = "reviews"
    SELECTION = "selection"
    GRANTS = "grants"

    @property
    def label(self) -> str:
        return str(API_AREA_LABELS[self])


API_AREA_LABELS = {
    ApiArea.PROGRAMMES: _("Programmes, calls and stages"),
    ApiArea.PROPOSALS: _("Proposals, submitted versions and screening"),
    ApiArea.REVIEWS: _("Reviews"),
    ApiArea.SELECTION: _("Rankings, lines and decisions"),
    ApiArea.GRANTS: _("Grants, reports and payments"),
}


def scope(area: ApiArea, write: bool = False) -> str:
    return f"{area.value}:{'write' if write else 'read'}"


class ApiToken(db.Model):
    """A token is shown once; only its SHA-256 is kept. ``prefix`` (its first characters) lets
    its owner tell tokens apart on the account page."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # "programmes:read", "grants:write", … (``scope()``); write includes read.
    scopes: Mapped[list[str]] = mapped_column(JSONData, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    def allows(self, area: ApiArea, write: bool = False) -> bool:
        if write:
            return scope(area, True) in self.scopes
        return scope(area) in self.scopes or scope(area, True) in self.scopes

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
