"""lifecycle states of assignments and decisions, and every object's state history

Revision ID: 0009_workflow
Revises: 0008_review_scores
Create Date: 2026-12-05 10:00:00

Assignments and decisions had their lifecycle only in timestamps; each gets a state column,
filled from those timestamps and tied to them by CHECK constraints. ``state_transitions`` starts
empty: the history of earlier steps stays in the audit trail.
"""
from alembic import op
import sqlalchemy as sa

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0009_workflow'
down_revision = '0008_review_scores'
branch_labels = None
depends_on = None

ASSIGNMENT_STATE = sa.Enum('draft', 'released', 'declined', name='assignment_state', native_enum=False, create_constraint=True, length=8)
DECISION_STATE = sa.Enum('proposed', 'confirmed', 'published', name='decision_state', native_enum=False, create_constraint=True, length=9)


def upgrade():
    op.create_table('state_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_state_transitions_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_transitions'))
    )
    op.create_index('ix_state_transitions_object', 'state_transitions', ['object_type', 'object_id'], unique=False)

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=8), nullable=True))
    op.execute(
        "UPDATE assignments SET state = CASE WHEN declined_at IS NOT NULL THEN 'declined' "
        "WHEN released_at IS NOT NULL THEN 'released' ELSE 'draft' END"
    )
    # A seat given back before release cannot happen; should one exist, it counts as released.
    op.execute(
        "UPDATE assignments SET released_at = declined_at "
        "WHERE declined_at IS NOT NULL AND released_at IS NULL"
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=8), type_=ASSIGNMENT_STATE, nullable=False)
        batch_op.create_check_constraint('released_iff_released_at', "(state = 'draft') = (released_at IS NULL)")
        batch_op.create_check_constraint('declined_iff_declined_at', "(state = 'declined') = (declined_at IS NOT NULL)")

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=9), nullable=True))
    op.execute(
        "UPDATE decisions SET state = CASE WHEN published_at IS NOT NULL THEN 'published' "
        "WHEN confirmed_at IS NOT NULL THEN 'confirmed' ELSE 'proposed' END"
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=9), type_=DECISION_STATE, nullable=False)
        batch_op.create_check_constraint('confirmed_iff_confirmed_at', "(state = 'proposed') = (confirmed_at IS NULL)")
        batch_op.create_check_constraint('published_iff_published_at', "(state = 'published') = (published_at IS NOT NULL)")


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_decisions_published_iff_published_at'), type_='check')
        batch_op.drop_constraint(op.f('ck_decisions_confirmed_iff_confirmed_at'), type_='check')
        batch_op.drop_constraint(op.f('ck_decisions_decision_state'), type_='check')
        batch_op.drop_column('state')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assignments_declined_iff_declined_at'), type_='check')
        batch_op.drop_constraint(op.f('ck_assignments_released_iff_released_at'), type_='check')
        batch_op.drop_constraint(op.f('ck_assignments_assignment_state'), type_='check')
        batch_op.drop_column('state')

    op.drop_index('ix_state_transitions_object', table_name='state_transitions')
    op.drop_table('state_transitions')
