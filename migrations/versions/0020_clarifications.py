"""clarification requests between officers and consortia, their threads and answer PDFs

Revision ID: 0020_clarifications
Revises: 0019_hearings
Create Date: 2026-12-06 02:12:32

Three new tables; no existing data describes a clarification, so there is nothing to move.
"""
from alembic import op
import sqlalchemy as sa

import competition.db  # noqa: F401  (column types of the models)


# revision identifiers, used by Alembic.
revision = '0020_clarifications'
down_revision = '0019_hearings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clarification_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('open', 'answered', 'closed', 'withdrawn', name='clarification_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reminded_for', competition.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(question) > 0', name=op.f('ck_clarification_requests_question_not_empty')),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_clarification_requests_asked_by_id_users')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_clarification_requests_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_clarification_requests_stage_id_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification_requests'))
    )
    with op.batch_alter_table('clarification_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_requests_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index('ix_clarification_requests_state_due_at', ['state', 'due_at'], unique=False)

    op.create_table('clarification_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('question', 'answer', name='clarification_message_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_clarification_messages_author_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['clarification_requests.id'], name=op.f('fk_clarification_messages_request_id_clarification_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification_messages'))
    )
    with op.batch_alter_table('clarification_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_messages_request_id'), ['request_id'], unique=False)

    op.create_table('clarification_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', competition.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_clarification_attachments_size_not_negative')),
    sa.ForeignKeyConstraint(['message_id'], ['clarification_messages.id'], name=op.f('fk_clarification_attachments_message_id_clarification_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_clarification_attachments_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification_attachments'))
    )
    with op.batch_alter_table('clarification_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_attachments_message_id'), ['message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('clarification_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clarification_attachments_message_id'))

    op.drop_table('clarification_attachments')
    with op.batch_alter_table('clarification_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clarification_messages_request_id'))

    op.drop_table('clarification_messages')
    with op.batch_alter_table('clarification_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_clarification_requests_state_due_at')
        batch_op.drop_index(batch_op.f('ix_clarification_requests_proposal_id'))

    op.drop_table('clarification_requests')
