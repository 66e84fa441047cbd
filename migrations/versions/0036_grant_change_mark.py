"""an index on when grants last changed

Revision ID: 0036_grant_change_mark
Revises: 0035_data_exports
Create Date: 2026-12-06 16:30:00

The ranking, line, panel and decisions pages keep the drawn funding line until something it is
drawn from changes; one of the marks they read on every request is the newest change of any
grant (the money grants commit). Without an index PostgreSQL reads every grant for it.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0036_grant_change_mark"
down_revision = "0035_data_exports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_updated_at", ["updated_at"])


def downgrade():
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_updated_at")
