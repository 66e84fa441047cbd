"""The outbox when things fail around a sent message: the database connection drops after the
server accepted it, the server's goodbye fails, the queue holds a backlog, a worker died. Each
message reaches the recipient once. Runs on PostgreSQL with a real SMTP server."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from competition.db import utcnow
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications import operations as outbox
from competition.notifications.models import NotificationState
from tests.conftest import _admin_connection
from tests.integration.test_outbox import (
    committed_user,
    deliveries,  # noqa: F401  (a fixture)
    outbox_row,
    row,
    smtp_app,  # noqa: F401  (a fixture)
)

pytestmark = [pytest.mark.postgres]


def drop_session_connection() -> None:
    """End the database connection the session holds, as a restart or a network cut would."""
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    with _admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def with_fault(monkeypatch, fault) -> None:  # type: ignore[no-untyped-def]
    """Run ``fault`` the moment the server has accepted the message, before it is recorded."""
    send = mailer.send_smtp

    def faulty(settings, *, on_accepted=None, **kwargs):  # type: ignore[no-untyped-def]
        def accepted() -> None:
            fault()
            assert on_accepted is not None
            on_accepted()

        send(settings, on_accepted=accepted, **kwargs)

    monkeypatch.setattr(mailer, "send_smtp", faulty)


def test_a_connection_dropped_after_the_server_accepted_is_retried_and_no_mail_goes_twice(
    smtp_app, smtp_server, monkeypatch
):
    user = committed_user()
    message = outbox_row(user, dedup_key="test.dropped")
    monkeypatch.setattr(outbox, "RECORD_WAITS", (0.1, 0.1))
    with_fault(monkeypatch, drop_session_connection)

    assert outbox.deliver(message.id, now=utcnow()) == "sent"

    sent = row(message.id)
    assert sent.state == NotificationState.SENT
    # Long after the lease, the sweep finds nothing to send again.
    assert outbox.sweep(now=utcnow() + outbox.claim_lease() * 3) == 0
    assert len(smtp_server.wait_for(2, timeout=2)) == 1


def test_a_database_away_longer_than_the_retries_keeps_the_sending_out_of_every_retry(
    smtp_app, smtp_server, monkeypatch
):
    user = committed_user()
    message = outbox_row(user, dedup_key="test.away")
    monkeypatch.setattr(outbox, "RECORD_WAITS", (0.1,))

    def database_away(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("UPDATE notifications", {}, OSError("connection refused"))

    monkeypatch.setattr(outbox, "record_sent", database_away)

    with pytest.raises(outbox.BookkeepingFailed) as unrecorded:
        outbox.deliver(message.id, now=utcnow())
    monkeypatch.undo()

    # What the worker hands to the record task, once the database is back.
    assert outbox.record_sent(message.id, unrecorded.value.claim, unrecorded.value.portable())
    assert row(message.id).state == NotificationState.SENT
    assert outbox.sweep(now=utcnow() + outbox.claim_lease() * 3) == 0
    assert len(smtp_server.wait_for(2, timeout=2)) == 1


def test_a_failing_goodbye_after_the_server_accepted_counts_as_sent(
    smtp_app, smtp_server, monkeypatch
):
    user = committed_user()
    message = outbox_row(user, dedup_key="test.goodbye")

    def broken_quit(self):  # type: ignore[no-untyped-def]
        raise OSError("connection reset")

    monkeypatch.setattr("smtplib.SMTP.quit", broken_quit)

    assert outbox.deliver(message.id, now=utcnow()) == "sent"
    assert row(message.id).state == NotificationState.SENT
    assert len(smtp_server.wait_for(1, timeout=2)) == 1


def test_the_sweep_leaves_messages_waiting_in_a_backlog_and_re_queues_a_lost_dispatch_once(
    smtp_app, smtp_server, deliveries
):
    user = committed_user()
    now = utcnow()
    # Written an hour ago and handed to the queue a minute ago: waiting its turn.
    waiting = outbox_row(
        user,
        dedup_key="test.waiting",
        created_at=now - dt.timedelta(hours=1),
        dispatched_at=now - dt.timedelta(minutes=1),
    )
    lost = outbox_row(
        user,
        dedup_key="test.lost",
        created_at=now - dt.timedelta(hours=1),
        dispatched_at=now - outbox.DISPATCH_LOST_AFTER - dt.timedelta(seconds=1),
    )

    assert outbox.sweep(now=now) == 1
    assert deliveries == [lost.id]
    assert row(waiting.id).state == NotificationState.PENDING
    assert outbox.sweep(now=now + dt.timedelta(minutes=1)) == 0


def test_a_dead_workers_claim_is_re_queued_once_however_often_the_sweep_runs(
    smtp_app, deliveries, monkeypatch
):
    # No worker picks it up meanwhile: the task only records that it was queued.
    monkeypatch.setattr(outbox, "enqueue", lambda name, **kwargs: deliveries.append(kwargs))
    user = committed_user()
    now = utcnow()
    claimed_at = now - outbox.claim_lease() - dt.timedelta(seconds=1)
    stuck = outbox_row(
        user,
        dedup_key="test.stuck",
        state=NotificationState.SENDING,
        attempts=1,
        claimed_at=claimed_at,
        dispatched_at=claimed_at - dt.timedelta(seconds=5),
    )

    queued = [outbox.sweep(now=now + dt.timedelta(minutes=m)) for m in range(5)]

    assert queued == [1, 0, 0, 0, 0]
    assert deliveries == [{"notification_id": stuck.id}]
