"""Every state change leaves a hash-chained audit event; the verify command finds tampering."""

from __future__ import annotations

import sqlalchemy as sa

from competition.audit.models import AuditEvent
from competition.audit.operations import record_event, verify_chain
from competition.db import operation, utcnow
from competition.extensions import db
from tests.factories import make_user


def add_events(n: int, actor) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        operation(record_event)(
            actor=actor,
            action="test.changed",
            object_type="thing",
            object_id=i,
            before={"value": i},
            after={"value": i + 1},
            now=utcnow(),
        )


def tamper(statement: str) -> None:
    """What an attacker with database access would do: bypass the append-only trigger."""
    db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    db.session.execute(sa.text(statement))
    db.session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    db.session.commit()


def test_events_chain_onto_each_other(ctx):
    actor = make_user()
    add_events(5, actor)
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert events[0].actor_id == actor.id


def test_verify_reports_an_intact_chain(app, ctx):
    add_events(4, make_user())
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 4 events" in result.output


def test_verify_names_the_first_changed_event(app, ctx):
    add_events(6, make_user())
    tamper("UPDATE audit_events SET after = '{\"value\": 100}' WHERE seq = 3")
    assert verify_chain()[1].seq == 3
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert "broken at event 3" in result.output


def test_verify_names_a_deleted_event(app, ctx):
    add_events(6, make_user())
    tamper("DELETE FROM audit_events WHERE seq = 4")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert "broken at event 4" in result.output


def test_a_rolled_back_change_leaves_no_event(ctx):
    actor = make_user()
    db.session.commit()

    @operation
    def failing() -> None:
        record_event(actor=actor, action="test.failed", object_type="t", object_id=1, now=utcnow())
        raise RuntimeError("validation failed after the event was written")

    try:
        failing()
    except RuntimeError:
        pass
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
