"""What counts as funded, for the portal, its open data, its map and the public API.

A grant exists only once its decision was published; the public sees it once the consortium has
accepted it (an offer may still be declined, a declined grant funded nothing)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from competition.audit.models import StateTransition
from competition.core import workflow
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
    ``updated_at`` (every change of a grant's money touches it), the newest grant (grants are
    never deleted) and the newest step of any grant's lifecycle (every change of state, an
    acceptance whatever its time, passes the gateway). Results read from public grants are
    kept per process under it (``competition.kept``): the funded consortia counted per round,
    the committed money, the list's filter choices, the map's counts. Each part is read off an
    index: every portal page asks this, kept pages too (counting the grants took 5 ms at
    20,000). Read once per session until the session next writes (``db.remembered``)."""
    return remembered(("portal.grants_mark",), _read_mark)


def _read_mark() -> tuple[Any, ...]:
    marks = (
        sa.select(sa.func.max(Grant.updated_at)),
        sa.select(sa.func.max(Grant.id)),
        sa.select(sa.func.max(StateTransition.id)).where(
            StateTransition.object_type == workflow.GRANT.name
        ),
    )
    return tuple(db.session.execute(sa.select(*(m.scalar_subquery() for m in marks))).one())
