"""Decisions with four eyes on PostgreSQL: one officer proposes (in bulk, with a rationale),
another confirms; the proposer cannot confirm, neither through the operation nor by writing
to the database directly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.programmes.models import ProgrammeOfficer, Stage
from competition.proposals.models import Proposal
from competition.selection.decisions import operations as decisions_operations
from competition.selection.models import Decision, Outcome
from tests.factories import make_user
from tests.integration.test_assignment_runs import World, build_world, submit

RATIONALE = "Strong strategy, convincing consortium; ranked 3rd of 6."


@pytest.fixture
def world(ctx) -> World:  # type: ignore[no-untyped-def]
    world = build_world()
    stage = db.session.get(Stage, world.stage_id)
    second = make_user(roles=(Role.OFFICER,), email="otto@office.test")
    db.session.add(ProgrammeOfficer(programme_id=stage.call.programme_id, user_id=second.id))
    db.session.commit()
    return world


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def stage_of(world: World) -> Stage:
    stage = db.session.get(Stage, world.stage_id)
    assert stage is not None
    return stage


def propose(world: World, ids: list[int], outcome: Outcome = Outcome.ADVANCE) -> list[Decision]:
    return decisions_operations.propose_decisions(
        stage_of(world),
        ids,
        outcome=outcome,
        rationale=RATIONALE,
        actor=user(world.officer),
        now=utcnow(),
    )


def test_a_second_officer_confirms_a_bulk_proposal(world):
    decisions = propose(world, world.proposals[:3])

    count = decisions_operations.confirm_decisions(
        stage_of(world), [d.id for d in decisions], actor=user("otto@office.test"), now=utcnow()
    )

    assert count == 3
    rows = db.session.scalars(sa.select(Decision).order_by(Decision.id)).all()
    assert [(r.outcome, r.confirmed_by_id is not None) for r in rows] == [
        (Outcome.ADVANCE, True)
    ] * 3
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["decision.proposed", "decision.confirmed"]


def test_the_proposer_cannot_confirm_their_own_decision(world):
    decisions = propose(world, world.proposals[:2])

    with pytest.raises(PermissionDenied, match="another officer must confirm"):
        decisions_operations.confirm_decisions(
            stage_of(world), [d.id for d in decisions], actor=user(world.officer), now=utcnow()
        )

    db.session.rollback()
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Decision.confirmed_at.is_not(None))) == 0
    )


def test_the_database_refuses_a_confirmation_by_the_proposer(world):
    [decision] = propose(world, world.proposals[:1])
    proposer = decision.proposed_by_id

    with pytest.raises(sa.exc.IntegrityError, match="four_eyes"):
        db.session.execute(
            sa.update(Decision)
            .where(Decision.id == decision.id)
            .values(confirmed_by_id=proposer, confirmed_at=utcnow(), state="confirmed")
        )
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_publication_before_confirmation(world):
    [decision] = propose(world, world.proposals[:1])

    with pytest.raises(sa.exc.IntegrityError, match="published_after_confirmed|confirmed_iff"):
        db.session.execute(
            sa.update(Decision)
            .where(Decision.id == decision.id)
            .values(published_at=utcnow(), state="published")
        )
    db.session.rollback()


def test_a_rationale_is_required_and_confirmed_decisions_stay(world):
    with pytest.raises(DomainError, match="at least 10 characters"):
        decisions_operations.propose_decisions(
            stage_of(world),
            world.proposals[:1],
            outcome=Outcome.REJECT,
            rationale="no",
            actor=user(world.officer),
            now=utcnow(),
        )
    db.session.rollback()
    decisions = propose(world, world.proposals[:1])
    decisions_operations.confirm_decisions(
        stage_of(world), [d.id for d in decisions], actor=user("otto@office.test"), now=utcnow()
    )

    with pytest.raises(StaleState, match="Already confirmed"):
        propose(world, world.proposals[:1], Outcome.REJECT)


def test_a_proposal_outside_the_stage_and_an_outsider_are_refused(world):
    with pytest.raises(DomainError, match="not in this stage"):
        propose(world, [world.proposals[0], 999_999])
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        decisions_operations.propose_decisions(
            stage_of(world),
            world.proposals[:1],
            outcome=Outcome.ADVANCE,
            rationale=RATIONALE,
            actor=user(world.other_officer),
            now=utcnow(),
        )


def test_a_decision_proposed_anew_after_the_second_officer_looked_is_not_confirmed(world):
    first = propose(world, world.proposals[:2])
    shown = {d.id: d.proposed_at for d in first}
    # The proposer changes one outcome while the second officer reads the list.
    decisions_operations.propose_decisions(
        stage_of(world),
        world.proposals[:1],
        outcome=Outcome.REJECT,
        rationale="Reconsidered: the budget plan is not credible.",
        actor=user(world.officer),
        now=utcnow(),
    )

    with pytest.raises(StaleState, match="since you looked") as refused:
        decisions_operations.confirm_decisions(
            stage_of(world), list(shown), actor=user("otto@office.test"), now=utcnow(), seen=shown
        )

    db.session.rollback()
    changed, kept = (db.session.get(Proposal, p).reference for p in world.proposals[:2])
    assert changed in str(refused.value) and kept not in str(refused.value)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Decision)
            .where(Decision.confirmed_at.is_not(None))
        )
        == 0
    )
    fresh = {d.id: d.proposed_at for d in db.session.scalars(sa.select(Decision))}
    assert (
        decisions_operations.confirm_decisions(
            stage_of(world), list(fresh), actor=user("otto@office.test"), now=utcnow(), seen=fresh
        )
        == 2
    )


def test_nothing_advances_from_the_calls_last_stage(world):
    later = stage_of(world).call.stages[-1]
    for proposal_id in world.proposals[:1]:
        submit(db.session.get(Proposal, proposal_id), later)
    db.session.commit()

    with pytest.raises(DomainError, match="last stage") as refused:
        decisions_operations.propose_decisions(
            later,
            world.proposals[:1],
            outcome=Outcome.ADVANCE,
            rationale=RATIONALE,
            actor=user(world.officer),
            now=utcnow(),
        )

    assert list(refused.value.errors) == ["outcome"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
