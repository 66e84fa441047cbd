"""The outbox: messages written in the same transaction as the change that causes them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import JSONData, enum_type, utcnow
from competition.extensions import db


class NotificationState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; reclaimable once its lease has run out
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        sa.Index("ix_notifications_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per cause: writing the same key twice is refused by the database.
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str] = mapped_column(sa.String(254))
    template: Mapped[str] = mapped_column(sa.String(100))
    context: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    state: Mapped[NotificationState] = mapped_column(
        enum_type(NotificationState, "notification_state"), default=NotificationState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    backend: Mapped[str | None] = mapped_column(sa.String(20))
    # Kept only for the development mailbox; with a real mail server the content is not stored.
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When delivery was last handed to the queue: at writing, and whenever the sweep re-queues.
    dispatched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
