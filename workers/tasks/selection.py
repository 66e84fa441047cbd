"""Ranking snapshots as a background task; a second delivery of the same task does nothing."""

from __future__ import annotations

from celery import shared_task

from competition.selection import rankings


@shared_task(name="selection.rank")
def rank(ranking_id: int) -> str | None:
    state = rankings.execute_ranking(ranking_id)
    return state.value if state is not None else None
