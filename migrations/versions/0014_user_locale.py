"""each person keeps the language they chose

Revision ID: 0014_user_locale
Revises: 0013_line_indexes
Create Date: 2026-12-05 19:50:00

Existing accounts have chosen none: they get the deployment's default language until they do.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_user_locale'
down_revision = '0013_line_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
