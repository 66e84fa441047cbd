"""The append-only, hash-chained audit trail, and the history of every lifecycle step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import JSONData
from competition.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        # The events still waiting for their place in the chain, found without a scan.
        sa.Index(
            "ix_audit_events_unchained",
            "id",
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Requests insert events without their place in the chain; the chainer sets ``seq``,
    # ``prev_hash`` and ``hash`` once, after the commit (the database allows that one update).
    seq: Mapped[int | None] = mapped_column(unique=True)
    occurred_at: Mapped[dt.datetime]
    # Accounts are disabled, never deleted, so the actor of a hashed event never changes. The id
    # is the person's pseudonym: an erased account keeps its row, with its name and e-mail
    # replaced, so the chain needs no change when a person is erased.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(80))
    object_type: Mapped[str] = mapped_column(sa.String(60))
    object_id: Mapped[str] = mapped_column(sa.String(60))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # What people typed or contact details ({"before": {...}, "after": {...}}): outside the hash,
    # so erasure may clear it (the one other update the database allows) and the chain holds.
    personal: Mapped[dict[str, Any] | None] = mapped_column(JSONData)


class StateTransition(db.Model):
    """One step of one object's lifecycle: what it was, what it became, who did it and why."""

    __tablename__ = "state_transitions"
    __table_args__ = (
        sa.Index("ix_state_transitions_object", "object_type", "object_id"),
        # The newest step of a kind of object (the portal's mark of grants) without a scan.
        sa.Index("ix_state_transitions_object_type_id", "object_type", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int]
    from_state: Mapped[str] = mapped_column(sa.String(24))
    to_state: Mapped[str] = mapped_column(sa.String(24))
    action: Mapped[str] = mapped_column(sa.String(24))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
