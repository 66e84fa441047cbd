"""Importing this package registers every task."""

from workers.tasks import assignment, audit, notifications, reviews, selection  # noqa: F401
