"""Delivery of outbox messages. Tasks take ids, are idempotent and retry with backoff."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from flask import current_app

from competition.db import utcnow
from competition.notifications import operations

log = logging.getLogger(__name__)
MAX_RETRIES = 8


@shared_task(
    name="notifications.deliver",
    bind=True,
    max_retries=MAX_RETRIES,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver(self, *, notification_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        return operations.deliver(notification_id, now=utcnow())
    except operations.DeliveryBusy as exc:
        raise self.retry(exc=exc, countdown=operations.CLAIM_LEASE.total_seconds()) from exc
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.retries >= MAX_RETRIES:
            operations.mark_failed(notification_id, reason=f"{type(exc).__name__}: {exc}")
        raise


@shared_task(name="notifications.sweep")
def sweep() -> int:
    """Periodic: resend what was never dispatched. A Redis lock keeps two sweeps from overlapping."""
    settings = current_app.extensions["settings"]
    if settings.tasks_in_process:
        return operations.sweep(now=utcnow())
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    lock = client.lock(f"{settings.task_queue}:lock:notifications-sweep", timeout=120)
    if not lock.acquire(blocking=False):
        return 0
    try:
        return operations.sweep(now=utcnow())
    finally:
        lock.release()
