"""Report reminders. The task takes no ids: each run finds what is due, and the operation sends
every reminder step at most once per report, so overlapping or repeated runs are harmless."""

from __future__ import annotations

from celery import shared_task

from competition.db import utcnow
from competition.grants.reports import operations
from workers.locks import run_exclusively


@shared_task(name="reports.send_reminders")
def send_reminders() -> int:
    """Periodic (beat, every 15 minutes); a Redis lock keeps two runs apart."""
    return run_exclusively(
        "reports-send-reminders",
        lambda: operations.send_due_reminders(now=utcnow()),
        timeout=600,
    )
