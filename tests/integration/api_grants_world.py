"""What the grants API tests share: the payment tests' world (a programme with two officers and
a threshold, a running grant whose coordinator requests payments, an officer of another
programme, another applicant, a juror), with a second programme's grant that the other applicant
coordinates and the other officer runs, more grants to page through, reports in each state the
pages treat apart, payments, an administrator, and an API token for each of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.core import reports as report_rules
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Grant, GrantKind, GrantState, Report
from competition.grants.payments import operations as payment_ops
from competition.grants.reports import operations as report_ops
from competition.proposals.models import Proposal
from tests.factories import make_call, make_grant, make_proposal, make_report, make_user
from tests.helpers import call_run_by
from tests.integration import payments_world
from tests.integration.api_world import token_for
from tests.integration.reports_world import ANNUAL_TEXT
from tests.unit import upload_samples

READ = "grants:read"
WRITE = "grants:write"
PDF = upload_samples.pdf_with_pages(2)
FINAL_DRAFT = {"progress": "Half written.", "results": "", "deviations": "", "next_steps": ""}
RETURNED_NOTE = "Add the figures of work package 2."


@dataclass(frozen=True)
class World:
    base: payments_world.World
    programme_id: int  # the officer's programme (grant A's)
    other_programme_id: int  # the other officer's (grant B's)
    grant_id: int  # A: coordinated by the coordinator, three years of 100.000 euro each
    concept_grant_id: int  # A's proposal's closed concept phase
    offered_grant_id: int  # the other applicant's grant offered in the officer's programme
    other_grant_id: int  # B
    submitted_report_id: int  # A's year 1, submitted with a PDF
    returned_report_id: int  # A's year 2, returned for changes with a note
    draft_report_id: int  # A's final report, a draft
    other_report_id: int  # B's
    approved_payment_id: int  # A's, 10.000 euro approved by the officer
    requested_payment_id: int  # A's, 20.000 euro requested
    other_payment_id: int  # B's, approved by the other officer
    tokens: dict[str, str]  # role → token secret; "anonymous" has none


def _user(email: str) -> User:
    return payments_world.user(email)


def _write_and_submit(report_id: int, coordinator: User, *, pdf: bool) -> None:
    report = db.session.get(Report, report_id)
    assert report is not None
    if pdf:
        report_ops.add_report_attachments(
            report,
            actor=coordinator,
            files=[report_ops.Upload(filename="figures.pdf", data=PDF)],
            now=utcnow(),
        )
    report_ops.submit_report(
        report,
        actor=coordinator,
        sections=ANNUAL_TEXT,
        basis=report_rules.draft_basis(report.sections or {}),
        now=utcnow(),
    )


def build_world() -> World:
    """Inside an app context; everything committed."""
    base = payments_world.build_world()
    officer, outsider = _user(base.officer), _user(base.outsider_officer)
    coordinator, other = _user(base.coordinator), _user(base.other_applicant)
    juror = _user(base.juror)
    admin = make_user(roles=(Role.ADMIN,), name="Ada Admin")
    grant = payments_world.grant_of(base)
    grant.conditions = "Report the pilot plant's start to the programme office."
    concept = make_grant(
        grant.proposal,
        kind=GrantKind.CONCEPT,
        state=GrantState.CLOSED,
        years=1,
        per_member_year=Decimal("125000.00"),
        starts_on=dt.date(2026, 1, 1),
    )
    # The other applicant's proposal in the officer's call (payments_world made it).
    theirs = db.session.scalars(
        sa.select(Proposal).where(
            Proposal.call_id == base.call_id, Proposal.id != grant.proposal_id
        )
    ).one()
    offered = make_grant(theirs, state=GrantState.OFFERED)
    other_call = call_run_by(outsider)
    other_grant = make_grant(
        make_proposal(other_call, coordinator=other), per_member_year=Decimal("40000.00")
    )
    make_call(other_call.programme)  # a second round without grants
    submitted = make_report(grant, year=1)
    returned = make_report(grant, year=2)
    draft = make_report(grant, kind="final")
    other_report = make_report(other_grant, year=1)
    db.session.commit()
    ids = (submitted.id, returned.id, draft.id, other_report.id)

    _write_and_submit(ids[0], coordinator, pdf=True)
    _write_and_submit(ids[1], coordinator, pdf=False)
    returned_report = db.session.get(Report, ids[1])
    assert returned_report is not None
    report_ops.request_report_changes(
        returned_report, actor=officer, reason=RETURNED_NOTE, now=utcnow()
    )
    draft_report = db.session.get(Report, ids[2])
    assert draft_report is not None
    report_ops.save_report_draft(
        draft_report,
        actor=coordinator,
        sections=FINAL_DRAFT,
        basis=report_rules.draft_basis({}),
        now=utcnow(),
    )

    approved = payments_world.approved(base, "10000.00")
    requested = payments_world.request(base, "20000.00")
    other_grant = db.session.get(Grant, other_grant.id)
    assert other_grant is not None
    made = payment_ops.request_disbursement(
        other_grant,
        actor=other,
        member_id=other_grant.amounts[0].member_id,
        year=1,
        period_from=dt.date(2027, 1, 1),
        period_to=dt.date(2027, 6, 30),
        amount=Decimal("5000.00"),
        now=utcnow(),
    )
    payment_ops.approve_disbursement(made, actor=outsider, now=utcnow())

    # Tokens that may write, so that a refusal is the object's, not the scope's; "read_only" is
    # the officer's token that only reads.
    tokens = {
        "coordinator": token_for(coordinator, WRITE),
        "other_applicant": token_for(other, WRITE),
        "juror": token_for(juror, WRITE),
        "officer": token_for(officer, WRITE),
        "second_officer": token_for(_user(base.second_officer), WRITE),
        "other_officer": token_for(outsider, WRITE),
        "admin": token_for(admin, WRITE),
        "read_only": token_for(officer, READ),
        "no_scope": token_for(officer, "proposals:read"),
    }
    db.session.commit()
    return World(
        base=base,
        programme_id=base.programme_id,
        other_programme_id=other_call.programme_id,
        grant_id=grant.id,
        concept_grant_id=concept.id,
        offered_grant_id=offered.id,
        other_grant_id=other_grant.id,
        submitted_report_id=ids[0],
        returned_report_id=ids[1],
        draft_report_id=ids[2],
        other_report_id=ids[3],
        approved_payment_id=approved.id,
        requested_payment_id=requested.id,
        other_payment_id=made.id,
        tokens=tokens,
    )


def new_request(world: World, amount: str, *, year: int, partner: bool = False) -> int:
    """A fresh request on grant A by its coordinator, for a test to decide; its id."""
    member = world.base.partner_member if partner else world.base.coordinator_member
    start = dt.date(2026 + year, 1, 1)
    made = payments_world.request(
        world.base,
        amount,
        member=member,
        year=year,
        period=(start, start.replace(month=3, day=31)),
    )
    return made.id
