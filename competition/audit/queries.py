"""Reading the audit trail."""

from __future__ import annotations

import sqlalchemy as sa

from competition.audit.models import AuditEvent
from competition.extensions import db


def latest_event() -> tuple[int | None, int | None]:
    """The newest event's id and the newest place in the chain: a mark of every change made
    through an operation (two index lookups). An event committed after a later one got its id
    moves the second number once it is chained (at most a minute)."""
    newest, chained = db.session.execute(
        sa.select(sa.func.max(AuditEvent.id), sa.func.max(AuditEvent.seq))
    ).one()
    return newest, chained
