"""Appending to the audit trail. Called by every operation that changes state."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
    split_personal,
    to_jsonable,
)
from competition.extensions import db

log = logging.getLogger(__name__)

# Any constant works; it names the lock that lets one chainer at a time extend the chain on
# PostgreSQL (on SQLite the database's single writer does the same).
_CHAIN_LOCK_KEY = 7_340_021
# Set on a session that inserted events, so that its commit chains them.
_UNCHAINED = "audit_unchained"
# Events chained in one transaction of the chainer.
CHAIN_BATCH = 500


def record_event(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    now: dt.datetime,
) -> None:
    """Insert one event inside the caller's transaction, not yet chained.

    Free texts and contact details (the keys in ``core.audit_chain.PERSONAL_KEYS``, and
    whatever the caller passes as ``personal``) go to the event's unhashed ``personal`` part,
    which erasure clears; ``before`` and ``after`` keep the references the hash protects.

    Concurrent requests only insert, so none waits for another; after the commit
    :func:`chain_pending` gives the committed events their place in the chain, in the order
    the chainer finds them. An event rolled back with its change never enters the chain.
    """
    record_events(
        [
            event_row(
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                before=before,
                after=after,
                personal=personal,
                now=now,
            )
        ]
    )


def event_row(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    now: dt.datetime,
) -> dict[str, Any]:
    """One event as :func:`record_events` inserts it (see :func:`record_event`)."""
    before, after, private = split_personal(before, after, personal)
    return {
        "occurred_at": now,
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": to_jsonable(before) if before is not None else None,
        "after": to_jsonable(after) if after is not None else None,
        # An unset part is SQL NULL, which is what erasure looks for and leaves (None would
        # be stored as JSON null).
        "personal": to_jsonable(private) if private is not None else sa.null(),
    }


def record_events(rows: list[dict[str, Any]]) -> None:
    """Insert events (rows of :func:`event_row`) in this order, in one statement."""
    session = db.session
    # The caller's pending changes go first, as the events follow them; the events are a plain
    # insert (no objects in the session: nobody reads them back in the transaction).
    session.flush()
    session.execute(AuditEvent.__table__.insert(), rows)
    session.info[_UNCHAINED] = True


_HASHED_COLUMNS = (
    "occurred_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
)


def _hashed(row: Any) -> dict[str, Any]:
    """What of a stored event its hash covers, besides its place in the chain."""
    return {
        "occurred_at": row.occurred_at,
        "actor_id": row.actor_id,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "before": row.before,
        "after": row.after,
    }


def chain_batch(connection: sa.Connection, *, limit: int | None = CHAIN_BATCH) -> int:
    """Chain up to ``limit`` committed unchained events inside the caller's transaction, which
    must be the only chainer (see :func:`chain_pending`). Returns how many were chained."""
    table = AuditEvent.__table__
    # Only the hashed columns: the migrations that chain (0012's downgrade) run on tables
    # without the newer ones. The chain's tail comes with each pending row (one statement).
    hashed = [table.c[name] for name in ("id", *_HASHED_COLUMNS)]
    tail = (
        sa.select(table.c.seq, table.c.hash)
        .where(table.c.seq.is_not(None))
        .order_by(table.c.seq.desc())
        .limit(1)
        .subquery("tail")
    )
    pending = connection.execute(
        sa.select(*hashed, tail.c.seq.label("tail_seq"), tail.c.hash.label("tail_hash"))
        .select_from(table.outerjoin(tail, sa.true()))
        .where(table.c.seq.is_(None))
        .order_by(table.c.id)
        .limit(limit)
    ).all()
    if not pending:
        return 0
    first = pending[0]
    seq, prev_hash = (
        (first.tail_seq, first.tail_hash) if first.tail_seq is not None else (0, GENESIS_HASH)
    )
    changes = []
    for row in pending:
        seq += 1
        digest = event_hash(prev_hash=prev_hash, seq=seq, **_hashed(row))
        changes.append({"row_id": row.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    connection.execute(
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")
        ),
        changes,
    )
    return len(changes)


def chain_pending(engine: sa.Engine) -> int:
    """Chain every committed unchained event, in transactions of :data:`CHAIN_BATCH`.

    On PostgreSQL a chainer that finds another at work leaves at once: the one at work, the
    next commit with events, or the periodic task chains what it leaves behind."""
    chained = 0
    while True:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                taken = connection.execute(
                    sa.select(sa.func.pg_try_advisory_xact_lock(_CHAIN_LOCK_KEY))
                ).scalar_one()
                if not taken:
                    return chained
            done = chain_batch(connection)
        chained += done
        if done < CHAIN_BATCH:
            return chained


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _chain_after_commit(session: sa.orm.Session) -> None:
    # SQLAlchemy reports a released savepoint (a row of `add_unique`) as a commit too; the
    # events are not committed then, and another connection would wait for the caller's lock
    # (SQLite) or find nothing and lose the call to chain them (PostgreSQL).
    if session.get_nested_transaction() is not None:
        return
    if not session.info.pop(_UNCHAINED, False):
        return
    try:
        chain_pending(session.get_bind().engine)
    except Exception:
        # The events are committed; the next chainer gives them their place.
        log.exception("chaining audit events failed")


def clear_personal(
    objects: Iterable[tuple[str, object]] = (), *, actors: Iterable[int] = ()
) -> int:
    """Clear the unhashed personal part of the events about ``objects`` ((type, id) pairs) and
    of the events the ``actors`` (user ids) recorded. The hashes do not cover it, so the chain
    still verifies. Returns how many events lost their personal part."""
    table = AuditEvent.__table__
    by_type: dict[str, set[str]] = {}
    for object_type, object_id in objects:
        by_type.setdefault(object_type, set()).add(str(object_id))
    cleared = 0
    wheres = [
        sa.and_(table.c.object_type == kind, table.c.object_id.in_(sorted(ids)))
        for kind, ids in by_type.items()
    ]
    actor_ids = sorted(set(actors))
    if actor_ids:
        wheres.append(table.c.actor_id.in_(actor_ids))
    for where in wheres:
        cleared += db.session.execute(
            table.update().where(where, table.c.personal.is_not(None)).values(personal=sa.null())
        ).rowcount
    return cleared


def unchained_count() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
        )
        or 0
    )


def _entries(batch_size: int = 2000) -> Iterator[ChainEntry]:
    last_seq = 0
    while True:
        table = AuditEvent.__table__
        columns = [table.c[name] for name in ("seq", "prev_hash", "hash", *_HASHED_COLUMNS)]
        rows = db.session.execute(
            sa.select(*columns)
            .where(table.c.seq > last_seq)
            .order_by(table.c.seq)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        for row in rows:
            yield ChainEntry(seq=row.seq, prev_hash=row.prev_hash, hash=row.hash, **_hashed(row))
        last_seq = rows[-1].seq


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


# --- anchors: the chain's latest hash, kept outside the database ----------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain's tail at one moment: whoever holds it can later prove that the chain still
    contains that event, so a cut tail or a rewritten history shows."""

    seq: int
    hash: str
    written_at: dt.datetime

    def line(self) -> str:
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "written_at": self.written_at.isoformat()},
            sort_keys=True,
        )

    @classmethod
    def parse(cls, line: str) -> Anchor:
        try:
            data = json.loads(line)
            return cls(
                int(data["seq"]), str(data["hash"]), dt.datetime.fromisoformat(data["written_at"])
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"not an anchor: {line.strip()[:80]!r}") from error


def latest_anchor(*, now: dt.datetime) -> Anchor | None:
    tail = db.session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return Anchor(tail.seq, tail.hash, now) if tail else None


def write_anchor(path: Path, *, now: dt.datetime) -> Anchor | None:
    """Append the chain's latest hash to ``path`` (a file outside the database, ideally on
    other storage or mailed away), flushed to disk. None when the chain is empty."""
    chain_pending(db.engine)
    anchor = latest_anchor(now=now)
    if anchor is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(anchor.line() + "\n")
        file.flush()
        os.fsync(file.fileno())
    log.info("audit anchor written at event %s", anchor.seq)
    return anchor


def read_anchors(path: Path) -> list[Anchor]:
    return [
        Anchor.parse(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def anchor_breaks(anchors: list[Anchor]) -> list[str]:
    """For each anchor the chain no longer holds, why: its event is gone (a cut tail) or has
    another hash (a rewritten history)."""
    if not anchors:
        return []
    stored = dict(
        db.session.execute(
            sa.select(AuditEvent.seq, AuditEvent.hash).where(
                AuditEvent.seq.in_({a.seq for a in anchors})
            )
        ).all()
    )
    problems = []
    for anchor in anchors:
        held = stored.get(anchor.seq)
        if held is None:
            problems.append(
                f"event {anchor.seq}, anchored {anchor.written_at:%Y-%m-%d %H:%M} UTC, is gone"
            )
        elif held != anchor.hash:
            problems.append(
                f"event {anchor.seq}, anchored {anchor.written_at:%Y-%m-%d %H:%M} UTC, "
                "has another hash than when it was anchored"
            )
    return problems
