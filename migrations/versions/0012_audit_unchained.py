"""audit events are inserted unchained and chained after commit by one writer

Revision ID: 0012_audit_unchained
Revises: 0011_dispatched
Create Date: 2026-12-05 19:20:00

A request only inserts its events (no sequence number, no hashes yet), so concurrent
submissions no longer queue on one lock; one chainer at a time gives each committed event its
number and hashes. The append-only triggers allow exactly that one update: an unchained event
gets its number and hashes, nothing else changes. Existing events are all chained already.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0012_audit_unchained"
down_revision = "0011_dispatched"
branch_labels = None
depends_on = None

PG_APPEND_ONLY = """
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
PG_APPEND_ONLY_BEFORE = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql"
)
SQLITE_CHAINING = (
    "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL"
    " AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL"
    " AND NEW.id IS OLD.id AND NEW.occurred_at IS OLD.occurred_at"
    " AND NEW.actor_id IS OLD.actor_id AND NEW.action IS OLD.action"
    " AND NEW.object_type IS OLD.object_type AND NEW.object_id IS OLD.object_id"
    " AND NEW.before IS OLD.before AND NEW.after IS OLD.after"
)


def _sqlite_triggers(*, chaining: bool) -> None:
    when = f" WHEN NOT ({SQLITE_CHAINING})" if chaining else ""
    op.execute(
        f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events{when} "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    )


def _nullable(value: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Rebuilding the table drops its triggers; they are made again afterwards.
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=value)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=value)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=value)
        if value:
            batch_op.create_index(
                "ix_audit_events_unchained",
                ["id"],
                unique=False,
                postgresql_where=sa.text("seq IS NULL"),
                sqlite_where=sa.text("seq IS NULL"),
            )
        else:
            batch_op.drop_index("ix_audit_events_unchained")
    if sqlite:
        _sqlite_triggers(chaining=value)


def upgrade():
    _nullable(True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY)


def downgrade():
    # Events still waiting for their place in the chain get it first.
    from competition.audit.operations import chain_batch

    chain_batch(op.get_bind(), limit=None)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY_BEFORE)
    _nullable(False)
