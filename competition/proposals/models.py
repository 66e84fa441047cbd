"""Proposals, their consortia and budgets, and what was submitted at each stage."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core import workflow
from competition.db import JSONData, enum_type, utcnow
from competition.extensions import db
from competition.i18n import lazy_gettext as _
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Stage, Topic

proposal_topics = sa.Table(
    "proposal_topics",
    db.metadata,
    sa.Column("proposal_id", sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


class ProposalState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    INELIGIBLE = "ineligible"
    ADVANCED = "advanced"
    REJECTED = "rejected"
    FUNDED = "funded"

    @property
    def label(self) -> str:
        return str(PROPOSAL_STATE_LABELS[self])

    @property
    def in_sentence(self) -> str:
        """The state as a sentence names it ("The proposal is withdrawn."): the label in lower
        case in English; German needs its own words, not its labels lower-cased."""
        return str(PROPOSAL_STATE_IN_SENTENCE[self])


PROPOSAL_STATE_LABELS = {
    ProposalState.DRAFT: _("Draft"),
    ProposalState.SUBMITTED: _("Submitted"),
    ProposalState.WITHDRAWN: _("Withdrawn"),
    ProposalState.INELIGIBLE: _("Ineligible"),
    ProposalState.ADVANCED: _("Advanced"),
    ProposalState.REJECTED: _("Rejected"),
    ProposalState.FUNDED: _("Funded"),
}

PROPOSAL_STATE_IN_SENTENCE = {
    ProposalState.DRAFT: _("draft"),
    ProposalState.SUBMITTED: _("submitted"),
    ProposalState.WITHDRAWN: _("withdrawn"),
    ProposalState.INELIGIBLE: _("ineligible"),
    ProposalState.ADVANCED: _("advanced"),
    ProposalState.REJECTED: _("rejected"),
    ProposalState.FUNDED: _("funded"),
}


class Proposal(db.Model):
    __tablename__ = "proposals"
    __workflow__ = workflow.PROPOSAL
    __table_args__ = (
        # The line's pages ask for the call's newest change on every request.
        sa.Index("ix_proposals_call_id_updated_at", "call_id", "updated_at"),
        # The first proposal of each call: where an officer's list in the API starts.
        sa.Index("ix_proposals_call_id_id", "call_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    acronym: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    abstract: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[ProposalState] = mapped_column(
        enum_type(ProposalState, "proposal_state"), default=ProposalState.DRAFT, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when its retention period ended and its personal data was erased.
    erased_at: Mapped[dt.datetime | None]

    call: Mapped[Call] = relationship()
    topics: Mapped[list[Topic]] = relationship(secondary=proposal_topics, order_by=Topic.name_en)
    members: Mapped[list[ConsortiumMember]] = relationship(
        back_populates="proposal",
        cascade="all, delete-orphan",
        order_by="(ConsortiumMember.role != 'coordinator', ConsortiumMember.id)",
    )
    contributors: Mapped[list[ProposalContributor]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )
    submissions: Mapped[list[StageSubmission]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )


class MemberRole(enum.StrEnum):
    COORDINATOR = "coordinator"
    PARTNER = "partner"
    # Takes part without public funding (own contribution only).
    ASSOCIATED_PARTNER = "associated_partner"
    SUBCONTRACTOR = "subcontractor"

    @property
    def label(self) -> str:
        return str(MEMBER_ROLE_LABELS[self])


MEMBER_ROLE_LABELS = {
    MemberRole.COORDINATOR: _("Coordinator"),
    MemberRole.PARTNER: _("Partner"),
    MemberRole.ASSOCIATED_PARTNER: _("Associated partner"),
    MemberRole.SUBCONTRACTOR: _("Subcontractor"),
}


class ConsortiumMember(db.Model):
    """An organisation taking part in a proposal's consortium."""

    __tablename__ = "consortium_members"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "organisation_id"),
        # At most one coordinator per consortium.
        sa.Index(
            "uq_consortium_members_one_coordinator",
            "proposal_id",
            unique=True,
            sqlite_where=sa.text("role = 'coordinator'"),
            postgresql_where=sa.text("role = 'coordinator'"),
        ),
        # An organisation's memberships, with their roles and proposals: the officers' filter
        # by federal state reads the coordinators of a state's organisations from it alone.
        sa.Index(
            "ix_consortium_members_organisation_role",
            "organisation_id",
            "role",
            "proposal_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    role: Mapped[MemberRole] = mapped_column(enum_type(MemberRole, "member_role"))
    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    # The consortium asked that the portal and the open data not name this partner.
    name_withheld: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    proposal: Mapped[Proposal] = relationship(back_populates="members")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ContributorRole(enum.StrEnum):
    COORDINATOR = "coordinator"  # may submit and withdraw
    CONTRIBUTOR = "contributor"  # may edit the draft


class ProposalContributor(db.Model):
    """An applicant account with access to a proposal."""

    __tablename__ = "proposal_contributors"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[ContributorRole] = mapped_column(enum_type(ContributorRole, "contributor_role"))

    proposal: Mapped[Proposal] = relationship(back_populates="contributors")


class SubmissionState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class StageSubmission(db.Model):
    """A proposal's material for one stage; frozen (hashed and timestamped) when submitted."""

    __tablename__ = "stage_submissions"
    __workflow__ = workflow.SUBMISSION
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "stage_id"),
        sa.CheckConstraint(
            "(state = 'draft') OR (submitted_at IS NOT NULL AND content_hash IS NOT NULL)",
            name="submitted_has_time_and_hash",
        ),
        sa.Index("ix_stage_submissions_stage_id_updated_at", "stage_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stages.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[SubmissionState] = mapped_column(
        enum_type(SubmissionState, "submission_state"), default=SubmissionState.DRAFT
    )
    # {"strategy": "…", "partners": "…"} keyed by the stage's section keys.
    sections: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # Per-section edit counters: a save based on an older revision is refused, not merged.
    section_revisions: Mapped[dict[str, Any]] = mapped_column(
        JSONData, default=dict, server_default=sa.text("'{}'")
    )
    # Bumped by every change to the consortium, budget or attachments of this submission.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted_at: Mapped[dt.datetime | None]
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="submissions")
    stage: Mapped[Stage] = relationship()
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="BudgetLine.year"
    )
    # The draft's current attachments; removed ones stay in the table for older versions.
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="and_(Attachment.submission_id == StageSubmission.id, "
        "Attachment.removed_at.is_(None))",
        order_by="Attachment.id",
        viewonly=True,
    )
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.number"
    )


class BudgetLine(db.Model):
    """One partner's budget for one project year, in one of the call's cost categories if it
    has any ("" where it has none)."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "member_id", "year", "category"),
        sa.CheckConstraint("public_funding >= 0", name="public_funding_not_negative"),
        sa.CheckConstraint("own_contribution >= 0", name="own_contribution_not_negative"),
        sa.CheckConstraint("year >= 1", name="year_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stage_submissions.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consortium_members.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int]
    category: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    public_funding: Mapped[Decimal]
    own_contribution: Mapped[Decimal]

    submission: Mapped[StageSubmission] = relationship(back_populates="budget_lines")
    member: Mapped[ConsortiumMember] = relationship()


class StoredFile:
    """A file kept in the upload store (``proposals/storage``) after its content was checked
    (``core/uploads``): a proposal's attachment, a clarification's answer, a grant's report.
    Each table adds its own ``size_not_negative`` check."""

    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    page_count: Mapped[int | None]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attachment(StoredFile, db.Model):
    __tablename__ = "attachments"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stage_submissions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(80))
    # Removed from the draft; the file stays, because submitted versions may refer to it.
    removed_at: Mapped[dt.datetime | None]

    submission: Mapped[StageSubmission] = relationship()


class SubmissionVersion(db.Model):
    """A frozen copy of what was submitted: content, budget and attachments, hashed and timed
    by the server. Never changed; a resubmission adds the next version."""

    __tablename__ = "submission_versions"
    __table_args__ = (sa.UniqueConstraint("submission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stage_submissions.id", ondelete="RESTRICT")
    )
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSONData)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    receipt_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # The submit form's one-time key: a repeated post (double click, retry) finds this version.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    submitted_at: Mapped[dt.datetime]
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    submission: Mapped[StageSubmission] = relationship(back_populates="versions")


class DeadlineExtension(db.Model):
    """An individual extension of a stage's deadline for one proposal, granted by an officer."""

    __tablename__ = "deadline_extensions"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    closes_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    granted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[dt.datetime]


class ProposalInvitation(db.Model):
    """A coordinator's invitation to a contributor, by e-mail address."""

    __tablename__ = "proposal_invitations"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
