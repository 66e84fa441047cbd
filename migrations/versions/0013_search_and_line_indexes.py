"""indexes for the proposal search (trigrams, PostgreSQL) and for the line's change marks

Revision ID: 0013_search_indexes
Revises: 0012_audit_unchained
Create Date: 2026-12-05 19:30:00

The search box finds a text anywhere in a proposal's reference, acronym or title or in a
consortium member's name (``lower(column) LIKE '%text%'``); at 20,000 proposals a scan of every
row took most of the page's time. pg_trgm's GIN indexes answer such patterns. A database whose
role may not create the extension keeps working without them, only slower; SQLite has none.
The trigram indexes are on expressions, which the models do not describe.

The pages that show the provisional line check on every request whether anything it is drawn
from changed: the newest change of the call's proposals and of the stage's submissions, and
how many proposals the call has. Two indexes answer that without reading 20,000 rows.
"""

import logging

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0013_search_indexes"
down_revision = "0012_audit_unchained"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEXES = {
    "ix_proposals_reference_trgm": ("proposals", "reference"),
    "ix_proposals_acronym_trgm": ("proposals", "acronym"),
    "ix_proposals_title_trgm": ("proposals", "title"),
    "ix_organisations_name_trgm": ("organisations", "name"),
}


def _trigrams_available(bind: sa.Connection) -> bool:
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm is not available (%s): the proposal search works without its "
            "indexes, only slower",
            str(error).splitlines()[0],
        )
        return False


def upgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index("ix_proposals_call_id_updated_at", ["call_id", "updated_at"])
    with op.batch_alter_table("stage_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stage_submissions_stage_id_updated_at", ["stage_id", "updated_at"]
        )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _trigrams_available(bind):
        return
    for name, (table, column) in INDEXES.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (lower({column}) gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("stage_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_submissions_stage_id_updated_at")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_call_id_updated_at")
