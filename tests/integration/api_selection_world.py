"""The world of the selection API's tests: two programmes' stages taken through reviews, two
rankings and decisions (proposed, confirmed, published), and a funding stage whose grey zone
was drawn by lot; a token for each person the access matrix asks about."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment.models import Conflict, ConflictSource
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Criterion, Stage, StageKind
from competition.proposals.models import Proposal
from competition.reviews.models import ReviewState
from competition.selection.decisions import operations as decisions_operations
from competition.selection.line import operations as line_operations
from competition.selection.models import Decision, Outcome, RankingMethod
from competition.selection.publication import operations as publication_operations
from competition.selection.ranking import operations as ranking_operations
from tests.factories import (
    make_assignment,
    make_call,
    make_programme,
    make_proposal,
    make_review,
    make_stage,
    make_user,
)
from tests.integration.api_world import token_for
from tests.integration.reviews_world import juror_on
from tests.integration.test_assignment_runs import submit
from tests.integration.test_line import SEED, zone_world

READ = ("reviews:read", "selection:read")
RATIONALE = "Weaker than the others on every criterion."
JURY_NOTE = "Between us: the budget looks padded."


@dataclass(frozen=True)
class StageWorld:
    """A stage of four proposals (the first coordinated by the world's applicant, where there
    is one). Two jurors reviewed each; the second juror's review of the last is a draft. A third
    juror reviewed the first and then declared a conflict with it: that review never counts."""

    stage_id: int
    later_stage_id: int  # the call's next stage: nothing reviewed or ranked yet
    proposals: list[int]
    references: list[str]
    counted: list[int]  # review ids, oldest first
    draft: int
    conflicted: int
    rankings: list[int]  # oldest first; both finished
    # "published" (reject), "confirmed" (reserve), "proposed" (reject): decision ids
    decisions: dict[str, int]
    officer: int
    second_officer: int
    juror: int
    conflicted_juror: int


@dataclass
class World:
    here: StageWorld
    elsewhere: StageWorld  # another programme's stage, run by other officers
    zone_stage_id: int  # a funding stage whose grey zone was drawn by lot
    zone_references: list[str]
    zone_seed: str
    people: dict[str, int]  # role → user id
    tokens: dict[str, str] = field(default_factory=dict)  # role → token


def _stage(officer: User, second: User, *, applicant: User | None, juror_name: str) -> StageWorld:
    now = utcnow()
    call = make_call(make_programme(officers=(officer, second)))
    stage = make_stage(
        call,
        opens_at=now - dt.timedelta(days=60),
        closes_at=now - dt.timedelta(days=20),
        reviews_due_at=now + dt.timedelta(days=10),
        selection_target=2,
    )
    # A later stage: this one's line is drawn by its target, and proposals may advance.
    later = make_stage(
        call,
        kind=StageKind.FULL_PROPOSAL,
        name="Full proposal",
        opens_at=now + dt.timedelta(days=30),
        closes_at=now + dt.timedelta(days=90),
    )
    for position, (name, weight) in enumerate([("Excellence", "0.6"), ("Impact", "0.4")], 1):
        stage.criteria.append(
            Criterion(
                position=position,
                name=name,
                weight=Decimal(weight),
                scale_min=Decimal("0"),
                scale_max=Decimal("5"),
                scale_step=Decimal("0.5"),
            )
        )
    db.session.flush()
    criteria = [c.id for c in stage.criteria]
    proposals: list[Proposal] = []
    for n in range(4):
        proposal = make_proposal(call, coordinator=applicant if n == 0 else None)
        submit(proposal, stage)
        proposals.append(proposal)
    first = juror_on(call, name=juror_name)
    second_juror = juror_on(call, name=f"{juror_name}'s colleague")
    conflicted_juror = juror_on(call, name=f"{juror_name}'s rival")
    counted: list[int] = []
    draft = 0
    for n, proposal in enumerate(proposals):
        for juror, bonus in ((first, 0), (second_juror, 0.5)):
            state = ReviewState.DRAFT if juror is second_juror and n == 3 else ReviewState.SUBMITTED
            review = make_review(
                make_assignment(stage, proposal, juror),
                state=state,
                scores={str(c): str(1 + n + bonus) for c in criteria},
                jury_note=JURY_NOTE,
            )
            if state == ReviewState.SUBMITTED:
                counted.append(review.id)
            else:
                draft = review.id
    conflicted = make_review(
        make_assignment(stage, proposals[0], conflicted_juror),
        state=ReviewState.SUBMITTED,
        scores={str(c): "5" for c in criteria},
    ).id
    db.session.add(
        Conflict(
            user_id=conflicted_juror.id,
            proposal_id=proposals[0].id,
            source=ConflictSource.DECLARED,
            reason="Former employer.",
            created_at=now,
        )
    )
    db.session.commit()
    rankings = [
        ranking_operations.start_ranking(
            stage,
            actor=officer,
            method=method,
            now=utcnow(),
            options={"draws": 50, "min_reviews": 2},
        ).id
        for method in (RankingMethod.RAW, RankingMethod.ZSCORE)
    ]
    decisions = _decide(stage, proposals, officer, second, rankings[-1])
    return StageWorld(
        stage_id=stage.id,
        later_stage_id=later.id,
        proposals=[p.id for p in proposals],
        references=[p.reference for p in proposals],
        counted=counted,
        draft=draft,
        conflicted=conflicted,
        rankings=rankings,
        decisions=decisions,
        officer=officer.id,
        second_officer=second.id,
        juror=first.id,
        conflicted_juror=conflicted_juror.id,
    )


def _decide(
    stage: Stage, proposals: list[Proposal], officer: User, second: User, ranking_id: int
) -> dict[str, int]:
    """The first proposal rejected and published, the second on the reserve list and confirmed,
    the third's rejection only proposed."""

    def propose(proposal: Proposal, outcome: Outcome) -> Decision:
        [decision] = decisions_operations.propose_decisions(
            stage,
            [proposal.id],
            outcome=outcome,
            rationale=RATIONALE,
            actor=officer,
            now=utcnow(),
            ranking_id=ranking_id,
        )
        return decision

    published = propose(proposals[0], Outcome.REJECT)
    confirmed = propose(proposals[1], Outcome.RESERVE)
    proposed = propose(proposals[2], Outcome.REJECT)
    decisions_operations.confirm_decisions(
        stage, [published.id, confirmed.id], actor=second, now=utcnow()
    )
    publication_operations.publish_decision(published.id, actor=officer, now=utcnow())
    return {"published": published.id, "confirmed": confirmed.id, "proposed": proposed.id}


def _zone() -> tuple[int, list[str], str]:
    """test_line's funding stage of six proposals under 10 M, three in the grey zone for two
    places, drawn by lot."""
    zone = zone_world()
    officer = zone.user(zone.officer)
    line_operations.record_lottery(zone.stage(), zone.ranking(), actor=officer, now=utcnow())
    return zone.stage_id, zone.references, SEED


def build_world() -> World:
    officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
    second = make_user(roles=(Role.OFFICER,), name="Sam Second")
    other = make_user(roles=(Role.OFFICER,), name="Otto Other")
    other_second = make_user(roles=(Role.OFFICER,), name="Uma Other")
    applicant = make_user(roles=(Role.APPLICANT,), name="Anna Applicant")
    administrator = make_user(roles=(Role.ADMIN,), name="Adam Admin")
    here = _stage(officer, second, applicant=applicant, juror_name="Jana Juror")
    elsewhere = _stage(other, other_second, applicant=None, juror_name="Jonas Juror")
    zone_stage_id, zone_references, seed = _zone()
    zone_officer = db.session.scalar(sa.select(User.id).where(User.email == "olivia@office.test"))
    assert zone_officer is not None
    db.session.commit()
    people = {
        "applicant": applicant.id,
        "juror": here.juror,
        "officer": officer.id,
        "other officer": other.id,
        "administrator": administrator.id,
        "zone officer": zone_officer,
    }
    world = World(
        here=here,
        elsewhere=elsewhere,
        zone_stage_id=zone_stage_id,
        zone_references=zone_references,
        zone_seed=seed,
        people=people,
    )
    for role, user_id in people.items():
        world.tokens[role] = token_for(db.session.get(User, user_id), *READ)
    conflicted = db.session.get(User, here.conflicted_juror)
    assert conflicted is not None
    world.tokens["conflicted juror"] = token_for(conflicted, *READ)
    user = db.session.get(User, officer.id)
    assert user is not None
    # The officer's own tokens, each lacking one of the scopes or both.
    world.tokens["reviews only"] = token_for(user, "reviews:read")
    world.tokens["selection only"] = token_for(user, "selection:read")
    world.tokens["no scope"] = token_for(user, "proposals:read", "programmes:read")
    return world
