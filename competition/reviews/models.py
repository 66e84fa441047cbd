"""Jurors' reviews of their assigned proposals, and the reminders sent about them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import JSONData, enum_type
from competition.extensions import db


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.CheckConstraint(
            "(state = 'draft') OR (submitted_at IS NOT NULL)", name="submitted_has_time"
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 1 AND confidence <= 5)",
            name="confidence_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), unique=True
    )
    # {"<criterion id>": "4.5"}: decimal strings, so no score is ever a float.
    scores: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    comment_for_applicant: Mapped[str] = mapped_column(sa.Text, default="")
    comment_for_jury: Mapped[str] = mapped_column(sa.Text, default="")
    confidence: Mapped[int | None]
    state: Mapped[ReviewState] = mapped_column(
        enum_type(ReviewState, "review_state"), default=ReviewState.DRAFT
    )
    revision: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]
    submitted_at: Mapped[dt.datetime | None]


class ReminderSent(db.Model):
    """A reminder step sent for one assignment: each step goes out at most once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id", ondelete="CASCADE"))
    step: Mapped[int]
    sent_at: Mapped[dt.datetime]
