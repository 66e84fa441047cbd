"""passkeys (WebAuthn credentials) as a second factor

Revision ID: 0030_passkeys
Revises: 0029_second_factors
Create Date: 2026-12-10 09:00:00

A new table; nobody has a passkey before.
"""
from alembic import op
import sqlalchemy as sa

import competition.db
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0030_passkeys'
down_revision = '0029_second_factors'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'passkey_credentials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('transports', JSON, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('sign_count >= 0', name=op.f('ck_passkey_credentials_sign_count_not_negative')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_passkey_credentials_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_credentials')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_passkey_credentials_credential_id')),
    )
    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_credentials_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_credentials_user_id'))
    op.drop_table('passkey_credentials')
