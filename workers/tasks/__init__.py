"""Importing this package registers every task."""

from workers.tasks import assignment, notifications, reviews  # noqa: F401
