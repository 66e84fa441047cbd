"""Jurors' reviews of their assigned proposals, and the reminders sent about them."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core import workflow
from competition.db import enum_type
from competition.extensions import db


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Review(db.Model):
    __tablename__ = "reviews"
    __workflow__ = workflow.REVIEW
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
    comment_for_applicant: Mapped[str] = mapped_column(sa.Text, default="")
    comment_for_jury: Mapped[str] = mapped_column(sa.Text, default="")
    confidence: Mapped[int | None]
    state: Mapped[ReviewState] = mapped_column(
        enum_type(ReviewState, "review_state"), default=ReviewState.DRAFT
    )
    revision: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]
    submitted_at: Mapped[dt.datetime | None]

    # Loaded with every review (one query per batch), so pages never load scores while rendering.
    score_rows: Mapped[list[ReviewScore]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ReviewScore.criterion_id"
    )

    @property
    def scores(self) -> dict[str, str]:
        """{"<criterion id>": "4.5"}: as the juror's scale writes each score."""
        return {str(row.criterion_id): row.score for row in self.score_rows}

    @scores.setter
    def scores(self, values: Mapping[str, str]) -> None:
        kept = {str(row.criterion_id): row for row in self.score_rows}
        for key, row in kept.items():
            if key not in values:
                self.score_rows.remove(row)
        for key, score in values.items():
            if key in kept:
                kept[key].score = str(score)
            else:
                self.score_rows.append(ReviewScore(criterion_id=int(key), score=str(score)))


class ReviewScore(db.Model):
    """One score of a review. A row per criterion, so that a scored criterion cannot vanish
    under its reviews (removing it is refused, and the database refuses it too)."""

    __tablename__ = "review_scores"
    __table_args__ = (sa.UniqueConstraint("review_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("criteria.id", ondelete="RESTRICT"), index=True
    )
    # Decimal text ("4.5"), as typed and checked: exact on every database (SQLite would store a
    # NUMERIC as a float), and a draft may hold a value off the scale until it is submitted.
    score: Mapped[str] = mapped_column(sa.String(24))


class ReminderSent(db.Model):
    """A reminder step sent for one assignment: each step goes out at most once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id", ondelete="CASCADE"))
    step: Mapped[int]
    sent_at: Mapped[dt.datetime]
