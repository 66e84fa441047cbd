"""the public portal and the API: which fields of a funded consortium a programme shows, partners
whose names are withheld, and personal API tokens

Revision ID: 0028_portal_and_api
Revises: 0027_interim_evaluations
Create Date: 2026-12-06 09:00:00

Existing programmes show every field (as the federal funding catalogue does); no partner's name
is withheld until a consortium asks.
"""
from alembic import op
import sqlalchemy as sa

import competition.db
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0028_portal_and_api'
down_revision = '0027_interim_evaluations'
branch_labels = None
depends_on = None

ALL_FIELDS = '["summary", "coordinator", "partners", "topics", "funding", "period", "state"]'
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_fields', JSON, nullable=True))
    op.execute(sa.text(f"UPDATE programmes SET public_fields = '{ALL_FIELDS}'"))
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.alter_column('public_fields', existing_type=JSON, nullable=False)

    with op.batch_alter_table('consortium_members', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('name_withheld', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', JSON, nullable=False),
        sa.Column('created_at', competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', competition.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', competition.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_api_tokens_expires_after_creation')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('consortium_members', schema=None) as batch_op:
        batch_op.drop_column('name_withheld')
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('public_fields')
