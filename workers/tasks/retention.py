"""The periodic erasure after retention periods. The task takes no ids: each run finds what is
past its period; a run finds nothing twice, so overlapping or repeated runs are harmless."""

from __future__ import annotations

from celery import shared_task

from competition.db import utcnow
from competition.retention import operations
from workers.locks import run_exclusively


@shared_task(name="retention.erase_due")
def erase_due() -> int:
    """Periodic (beat, daily); a Redis lock keeps two runs apart. Returns the proposals erased."""

    def run() -> int:
        report = operations.erase_due(now=utcnow())
        return int(report.counts.get("proposals", 0)) if report is not None else 0

    return run_exclusively("retention-erase-due", run, timeout=6 * 3600)
