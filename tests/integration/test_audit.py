"""Every state change leaves a hash-chained audit event; the verify command finds tampering."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa

from competition.audit.models import AuditEvent
from competition.audit.operations import (
    _CHAIN_LOCK_KEY,
    read_anchors,
    record_event,
    verify_chain,
)
from competition.core.audit_chain import event_hash
from competition.db import operation, utcnow
from competition.extensions import db
from competition.notifications.operations import notify
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


def test_an_event_followed_by_a_notification_is_chained_when_its_change_commits(ctx):
    actor = make_user()
    db.session.commit()

    @operation
    def change_and_tell() -> None:
        record_event(
            actor=actor, action="test.changed", object_type="thing", object_id=1, now=utcnow()
        )
        # The outbox row goes in under a savepoint, which is released before the commit.
        notify(to=actor, template="accounts/confirm", context={}, dedup_key="t:1", now=utcnow())

    change_and_tell()

    db.session.expire_all()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "test.changed"))
    assert event is not None and event.seq is not None


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


# --- anchors outside the database ------------------------------------------------------------


def anchored(app, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "anchors" / "audit.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "anchor", "--file", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_the_chain_holds_its_anchors_while_it_grows(app, ctx, tmp_path):
    add_events(3, make_user())
    path = anchored(app, tmp_path)
    add_events(2, make_user())
    anchored(app, tmp_path)

    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", str(path)])

    assert result.exit_code == 0, result.output
    assert "holds all 2 anchors" in result.output
    assert [a.seq for a in read_anchors(path)] == [3, 5]


def test_a_cut_tail_is_found_by_its_anchor(app, ctx, tmp_path):
    add_events(5, make_user())
    path = anchored(app, tmp_path)
    # The last two events deleted: what is left is a perfectly consistent, shorter chain.
    tamper("DELETE FROM audit_events WHERE seq > 3")
    assert verify_chain()[1] is None

    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", str(path)])

    assert result.exit_code != 0
    assert "event 5" in result.output and "is gone" in result.output


def test_a_rewritten_history_is_found_by_its_anchor(app, ctx, tmp_path):
    add_events(4, make_user())
    path = anchored(app, tmp_path)
    # Event 2 changed and every later hash recomputed: the chain itself verifies again.
    rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    prev = rows[0].hash
    changes = []
    for event in rows[1:]:
        after = {"value": 100} if event.seq == 2 else event.after
        new_hash = event_hash(
            prev_hash=prev,
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            before=event.before,
            after=after,
        )
        changes.append((event.seq, json.dumps(after), prev, new_hash))
        prev = new_hash
    db.session.rollback()
    for seq, after, prev_hash, new_hash in changes:
        tamper(
            f"UPDATE audit_events SET after = '{after}', prev_hash = '{prev_hash}', "
            f"hash = '{new_hash}' WHERE seq = {seq}"
        )
    assert verify_chain()[1] is None

    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", str(path)])

    assert result.exit_code != 0
    assert "event 4" in result.output and "another hash" in result.output


# --- many writers: requests insert, one chainer extends the chain ----------------------------


def test_a_request_recording_an_event_does_not_wait_for_another_still_open(app, ctx):
    actor = make_user()
    db.session.commit()
    actor_id = actor.id
    opened, release = threading.Event(), threading.Event()

    def slow_request() -> None:
        with app.app_context():

            @operation
            def change() -> None:
                record_event(
                    actor=db.session.get(type(actor), actor_id),
                    action="test.slow",
                    object_type="thing",
                    object_id=1,
                    now=utcnow(),
                )
                opened.set()
                release.wait(30)

            change()
            db.session.remove()

    slow = threading.Thread(target=slow_request)
    slow.start()
    assert opened.wait(30)
    quick = threading.Thread(target=lambda: add_events_in(app, 1))
    quick.start()
    quick.join(20)
    # The quick request committed while the slow one still holds its uncommitted event.
    finished_first = not quick.is_alive()
    release.set()
    slow.join(30)
    quick.join(30)
    assert finished_first

    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(e.seq, e.action) for e in events] == [(1, "test.changed"), (2, "test.slow")]
    assert verify_chain() == (2, None)


def add_events_in(app, n: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        add_events(n, None)
        db.session.remove()


def test_events_a_busy_chainer_leaves_behind_are_chained_by_the_periodic_task(app, ctx, pg_url):
    from workers.tasks.audit import chain

    holder = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with holder.connect() as other_chainer:
        other_chainer.execute(sa.select(sa.func.pg_advisory_lock(_CHAIN_LOCK_KEY)))
        add_events(2, make_user())
        assert [e.seq for e in db.session.scalars(sa.select(AuditEvent))] == [None, None]
        assert verify_chain() == (0, None)
        other_chainer.execute(sa.select(sa.func.pg_advisory_unlock(_CHAIN_LOCK_KEY)))
    holder.dispose()
    db.session.rollback()

    assert chain() == 2

    assert verify_chain() == (2, None)
    assert chain() == 0
