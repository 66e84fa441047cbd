"""officers manage a programme's topic taxonomy: clusters and cross-cutting themes, two levels

Revision ID: 0018_topic_taxonomy
Revises: 0017_call_budget
Create Date: 2026-12-06 02:20:00

A topic now belongs to a programme (its officers manage it), has a kind (cluster or
cross-cutting theme), may be a sub-topic of a top-level topic, has a place in its list and is
retired rather than deleted once used.

The topics that exist stay shared by every programme (no programme): a topic may be named by the
proposals of several programmes and by jurors who serve on several juries, and handing it to one
programme would take it from the others, while copying it would split the jurors' expertise from
the proposals' topics and the slugs frozen in submitted versions. They become clusters, in the
order of their English names.
"""
from alembic import op
import sqlalchemy as sa

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0018_topic_taxonomy'
down_revision = '0017_call_budget'
branch_labels = None
depends_on = None

TOPIC_KIND = sa.Enum(
    'cluster', 'theme', name='topic_kind', native_enum=False, create_constraint=True, length=7
)


def upgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('programme_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('kind', TOPIC_KIND, server_default='cluster', nullable=False)
        )
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('position', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(
            sa.Column('retired_at', competition.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_topics_programme_id_programmes'), 'programmes', ['programme_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_topics_parent_id_topics'), 'topics', ['parent_id'], ['id'],
            ondelete='RESTRICT',
        )
        batch_op.create_index(batch_op.f('ix_topics_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topics_parent_id'), ['parent_id'], unique=False)

    # The shared topics keep the order people saw them in: by their English names.
    topics = sa.table(
        'topics', sa.column('id', sa.Integer), sa.column('name_en', sa.String),
        sa.column('position', sa.Integer),
    )
    connection = op.get_bind()
    ids = connection.execute(
        sa.select(topics.c.id).order_by(topics.c.name_en, topics.c.id)
    ).scalars().all()
    for position, topic_id in enumerate(ids, start=1):
        connection.execute(
            topics.update().where(topics.c.id == topic_id).values(position=position)
        )


def downgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topics_parent_id'))
        batch_op.drop_index(batch_op.f('ix_topics_programme_id'))
        batch_op.drop_constraint(batch_op.f('fk_topics_parent_id_topics'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_topics_programme_id_programmes'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_topics_topic_kind'), type_='check')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('position')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')
        batch_op.drop_column('programme_id')
