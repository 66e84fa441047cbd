"""Importing this package registers every task."""

from workers.tasks import notifications  # noqa: F401
