"""Importing this package registers every task."""

from workers.tasks import (  # noqa: F401
    assignment,
    audit,
    clarifications,
    memberships,
    notifications,
    personal_data,
    reports,
    retention,
    reviews,
    selection,
)
