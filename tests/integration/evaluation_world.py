"""The world of the interim evaluation tests: a call of two competition stages whose four
funded proposals have project grants of nine years in phases of three ("go" continues and its
coordinator reads German, "cond" continues with conditions, "halt" stops, "ended" ended early
before the evaluation), each with the budget it was funded with, and four jurors of the call, one
from "go"'s partner organisation; with the helpers its tests share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.berlin import utc_to_berlin_input
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Grant, GrantState
from competition.programmes.models import Stage, StageKind
from competition.proposals.models import (
    BudgetLine,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.selection.decisions import operations as decision_ops
from competition.selection.models import Decision, DecisionState, Outcome
from tests.factories import (
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.integration.test_assignment_runs import juror_on

OFFICER = "olga@office.test"
SECOND = "otto@office.test"
STRANGER = "sven@office.test"  # an officer of another programme
# The grants: "go" continues (its coordinator reads German), "cond" continues with conditions,
# "halt" stops, "ended" ended early before the evaluation.
NAMES = ("go", "cond", "halt", "ended")
PER_YEAR = Decimal("100000.00")
NEW_PER_YEAR = Decimal("150000.00")
CONDITIONS = "Appoint a data steward for the cluster within six months."
RATIONALE = "The panel's advice after the jury's reviews of the phase."


def local(value: dt.datetime) -> str:
    return utc_to_berlin_input(value).strftime("%Y-%m-%dT%H:%M")


@dataclass
class World:
    call_id: int
    full_stage_id: int
    proposals: dict[str, int]
    grants: dict[str, int]
    coordinators: dict[str, str]
    partner_juror: int
    stage_id: int = 0
    seen: dict[str, object] = field(default_factory=dict)

    @property
    def start_page(self) -> str:
        return f"/calls/{self.call_id}/interim-evaluations/new"

    def selection(self, page: str = "") -> str:
        where = f"/calls/{self.call_id}/stages/{self.stage_id}/selection"
        return f"{where}/{page}" if page else where


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def decision_of(w: World, name: str) -> Decision:
    found = db.session.scalar(
        sa.select(Decision).where(
            Decision.stage_id == w.stage_id, Decision.proposal_id == w.proposals[name]
        )
    )
    assert found is not None
    return found


def propose(stage: Stage, proposal_id: int, outcome: Outcome) -> list[Decision]:
    """The first officer proposes ``outcome`` for one proposal, through the operation."""
    return decision_ops.propose_decisions(
        stage,
        [proposal_id],
        outcome=outcome,
        rationale=RATIONALE,
        actor=user(OFFICER),
        now=utcnow(),
    )


def amounts_of(grant_id: int) -> list[tuple[int, int, Decimal]]:
    grant = db.session.get(Grant, grant_id)
    return sorted((a.member_id, a.year, a.amount) for a in grant.amounts)


def build_world() -> World:
    now = utcnow()
    officer = make_user(roles=(Role.OFFICER,), email=OFFICER, name="Olga Amt")
    second = make_user(roles=(Role.OFFICER,), email=SECOND, name="Otto Zweit")
    make_programme(officers=(make_user(roles=(Role.OFFICER,), email=STRANGER),))
    call = make_call(make_programme(officers=(officer, second)), budget_years=9, phase_years=3)
    make_stage(call, opens_at=now - dt.timedelta(days=400), closes_at=now - dt.timedelta(days=380))
    full = make_stage(
        call,
        kind=StageKind.FULL_PROPOSAL,
        name="Full proposal",
        opens_at=now - dt.timedelta(days=300),
        closes_at=now - dt.timedelta(days=280),
    )
    partner = make_organisation(name="Partner Institut Süd")
    proposals, grants, coordinators = {}, {}, {}
    for name in NAMES:
        coordinator = make_user(
            roles=(Role.APPLICANT,),
            email=f"{name}@consortium.test",
            locale="de" if name == "go" else "en",
        )
        organisations = (make_organisation(), partner if name == "go" else make_organisation())
        proposal = make_proposal(
            call,
            coordinator=coordinator,
            organisations=organisations,
            state=ProposalState.FUNDED,
            title=f"Cluster {name}",
            abstract=f"A cluster called {name}.",
        )
        submission = StageSubmission(
            proposal=proposal,
            stage=full,
            sections={},
            state=SubmissionState.SUBMITTED,
            submitted_at=full.closes_at - dt.timedelta(days=1),
            content_hash="0" * 64,
            updated_at=now,
        )
        db.session.add(submission)
        db.session.flush()
        for member in proposal.members:
            for year in range(1, 10):
                db.session.add(
                    BudgetLine(
                        submission_id=submission.id,
                        member_id=member.id,
                        year=year,
                        public_funding=PER_YEAR,
                        own_contribution=Decimal("25000.00"),
                    )
                )
        decision = Decision(
            stage_id=full.id,
            proposal_id=proposal.id,
            outcome=Outcome.FUND,
            state=DecisionState.PUBLISHED,
            rationale=RATIONALE,
            proposed_by_id=officer.id,
            proposed_at=now - dt.timedelta(days=200),
            confirmed_by_id=second.id,
            confirmed_at=now - dt.timedelta(days=199),
            published_at=now - dt.timedelta(days=198),
        )
        db.session.add(decision)
        db.session.flush()
        grant = make_grant(
            proposal,
            years=9,
            phase_years=3,
            per_member_year=PER_YEAR,
            starts_on=dt.date(2024, 1, 1),
            state=GrantState.ENDED_EARLY if name == "ended" else GrantState.RUNNING,
            decision_id=decision.id,
        )
        proposals[name], grants[name], coordinators[name] = proposal.id, grant.id, coordinator.email
    jurors = {}
    for email in ("ada@jury.test", "ben@jury.test", "cleo@jury.test", "dan@jury.test"):
        affiliation = partner if email.startswith("ada") else make_organisation()
        jurors[email] = juror_on(
            call, email, [], affiliation_id=affiliation.id, expertise_text="Cluster research"
        ).id
    db.session.commit()
    return World(
        call_id=call.id,
        full_stage_id=full.id,
        proposals=proposals,
        grants=grants,
        coordinators=coordinators,
        partner_juror=jurors["ada@jury.test"],
    )


def form_value_textarea(page: str, name: str) -> str:
    start = page.index(f'name="{name}"')
    body = page[page.index(">", start) + 1 :]
    return body[: body.index("</textarea>")].lstrip("\n")
