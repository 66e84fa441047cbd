"""What counts as funded, for the portal, its open data, its map and the public API.

A grant exists only once its decision was published; the public sees it once the consortium has
accepted it (an offer may still be declined, a declined grant funded nothing)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from competition.db import remembered
from competition.extensions import db
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


def grants_mark() -> tuple[Any, ...]:
    """What changes whenever anything the public sees of grants may have changed: the latest
    ``updated_at`` (every change of a grant's state or money touches it), the count of grants
    and of public ones (an acceptance counts whatever its time). Results read from public
    grants are kept per process under it (``competition.kept``): the funded consortia counted
    per round, the committed money, the list's filter choices, the map's counts. Read once per
    session until the session next writes (``db.remembered``)."""
    return remembered(("portal.grants_mark",), _read_mark)


def _read_mark() -> tuple[Any, ...]:
    return tuple(
        db.session.execute(
            sa.select(
                sa.func.max(Grant.updated_at),
                sa.func.count(Grant.id),
                sa.func.count(Grant.id).filter(public_grant_condition()),
            )
        ).one()
    )
