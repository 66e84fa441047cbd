"""interim evaluations of funded grants: a stage kind that names the phase it evaluates, and
the decisions to continue, continue with conditions or stop

Revision ID: 0027_interim_evaluations
Revises: 0026_payments
Create Date: 2026-12-06 09:00:00

Existing stages are stages of the competition (no phase to evaluate) and existing decisions
keep their outcomes, with no conditions.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0027_interim_evaluations'
down_revision = '0026_payments'
branch_labels = None
depends_on = None

OLD_KINDS = ('outline', 'full_proposal', 'hearing')
NEW_KINDS = (*OLD_KINDS, 'interim_evaluation')
OLD_OUTCOMES = ('advance', 'reject', 'fund', 'reserve')
NEW_OUTCOMES = (*OLD_OUTCOMES, 'continue', 'continue_with_conditions', 'stop')


def _enum(values, name):
    return sa.Enum(
        *values, name=name, native_enum=False, create_constraint=True,
        length=max(len(v) for v in values),
    )


def upgrade():
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evaluates_phase', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('ck_stages_stage_kind'), type_='check')
        batch_op.alter_column(
            'kind', existing_type=sa.String(length=13), type_=_enum(NEW_KINDS, 'stage_kind'),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            'evaluation_names_its_phase',
            "(kind = 'interim_evaluation') = (evaluates_phase IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            'evaluates_phase_in_range', 'evaluates_phase IS NULL OR evaluates_phase BETWEEN 1 AND 8'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_stages_call_id_evaluates_phase'), ['call_id', 'evaluates_phase']
        )

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conditions', sa.Text(), server_default='', nullable=False))
        batch_op.drop_constraint(op.f('ck_decisions_decision_outcome'), type_='check')
        batch_op.alter_column(
            'outcome', existing_type=sa.String(length=7),
            type_=_enum(NEW_OUTCOMES, 'decision_outcome'), existing_nullable=False,
        )
        batch_op.create_check_constraint(
            'conditions_when_continued_with_them',
            "outcome != 'continue_with_conditions' OR length(conditions) > 0",
        )


def downgrade():
    # Interim evaluations and their decisions have no place in the older schema: they go, with
    # what cascades from their stages (submissions, assignments, reviews, rankings).
    op.execute(
        "DELETE FROM decisions WHERE outcome IN ('continue', 'continue_with_conditions', 'stop')"
    )
    op.execute(
        "DELETE FROM submission_versions WHERE submission_id IN (SELECT ss.id FROM "
        "stage_submissions ss JOIN stages s ON s.id = ss.stage_id "
        "WHERE s.kind = 'interim_evaluation')"
    )
    op.execute("DELETE FROM stages WHERE kind = 'interim_evaluation'")
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_decisions_conditions_when_continued_with_them'), type_='check')
        batch_op.drop_constraint(op.f('ck_decisions_decision_outcome'), type_='check')
        batch_op.alter_column(
            'outcome', existing_type=sa.String(length=24),
            type_=_enum(OLD_OUTCOMES, 'decision_outcome'), existing_nullable=False,
        )
        batch_op.drop_column('conditions')

    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_stages_call_id_evaluates_phase'), type_='unique')
        batch_op.drop_constraint(op.f('ck_stages_evaluates_phase_in_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_stages_evaluation_names_its_phase'), type_='check')
        batch_op.drop_constraint(op.f('ck_stages_stage_kind'), type_='check')
        batch_op.alter_column(
            'kind', existing_type=sa.String(length=18), type_=_enum(OLD_KINDS, 'stage_kind'),
            existing_nullable=False,
        )
        batch_op.drop_column('evaluates_phase')
