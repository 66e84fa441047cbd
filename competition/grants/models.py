"""Grants after a published decision: the approved money per partner and year, the phases that
an interim evaluation continues or stops, milestones, reports, and disbursement requests
(Mittelabruf) with their export for the ministry's payment system."""

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
from competition.i18n import lazy_gettext as _l
from competition.programmes.models import Call
from competition.proposals.models import ConsortiumMember, Proposal, StoredFile


class GrantKind(enum.StrEnum):
    # A finalist's funded concept phase (Clusters4Future: six months, a set amount).
    CONCEPT = "concept"
    # A winner's project, funded in phases.
    PROJECT = "project"

    @property
    def label(self) -> str:
        return str(GRANT_KIND_LABELS[self])


GRANT_KIND_LABELS = {
    GrantKind.CONCEPT: _l("Concept phase"),
    GrantKind.PROJECT: _l("Project"),
}


class GrantState(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RUNNING = "running"
    IN_EVALUATION = "in_evaluation"
    ENDED_EARLY = "ended_early"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str(GRANT_STATE_LABELS[self])


GRANT_STATE_LABELS = {
    GrantState.OFFERED: _l("Offered"),
    GrantState.ACCEPTED: _l("Accepted"),
    GrantState.DECLINED: _l("Declined"),
    GrantState.RUNNING: _l("Running"),
    GrantState.IN_EVALUATION: _l("In interim evaluation"),
    GrantState.ENDED_EARLY: _l("Ended early"),
    GrantState.CLOSED: _l("Closed"),
}


class Grant(db.Model):
    """The money a published decision gives a consortium, and the grant's own lifecycle.

    One grant of each kind per proposal. Its approved amounts are ``GrantAmount`` rows per
    partner and project year; project year 1 starts on ``starts_on``.
    """

    __tablename__ = "grants"
    __workflow__ = workflow.GRANT
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "kind"),
        sa.CheckConstraint("ends_on > starts_on", name="period_is_ordered"),
        sa.CheckConstraint(
            "(state IN ('offered', 'declined')) = (accepted_at IS NULL)",
            name="accepted_iff_accepted_at",
        ),
        sa.Index("ix_grants_call_id_state", "call_id", "state"),
        # The portal's list, newest first, reads its page off this index.
        sa.Index("ix_grants_starts_on_id", "starts_on", "id"),
        # The funding line's mark of committed money: the newest change of any grant.
        sa.Index("ix_grants_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    # The published decision the grant comes from.
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"), unique=True)
    # The round whose envelope the grant's money counts against.
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"))
    kind: Mapped[GrantKind] = mapped_column(enum_type(GrantKind, "grant_kind"))
    state: Mapped[GrantState] = mapped_column(
        enum_type(GrantState, "grant_state"), default=GrantState.OFFERED
    )
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    # The conditions (Auflagen) the grant is given with, as the letter states them.
    conditions: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    offered_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    proposal: Mapped[Proposal] = relationship()
    call: Mapped[Call] = relationship()
    phases: Mapped[list[GrantPhase]] = relationship(
        back_populates="grant", order_by="GrantPhase.number", cascade="all, delete-orphan"
    )
    amounts: Mapped[list[GrantAmount]] = relationship(
        back_populates="grant",
        order_by="(GrantAmount.year, GrantAmount.member_id)",
        cascade="all, delete-orphan",
    )


class PhaseOutcome(enum.StrEnum):
    CONTINUED = "continued"
    CONTINUED_WITH_CONDITIONS = "continued_with_conditions"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return str(PHASE_OUTCOME_LABELS[self])


PHASE_OUTCOME_LABELS = {
    PhaseOutcome.CONTINUED: _l("Continued"),
    PhaseOutcome.CONTINUED_WITH_CONDITIONS: _l("Continued with conditions"),
    PhaseOutcome.STOPPED: _l("Stopped"),
}


class GrantPhase(db.Model):
    """A phase of a grant (Clusters4Future: up to three of three years). Its money may be paid
    only once it is released: the first phase when the grant starts, each later one when the
    interim evaluation before it is published as "continue"."""

    __tablename__ = "grant_phases"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
        sa.CheckConstraint("last_year >= first_year AND first_year >= 1", name="years_ordered"),
        sa.CheckConstraint("ends_on > starts_on", name="period_is_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("grants.id", ondelete="CASCADE"))
    number: Mapped[int]
    # The project years (1 = the grant's first twelve months) the phase covers.
    first_year: Mapped[int]
    last_year: Mapped[int]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    released_at: Mapped[dt.datetime | None]
    # What the interim evaluation at the end of this phase decided about the next one.
    outcome: Mapped[PhaseOutcome | None] = mapped_column(enum_type(PhaseOutcome, "phase_outcome"))
    outcome_conditions: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    grant: Mapped[Grant] = relationship(back_populates="phases")


class GrantAmount(db.Model):
    """The approved public funding of one partner for one project year."""

    __tablename__ = "grant_amounts"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "member_id", "year"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("year BETWEEN 1 AND 9", name="year_one_to_nine"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("grants.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("consortium_members.id"))
    year: Mapped[int]
    amount: Mapped[Decimal]

    grant: Mapped[Grant] = relationship(back_populates="amounts")
    member: Mapped[ConsortiumMember] = relationship()


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (sa.CheckConstraint("length(title) > 0", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grants.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    due_on: Mapped[dt.date]
    # The partner responsible; None: the consortium as a whole.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("consortium_members.id"))
    reached_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    member: Mapped[ConsortiumMember | None] = relationship()


class ReportKind(enum.StrEnum):
    ANNUAL = "annual"  # annual progress report (Zwischenbericht)
    FINAL = "final"  # final report (Schlussbericht)
    STATEMENT_OF_USE = "statement_of_use"  # Verwendungsnachweis

    @property
    def label(self) -> str:
        return str(REPORT_KIND_LABELS[self])


REPORT_KIND_LABELS = {
    ReportKind.ANNUAL: _l("Annual progress report"),
    ReportKind.FINAL: _l("Final report"),
    ReportKind.STATEMENT_OF_USE: _l("Statement of use"),
}


class ReportState(enum.StrEnum):
    DUE = "due"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return str(REPORT_STATE_LABELS[self])


REPORT_STATE_LABELS = {
    ReportState.DUE: _l("Due"),
    ReportState.SUBMITTED: _l("Submitted"),
    ReportState.CHANGES_REQUESTED: _l("Changes requested"),
    ReportState.ACCEPTED: _l("Accepted"),
}


class Report(db.Model):
    """A report the consortium owes: its sections, PDFs, the submission's receipt and hash,
    and the officer's review."""

    __tablename__ = "reports"
    __workflow__ = workflow.REPORT
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "kind", "year"),
        sa.CheckConstraint(
            "(state = 'due') = (submitted_at IS NULL)", name="submitted_iff_submitted_at"
        ),
        sa.Index("ix_reports_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ReportKind] = mapped_column(enum_type(ReportKind, "report_kind"))
    # The project year an annual report covers; 0 for the final report and statement of use.
    year: Mapped[int] = mapped_column(default=0, server_default="0")
    due_at: Mapped[dt.datetime]
    state: Mapped[ReportState] = mapped_column(
        enum_type(ReportState, "report_state"), default=ReportState.DUE
    )
    # {"progress": "...", ...}: the sections as the consortium wrote them.
    sections: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    submitted_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # SHA-256 of the submitted sections and files, and the receipt's code.
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    receipt_code: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    # Why changes were requested (or a note on acceptance).
    review_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    grant: Mapped[Grant] = relationship()
    attachments: Mapped[list[ReportAttachment]] = relationship(
        back_populates="report", order_by="ReportAttachment.id"
    )


class ReportAttachment(StoredFile, db.Model):
    """A PDF of a report, checked by its content (core/uploads) and stored as proposal
    attachments are (proposals/storage)."""

    __tablename__ = "report_attachments"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    removed_at: Mapped[dt.datetime | None]

    report: Mapped[Report] = relationship(back_populates="attachments")


class ReportReminderSent(db.Model):
    """A reminder step sent for one report: each step goes out at most once."""

    __tablename__ = "report_reminders_sent"
    __table_args__ = (sa.UniqueConstraint("report_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id", ondelete="CASCADE"))
    step: Mapped[int]
    sent_at: Mapped[dt.datetime]


class DisbursementState(enum.StrEnum):
    REQUESTED = "requested"
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPORTED = "exported"
    PAID = "paid"

    @property
    def label(self) -> str:
        return str(DISBURSEMENT_STATE_LABELS[self])


DISBURSEMENT_STATE_LABELS = {
    DisbursementState.REQUESTED: _l("Requested"),
    DisbursementState.PROPOSED: _l("Awaiting a second officer"),
    DisbursementState.APPROVED: _l("Approved"),
    DisbursementState.REJECTED: _l("Rejected"),
    DisbursementState.WITHDRAWN: _l("Withdrawn"),
    DisbursementState.EXPORTED: _l("Exported for payment"),
    DisbursementState.PAID: _l("Paid"),
}

# States whose money counts as paid out of the approved amounts.
APPROVED_STATES = (DisbursementState.APPROVED, DisbursementState.EXPORTED, DisbursementState.PAID)


class PaymentExport(db.Model):
    """A file of approved payments handed to the ministry's payment system; each payment goes
    into exactly one."""

    __tablename__ = "payment_exports"
    __table_args__ = (
        sa.CheckConstraint("file_format IN ('csv', 'xlsx')", name="file_format_known"),
        sa.CheckConstraint("payments > 0", name="payments_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    file_format: Mapped[str] = mapped_column(sa.String(10))
    payments: Mapped[int]
    total: Mapped[Decimal]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # The file as handed out (proposals/storage), so a download later gives the same bytes.
    storage_key: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class Disbursement(db.Model):
    """A coordinator's request to pay a partner part of its approved money for a period.

    Above the programme's threshold (``needs_second_officer``, fixed when the request is
    decided) the first officer's approval is a proposal; a different officer confirms it. The
    database holds the rule: a confirmation is never by the deciding officer, and an approved
    payment that needs two officers has both.
    """

    __tablename__ = "disbursements"
    __workflow__ = workflow.DISBURSEMENT
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("year BETWEEN 1 AND 9", name="year_one_to_nine"),
        sa.CheckConstraint("period_to >= period_from", name="period_is_ordered"),
        sa.CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id != decided_by_id", name="four_eyes"
        ),
        sa.CheckConstraint(
            "NOT needs_second_officer OR state NOT IN ('approved', 'exported', 'paid') "
            "OR confirmed_by_id IS NOT NULL",
            name="second_officer_when_needed",
        ),
        sa.CheckConstraint(
            "state NOT IN ('approved', 'exported', 'paid') OR decided_by_id IS NOT NULL",
            name="approved_by_an_officer",
        ),
        sa.CheckConstraint(
            "(state IN ('exported', 'paid')) = (export_id IS NOT NULL)",
            name="exported_iff_export",
        ),
        sa.Index("ix_disbursements_grant_id_state", "grant_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("grants.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("consortium_members.id"))
    # The project year whose approved amount the payment draws on.
    year: Mapped[int]
    period_from: Mapped[dt.date]
    period_to: Mapped[dt.date]
    amount: Mapped[Decimal]
    state: Mapped[DisbursementState] = mapped_column(
        enum_type(DisbursementState, "disbursement_state"), default=DisbursementState.REQUESTED
    )
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime]
    needs_second_officer: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None]
    # Why a request was rejected.
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    export_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_exports.id"))
    paid_at: Mapped[dt.datetime | None]

    grant: Mapped[Grant] = relationship()
    member: Mapped[ConsortiumMember] = relationship()
