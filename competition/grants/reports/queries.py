"""Reading milestones and reports for pages, mails and other areas: each page's rows loaded up
front (templates run no queries), lateness counted by the database, and two questions other
areas ask: has a grant a report overdue (payments wait for it), which reports of a programme
are overdue (the dashboard)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import User
from competition.audit.models import StateTransition
from competition.core import reports as rules
from competition.db import built_once
from competition.extensions import db
from competition.grants.models import (
    Grant,
    GrantKind,
    Milestone,
    Report,
    ReportAttachment,
    ReportKind,
    ReportState,
)
from competition.i18n import lazy_gettext as _l
from competition.paging import Page
from competition.programmes.models import Call
from competition.proposals.models import ConsortiumMember, Proposal, ProposalContributor

OPEN_STATES = tuple(ReportState(state) for state in sorted(rules.OPEN_STATES))
PER_PAGE = 50


def _overdue(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Report.state.in_(OPEN_STATES), Report.due_at < now)


def has_overdue_report(grant_id: int, *, now: dt.datetime) -> bool:
    """Whether the grant owes a report after its due time (due, or returned for changes): the
    payments area refuses disbursements while one is."""
    return bool(
        db.session.scalar(sa.select(sa.exists().where(Report.grant_id == grant_id, _overdue(now))))
    )


@dataclass(frozen=True)
class ReportRow:
    """A report as the programme's lists show it: plain values, no lazy loading."""

    report_id: int
    grant_id: int
    grant_kind: GrantKind
    reference: str
    acronym: str
    kind: ReportKind
    year: int
    due_at: dt.datetime
    state: ReportState
    submitted_at: dt.datetime | None
    days_late: int

    @property
    def overdue(self) -> bool:
        return self.days_late > 0 and self.state in OPEN_STATES


def _rows_query() -> sa.Select[tuple[Report, Grant, Proposal]]:
    return (
        sa.select(Report, Grant, Proposal)
        .join(Grant, Grant.id == Report.grant_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .join(Call, Call.id == Grant.call_id)
    )


def _row(report: Report, grant: Grant, proposal: Proposal, *, now: dt.datetime) -> ReportRow:
    late = rules.is_overdue(report.state.value, report.due_at, now=now)
    return ReportRow(
        report_id=report.id,
        grant_id=grant.id,
        grant_kind=grant.kind,
        reference=proposal.reference,
        acronym=proposal.acronym,
        kind=report.kind,
        year=report.year,
        due_at=report.due_at,
        state=report.state,
        submitted_at=report.submitted_at,
        days_late=rules.days_late(report.due_at, now=now) if late else 0,
    )


def overdue_reports(programme_id: int, *, now: dt.datetime) -> list[ReportRow]:
    """The programme's reports owed after their due time, the longest overdue first; one
    query."""
    rows = db.session.execute(
        _rows_query()
        .where(Call.programme_id == programme_id, _overdue(now))
        .order_by(Report.due_at, Proposal.reference, Report.id)
    )
    return [_row(report, grant, proposal, now=now) for report, grant, proposal in rows]


class ReportFilter(enum.StrEnum):
    """The programme's reports list: which reports it shows (all, when none is chosen)."""

    DUE = "due"  # owed: due or returned for changes, late or not
    OVERDUE = "overdue"
    SUBMITTED = "submitted"  # waiting for the officer's review
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return str(REPORT_FILTER_LABELS[self])


REPORT_FILTER_LABELS = {
    ReportFilter.DUE: _l("Owed reports (due or returned)"),
    ReportFilter.OVERDUE: _l("Overdue reports"),
    ReportFilter.SUBMITTED: _l("Waiting for review"),
    ReportFilter.ACCEPTED: _l("Accepted reports"),
}


def _filtered(show: ReportFilter | None, now: dt.datetime) -> sa.ColumnElement[bool]:
    if show == ReportFilter.DUE:
        return Report.state.in_(OPEN_STATES)
    if show == ReportFilter.OVERDUE:
        return _overdue(now)
    if show == ReportFilter.SUBMITTED:
        return Report.state == ReportState.SUBMITTED
    if show == ReportFilter.ACCEPTED:
        return Report.state == ReportState.ACCEPTED
    return sa.true()


def programme_reports(
    programme_id: int, *, show: ReportFilter | None, now: dt.datetime, page: int
) -> Page[ReportRow]:
    """A page of the programme's reports, by due time; two queries."""
    where = sa.and_(Call.programme_id == programme_id, _filtered(show, now))
    total = db.session.scalar(
        sa.select(sa.func.count(Report.id))
        .join(Grant, Grant.id == Report.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(where)
    )
    rows = db.session.execute(
        _rows_query()
        .where(where)
        .order_by(Report.due_at, Proposal.reference, Report.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return Page(
        items=[_row(report, grant, proposal, now=now) for report, grant, proposal in rows],
        page=page,
        per_page=PER_PAGE,
        total=total or 0,
    )


# --- one grant, one report ------------------------------------------------------------------------


def _grant_options():  # type: ignore[no-untyped-def]
    return (
        joinedload(Grant.proposal)
        .selectinload(Proposal.members)
        .joinedload(ConsortiumMember.organisation),
        joinedload(Grant.call).joinedload(Call.programme),
    )


def find_grant(grant_id: int) -> Grant | None:
    """A grant with its proposal's consortium and its call."""
    return db.session.scalar(
        sa.select(Grant).where(Grant.id == grant_id).options(*_grant_options())
    )


def reports_of(grant: Grant) -> list[Report]:
    """The grant's reports by due time, each with its current attachments' rows."""
    return list(
        db.session.scalars(
            sa.select(Report)
            .where(Report.grant_id == grant.id)
            .options(selectinload(Report.attachments))
            .order_by(Report.due_at, Report.kind, Report.year, Report.id)
        )
    )


def milestones_of(grant: Grant) -> list[Milestone]:
    """The grant's milestones by due date, each with its responsible partner."""
    return list(
        db.session.scalars(
            sa.select(Milestone)
            .where(Milestone.grant_id == grant.id)
            .options(joinedload(Milestone.member).joinedload(ConsortiumMember.organisation))
            .order_by(Milestone.due_on, Milestone.id)
        )
    )


def find_report(report_id: int) -> Report | None:
    """A report with its grant, the grant's consortium and call, and its attachments."""
    return db.session.scalar(
        sa.select(Report)
        .where(Report.id == report_id)
        .options(
            joinedload(Report.grant).options(*_grant_options()),
            selectinload(Report.attachments),
        )
    )


def find_attachment(attachment_id: int) -> ReportAttachment | None:
    return db.session.scalar(
        sa.select(ReportAttachment)
        .where(ReportAttachment.id == attachment_id)
        .options(
            joinedload(ReportAttachment.report).joinedload(Report.grant).options(*_grant_options())
        )
    )


def find_milestone(milestone_id: int) -> Milestone | None:
    return db.session.scalar(sa.select(Milestone).where(Milestone.id == milestone_id))


def submissions_of(report: Report) -> int:
    """How many times the report has been submitted (the receipt's number)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(StateTransition.id)).where(
                StateTransition.object_type == "report",
                StateTransition.object_id == report.id,
                StateTransition.action == "submit",
            )
        )
        or 0
    )


@dataclass(frozen=True)
class OwedReport:
    """A report the applicant's consortium owes, as their start page lists it."""

    id: int
    kind: ReportKind
    year: int
    due_at: dt.datetime
    state: ReportState
    reference: str
    acronym: str


@built_once
def _reports_owed() -> sa.Select[tuple[Any, ...]]:
    return (
        sa.select(
            Report.id,
            Report.kind,
            Report.year,
            Report.due_at,
            Report.state,
            Proposal.reference,
            Proposal.acronym,
        )
        .join(Grant, Grant.id == Report.grant_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .join(ProposalContributor, ProposalContributor.proposal_id == Proposal.id)
        .where(
            ProposalContributor.user_id == sa.bindparam("user_id"),
            Report.state.in_(OPEN_STATES),
        )
        .order_by(Report.due_at, Report.id)
    )


def reports_owed_by(user: User) -> list[OwedReport]:
    """The reports the applicant's consortia owe (due or returned for changes), soonest first:
    the applicant's start page."""
    rows = db.session.execute(_reports_owed(), {"user_id": user.id})
    return [OwedReport(*row) for row in rows]
