"""Clarification requests, the thread of follow-up questions and answers, and the PDFs
attached to answers."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.core import workflow
from competition.db import enum_type
from competition.extensions import db
from competition.i18n import lazy_gettext as _l
from competition.programmes.models import Stage
from competition.proposals.models import Proposal, StoredFile


class ClarificationState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(CLARIFICATION_STATE_LABELS[self])


CLARIFICATION_STATE_LABELS = {
    ClarificationState.OPEN: _l("Open"),
    ClarificationState.ANSWERED: _l("Answered"),
    ClarificationState.CLOSED: _l("Closed"),
    ClarificationState.WITHDRAWN: _l("Withdrawn"),
}


class MessageKind(enum.StrEnum):
    # An officer's follow-up question in the same thread (the first question is the request's).
    QUESTION = "question"
    ANSWER = "answer"


class ClarificationRequest(db.Model):
    __tablename__ = "clarification_requests"
    __workflow__ = workflow.CLARIFICATION
    __table_args__ = (
        sa.CheckConstraint("length(question) > 0", name="question_not_empty"),
        sa.Index("ix_clarification_requests_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(sa.Text)
    asked_at: Mapped[dt.datetime]
    # Answers after this time are refused until an officer extends it.
    due_at: Mapped[dt.datetime]
    state: Mapped[ClarificationState] = mapped_column(
        enum_type(ClarificationState, "clarification_state"), default=ClarificationState.OPEN
    )
    # The deadline the consortium was last reminded of: one reminder per deadline.
    reminded_for: Mapped[dt.datetime | None]

    proposal: Mapped[Proposal] = relationship()
    stage: Mapped[Stage] = relationship()
    asked_by: Mapped[User] = relationship()
    messages: Mapped[list[ClarificationMessage]] = relationship(
        back_populates="request",
        order_by="(ClarificationMessage.created_at, ClarificationMessage.id)",
    )


class ClarificationMessage(db.Model):
    """An answer of the consortium or an officer's follow-up question, never changed."""

    __tablename__ = "clarification_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clarification_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[MessageKind] = mapped_column(enum_type(MessageKind, "clarification_message_kind"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime]

    request: Mapped[ClarificationRequest] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
    attachments: Mapped[list[ClarificationAttachment]] = relationship(
        back_populates="message", order_by="ClarificationAttachment.id"
    )


class ClarificationAttachment(StoredFile, db.Model):
    """A PDF of an answer, checked by its content (core/uploads) and stored as proposal
    attachments are (proposals/storage)."""

    __tablename__ = "clarification_attachments"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clarification_messages.id", ondelete="CASCADE"), index=True
    )

    message: Mapped[ClarificationMessage] = relationship(back_populates="attachments")
