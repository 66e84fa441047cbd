"""The annual re-evaluation of memberships. The task takes no ids: each run finds the granted
memberships whose period ends within the configured days, and the operation moves each one
once (a compare-and-set) and mails its holder once per period, so overlapping or repeated runs
are harmless."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from competition.db import utcnow
from competition.memberships import operations
from workers.locks import run_exclusively


@shared_task(name="memberships.start_reevaluations")
def start_reevaluations() -> int:
    """Periodic (beat, every hour); a Redis lock keeps two runs apart."""
    days = current_app.extensions["settings"].membership_reevaluation_days
    return run_exclusively(
        "memberships-start-reevaluations",
        lambda: operations.start_due_reevaluations(now=utcnow(), days_before=days),
        timeout=600,
    )
