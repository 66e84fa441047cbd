"""The jury: memberships, profiles, conflicts, bids, assignment runs and assignments."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the assignment area lends to the areas below it: jurors read the documents of the
    proposals assigned to them, and the programmes learn which topics jurors name."""
    from competition.assignment import queries
    from competition.assignment.permissions import can_read_submitted
    from competition.programmes import uses
    from competition.proposals.panels import register_reader

    register_reader(app, can_read_submitted)
    uses.register(app, "jurors_naming_topics", queries.jurors_naming_topics)
