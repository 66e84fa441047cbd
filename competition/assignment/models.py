"""The jury of a call: memberships, juror profiles, conflicts of interest, bids, assignment runs
and the assignments themselves."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core import workflow
from competition.db import JSONData, enum_type
from competition.extensions import db
from competition.jobs.models import Job, JobState
from competition.programmes.models import Topic

juror_expertise = sa.Table(
    "juror_expertise",
    db.metadata,
    sa.Column(
        "profile_id", sa.ForeignKey("juror_profiles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


class MembershipState(enum.StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class JuryMembership(db.Model):
    """A juror's place on a call's jury. Nothing of the call is shown to the juror before they
    have accepted and declared their conflicts (``conflicts_declared_at``)."""

    __tablename__ = "jury_memberships"
    __workflow__ = workflow.MEMBERSHIP
    __table_args__ = (sa.UniqueConstraint("call_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[MembershipState] = mapped_column(enum_type(MembershipState, "membership_state"))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    invited_at: Mapped[dt.datetime]
    responded_at: Mapped[dt.datetime | None]
    conflicts_declared_at: Mapped[dt.datetime | None]


class JurorProfile(db.Model):
    __tablename__ = "juror_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    affiliation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL")
    )
    # Organisations the juror worked for recently: a conflict as much as the current one.
    former_organisation_ids: Mapped[list[int]] = mapped_column(JSONData, default=list)
    expertise_text: Mapped[str] = mapped_column(sa.Text, default="")
    max_load: Mapped[int | None]
    updated_at: Mapped[dt.datetime]

    topics: Mapped[list[Topic]] = relationship(secondary=juror_expertise, order_by=Topic.name_en)


class ConflictSource(enum.StrEnum):
    AUTOMATIC = "automatic"  # the juror's organisation is in the consortium
    DECLARED = "declared"  # by the juror
    OFFICER = "officer"
    APPLICANT = "applicant"  # the consortium asked to exclude this juror


class Conflict(db.Model):
    """A juror who must never see a proposal: not in lists, search, bids, exports or panels."""

    __tablename__ = "conflicts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "proposal_id", "source"),
        sa.Index("ix_conflicts_proposal_id_user_id", "proposal_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    source: Mapped[ConflictSource] = mapped_column(enum_type(ConflictSource, "conflict_source"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class BidLevel(enum.StrEnum):
    EAGER = "eager"
    WILLING = "willing"
    NEUTRAL = "neutral"
    NOT_WILLING = "not_willing"


class Bid(db.Model):
    __tablename__ = "bids"
    __table_args__ = (sa.UniqueConstraint("stage_id", "proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[BidLevel] = mapped_column(enum_type(BidLevel, "bid_level"))
    updated_at: Mapped[dt.datetime]


# A run's state is its job's.
RunState = JobState


class AssignmentRun(db.Model):
    """One run of the assignment engine for a stage: its options and result. Its progress and
    state are those of its job (one active per stage)."""

    __tablename__ = "assignment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]

    # Loaded with the run, so a page never queries for it while rendering.
    job: Mapped[Job] = relationship(lazy="joined", innerjoin=True)

    @property
    def state(self) -> JobState:
        return self.job.state

    @property
    def progress(self) -> int:
        return self.job.progress

    @property
    def message(self) -> str:
        return self.job.message

    @property
    def started_at(self) -> dt.datetime | None:
        return self.job.started_at

    @property
    def finished_at(self) -> dt.datetime | None:
        return self.job.finished_at


class AssignmentMethod(enum.StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class AssignmentState(enum.StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    DECLINED = "declined"


class Assignment(db.Model):
    __tablename__ = "assignments"
    __workflow__ = workflow.ASSIGNMENT
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "proposal_id", "user_id"),
        sa.CheckConstraint(
            "(state = 'draft') = (released_at IS NULL)", name="released_iff_released_at"
        ),
        sa.CheckConstraint(
            "(state = 'declined') = (declined_at IS NOT NULL)", name="declined_iff_declined_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[AssignmentMethod] = mapped_column(
        enum_type(AssignmentMethod, "assignment_method")
    )
    run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assignment_runs.id", ondelete="SET NULL")
    )
    affinity: Mapped[float] = mapped_column(default=0.0)
    state: Mapped[AssignmentState] = mapped_column(
        enum_type(AssignmentState, "assignment_state"), default=AssignmentState.DRAFT
    )
    created_at: Mapped[dt.datetime]
    released_at: Mapped[dt.datetime | None]
    declined_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The declined assignment whose seat this one took over.
    replaces_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="SET NULL")
    )


class ExclusionRequest(db.Model):
    """A consortium's request to exclude someone who has no account yet. When an account with
    this address joins the call's jury, the request becomes a Conflict(source=applicant) and the
    row is deleted; requests naming an existing account become conflicts at once."""

    __tablename__ = "exclusion_requests"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime]
