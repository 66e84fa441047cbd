"""Erasure after the retention period and on a person's request; the audit chain holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from competition.accounts import totp
from competition.accounts.models import Role, TotpFactor, User
from competition.accounts.sso_models import SsoIdentity
from competition.audit.models import AuditEvent, StateTransition
from competition.audit.operations import record_event
from competition.core.retention import add_years
from competition.errors import DomainError
from competition.extensions import db
from competition.proposals.models import (
    DeadlineExtension,
    Proposal,
    ProposalState,
    StageSubmission,
)
from competition.retention import operations
from competition.retention.models import ErasureRequest, RetentionRun
from tests.factories import (
    make_call,
    make_grant,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.integration.submission_world import log_in, text

DECIDED = dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC)
RECENT = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
NAME = "Erika Mustermann"
EMAIL = "erika.mustermann@example.org"


@dataclass
class World:
    old: int  # rejected in 2020: past its 5 years
    recent: int  # rejected in 2025: within its period
    running: int  # funded, its grant still running
    erika: int
    admin: int


def _rejected(proposal: Proposal, at: dt.datetime, person: User) -> None:
    proposal.state = ProposalState.REJECTED
    db.session.add(
        StateTransition(
            object_type="proposal",
            object_id=proposal.id,
            from_state="submitted",
            to_state="rejected",
            action="reject",
            actor_id=None,
            at=at,
            reason="",
        )
    )
    stage = make_stage(proposal.call)
    db.session.add(
        StageSubmission(proposal=proposal, stage=stage, sections={"strategy": f"{NAME} leads."})
    )
    proposal.members[0].contact_name = NAME
    proposal.members[0].contact_email = EMAIL
    record_event(
        actor=person,
        action="proposal.withdrawn",
        object_type="proposal",
        object_id=proposal.id,
        after={"state": "withdrawn", "reason": f"{NAME} ({EMAIL}) moved abroad."},
        now=at,
    )


def build(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        erika = make_user(name=NAME, email=EMAIL)
        admin = make_user(roles=(Role.ADMIN,))
        call = make_call(make_programme())
        old = make_proposal(call, coordinator=erika, created_by_id=erika.id)
        recent = make_proposal(call, coordinator=erika)
        running = make_proposal(call, state=ProposalState.FUNDED)
        make_grant(running)
        _rejected(old, DECIDED, erika)
        _rejected(recent, RECENT, erika)
        db.session.commit()
        return World(old.id, recent.id, running.id, erika.id, admin.id)


def sections(proposal_id: int) -> dict:
    return db.session.scalar(
        sa.select(StageSubmission.sections).where(StageSubmission.proposal_id == proposal_id)
    )


def everything(model) -> str:  # type: ignore[no-untyped-def]
    table = model.__table__
    return " ".join(str(tuple(row)) for row in db.session.execute(sa.select(table)))


def test_the_periodic_erasure_takes_only_what_is_past_its_period(app):
    world = build(app)
    with app.app_context():
        end = add_years(RECENT, 5)
        operations.erase_due(now=end - dt.timedelta(seconds=1))
        db.session.expire_all()
        old, recent, running = (
            db.session.get(Proposal, i) for i in (world.old, world.recent, world.running)
        )
        assert old.erased_at is not None and sections(world.old) == {}
        assert old.title == "" and old.acronym == old.reference
        assert old.members[0].contact_name == "" and old.members[0].contact_email == ""
        # Within its period, and a grant still running: untouched.
        assert recent.erased_at is None and sections(world.recent) == {"strategy": f"{NAME} leads."}
        assert recent.members[0].contact_email == EMAIL
        assert running.erased_at is None
        # Erika still has a proposal within its period: her account stays.
        assert db.session.get(User, world.erika).name == NAME
        events = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.object_type == "proposal")
            .order_by(AuditEvent.id)
        ).all()
        assert [e.personal is None for e in events] == [True, False]
        run = db.session.scalars(sa.select(RetentionRun)).one()
        assert run.counts["proposals"] == 1 and run.counts["contact_persons"] == 1
        assert run.counts["texts"] >= 1 and run.counts["audit_events"] == 1

        operations.erase_due(now=end)
        db.session.expire_all()
        assert db.session.get(Proposal, world.recent).erased_at == end
        assert db.session.get(Proposal, world.running).erased_at is None
        # Nothing of hers is within a period any more: her account goes too.
        assert db.session.get(User, world.erika).name == f"person-{world.erika}"
        assert NAME not in everything(AuditEvent) and EMAIL not in everything(AuditEvent)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_an_erasure_request_erases_the_person_now_and_the_chain_still_verifies(app):
    world = build(app)
    with app.app_context():
        erika, admin = db.session.get(User, world.erika), db.session.get(User, world.admin)
        # Her ways to sign in: an authenticator app and a provider's link with her address.
        db.session.add(TotpFactor(user_id=erika.id, secret=totp.new_secret(), created_at=NOW))
        db.session.add(
            SsoIdentity(provider="uni", subject="e-1", user_id=erika.id, email=EMAIL, linked_at=NOW)
        )
        db.session.commit()
        with pytest.raises(DomainError) as refused:
            operations.record_erasure_request(admin, actor=admin, reason="Test.", now=NOW)
        assert "your own account" in str(refused.value)
        request = operations.record_erasure_request(
            erika, actor=admin, reason="Art. 17 GDPR, letter of 20.11.2026", now=NOW
        )
        assert request.waiting == [world.recent] and request.completed_at is None
        db.session.expire_all()
        assert db.session.get(Proposal, world.old).erased_at == NOW
        assert db.session.get(Proposal, world.recent).erased_at is None
        erika = db.session.get(User, world.erika)
        assert erika.email == f"person-{erika.id}@erased.invalid" and not erika.is_active
        for model in (AuditEvent, User, SsoIdentity):
            assert NAME not in everything(model) and EMAIL not in everything(model)
        assert not db.session.scalars(sa.select(TotpFactor)).all()
        with pytest.raises(DomainError, match="erased already"):
            operations.record_erasure_request(erika, actor=admin, reason="Again.", now=NOW)
        db.session.rollback()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output, result.output
    with app.app_context():
        # When the waiting proposal's period ends, the periodic run erases it and completes
        # the request.
        operations.erase_due(now=add_years(RECENT, 5))
        request = db.session.scalars(sa.select(ErasureRequest)).one()
        assert request.waiting == [] and request.completed_at is not None


def test_an_administrator_records_an_erasure_request_on_its_page_after_confirming(app):
    world = build(app)
    with app.app_context():
        admin_email = db.session.get(User, world.admin).email
    admin = log_in(app, admin_email)
    page = "/admin/erasure-requests/new"
    data = {"email": EMAIL, "reason": "Art. 17 GDPR, letter of 20.11.2026"}
    unconfirmed = admin.submit(page, data)
    assert unconfirmed.status_code == 422
    assert "cannot be undone" in text(unconfirmed)
    with app.app_context():
        assert db.session.get(User, world.erika).erased_at is None
    done = admin.submit(page, {**data, "confirm": "y"})
    assert done.status_code == 302 and done.location.endswith("/admin/retention")
    report = text(admin.get("/admin/retention"))
    assert f"person-{world.erika}" in report and "Art. 17 GDPR" in report
    assert NAME not in report
    again = admin.submit(
        page, {**data, "email": f"person-{world.erika}@erased.invalid", "confirm": "y"}
    )
    assert again.status_code == 422 and "erased already" in text(again)


def test_a_draft_never_submitted_is_erased_its_period_after_its_call_closed(app):
    closed = dt.datetime(2019, 5, 31, 12, 0, tzinfo=dt.UTC)
    extended = closed + dt.timedelta(days=14)
    with app.app_context():
        call = make_call(make_programme())
        make_stage(call, opens_at=closed - dt.timedelta(days=60), closes_at=closed)
        abandoned = make_proposal(call, state=ProposalState.DRAFT)
        late = make_proposal(call, state=ProposalState.DRAFT)
        db.session.add(
            DeadlineExtension(
                proposal_id=late.id,
                stage_id=call.stages[0].id,
                closes_at=extended,
                reason="Illness.",
                granted_by_id=make_user(roles=(Role.OFFICER,)).id,
                granted_at=closed,
            )
        )
        db.session.commit()
        ids = abandoned.id, late.id

        operations.erase_due(now=add_years(closed, 5) - dt.timedelta(seconds=1))
        db.session.expire_all()
        assert [db.session.get(Proposal, i).erased_at for i in ids] == [None, None]

        operations.erase_due(now=add_years(closed, 5))
        db.session.expire_all()
        assert db.session.get(Proposal, ids[0]).erased_at == add_years(closed, 5)
        # Its extension kept the late draft open longer, so its period ends later too.
        assert db.session.get(Proposal, ids[1]).erased_at is None
        operations.erase_due(now=add_years(extended, 5))
        db.session.expire_all()
        assert db.session.get(Proposal, ids[1]).erased_at == add_years(extended, 5)
