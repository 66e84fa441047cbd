"""membership programmes: a programme's kind, and memberships with their member organisations,
criteria, evaluators, evaluations and four-eyes decisions

Revision ID: 0023_memberships
Revises: 0022_grants
Create Date: 2026-12-06 05:41:09

Every programme that exists runs calls, so each becomes a competition (the column's default);
no existing data describes a membership, so the new tables start empty.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0023_memberships'
down_revision = '0022_grants'
branch_labels = None
depends_on = None

PROGRAMME_KIND = sa.Enum(
    'competition', 'membership', name='programme_kind', native_enum=False, create_constraint=True,
    length=11,
)


def upgrade():
    op.create_table('membership_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=6, scale=3), nullable=False),
    sa.Column('scale_min', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('scale_max', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('scale_step', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.CheckConstraint('scale_max > scale_min', name=op.f('ck_membership_criteria_scale_is_ordered')),
    sa.CheckConstraint('scale_step > 0', name=op.f('ck_membership_criteria_scale_step_positive')),
    sa.CheckConstraint('weight > 0', name=op.f('ck_membership_criteria_weight_positive')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_membership_criteria_programme_id_programmes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_criteria')),
    sa.UniqueConstraint('programme_id', 'position', name=op.f('uq_membership_criteria_programme_id_position'))
    )
    with op.batch_alter_table('membership_criteria', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_criteria_programme_id'), ['programme_id'], unique=False)

    op.create_table('membership_evaluators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_membership_evaluators_programme_id_programmes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_membership_evaluators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_evaluators')),
    sa.UniqueConstraint('programme_id', 'user_id', name=op.f('uq_membership_evaluators_programme_id_user_id'))
    )
    with op.batch_alter_table('membership_evaluators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_evaluators_user_id'), ['user_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('applied', 'in_evaluation', 'granted', 'in_reevaluation', 'refused', 'withdrawn', 'retracted', name='membership_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('applied_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('round', sa.Integer(), server_default='0', nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('reevaluation_notice_for', sa.Date(), nullable=True),
    sa.CheckConstraint("state NOT IN ('granted', 'in_reevaluation') OR valid_until IS NOT NULL", name=op.f('ck_memberships_held_has_a_period')),
    sa.CheckConstraint('(valid_from IS NULL) = (valid_until IS NULL)', name=op.f('ck_memberships_period_is_whole')),
    sa.CheckConstraint('round >= 0', name=op.f('ck_memberships_round_not_negative')),
    sa.CheckConstraint('valid_until IS NULL OR valid_until >= valid_from', name=op.f('ck_memberships_period_is_ordered')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_memberships_applicant_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_memberships_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_memberships_programme_id_programmes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index('ix_memberships_one_open_per_organisation', ['programme_id', 'organisation_id'], unique=True, sqlite_where=sa.text("state IN ('applied', 'in_evaluation', 'granted', 'in_reevaluation')"), postgresql_where=sa.text("state IN ('applied', 'in_evaluation', 'granted', 'in_reevaluation')"))
        batch_op.create_index(batch_op.f('ix_memberships_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_memberships_programme_id_state', ['programme_id', 'state'], unique=False)
        batch_op.create_index('ix_memberships_state_valid_until', ['state', 'valid_until'], unique=False)

    op.create_table('membership_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=False),
    sa.Column('recommendation', sa.Enum('grant', 'refuse', 'renew', 'withdraw', name='membership_recommendation', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('total', sa.Numeric(precision=10, scale=3), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('recorded_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('round >= 1', name=op.f('ck_membership_evaluations_round_positive')),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], name=op.f('fk_membership_evaluations_evaluator_id_users')),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_membership_evaluations_membership_id_memberships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_evaluations')),
    sa.UniqueConstraint('id', 'membership_id', 'evaluator_id', name=op.f('uq_membership_evaluations_id_membership_id_evaluator_id')),
    sa.UniqueConstraint('membership_id', 'round', 'evaluator_id', name=op.f('uq_membership_evaluations_membership_id_round_evaluator_id'))
    )
    with op.batch_alter_table('membership_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_evaluations_membership_id'), ['membership_id'], unique=False)

    op.create_table('membership_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('added_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_membership_members_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_membership_members_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_members')),
    sa.UniqueConstraint('membership_id', 'organisation_id', name=op.f('uq_membership_members_membership_id_organisation_id'))
    )
    with op.batch_alter_table('membership_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_members_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('membership_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('evaluated_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('grant', 'refuse', 'renew', 'withdraw', name='membership_decision_action', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('decided_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(action IN ('grant', 'renew')) = (valid_until IS NOT NULL)", name=op.f('ck_membership_decisions_period_iff_granted')),
    sa.CheckConstraint("action IN ('grant', 'renew') OR length(reason) > 0", name=op.f('ck_membership_decisions_refusal_has_a_reason')),
    sa.CheckConstraint('decided_by_id != evaluated_by_id', name=op.f('ck_membership_decisions_four_eyes')),
    sa.CheckConstraint('valid_until IS NULL OR (valid_from IS NOT NULL AND valid_until >= valid_from)', name=op.f('ck_membership_decisions_period_is_ordered')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_membership_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['evaluated_by_id'], ['users.id'], name=op.f('fk_membership_decisions_evaluated_by_id_users')),
    sa.ForeignKeyConstraint(['evaluation_id', 'membership_id', 'evaluated_by_id'], ['membership_evaluations.id', 'membership_evaluations.membership_id', 'membership_evaluations.evaluator_id'], name='fk_membership_decisions_evaluation', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_membership_decisions_membership_id_memberships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_decisions'))
    )
    with op.batch_alter_table('membership_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_decisions_membership_id'), ['membership_id'], unique=False)

    op.create_table('membership_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['membership_criteria.id'], name=op.f('fk_membership_scores_criterion_id_membership_criteria'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evaluation_id'], ['membership_evaluations.id'], name=op.f('fk_membership_scores_evaluation_id_membership_evaluations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_scores')),
    sa.UniqueConstraint('evaluation_id', 'criterion_id', name=op.f('uq_membership_scores_evaluation_id_criterion_id'))
    )
    with op.batch_alter_table('membership_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_scores_criterion_id'), ['criterion_id'], unique=False)

    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', PROGRAMME_KIND, server_default='competition', nullable=False)
        )



def downgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_programmes_programme_kind'), type_='check')
        batch_op.drop_column('kind')

    with op.batch_alter_table('membership_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_scores_criterion_id'))

    op.drop_table('membership_scores')
    with op.batch_alter_table('membership_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_decisions_membership_id'))

    op.drop_table('membership_decisions')
    with op.batch_alter_table('membership_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_members_organisation_id'))

    op.drop_table('membership_members')
    with op.batch_alter_table('membership_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_evaluations_membership_id'))

    op.drop_table('membership_evaluations')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_state_valid_until')
        batch_op.drop_index('ix_memberships_programme_id_state')
        batch_op.drop_index(batch_op.f('ix_memberships_organisation_id'))
        batch_op.drop_index('ix_memberships_one_open_per_organisation', sqlite_where=sa.text("state IN ('applied', 'in_evaluation', 'granted', 'in_reevaluation')"), postgresql_where=sa.text("state IN ('applied', 'in_evaluation', 'granted', 'in_reevaluation')"))
        batch_op.drop_index(batch_op.f('ix_memberships_applicant_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('membership_evaluators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_evaluators_user_id'))

    op.drop_table('membership_evaluators')
    with op.batch_alter_table('membership_criteria', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_criteria_programme_id'))

    op.drop_table('membership_criteria')
