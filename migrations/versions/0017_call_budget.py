"""budgets per call: years, cost categories, envelope, yearly cap; two more partner roles

Revision ID: 0017_call_budget
Revises: 0016_stage_settings
Create Date: 2026-12-06 02:30:00

Existing calls keep what the editor showed them: three budget years, or as many as the
largest year their proposals' budgets already use (at most nine); no cost categories, no
envelope of their own and no yearly cap. Existing budget lines have no category (''). The
consortium's roles gain the associated partner and the subcontractor.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy import Text

# revision identifiers, used by Alembic.
revision = '0017_call_budget'
down_revision = '0016_stage_settings'
branch_labels = None
depends_on = None

OLD_ROLES = ('coordinator', 'partner')
NEW_ROLES = ('coordinator', 'partner', 'associated_partner', 'subcontractor')


def _role(values):
    return sa.Enum(
        *values, name='member_role', native_enum=False, create_constraint=True,
        length=max(len(v) for v in values),
    )


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_years', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('cost_categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('budget_envelope', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('max_public_funding_per_year', sa.Numeric(precision=14, scale=2), nullable=True))

    # A call whose budgets already use later years keeps showing them.
    op.execute(
        """
        UPDATE calls SET budget_years = (
            SELECT CASE WHEN MAX(b.year) > 9 THEN 9 ELSE MAX(b.year) END
            FROM budget_lines b
            JOIN stage_submissions s ON s.id = b.submission_id
            JOIN stages st ON st.id = s.stage_id
            WHERE st.call_id = calls.id
        )
        WHERE (
            SELECT MAX(b.year) FROM budget_lines b
            JOIN stage_submissions s ON s.id = b.submission_id
            JOIN stages st ON st.id = s.stage_id
            WHERE st.call_id = calls.id
        ) > 3
        """
    )

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_check_constraint('budget_years_one_to_nine', 'budget_years BETWEEN 1 AND 9')

    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=60), server_default='', nullable=False))
        batch_op.drop_constraint(op.f('uq_budget_lines_submission_id_member_id_year'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_budget_lines_submission_id_member_id_year_category'),
            ['submission_id', 'member_id', 'year', 'category'],
        )

    with op.batch_alter_table('consortium_members', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_consortium_members_member_role'), type_='check')
        batch_op.alter_column('role', existing_type=sa.String(length=11), type_=_role(NEW_ROLES), existing_nullable=False)


def downgrade():
    # The two new roles become plain partners, as the system knew them before.
    op.execute(
        "UPDATE consortium_members SET role = 'partner' "
        "WHERE role IN ('associated_partner', 'subcontractor')"
    )
    with op.batch_alter_table('consortium_members', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_consortium_members_member_role'), type_='check')
        batch_op.alter_column('role', existing_type=sa.String(length=18), type_=_role(OLD_ROLES), existing_nullable=False)

    # Lines of one partner and year in several categories become one line again.
    op.execute(
        """
        UPDATE budget_lines SET
            public_funding = (SELECT SUM(o.public_funding) FROM budget_lines o
                WHERE o.submission_id = budget_lines.submission_id
                AND o.member_id = budget_lines.member_id AND o.year = budget_lines.year),
            own_contribution = (SELECT SUM(o.own_contribution) FROM budget_lines o
                WHERE o.submission_id = budget_lines.submission_id
                AND o.member_id = budget_lines.member_id AND o.year = budget_lines.year)
        WHERE id IN (SELECT MIN(id) FROM budget_lines GROUP BY submission_id, member_id, year)
        """
    )
    op.execute(
        "DELETE FROM budget_lines WHERE id NOT IN "
        "(SELECT MIN(id) FROM budget_lines GROUP BY submission_id, member_id, year)"
    )
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_budget_lines_submission_id_member_id_year_category'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_budget_lines_submission_id_member_id_year'),
            ['submission_id', 'member_id', 'year'],
        )
        batch_op.drop_column('category')

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_calls_budget_years_one_to_nine'), type_='check')
        batch_op.drop_column('max_public_funding_per_year')
        batch_op.drop_column('budget_envelope')
        batch_op.drop_column('cost_categories')
        batch_op.drop_column('budget_years')
