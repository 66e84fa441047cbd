"""a trigram index on proposals' references, for the officers' search

Revision ID: 0037_reference_trigrams
Revises: 0036_change_marks
Create Date: 2026-12-06 20:00:00

The officers' search looks for a text in a proposal's reference, acronym or title and in its
members' names. Titles, acronyms and names have trigram indexes (0034); with the reference's
too, PostgreSQL counts a search's matches from the indexes alone (one bitmap of all four)
instead of reading proposals until a thousand match: at 20,000 proposals a common word's
count takes 6 ms instead of 10. Like 0034's, the index is on PostgreSQL with pg_trgm only.
"""

import logging

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0037_reference_trigrams"
down_revision = "0036_change_marks"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

NAME = "ix_proposals_reference_trgm"


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        log.warning("pg_trgm is not installed: the officers' search works without its index")
        return
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON proposals "
        "USING gin (lower(reference) gin_trgm_ops) WITH (fastupdate = off)"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {NAME}")
