"""The assignment engine as a background task. The run row carries the state and progress the
officer's page shows; running the same run twice does nothing the second time."""

from __future__ import annotations

from celery import shared_task

from competition.assignment import runs


@shared_task(name="assignment.run", background=True)
def run(run_id: int) -> str | None:
    state = runs.execute_run(run_id)
    return state.value if state is not None else None
