"""Delivery of outbox messages. Tasks take ids, are idempotent and retry with backoff."""

from __future__ import annotations

import logging
import smtplib

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


@shared_task(name="notifications.sweep")
def sweep() -> int:
    """Periodic: resend what was never dispatched; a Redis lock keeps two sweeps apart."""
    return run_exclusively(
        "notifications-sweep", lambda: operations.sweep(now=utcnow()), timeout=120
    )
