"""What counts as funded, for the portal, its open data, its map and the public API.

A grant exists only once its decision was published; the public sees it once the consortium has
accepted it (an offer may still be declined, a declined grant funded nothing)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from competition.grants.models import Grant, GrantState

PUBLIC_GRANT_STATES = (
    GrantState.ACCEPTED,
    GrantState.RUNNING,
    GrantState.IN_EVALUATION,
    GrantState.ENDED_EARLY,
    GrantState.CLOSED,
)


def is_public(grant: Grant) -> bool:
    return grant.state in PUBLIC_GRANT_STATES


def public_grant_condition() -> sa.ColumnElement[Any]:
    """The WHERE clause every public query of grants starts from."""
    return Grant.state.in_(PUBLIC_GRANT_STATES)
