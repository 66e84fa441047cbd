"""Writing messages to the outbox and delivering them exactly once per outbox row."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite

from competition.accounts.models import User
from competition.db import on_postgresql, operation
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState
from competition.tasks import enqueue
from config import Settings

log = logging.getLogger(__name__)

# A claim older than this is taken to belong to a worker that died mid-delivery. This is the
# default; an instance sets its own (NOTIFICATION_CLAIM_LEASE_SECONDS), read by claim_lease().
CLAIM_LEASE = dt.timedelta(seconds=Settings.notification_claim_lease_seconds)
# A pending row handed to the queue longer ago than this lost its dispatch (the broker was away
# at the commit, or lost the task): the sweep hands it over again. Far longer than a backlog
# lasts, so that messages merely waiting their turn are not queued twice.
DISPATCH_LOST_AFTER = dt.timedelta(minutes=15)


class DeliveryBusy(Exception):
    """Another worker holds a live claim on this message; try again after the lease."""


def notify(
    *,
    to: User | str,
    template: str,
    context: dict[str, Any],
    dedup_key: str,
    now: dt.datetime,
) -> Notification | None:
    """Write one outbox row in the caller's transaction and queue its delivery after commit.

    Side effects: an outbox row; after commit, a ``notifications.deliver`` task.
    A second call with the same ``dedup_key`` writes nothing and returns None. ``to`` is a user,
    or a bare address for someone without an account yet (an invited contributor).
    """
    # One statement: a key that exists, or that a concurrent transaction writes first, makes
    # the insert do nothing and leaves the caller's transaction usable.
    insert = postgresql.insert if on_postgresql() else sqlite.insert
    row = db.session.scalar(
        insert(Notification)
        .values(
            dedup_key=dedup_key,
            user_id=None if isinstance(to, str) else to.id,
            to_address=to if isinstance(to, str) else to.email,
            template=template,
            context=context,
            state=NotificationState.PENDING,
            created_at=now,
            dispatched_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
        .returning(Notification)
    )
    if row is None:
        return None
    enqueue("notifications.deliver", notification_id=row.id)
    return row


def claim_lease() -> dt.timedelta:
    """How long a worker's claim on a message holds, in this instance."""
    settings = current_app.extensions["settings"]
    return dt.timedelta(seconds=settings.notification_claim_lease_seconds)


def _claim(notification_id: int, *, now: dt.datetime) -> int | None:
    """Take the row for this worker; returns the claim (the attempt's number), or None when
    it is sent, gone, or held by a live claim."""
    claimed = db.session.scalar(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            sa.or_(
                Notification.state == NotificationState.PENDING,
                sa.and_(
                    Notification.state == NotificationState.SENDING,
                    Notification.claimed_at < now - claim_lease(),
                ),
            ),
        )
        .values(
            state=NotificationState.SENDING,
            claimed_at=now,
            attempts=Notification.attempts + 1,
        )
        .returning(Notification.attempts)
    )
    db.session.commit()
    return claimed


class BookkeepingFailed(Exception):
    """The server accepted the message but the database could not record it; the record is
    retried on its own (``record_sent``), never the sending."""

    def __init__(self, notification_id: int, claim: int, values: dict[str, Any]) -> None:
        super().__init__(f"notification {notification_id} sent but not recorded")
        self.notification_id = notification_id
        self.claim = claim
        self.values = values

    def portable(self) -> dict[str, Any]:
        """The record as plain JSON, for a task that writes it once the database is back."""
        return {
            key: value.isoformat() if isinstance(value, dt.datetime) else value
            for key, value in self.values.items()
            if key != "state"
        }


# Waits between tries to record a sent message while the database is away: about half a minute
# in all, which covers a restart or a fail-over; a longer outage goes to ``record_sent``.
RECORD_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def record_sent(notification_id: int, claim: int, values: dict[str, Any]) -> bool:
    """Mark the row sent for the claim that sent it; True when this call recorded it. Raises
    the database's error when it cannot be reached."""
    values = {**values, "state": NotificationState.SENT}
    if isinstance(values.get("sent_at"), str):
        values["sent_at"] = dt.datetime.fromisoformat(values["sent_at"])
    result = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.state == NotificationState.SENDING,
            Notification.attempts == claim,
        )
        .values(**values)
    )
    db.session.commit()
    return bool(result.rowcount)


def _record_sent_retrying(notification_id: int, claim: int, values: dict[str, Any]) -> None:
    for wait in (*RECORD_WAITS, None):
        try:
            record_sent(notification_id, claim, values)
            return
        except sa.exc.DBAPIError as exc:
            # A dropped connection is invalidated by the rollback; the next try gets a new one.
            db.session.rollback()
            if wait is None:
                raise BookkeepingFailed(notification_id, claim, values) from exc
            log.warning(
                "notification %s sent but not yet recorded (%s); trying again",
                notification_id,
                type(exc).__name__,
            )
            time.sleep(wait)


def deliver(notification_id: int, *, now: dt.datetime) -> str:
    """Send one outbox message; safe to call any number of times for the same id.

    Returns ``sent``, or ``skipped`` when the row is gone or already sent. Raises
    :class:`DeliveryBusy` while another worker's claim is live, the mail error when the server
    did not accept the message (the row returns to pending, so a retry or the sweep sends it
    later), and :class:`BookkeepingFailed` when it did but the database stayed away (the row is
    recorded later by ``record_sent``, never sent again by this worker).
    Side effects: one e-mail (or one development-mailbox entry); the row marked sent.
    """
    settings = current_app.extensions["settings"]
    claim = _claim(notification_id, now=now)
    if claim is None:
        state = db.session.scalar(
            sa.select(Notification.state).where(Notification.id == notification_id)
        )
        if state == NotificationState.SENDING:
            raise DeliveryBusy(f"notification {notification_id} is being delivered")
        return "skipped"
    row = db.session.get(Notification, notification_id)
    assert row is not None
    msg_id, to_address = mailer.message_id(row.dedup_key), row.to_address
    values: dict[str, Any] = {
        "state": NotificationState.SENT,
        "sent_at": now,
        "message_id": msg_id,
        "backend": settings.mail_backend,
        "last_error": None,
    }
    accepted = False

    def accepted_by_server() -> None:
        nonlocal accepted
        accepted = True
        _record_sent_retrying(notification_id, claim, values)

    # In the recipient's language; a message to an address without an account (an invitation)
    # in the deployment's.
    locale = (
        db.session.scalar(sa.select(User.locale).where(User.id == row.user_id))
        if row.user_id is not None
        else None
    )
    try:
        with force_locale(locale or settings.default_locale):
            rendered = mailer.render(
                row.template,
                {**row.context, "base_url": settings.base_url},
                with_attachments=settings.mail_backend == "smtp",
            )
        db.session.commit()  # nothing is held open while the server answers
        if settings.mail_backend == "smtp":
            mailer.send_smtp(
                settings,
                to=to_address,
                message=rendered,
                msg_id=msg_id,
                on_accepted=accepted_by_server,
            )
        else:
            values.update(
                subject=rendered.subject, body_text=rendered.text, body_html=rendered.html
            )
            accepted_by_server()
    except BookkeepingFailed:
        raise
    except Exception as exc:
        if accepted:
            # Accepted and recorded; only the goodbye failed.
            log.info("notification %s sent; the server's goodbye failed", notification_id)
            return "sent"
        db.session.rollback()
        db.session.execute(
            sa.update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.state == NotificationState.SENDING,
                Notification.attempts == claim,
            )
            .values(
                state=NotificationState.PENDING,
                claimed_at=None,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
            )
        )
        db.session.commit()
        log.warning("notification %s not delivered: %s", notification_id, type(exc).__name__)
        raise
    log.info("notification %s sent via %s", notification_id, settings.mail_backend)
    return "sent"


def mark_failed(notification_id: int, *, reason: str) -> None:
    """After the last retry: leave the row visible as failed for an officer to see."""
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.state != NotificationState.SENT)
        .values(state=NotificationState.FAILED, last_error=reason[:500], claimed_at=None)
    )
    db.session.commit()


@operation
def sweep(*, now: dt.datetime, limit: int = 500) -> int:
    """Queue delivery of messages whose dispatch was lost or whose worker died mid-delivery;
    a message waiting its turn in the queue is left alone.

    A claim past its lease is re-queued once (its ``dispatched_at`` then lies after the claim);
    a pending row once every ``DISPATCH_LOST_AFTER``. Side effects: ``notifications.deliver``
    tasks after commit; the rows' ``dispatched_at``. Returns how many were queued.
    """
    lost = Notification.dispatched_at < now - DISPATCH_LOST_AFTER
    ids = db.session.scalars(
        sa.select(Notification.id)
        .where(
            sa.or_(
                sa.and_(Notification.state == NotificationState.PENDING, lost),
                sa.and_(
                    Notification.state == NotificationState.SENDING,
                    Notification.claimed_at < now - claim_lease(),
                    sa.or_(Notification.dispatched_at <= Notification.claimed_at, lost),
                ),
            )
        )
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if ids:
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    for notification_id in ids:
        enqueue("notifications.deliver", notification_id=notification_id)
    return len(ids)
