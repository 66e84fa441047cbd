"""The world of the programme and proposal API tests: two programmes run by different
officers, a draft-only programme, proposals with submitted versions at two stages, an
assigned juror and a conflicted one, and a token for each role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from competition.accounts.models import Role, User
from competition.assignment.models import Conflict, ConflictSource
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, CallState, Stage, StageKind
from competition.proposals.models import (
    BudgetLine,
    Proposal,
    ProposalState,
    StageSubmission,
)
from tests.factories import (
    make_assignment,
    make_call,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import freeze_version
from tests.integration.api_world import token_for
from tests.integration.reviews_world import juror_on, review_stage

EVERY_SCOPE = ("programmes:read", "proposals:write")
CONTACT = "contact-person@example.org"

# The callers of every matrix: a token of each role, and one lacking the endpoint's scope.
ROLES = (
    "anonymous",
    "applicant owner",
    "other applicant",
    "juror assigned",
    "juror conflicted",
    "officer of the programme",
    "officer of another programme",
    "administrator",
    "token without the scope",
)


@dataclass
class World:
    programme_id: int
    draft_programme_id: int
    call_id: int
    draft_call_id: int
    other_programme_id: int
    other_call_id: int
    other_stage_id: int
    stage_id: int
    full_stage_id: int
    draft_stage_id: int
    proposal_id: int
    other_proposal_id: int
    more_proposal_ids: tuple[int, ...]
    screening_call_id: int
    screening_stage_id: int
    # role → token with every scope of this area (None: anonymous)
    tokens: dict[str, str | None]
    # tokens of the programme's officer lacking one scope
    programmes_only: str
    proposals_read_only: str
    officer_id: int


def submitted(
    call: Call, stage: Stage, *, coordinator: User | None, state: ProposalState
) -> Proposal:
    """A proposal with one submitted version at ``stage``; its coordinator's contact person is
    named in the consortium (and so in the frozen content)."""
    proposal = make_proposal(
        call,
        coordinator=coordinator,
        organisations=(make_organisation(), make_organisation()),
        state=state,
    )
    proposal.members[0].contact_name = "Clara Contact"
    proposal.members[0].contact_email = CONTACT
    proposal.topics.append(make_topic())
    submit_at(proposal, stage, by=coordinator or make_user())
    return proposal


def submit_at(proposal: Proposal, stage: Stage, *, by: User) -> None:
    submission = StageSubmission(
        proposal=proposal, stage=stage, sections={"strategy": "Hydrogen hubs."}, updated_at=utcnow()
    )
    db.session.add(submission)
    db.session.flush()
    for member in proposal.members:
        submission.budget_lines.append(
            BudgetLine(
                member_id=member.id,
                year=1,
                public_funding=Decimal("500000.00"),
                own_contribution=Decimal("100000.00"),
            )
        )
    db.session.flush()
    db.session.expire(submission, ["attachments", "budget_lines"])
    freeze_version(proposal, submission, submitted_at=stage.closes_at - dt.timedelta(days=1), by=by)


def build_world() -> World:
    officer = make_user(roles=(Role.OFFICER,))
    other_officer = make_user(roles=(Role.OFFICER,))
    owner = make_user(roles=(Role.APPLICANT,))
    other_applicant = make_user(roles=(Role.APPLICANT,))
    admin = make_user(roles=(Role.ADMIN,))

    programme = make_programme(officers=(officer,))
    call = make_call(programme, max_public_funding_per_proposal=Decimal("15000000.00"))
    outline = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
    full = make_stage(
        call,
        kind=StageKind.FULL_PROPOSAL,
        name="Full proposal",
        opens_at=utcnow() - dt.timedelta(days=15),
        closes_at=utcnow() - dt.timedelta(days=5),
    )
    draft_call = make_call(programme, state=CallState.DRAFT, name="Round two (draft)")
    draft_stage = make_stage(draft_call)
    # A programme whose only call is still a draft: nobody but its officers knows it.
    draft_programme = make_programme(officers=(officer,))
    make_stage(make_call(draft_programme, state=CallState.DRAFT))

    other_programme = make_programme(officers=(other_officer,))
    other_call = make_call(other_programme)
    other_stage = make_stage(other_call, closes_at=utcnow() - dt.timedelta(days=1))

    juror = juror_on(call)
    conflicted = juror_on(call)
    proposal = submitted(call, outline, coordinator=owner, state=ProposalState.ADVANCED)
    # Invited to the full proposal, which the juror does not review.
    submit_at(proposal, full, by=owner)
    more = [
        submitted(call, outline, coordinator=None, state=ProposalState.SUBMITTED).id
        for _ in range(3)
    ]
    other_proposal = submitted(
        other_call, other_stage, coordinator=make_user(), state=ProposalState.SUBMITTED
    )
    make_assignment(outline, proposal, juror)
    # The conflict came to light after the assignment was released: it wins.
    make_assignment(outline, proposal, conflicted)
    db.session.add(
        Conflict(
            user_id=conflicted.id,
            proposal_id=proposal.id,
            source=ConflictSource.DECLARED,
            reason="Former employer.",
            created_at=utcnow(),
        )
    )
    screening_call = make_call(programme, name="Screening round")
    screening_stage = make_stage(
        screening_call,
        opens_at=utcnow() - dt.timedelta(days=30),
        closes_at=utcnow() - dt.timedelta(days=2),
    )
    db.session.commit()

    people = {
        "applicant owner": owner,
        "other applicant": other_applicant,
        "juror assigned": juror,
        "juror conflicted": conflicted,
        "officer of the programme": officer,
        "officer of another programme": other_officer,
        "administrator": admin,
    }
    tokens: dict[str, str | None] = {"anonymous": None}
    tokens.update({role: token_for(user, *EVERY_SCOPE) for role, user in people.items()})
    return World(
        programme_id=programme.id,
        draft_programme_id=draft_programme.id,
        call_id=call.id,
        draft_call_id=draft_call.id,
        other_programme_id=other_programme.id,
        other_call_id=other_call.id,
        other_stage_id=other_stage.id,
        stage_id=outline.id,
        full_stage_id=full.id,
        draft_stage_id=draft_stage.id,
        proposal_id=proposal.id,
        other_proposal_id=other_proposal.id,
        more_proposal_ids=tuple(more),
        screening_call_id=screening_call.id,
        screening_stage_id=screening_stage.id,
        tokens=tokens,
        programmes_only=token_for(officer, "programmes:read"),
        proposals_read_only=token_for(officer, "proposals:read"),
        officer_id=officer.id,
    )


def proposal_to_screen(world: World) -> int:
    """A fresh submitted proposal of the screening round, for one test's verdicts."""
    call = db.session.get(Call, world.screening_call_id)
    stage = db.session.get(Stage, world.screening_stage_id)
    assert call is not None and stage is not None
    proposal = submitted(call, stage, coordinator=make_user(), state=ProposalState.SUBMITTED)
    db.session.commit()
    return proposal.id
