"""retention and pseudonyms: personal details of audit events leave the hashed part, retention
periods per programme, erasure requests and the reports of the erasure runs

Revision ID: 0033_retention_and_pseudonyms
Revises: 0031_single_sign_on
Create Date: 2026-12-07 09:00:00

Audit events get an unhashed ``personal`` part. Existing events move their free texts and
contact details (the keys below, at the top of ``before``/``after``) there, and every hash of the
chain is computed again in order, with the append-only triggers lifted for that and put back
allowing one more update: clearing ``personal``. Anchors taken before no longer match; the
migration records an event ``audit.rechained`` naming the old head's sequence number and hash.
People stay referred to by their account's id: an erased account keeps its row under a
pseudonym. Programmes keep unsuccessful proposals 5 years and funded ones 10 years.
"""

from alembic import op
import sqlalchemy as sa

from competition.core.audit_chain import GENESIS_HASH, event_hash
from competition.db import JSONData, UTCDateTime

# revision identifiers, used by Alembic.
revision = "0033_retention_and_pseudonyms"
down_revision = "0031_single_sign_on"
branch_labels = None
depends_on = None

# Frozen copy of core.audit_chain.PERSONAL_KEYS as of this migration.
PERSONAL_KEYS = frozenset(
    {
        "reason",
        "question",
        "answer",
        "note",
        "text",
        "comment",
        "content",
        "email",
        "contact_name",
        "contact_email",
    }
)

_SAME = (
    "NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at"
    " AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id"
    " AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type"
    " AND NEW.object_id = OLD.object_id"
    " AND NEW.before IS NOT DISTINCT FROM OLD.before"
    " AND NEW.after IS NOT DISTINCT FROM OLD.after"
)
_CHAINING = (
    "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL"
    " AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL"
    " AND NEW.personal IS NOT DISTINCT FROM OLD.personal"
)
_CLEARING = (
    "NEW.seq IS NOT DISTINCT FROM OLD.seq AND NEW.prev_hash IS NOT DISTINCT FROM OLD.prev_hash"
    " AND NEW.hash IS NOT DISTINCT FROM OLD.hash"
    " AND NEW.personal IS NULL"
)
PG_APPEND_ONLY = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND {_SAME} AND (({_CHAINING}) OR ({_CLEARING})) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit events are append-only';
END; $$ LANGUAGE plpgsql
"""
# As 0012 left it.
PG_APPEND_ONLY_BEFORE = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
     AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
     AND NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at
     AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
     AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
     AND NEW.object_id = OLD.object_id
     AND NEW.before IS NOT DISTINCT FROM OLD.before
     AND NEW.after IS NOT DISTINCT FROM OLD.after
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit events are append-only';
END; $$ LANGUAGE plpgsql
"""


def _sqlite(text: str) -> str:
    return text.replace("IS NOT DISTINCT FROM", "IS").replace(" = ", " IS ")


SQLITE_NEW = f"({_sqlite(_SAME)}) AND (({_sqlite(_CHAINING)}) OR ({_sqlite(_CLEARING)}))"
# As 0012 left it.
SQLITE_BEFORE = (
    "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL"
    " AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL"
    " AND NEW.id IS OLD.id AND NEW.occurred_at IS OLD.occurred_at"
    " AND NEW.actor_id IS OLD.actor_id AND NEW.action IS OLD.action"
    " AND NEW.object_type IS OLD.object_type AND NEW.object_id IS OLD.object_id"
    " AND NEW.before IS OLD.before AND NEW.after IS OLD.after"
)


def _events(with_personal: bool) -> sa.TableClause:
    columns = [
        sa.column("id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("occurred_at", UTCDateTime()),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("before", JSONData),
        sa.column("after", JSONData),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    ]
    if with_personal:
        columns.append(sa.column("personal", JSONData))
    return sa.table("audit_events", *columns)


def _lift_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")


def _restore_triggers(*, clearing: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY if clearing else PG_APPEND_ONLY_BEFORE)
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
        return
    when = SQLITE_NEW if clearing else SQLITE_BEFORE
    op.execute(
        f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events WHEN NOT ({when}) "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )


def _split(image):  # type: ignore[no-untyped-def]
    if not isinstance(image, dict):
        return image, None
    kept = {k: v for k, v in image.items() if k not in PERSONAL_KEYS}
    moved = {k: v for k, v in image.items() if k in PERSONAL_KEYS}
    return kept, (moved or None)


def _hash(row, prev_hash: str, before, after) -> str:  # type: ignore[no-untyped-def]
    return event_hash(
        prev_hash=prev_hash,
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        before=before,
        after=after,
    )


def _rewrite(change) -> tuple[int, str | None, str | None]:  # type: ignore[no-untyped-def]
    """Give every event the images ``change(row)`` returns ((before, after, personal) or None
    to keep it), then compute every hash of the chain again in order. Returns the number of
    chained events and the old and new head hashes."""
    conn = op.get_bind()
    table = _events(with_personal=True)
    prev_hash = GENESIS_HASH
    old_head = None
    count = 0
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(500)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        for row in rows:
            changed = change(row)
            if changed is not None and row.seq is None:
                before, after, personal = changed
                conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(before=before, after=after, personal=personal)
                )
    # The chain in sequence order (ids of chained events need not follow it).
    last_seq = 0
    while True:
        rows = conn.execute(
            sa.select(table).where(table.c.seq > last_seq).order_by(table.c.seq).limit(500)
        ).all()
        if not rows:
            break
        last_seq = rows[-1].seq
        for row in rows:
            changed = change(row)
            before, after, personal = (
                changed if changed is not None else (row.before, row.after, row.personal)
            )
            digest = _hash(row, prev_hash, before, after)
            values = {"prev_hash": prev_hash, "hash": digest}
            if changed is not None:
                values.update(before=before, after=after, personal=personal)
            conn.execute(table.update().where(table.c.id == row.id).values(**values))
            old_head = row.hash
            prev_hash = digest
            count += 1
    return count, old_head, (prev_hash if count else None)


def _out(row):  # type: ignore[no-untyped-def]
    before, from_before = _split(row.before)
    after, from_after = _split(row.after)
    if from_before is None and from_after is None:
        return None
    personal = {}
    if from_before:
        personal["before"] = from_before
    if from_after:
        personal["after"] = from_after
    return before, after, personal


def _back(row):  # type: ignore[no-untyped-def]
    if not isinstance(row.personal, dict):
        return None
    before = row.before
    after = row.after
    if row.personal.get("before"):
        before = {**(before or {}), **row.personal["before"]}
    if row.personal.get("after"):
        after = {**(after or {}), **row.personal["after"]}
    return before, after, None


def _record_rechaining(old_head: str | None, count: int) -> None:
    conn = op.get_bind()
    table = _events(with_personal=True)
    tail = conn.execute(
        sa.select(table.c.seq, table.c.hash)
        .where(table.c.seq.is_not(None))
        .order_by(table.c.seq.desc())
        .limit(1)
    ).first()
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    after = {"events": count, "old_head_seq": tail.seq, "old_head_hash": old_head}
    seq = tail.seq + 1
    digest = event_hash(
        prev_hash=tail.hash,
        seq=seq,
        occurred_at=now,
        actor_id=None,
        action="audit.rechained",
        object_type="audit",
        object_id="0033_retention_and_pseudonyms",
        before=None,
        after=after,
    )
    conn.execute(
        table.insert().values(
            seq=seq,
            occurred_at=now,
            actor_id=None,
            action="audit.rechained",
            object_type="audit",
            object_id="0033_retention_and_pseudonyms",
            before=sa.null(),
            after=after,
            prev_hash=tail.hash,
            hash=digest,
        )
    )


def upgrade():
    op.add_column("audit_events", sa.Column("personal", JSONData, nullable=True))
    _lift_triggers()
    count, old_head, _ = _rewrite(_out)
    if count:
        _record_rechaining(old_head, count)
    _restore_triggers(clearing=True)

    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "retention_years_unsuccessful",
                sa.Integer(),
                server_default=sa.text("5"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "retention_years_funded",
                sa.Integer(),
                server_default=sa.text("10"),
                nullable=False,
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))

    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("waiting", JSONData, nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_erasure_requests_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_erasure_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
        sa.UniqueConstraint("user_id", name=op.f("uq_erasure_requests_user_id")),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("erasure_request_id", sa.Integer(), nullable=True),
        sa.Column("ran_at", UTCDateTime(), nullable=False),
        sa.Column("counts", JSONData, nullable=False),
        sa.CheckConstraint(
            "kind IN ('periodic', 'request')", name=op.f("ck_retention_runs_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["erasure_request_id"],
            ["erasure_requests.id"],
            name=op.f("fk_retention_runs_erasure_request_id_erasure_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_retention_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )


def downgrade():
    op.drop_table("retention_runs")
    op.drop_table("erasure_requests")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_column("retention_years_funded")
        batch_op.drop_column("retention_years_unsuccessful")

    # Personal details go back into the images (what erasure cleared stays gone) and the chain
    # is computed again, as before this migration.
    _lift_triggers()
    _rewrite(_back)
    # Not in batch mode: rebuilding the table on SQLite would lose its partial index.
    op.drop_column("audit_events", "personal")
    _restore_triggers(clearing=False)
