"""make_<thing>(**overrides): small, valid objects for tests. Each adds and flushes."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.accounts.passwords import hash_password
from competition.assignment.models import Assignment, AssignmentMethod, AssignmentState
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Grant, GrantAmount, GrantKind, GrantPhase, GrantState
from competition.jobs.models import Job, JobState
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.programmes.models import (
    Call,
    CallState,
    Programme,
    ProgrammeOfficer,
    Stage,
    StageKind,
    Topic,
)
from competition.proposals.models import (
    ConsortiumMember,
    ContributorRole,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalState,
)
from competition.reviews.models import Review, ReviewState

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose
_counter = itertools.count(1)
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def _n() -> int:
    return next(_counter)


def make_user(*, roles: tuple[Role, ...] = (Role.APPLICANT,), **overrides: Any) -> User:
    n = _n()
    values: dict[str, Any] = {
        "email": f"person{n}@example.org",
        "name": f"Person {n}",
        "password_hash": _PASSWORD_HASH,
        "status": UserStatus.ACTIVE,
        "email_confirmed_at": NOW,
        "created_at": NOW,
    }
    values.update(overrides)
    user = User(**values)
    for role in roles:
        user.role_rows.append(UserRole(role=role, granted_at=NOW))
    db.session.add(user)
    db.session.flush()
    return user


def make_organisation(**overrides: Any) -> Organisation:
    n = _n()
    values: dict[str, Any] = {
        "name": f"Organisation {n}",
        "kind": OrganisationKind.UNIVERSITY,
        "federal_state": FederalState.SN,
        "country": "DE",
    }
    values.update(overrides)
    organisation = Organisation(**values)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def make_programme(*, officers: tuple[User, ...] = (), **overrides: Any) -> Programme:
    n = _n()
    values: dict[str, Any] = {
        "slug": f"programme-{n}",
        "name": f"Programme {n}",
        "total_budget": Decimal("100000000.00"),
    }
    values.update(overrides)
    programme = Programme(**values)
    for officer in officers:
        programme.officer_rows.append(ProgrammeOfficer(user_id=officer.id))
    db.session.add(programme)
    db.session.flush()
    return programme


def make_call(programme: Programme | None = None, **overrides: Any) -> Call:
    programme = programme or make_programme()
    n = _n()
    values: dict[str, Any] = {
        "programme": programme,
        # The programme's next round (the call form refuses numbers above 1,000).
        "round_number": len(programme.calls) + 1,
        "name": f"Call {n}",
        "reference_prefix": f"C{n}",
        "state": CallState.PUBLISHED,
    }
    values.update(overrides)
    call = Call(**values)
    db.session.add(call)
    db.session.flush()
    return call


def make_stage(call: Call | None = None, **overrides: Any) -> Stage:
    call = call or make_call()
    values: dict[str, Any] = {
        "call": call,
        "position": len(call.stages) + 1,
        "kind": StageKind.OUTLINE,
        "name": "Outline",
        "opens_at": NOW - dt.timedelta(days=30),
        "closes_at": NOW + dt.timedelta(days=30),
    }
    values.update(overrides)
    stage = Stage(**values)
    db.session.add(stage)
    db.session.flush()
    return stage


def make_topic(**overrides: Any) -> Topic:
    n = _n()
    values: dict[str, Any] = {"slug": f"topic-{n}", "name_en": f"Topic {n}"}
    # ``name``: the English one, as tests written before topics had two names give it.
    if "name" in overrides:
        overrides["name_en"] = overrides.pop("name")
    values.update(overrides)
    topic = Topic(**values)
    db.session.add(topic)
    db.session.flush()
    return topic


def make_proposal(
    call: Call | None = None,
    *,
    coordinator: User | None = None,
    organisations: tuple[Organisation, ...] = (),
    **overrides: Any,
) -> Proposal:
    call = call or make_call()
    n = _n()
    values: dict[str, Any] = {
        "call": call,
        "reference": f"{call.reference_prefix}-{n:04d}",
        "acronym": f"ACR{n}",
        "title": f"Proposal {n}",
        "abstract": "An abstract.",
        "state": ProposalState.SUBMITTED,
    }
    values.update(overrides)
    proposal = Proposal(**values)
    organisations = organisations or (make_organisation(), make_organisation())
    for index, organisation in enumerate(organisations):
        proposal.members.append(
            ConsortiumMember(
                organisation=organisation,
                role=MemberRole.COORDINATOR if index == 0 else MemberRole.PARTNER,
            )
        )
    if coordinator is not None:
        proposal.contributors.append(
            ProposalContributor(user_id=coordinator.id, role=ContributorRole.COORDINATOR)
        )
    db.session.add(proposal)
    db.session.flush()
    return proposal


def make_job(
    kind: str,
    stage_id: int,
    *,
    state: JobState,
    started_by_id: int | None,
    message: str = "",
    progress: int = 0,
    created_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
    heartbeat_at: dt.datetime | None = None,
    finished_at: dt.datetime | None = None,
) -> Job:
    """A job of ``kind`` on a stage as a worker would have left it."""
    now = utcnow()
    ended = state not in (JobState.QUEUED, JobState.RUNNING)
    job = Job(
        kind=kind,
        subject=f"stage:{stage_id}",
        state=state,
        progress=progress,
        message=message,
        error="",
        attempts=0 if state == JobState.QUEUED else 1,
        started_by_id=started_by_id,
        created_at=created_at or now,
        started_at=started_at,
        heartbeat_at=heartbeat_at,
        finished_at=finished_at or (now if ended else None),
    )
    db.session.add(job)
    return job


# A comment long enough for any stage's minimum.
REVIEW_COMMENT = "A convincing consortium with a clear plan; the budget is well argued."


def make_assignment(
    stage: Stage,
    proposal: Proposal,
    juror: User,
    *,
    released_at: dt.datetime | None = None,
    declined: bool = False,
) -> Assignment:
    """A hand-made assignment, released (20 days ago unless given), or declined after that."""
    now = utcnow()
    assignment = Assignment(
        stage_id=stage.id,
        proposal_id=proposal.id,
        user_id=juror.id,
        method=AssignmentMethod.MANUAL,
        created_at=now - dt.timedelta(days=30),
        state=AssignmentState.DECLINED if declined else AssignmentState.RELEASED,
        released_at=released_at or now - dt.timedelta(days=20),
        declined_at=now - dt.timedelta(days=19) if declined else None,
        decline_reason="Travelling." if declined else "",
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def make_review(
    assignment: Assignment | int,
    *,
    state: ReviewState,
    scores: dict[str, str] | None = None,
    comment: str = REVIEW_COMMENT,
    jury_note: str = "",
    confidence: int | None = 4,
) -> Review:
    """A review of the assignment (or its id) in ``state``; scores keyed by criterion id."""
    now = utcnow()
    review = Review(
        assignment_id=assignment if isinstance(assignment, int) else assignment.id,
        scores=scores or {},
        comment_for_applicant=comment,
        comment_for_jury=jury_note,
        confidence=confidence,
        state=state,
        revision=1,
        updated_at=now,
        submitted_at=now if state == ReviewState.SUBMITTED else None,
    )
    db.session.add(review)
    db.session.flush()
    return review


def make_grant(
    proposal: Proposal | None = None,
    *,
    kind: GrantKind = GrantKind.PROJECT,
    state: GrantState = GrantState.RUNNING,
    years: int = 3,
    phase_years: int = 3,
    per_member_year: Decimal = Decimal("100000.00"),
    starts_on: dt.date = dt.date(2027, 1, 1),
    **overrides: Any,
) -> Grant:
    """A grant of ``years`` project years in phases of ``phase_years``, every partner approved
    ``per_member_year`` a year; the first phase is released unless the grant is only offered."""
    proposal = proposal or make_proposal(state=ProposalState.FUNDED)
    now = utcnow()
    values: dict[str, Any] = {
        "proposal_id": proposal.id,
        "call_id": proposal.call_id,
        "kind": kind,
        "state": state,
        "starts_on": starts_on,
        "ends_on": starts_on.replace(year=starts_on.year + years),
        "offered_at": now,
        "accepted_at": None if state in (GrantState.OFFERED, GrantState.DECLINED) else now,
    }
    values.update(overrides)
    grant = Grant(**values)
    for number, first in enumerate(range(1, years + 1, phase_years), start=1):
        last = min(first + phase_years - 1, years)
        grant.phases.append(
            GrantPhase(
                number=number,
                first_year=first,
                last_year=last,
                starts_on=starts_on.replace(year=starts_on.year + first - 1),
                ends_on=starts_on.replace(year=starts_on.year + last),
                released_at=now if number == 1 and values["accepted_at"] else None,
            )
        )
    for member in proposal.members:
        for year in range(1, years + 1):
            grant.amounts.append(
                GrantAmount(member_id=member.id, year=year, amount=per_member_year)
            )
    db.session.add(grant)
    db.session.flush()
    return grant


def make_report(
    grant: Grant,
    *,
    kind: str = "annual",
    year: int = 1,
    due_at: dt.datetime | None = None,
    **overrides: Any,
) -> Any:
    """A report the grant owes (due in 30 days unless ``due_at`` says otherwise); a report of
    another state needs its submission's columns in ``overrides`` as the schema asks."""
    from competition.grants.models import Report, ReportKind, ReportState

    kind = ReportKind(kind)
    now = utcnow()
    values: dict[str, Any] = {
        "grant_id": grant.id,
        "kind": kind,
        "year": year if kind == ReportKind.ANNUAL else 0,
        "due_at": due_at or now + dt.timedelta(days=30),
        "state": ReportState.DUE,
        "sections": {},
        "created_at": now - dt.timedelta(days=60),
    }
    values.update(overrides)
    report = Report(**values)
    db.session.add(report)
    db.session.flush()
    return report
