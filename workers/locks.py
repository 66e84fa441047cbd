"""Periodic jobs take a lock so two runs (two beat ticks, two workers) never overlap."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app


def run_exclusively(name: str, job: Callable[[], int], *, timeout: int) -> int:
    """Run ``job`` unless another run holds the lock; returns its result, or 0 when skipped.

    In-process (no broker) there is only one process, so no lock is needed.
    """
    settings = current_app.extensions["settings"]
    if settings.tasks_in_process:
        return job()
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    lock = client.lock(f"{settings.task_queue}:lock:{name}", timeout=timeout)
    if not lock.acquire(blocking=False):
        return 0
    try:
        return job()
    finally:
        lock.release()
