"""The jury: memberships, profiles, conflicts, bids, assignment runs and assignments."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the assignment area lends to the areas below it: jurors read the documents of the
    proposals assigned to them, the programmes learn which topics jurors name, and the registry
    learns which jurors an organisation has."""
    from competition.assignment import queries, registry
    from competition.assignment.permissions import can_read_submitted
    from competition.organisations import uses as organisation_uses
    from competition.programmes import uses
    from competition.proposals.panels import register_reader

    register_reader(app, can_read_submitted)
    uses.register(app, "jurors_naming_topics", queries.jurors_naming_topics)
    organisation_uses.register(app, "uses", registry.jurors_of)
    organisation_uses.register(app, "after_merge", registry.after_merge)
