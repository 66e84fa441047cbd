"""Single sign-on: the provider identities linked to accounts, and the administrators' mappings
of a provider's claims to roles."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import Role, User
from competition.db import enum_type
from competition.extensions import db


class SsoIdentity(db.Model):
    """A person at an OpenID provider (its ``sub``) linked to an account. ``email`` is what the
    provider said when the link was made, kept for the account page and the audit trail; the
    account's own address may change later."""

    __tablename__ = "sso_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    linked_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class SsoRoleMapping(db.Model):
    """An administrator's rule: people whose claim ``claim`` of ``provider`` is ``value`` (or
    a list holding it) have ``role``, applied at each sign-in through that provider."""

    __tablename__ = "sso_role_mappings"
    __table_args__ = (sa.UniqueConstraint("provider", "claim", "value", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    claim: Mapped[str] = mapped_column(sa.String(100))
    value: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
