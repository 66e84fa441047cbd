"""Celery wiring as in the Flask documentation: tasks run inside an app context.

With REDIS_URL set, tasks go to Redis and run in a separate worker; without it they run in-process
right after the transaction that queued them has committed: long ones (declared with
``background=True``: assignment runs, rankings, publication) on a thread of their own, so that no
request waits for them, unless the settings ask for everything inline (tests, the command line).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

from competition.db import on_commit

log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    settings = app.extensions["settings"]

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=settings.redis_url or "memory://",
        task_always_eager=settings.tasks_in_process,
        task_eager_propagates=False,
        task_ignore_result=True,
        task_default_queue=settings.task_queue,
        task_serializer="json",
        accept_content=["json"],
        # At-least-once: a task whose worker dies comes back; tasks are written to be idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        beat_schedule={
            "notifications-sweep": {"task": "notifications.sweep", "schedule": 60.0},
            "reviews-send-reminders": {"task": "reviews.send_reminders", "schedule": 900.0},
            "clarifications-send-reminders": {
                "task": "clarifications.send_reminders",
                "schedule": 900.0,
            },
            "reports-send-reminders": {"task": "reports.send_reminders", "schedule": 900.0},
            "memberships-start-reevaluations": {
                "task": "memberships.start_reevaluations",
                "schedule": 3600.0,
            },
            "audit-chain": {"task": "audit.chain", "schedule": 60.0},
            "retention-erase-due": {"task": "retention.erase_due", "schedule": 86400.0},
            "audit-anchor": {"task": "audit.anchor", "schedule": 3600.0},
            "personal-data-delete-expired": {
                "task": "personal_data.delete_expired",
                "schedule": 3600.0,
            },
        },
        timezone="UTC",
    )
    celery.set_default()
    app.extensions["celery"] = celery
    import workers.tasks  # noqa: F401  (registers the tasks)

    return celery


def enqueue(task_name: str, **kwargs: Any) -> None:
    """Queue a task once the current operation has committed (never for a rolled-back change)."""
    celery: Celery = current_app.extensions["celery"]

    settings = current_app.extensions["settings"]
    task = celery.tasks[task_name]
    if (
        settings.tasks_in_process
        and not settings.tasks_inline
        and getattr(task, "background", False)
    ):
        on_commit(lambda: _start_thread(task, kwargs))
    else:
        on_commit(lambda: task.apply_async(kwargs=kwargs))


def _start_thread(task: Task, kwargs: dict[str, Any]) -> None:
    """Run a long task beside the request; its job records progress, failure and death (a thread
    that ends with the process leaves a job whose heart stopped)."""

    def run() -> None:
        try:
            # The task pushes its own app context, so it gets a database session of its own.
            task.apply(kwargs=kwargs)
        except BaseException:  # pragma: no cover  (apply keeps the task's errors to itself)
            log.exception("background task %s failed", task.name)

    threading.Thread(target=run, name=f"task {task.name}", daemon=True).start()


def broker_state(app: Flask) -> str:
    settings = app.extensions["settings"]
    if settings.tasks_in_process:
        return "in-process"
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"
