"""Background work: the Celery app (built from create_app) and thin tasks per area.

Start a worker with ``celery -A workers worker`` and the schedule with ``celery -A workers beat``.
"""


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # Built on first use so that importing workers.tasks from the web app creates no second app.
    if name in {"celery", "app"}:
        from workers.celery_app import celery

        return celery
    raise AttributeError(name)
