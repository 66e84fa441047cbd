"""Hearing slots of a stage, the proposal pitching in each, and the jurors' availability.

A slot holds at most one proposal, and a proposal has at most one slot per stage (a unique
pair). The consortium's confirmation is kept on the slot (time and who); it is cleared when the
slot's time, place or proposal changes, so a confirmation always names what was confirmed.
Which jurors sit a slot is not stored: those who said they are available and have no conflict
with its proposal (``hearings.queries``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.extensions import db


class HearingSlot(db.Model):
    __tablename__ = "hearing_slots"
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "proposal_id"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("room != '' OR video_url != ''", name="has_a_place"),
        sa.CheckConstraint(
            "(confirmed_at IS NULL) = (confirmed_by_id IS NULL)", name="confirmed_by_whom"
        ),
        sa.CheckConstraint(
            "confirmed_at IS NULL OR proposal_id IS NOT NULL", name="confirmed_with_proposal"
        ),
        sa.Index("ix_hearing_slots_stage_id_starts_at", "stage_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    room: Mapped[str] = mapped_column(sa.String(200), default="")
    # https only: it is mailed to jurors and consortia as a link.
    video_url: Mapped[str] = mapped_column(sa.String(500), default="")
    proposal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="SET NULL"), index=True
    )
    confirmed_at: Mapped[dt.datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class JurorAvailability(db.Model):
    """A juror's answer for one slot: available or not. No row: not answered yet."""

    __tablename__ = "juror_availabilities"
    __table_args__ = (sa.UniqueConstraint("slot_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("hearing_slots.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    available: Mapped[bool]
    updated_at: Mapped[dt.datetime]
