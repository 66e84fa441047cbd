"""outbox rows remember when their delivery was last handed to the queue

Revision ID: 0011_dispatched
Revises: 0010_jobs
Create Date: 2026-12-05 16:40:00

The sweep re-queues only messages whose dispatch was lost (queued long ago and still pending)
or whose worker died (a claim past its lease, not re-queued since), instead of every message
that waits in a backlog. Existing rows were dispatched when they were written.
"""
from alembic import op
import sqlalchemy as sa

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0011_dispatched'
down_revision = '0010_jobs'
branch_labels = None
depends_on = None

UTC = competition.db.UTCDateTime(timezone=True)
notifications = sa.table(
    'notifications', sa.column('created_at', UTC), sa.column('dispatched_at', UTC)
)


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', UTC, nullable=True))
    op.execute(notifications.update().values(dispatched_at=notifications.c.created_at))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('dispatched_at', existing_type=UTC, nullable=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('dispatched_at')
