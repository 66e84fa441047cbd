"""People who use the product, their roles and their server-side sessions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.db import JSONData, enum_type, utcnow
from competition.extensions import db


class Role(enum.StrEnum):
    APPLICANT = "applicant"
    JUROR = "juror"
    OFFICER = "officer"
    ADMIN = "admin"


class UserStatus(enum.StrEnum):
    INVITED = "invited"  # created by an officer, waiting for the person to set a password
    UNCONFIRMED = "unconfirmed"  # registered, e-mail address not yet confirmed
    ACTIVE = "active"
    DISABLED = "disabled"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[UserStatus] = mapped_column(enum_type(UserStatus, "user_status"))
    email_confirmed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL")
    )
    # The language the person chose for pages, mail and letters; none: the deployment's.
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    # Set when the person was erased: name and e-mail were replaced by the pseudonym, the row
    # stays because audit events and records within their retention period refer to its id.
    erased_at: Mapped[dt.datetime | None]

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)

    @property
    def pseudonym(self) -> str:
        """How an erased person is named: their account's number, which means nothing outside
        this system."""
        return f"person-{self.id}"

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (sa.UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who keeps the role: None for a role granted by hand (never taken away automatically);
    # "sso:<provider>" for one granted by a role mapping of that provider, which a sign-in
    # through it takes away again once the claim no longer matches.
    granted_via: Mapped[str | None] = mapped_column(sa.String(60))

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(db.Model):
    """A signed-in browser. The cookie holds a random token; only its hash is stored here, so
    ending the row ends the session even for a copied cookie."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(40))

    user: Mapped[User] = relationship()


class ThrottleEvent(db.Model):
    """A failed login or a reset request, counted per bucket (hashed account or address)."""

    __tablename__ = "throttle_events"
    __table_args__ = (sa.Index("ix_throttle_events_bucket_occurred_at", "bucket", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(sa.String(80))
    occurred_at: Mapped[dt.datetime]


class PendingInput(db.Model):
    """A form posted after the session ended, kept until its author has logged in again.

    The browser holds a random key in its cookie; only its hash is stored here.
    """

    __tablename__ = "pending_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    path: Mapped[str] = mapped_column(sa.String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    created_at: Mapped[dt.datetime]


class TotpFactor(db.Model):
    """A person's authenticator app (TOTP, RFC 6238): the shared secret, stored once a code from
    the app confirmed it, and the time-step of the last code accepted, so that no code works
    twice. A set-up not yet confirmed lives only in the person's cookie session."""

    __tablename__ = "totp_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(db.Model):
    """One of a person's recovery codes: only its SHA-256 is kept (the code is random enough
    that a slow hash adds nothing), and it works once (``used_at``)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
