"""Importing this package registers every task."""

from workers.tasks import assignment, notifications, reviews, selection  # noqa: F401
