"""Review reminders. The task takes no ids: each run finds what is due, and the operation sends
every reminder step at most once per assignment, so overlapping or repeated runs are harmless."""

from __future__ import annotations

import logging

from celery import shared_task

from competition.db import utcnow
from competition.reviews import operations
from workers.locks import run_exclusively

log = logging.getLogger(__name__)


@shared_task(name="reviews.send_reminders")
def send_reminders() -> int:
    """Periodic (beat, every 15 minutes); a Redis lock keeps two runs apart."""
    return run_exclusively(
        "reviews-send-reminders", lambda: operations.send_due_reminders(now=utcnow()), timeout=600
    )
