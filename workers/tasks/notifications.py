"""Delivery of outbox messages. Tasks take ids, are idempotent and retry with backoff."""

from __future__ import annotations

import logging
import smtplib

import sqlalchemy.exc
from celery import shared_task

from competition.db import utcnow
from competition.notifications import operations
from workers.locks import run_exclusively

log = logging.getLogger(__name__)
MAX_RETRIES = 8


class MailError(Exception):
    """A mail failure named by its type only. SMTP errors quote recipient addresses, and whatever
    a task raises is written to the worker log, which carries ids, never personal data."""


@shared_task(
    name="notifications.deliver",
    bind=True,
    max_retries=MAX_RETRIES,
    autoretry_for=(MailError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver(self, *, notification_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        return operations.deliver(notification_id, now=utcnow())
    except operations.BookkeepingFailed as unrecorded:
        # Sent: only the record is missing. Write it later; never send again.
        if not self.request.is_eager:
            record_sent.apply_async(
                kwargs={
                    "notification_id": unrecorded.notification_id,
                    "claim": unrecorded.claim,
                    "values": unrecorded.portable(),
                }
            )
        return "unrecorded"
    except operations.DeliveryBusy as exc:
        if self.request.is_eager:
            return "busy"
        raise self.retry(exc=exc, countdown=operations.claim_lease().total_seconds()) from exc
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.is_eager:
            # In-process, Celery would run every retry at once (no backoff) and then give up for
            # good. The row is pending again with its error: the sweep sends it later.
            return "pending"
        if self.request.retries >= MAX_RETRIES:
            operations.mark_failed(notification_id, reason=f"{type(exc).__name__}: {exc}")
        # The full error is on the outbox row (last_error); the log gets the id and the type.
        raise MailError(f"notification {notification_id}: {type(exc).__name__}") from None


@shared_task(
    name="notifications.record_sent",
    autoretry_for=(sqlalchemy.exc.DBAPIError,),
    max_retries=60,
    retry_backoff=2,
    retry_backoff_max=60,
)
def record_sent(*, notification_id: int, claim: int, values: dict[str, object]) -> bool:
    """A message the server accepted while the database was away: record it once it is back."""
    return operations.record_sent(notification_id, claim, values)


@shared_task(name="notifications.sweep")
def sweep() -> int:
    """Periodic: resend what was never dispatched; a Redis lock keeps two sweeps apart."""
    return run_exclusively(
        "notifications-sweep", lambda: operations.sweep(now=utcnow()), timeout=120
    )
