"""a person's download of all their data: the export's job, file and expiry

Revision ID: 0035_data_exports
Revises: 0034_portal_indexes
Create Date: 2026-12-08 09:00:00

A new table; nothing existing moves.
"""

from alembic import op
import sqlalchemy as sa

import competition.db

# revision identifiers, used by Alembic.
revision = "0035_data_exports"
down_revision = "0034_portal_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("files", sa.Integer(), nullable=True),
        sa.Column("ready_at", competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(storage_key IS NULL) OR (ready_at IS NOT NULL AND expires_at IS NOT NULL)",
            name=op.f("ck_data_exports_stored_has_times"),
        ),
        sa.CheckConstraint(
            "deleted_at IS NULL OR storage_key IS NULL",
            name=op.f("ck_data_exports_deleted_has_no_file"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_data_exports_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
        sa.UniqueConstraint("job_id", name=op.f("uq_data_exports_job_id")),
    )
    with op.batch_alter_table("data_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_exports_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("data_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_exports_user_id"))
    op.drop_table("data_exports")
