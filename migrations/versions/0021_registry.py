"""organisations merged into another are kept and name the one they were merged into

Revision ID: 0021_registry
Revises: 0020_clarifications
Create Date: 2026-12-06 02:30:00

Existing organisations were never merged: the new column is empty for all of them, so no row
needs moving.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0021_registry'
down_revision = '0020_clarifications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_organisations_merged_into_id'), ['merged_into_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_organisations_merged_into_id_organisations'),
            'organisations',
            ['merged_into_id'],
            ['id'],
            ondelete='RESTRICT',
        )


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_organisations_merged_into_id_organisations'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_organisations_merged_into_id'))
        batch_op.drop_column('merged_into_id')
