"""single sign-on: identities at OpenID providers, claim-to-role mappings, who keeps a role

Revision ID: 0031_single_sign_on
Revises: 0030_passkeys
Create Date: 2026-12-06 13:00:00

Two new tables. ``user_roles.granted_via`` is new and empty for every existing role: all of
them were granted by hand, and a role granted by hand is never taken away by a mapping.
"""
from alembic import op
import sqlalchemy as sa

import competition.db

# revision identifiers, used by Alembic.
revision = '0031_single_sign_on'
down_revision = '0030_passkeys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('linked_at', competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sso_identities_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
        sa.UniqueConstraint('provider', 'subject', name=op.f('uq_sso_identities_provider_subject')),
    )
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_identities_user_id'), ['user_id'], unique=False)
    op.create_table(
        'sso_role_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('claim', sa.String(length=100), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('role', sa.Enum('applicant', 'juror', 'officer', 'admin', name='role', native_enum=False, create_constraint=True), nullable=False),
        sa.Column('created_at', competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sso_role_mappings_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_role_mappings')),
        sa.UniqueConstraint('provider', 'claim', 'value', 'role', name=op.f('uq_sso_role_mappings_provider_claim_value_role')),
    )
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('granted_via', sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_column('granted_via')
    op.drop_table('sso_role_mappings')
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_identities_user_id'))
    op.drop_table('sso_identities')
