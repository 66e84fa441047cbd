"""Importing this package registers every task."""

from workers.tasks import notifications, reviews  # noqa: F401
