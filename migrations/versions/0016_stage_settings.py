"""a stage's bidding window

Revision ID: 0016_stage_settings
Revises: 0015_topic_names
Create Date: 2026-12-06 02:20:00

Officers now set a stage's review due date, bidding with its window, the minimum comment length
and a call's blind reviews on the set-up pages. Only the bidding window is new. A stage that
already takes bids gets a window so its jurors can go on bidding: from the end of submission
until the review due date, or for 14 days where there is no due date after the submission.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import competition.db

# revision identifiers, used by Alembic.
revision = '0016_stage_settings'
down_revision = '0015_topic_names'
branch_labels = None
depends_on = None

BIDDING_DAYS = 14


def upgrade():
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bidding_opens_at", competition.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("bidding_closes_at", competition.db.UTCDateTime(timezone=True), nullable=True)
        )

    stages = sa.table(
        "stages",
        sa.column("id", sa.Integer),
        sa.column("bidding_enabled", sa.Boolean),
        sa.column("closes_at", competition.db.UTCDateTime(timezone=True)),
        sa.column("reviews_due_at", competition.db.UTCDateTime(timezone=True)),
        sa.column("bidding_opens_at", competition.db.UTCDateTime(timezone=True)),
        sa.column("bidding_closes_at", competition.db.UTCDateTime(timezone=True)),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(stages.c.id, stages.c.closes_at, stages.c.reviews_due_at).where(
            stages.c.bidding_enabled.is_(True)
        )
    ).all()
    for stage_id, closes_at, due_at in rows:
        ends = due_at if due_at is not None and due_at > closes_at else None
        ends = ends or closes_at + dt.timedelta(days=BIDDING_DAYS)
        conn.execute(
            stages.update()
            .where(stages.c.id == stage_id)
            .values(bidding_opens_at=closes_at, bidding_closes_at=ends)
        )

    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "bidding_window_is_ordered",
            "(bidding_opens_at IS NULL AND bidding_closes_at IS NULL) OR "
            "(bidding_opens_at IS NOT NULL AND bidding_closes_at IS NOT NULL "
            "AND bidding_closes_at > bidding_opens_at)",
        )
        batch_op.create_check_constraint("min_comment_chars_not_negative", "min_comment_chars >= 0")


def downgrade():
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stages_min_comment_chars_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_stages_bidding_window_is_ordered"), type_="check")
        batch_op.drop_column("bidding_closes_at")
        batch_op.drop_column("bidding_opens_at")
