"""Selection as background tasks: ranking snapshots and the publication of decisions. A second
delivery of the same task does nothing twice."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from competition.selection.publication import operations as publication_operations
from competition.selection.ranking import operations as ranking_operations


@shared_task(name="selection.rank", background=True)
def rank(ranking_id: int) -> str | None:
    state = ranking_operations.execute_ranking(ranking_id)
    return state.value if state is not None else None


@shared_task(name="selection.publish", background=True)
def publish(*, stage_id: int, actor_id: int, job_id: int, requested_at: str | None = None) -> int:
    """Publish the stage's confirmed decisions; a repeated or concurrent run publishes nothing
    twice (each decision is locked and checked in its own transaction). ``requested_at``: when
    the officer started it, on their clock (ISO 8601)."""
    return publication_operations.publish_stage(
        stage_id,
        actor_id=actor_id,
        job_id=job_id,
        requested_at=dt.datetime.fromisoformat(requested_at) if requested_at else None,
    )
