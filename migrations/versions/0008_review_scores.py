"""review scores in a table of their own, one row per review and criterion

Revision ID: 0008_review_scores
Revises: 0007_selection_rules
Create Date: 2026-12-05 07:00:00

Scores were a JSON object on the review ({"<criterion id>": "4.5"}), so removing a criterion left
keys that pointed nowhere. Each score moves into a row with foreign keys. A key whose criterion no
longer exists cannot: it is dropped and counted in the log (no page showed it, and no ranking
counted it, since both read the stage's criteria).
"""
import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0008_review_scores'
down_revision = '0007_selection_rules'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')
reviews = sa.table('reviews', sa.column('id', sa.Integer), sa.column('scores', JSON))
criteria = sa.table('criteria', sa.column('id', sa.Integer))
scores = sa.table(
    'review_scores',
    sa.column('review_id', sa.Integer),
    sa.column('criterion_id', sa.Integer),
    sa.column('score', sa.String),
)


def upgrade():
    op.create_table('review_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_review_scores_criterion_id_criteria'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_scores_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_scores')),
    sa.UniqueConstraint('review_id', 'criterion_id', name=op.f('uq_review_scores_review_id_criterion_id'))
    )
    op.create_index(op.f('ix_review_scores_criterion_id'), 'review_scores', ['criterion_id'], unique=False)

    conn = op.get_bind()
    known = set(conn.scalars(sa.select(criteria.c.id)))
    rows, orphaned = [], 0
    for review_id, values in conn.execute(sa.select(reviews.c.id, reviews.c.scores)):
        for key, score in sorted((values or {}).items()):
            if key.isdigit() and int(key) in known:
                rows.append({'review_id': review_id, 'criterion_id': int(key), 'score': str(score)})
            else:
                orphaned += 1
    if rows:
        conn.execute(scores.insert(), rows)
    if orphaned:
        log.warning("review scores: %d scores of removed criteria were dropped", orphaned)

    # Natively, not by copying the table: SQLite drops a copied table with its foreign keys on,
    # and ON DELETE CASCADE would take the new score rows with it.
    op.execute('ALTER TABLE reviews DROP COLUMN scores')


def downgrade():
    op.add_column('reviews', sa.Column('scores', JSON, server_default='{}', nullable=False))

    conn = op.get_bind()
    collected: dict[int, dict[str, str]] = {}
    for review_id, criterion_id, score in conn.execute(
        sa.select(scores.c.review_id, scores.c.criterion_id, scores.c.score).order_by(
            scores.c.review_id, scores.c.criterion_id
        )
    ):
        collected.setdefault(review_id, {})[str(criterion_id)] = score
    for review_id in conn.scalars(sa.select(reviews.c.id)):
        conn.execute(
            reviews.update()
            .where(reviews.c.id == review_id)
            .values(scores=collected.get(review_id, {}))
        )

    op.drop_index(op.f('ix_review_scores_criterion_id'), table_name='review_scores')

    op.drop_table('review_scores')
