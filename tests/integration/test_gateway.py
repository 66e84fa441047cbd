"""The workflow gateway on PostgreSQL: one step, its history and audit event; a repeated step;
an illegal one; and two transactions racing for the same step."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from competition.audit.models import AuditEvent, StateTransition
from competition.db import utcnow
from competition.errors import StaleState
from competition.extensions import db
from competition.proposals.models import Proposal, ProposalState
from competition.workflow import StepRefused, apply_step, history
from tests.factories import make_programme, make_proposal, make_user


@pytest.fixture
def proposal_id(ctx, request):
    proposal = make_proposal(**getattr(request, "param", {}))
    db.session.commit()
    return proposal.id


def transitions(proposal_id):
    return db.session.scalars(
        sa.select(StateTransition).where(
            StateTransition.object_type == "proposal", StateTransition.object_id == proposal_id
        )
    ).all()


def test_a_step_changes_the_state_and_writes_its_history_and_audit_event(ctx, proposal_id):
    actor = make_user()
    proposal = db.session.get(Proposal, proposal_id)

    moved = apply_step(proposal, "withdraw", actor=actor, now=utcnow(), reason="Partner left.")
    db.session.commit()

    assert moved is True
    db.session.expire_all()
    assert db.session.get(Proposal, proposal_id).state == ProposalState.WITHDRAWN
    [row] = transitions(proposal_id)
    assert (row.from_state, row.to_state, row.action, row.actor_id, row.reason) == (
        "submitted",
        "withdrawn",
        "withdraw",
        actor.id,
        "Partner left.",
    )
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "proposal.withdrawn")
    ).all()
    assert event.object_id == str(proposal_id)
    assert event.before == {"state": "submitted"}
    # The reason someone typed stays outside the hash, where erasure can clear it.
    assert event.after == {"state": "withdrawn"}
    assert event.personal == {"after": {"reason": "Partner left."}}
    [line] = history("proposal", [proposal_id])
    assert (line.action, line.to_state, line.actor) == ("withdraw", "withdrawn", actor.name)


def test_a_repeated_step_changes_nothing(ctx, proposal_id):
    actor = make_user()
    proposal = db.session.get(Proposal, proposal_id)
    apply_step(proposal, "withdraw", actor=actor, now=utcnow())
    db.session.commit()

    assert apply_step(proposal, "withdraw", actor=actor, now=utcnow()) is False
    db.session.commit()
    assert len(transitions(proposal_id)) == 1


@pytest.mark.parametrize("proposal_id", [{"state": ProposalState.WITHDRAWN}], indirect=True)
def test_a_step_the_state_does_not_allow_is_refused_and_writes_nothing(ctx, proposal_id):
    proposal = db.session.get(Proposal, proposal_id)
    with pytest.raises(StepRefused, match="withdrawn; it cannot be advanced"):
        apply_step(proposal, "advance", actor=None, now=utcnow())
    db.session.rollback()
    assert db.session.get(Proposal, proposal_id).state == ProposalState.WITHDRAWN
    assert transitions(proposal_id) == []


def test_of_two_racing_transactions_the_second_is_told_someone_was_first(app, ctx, proposal_id):
    """A withdraws and holds its lock; B, which saw the same submitted proposal, tries to screen
    it out and waits for the lock; when A commits, B's compare-and-set finds no row."""
    actor = make_user()
    db.session.commit()
    actor_id = actor.id
    a_stepped, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with app.app_context():
            proposal = db.session.get(Proposal, proposal_id)
            apply_step(
                proposal, "withdraw", actor=db.session.get(type(actor), actor_id), now=utcnow()
            )
            a_stepped.set()
            a_may_commit.wait(30)
            db.session.commit()

    def second() -> None:
        with app.app_context():
            proposal = db.session.get(Proposal, proposal_id)
            assert proposal.state == ProposalState.SUBMITTED
            a_stepped.wait(30)
            try:
                apply_step(proposal, "screen_out", actor=None, now=utcnow(), reason="Late.")
            except StaleState as error:
                outcome["error"] = str(error)
            db.session.rollback()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # Let A commit only once B waits for A's transaction (its row lock).
    with db.engine.connect() as watcher:
        for _ in range(600):
            waiting = watcher.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                )
            ).scalar_one()
            if waiting:
                break
            threading.Event().wait(0.05)
    a_may_commit.set()
    for thread in threads:
        thread.join(60)

    assert waiting == 1 and "first" not in outcome
    assert "Someone else changed this proposal meanwhile" in str(outcome.get("error"))
    db.session.expire_all()
    assert db.session.get(Proposal, proposal_id).state == ProposalState.WITHDRAWN
    assert [row.action for row in transitions(proposal_id)] == ["withdraw"]


def test_a_proposals_page_shows_its_history_and_only_officers_see_who(app):
    from competition.accounts.models import Role
    from competition.proposals.operations import withdraw_proposal
    from tests.factories import make_call
    from tests.helpers import as_person, person, text

    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        coordinator = make_user()
        call = make_call(make_programme(officers=(officer,)))
        proposal = make_proposal(call, coordinator=coordinator)
        db.session.commit()
        withdraw_proposal(proposal, actor=coordinator, reason="Our partner left.", now=utcnow())
        db.session.commit()
        url, name = f"/proposals/{proposal.id}", coordinator.name
        officer, coordinator = person(officer), person(coordinator)

    as_officer = text(as_person(app, officer).get(url))
    as_coordinator = text(as_person(app, coordinator).get(url))

    for page in (as_officer, as_coordinator):
        assert "History (1 step)" in page
        assert "Withdrawn by the coordinator" in page and "Our partner left." in page
    assert f"<td>{name}</td>" in as_officer
    assert f"<td>{name}</td>" not in as_coordinator
