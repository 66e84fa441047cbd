"""Appending to the audit trail. Called by every operation that changes state."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.models import AuditEvent
from competition.core.audit_chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainEntry,
    event_hash,
    first_break,
    to_jsonable,
)
from competition.extensions import db

log = logging.getLogger(__name__)

# Any constant works; it names the one lock that orders all appends on PostgreSQL.
_CHAIN_LOCK_KEY = 7_340_021


def record_event(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: dt.datetime,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    On PostgreSQL a transaction-scoped advisory lock orders concurrent appends, so two
    transactions can never chain onto the same tail; the unique ``seq`` is the backstop.
    """
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CHAIN_LOCK_KEY)))
    tail = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (tail.seq + 1, tail.hash) if tail else (1, GENESIS_HASH)
    before_json = to_jsonable(before) if before is not None else None
    after_json = to_jsonable(after) if after is not None else None
    actor_id = actor.id if actor is not None else None
    event = AuditEvent(
        seq=seq,
        occurred_at=now,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before_json,
        after=after_json,
        prev_hash=prev_hash,
        hash=event_hash(
            prev_hash=prev_hash,
            seq=seq,
            occurred_at=now,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before_json,
            after=after_json,
        ),
    )
    session.add(event)
    session.flush()
    return event


def _entries(batch_size: int = 2000) -> Iterator[ChainEntry]:
    last_seq = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        for row in rows:
            yield ChainEntry(
                seq=row.seq,
                occurred_at=row.occurred_at,
                actor_id=row.actor_id,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                before=row.before,
                after=row.after,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        last_seq = rows[-1].seq
        db.session.expunge_all()


def verify_chain() -> tuple[int, ChainBreak | None]:
    """Check the whole stored chain; returns (events checked, first break or None)."""
    checked = 0

    def counted() -> Iterator[ChainEntry]:
        nonlocal checked
        for entry in _entries():
            checked += 1
            yield entry

    found = first_break(counted())
    return checked, found
