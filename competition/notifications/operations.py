"""Writing messages to the outbox and delivering them exactly once per outbox row."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app

from competition.accounts.models import User
from competition.db import operation
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState
from competition.tasks import enqueue
from config import Settings

log = logging.getLogger(__name__)

# A claim older than this is taken to belong to a worker that died mid-delivery. This is the
# default; an instance sets its own (NOTIFICATION_CLAIM_LEASE_SECONDS), read by claim_lease().
CLAIM_LEASE = dt.timedelta(seconds=Settings.notification_claim_lease_seconds)
# Pending rows older than this were not dispatched (or the dispatch was lost): the sweep resends.
SWEEP_AFTER = dt.timedelta(seconds=30)


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
    exists = db.session.scalar(
        sa.select(Notification.id).where(Notification.dedup_key == dedup_key)
    )
    if exists is not None:
        return None
    row = Notification(
        dedup_key=dedup_key,
        user_id=None if isinstance(to, str) else to.id,
        to_address=to if isinstance(to, str) else to.email,
        template=template,
        context=context,
        state=NotificationState.PENDING,
        created_at=now,
    )
    try:
        # A concurrent transaction may write the same key between the check and the insert; the
        # savepoint keeps the caller's transaction usable when the unique key refuses ours.
        with db.session.begin_nested():
            db.session.add(row)
    except sa.exc.IntegrityError:
        return None
    enqueue("notifications.deliver", notification_id=row.id)
    return row


def claim_lease() -> dt.timedelta:
    """How long a worker's claim on a message holds, in this instance."""
    settings = current_app.extensions["settings"]
    return dt.timedelta(seconds=settings.notification_claim_lease_seconds)


def _claim(notification_id: int, *, now: dt.datetime) -> bool:
    result = db.session.execute(
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
    )
    db.session.commit()
    return bool(result.rowcount)


def deliver(notification_id: int, *, now: dt.datetime) -> str:
    """Send one outbox message; safe to call any number of times for the same id.

    Returns ``sent``, or ``skipped`` when the row is gone or already sent. Raises
    :class:`DeliveryBusy` while another worker's claim is live, and the mail error on failure
    (the row returns to pending, so a retry or the sweep sends it later).
    Side effects: one e-mail (or one development-mailbox entry); the row marked sent.
    """
    settings = current_app.extensions["settings"]
    if not _claim(notification_id, now=now):
        state = db.session.scalar(
            sa.select(Notification.state).where(Notification.id == notification_id)
        )
        if state == NotificationState.SENDING:
            raise DeliveryBusy(f"notification {notification_id} is being delivered")
        return "skipped"
    row = db.session.get(Notification, notification_id)
    assert row is not None
    msg_id = mailer.message_id(row.dedup_key)
    try:
        rendered = mailer.render(row.template, {**row.context, "base_url": settings.base_url})
        if settings.mail_backend == "smtp":
            mailer.send_smtp(settings, to=row.to_address, message=rendered, msg_id=msg_id)
    except Exception as exc:
        db.session.rollback()
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(
                state=NotificationState.PENDING,
                claimed_at=None,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
            )
        )
        db.session.commit()
        log.warning("notification %s not delivered: %s", notification_id, type(exc).__name__)
        raise
    values: dict[str, Any] = {
        "state": NotificationState.SENT,
        "sent_at": now,
        "message_id": msg_id,
        "backend": settings.mail_backend,
        "last_error": None,
    }
    if settings.mail_backend == "dev":
        values.update(subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
    db.session.execute(
        sa.update(Notification).where(Notification.id == notification_id).values(**values)
    )
    db.session.commit()
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
    """Queue delivery of messages whose dispatch was lost or whose worker died mid-delivery.

    Side effects: ``notifications.deliver`` tasks after commit. Returns how many were queued.
    """
    ids = db.session.scalars(
        sa.select(Notification.id)
        .where(
            sa.or_(
                sa.and_(
                    Notification.state == NotificationState.PENDING,
                    Notification.created_at < now - SWEEP_AFTER,
                ),
                sa.and_(
                    Notification.state == NotificationState.SENDING,
                    Notification.claimed_at < now - claim_lease(),
                ),
            )
        )
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    for notification_id in ids:
        enqueue("notifications.deliver", notification_id=notification_id)
    return len(ids)
