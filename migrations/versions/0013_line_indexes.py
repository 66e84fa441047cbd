"""indexes for the provisional line's change marks

Revision ID: 0013_line_indexes
Revises: 0012_audit_unchained
Create Date: 2026-12-05 19:30:00

The pages that show the provisional line check on every request whether anything it is drawn
from changed: the newest change of the call's proposals and of the stage's submissions, and
how many proposals the call has. Two indexes answer that without reading 20,000 rows.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_line_indexes'
down_revision = '0012_audit_unchained'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_call_id_updated_at', ['call_id', 'updated_at'])
    with op.batch_alter_table('stage_submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_stage_submissions_stage_id_updated_at', ['stage_id', 'updated_at']
        )


def downgrade():
    with op.batch_alter_table('stage_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_submissions_stage_id_updated_at')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_call_id_updated_at')
