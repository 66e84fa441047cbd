"""Reviews: a juror's scores and comments on an assigned proposal."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the reviews area lends to the programmes below it: how many reviews score a
    criterion, so that removing a scored one is refused."""
    from competition.programmes import uses
    from competition.reviews import queries

    uses.register(app, "reviews_scoring", queries.reviews_scoring)
