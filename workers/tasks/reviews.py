"""Review reminders. The task takes no ids: each run finds what is due, and the operation sends
every reminder step at most once per assignment, so overlapping or repeated runs are harmless."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from competition.db import utcnow
from competition.reviews import operations

log = logging.getLogger(__name__)


@shared_task(name="reviews.send_reminders")
def send_reminders() -> int:
    """Periodic (beat, every 15 minutes); a Redis lock keeps two runs apart."""
    settings = current_app.extensions["settings"]
    if settings.tasks_in_process:
        return operations.send_due_reminders(now=utcnow())
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    lock = client.lock(f"{settings.task_queue}:lock:reviews-send-reminders", timeout=600)
    if not lock.acquire(blocking=False):
        return 0
    try:
        return operations.send_due_reminders(now=utcnow())
    finally:
        lock.release()
