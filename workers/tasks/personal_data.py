"""A person's data export as a background task, and the hourly deletion of expired ones."""

from __future__ import annotations

from celery import shared_task

from competition.db import utcnow
from competition.personal_data import operations
from workers.locks import run_exclusively


@shared_task(name="personal_data.export", background=True)
def export(*, export_id: int) -> bool:
    """Build the ZIP; a second delivery finds the job taken or ended and does nothing."""
    return operations.execute_export(export_id)


@shared_task(name="personal_data.delete_expired")
def delete_expired() -> int:
    """Periodic (beat, every hour); a Redis lock keeps two runs apart."""
    return run_exclusively(
        "personal-data-delete-expired",
        lambda: operations.delete_expired(now=utcnow()),
        timeout=600,
    )
