"""indexes for the public portal and the API at 20,000 funded projects

Revision ID: 0034_portal_indexes
Revises: 0033_retention_and_pseudonyms
Create Date: 2026-12-06 12:00:00

The portal's list of funded consortia is ordered newest first (``starts_on DESC, id DESC``):
an index on the two columns gives the page's 25 rows without sorting every public grant. The
API's list of proposals is ordered by id; ``(call_id, id)`` finds the first proposal of each of
an officer's calls, where the list starts. The portal's search looks for a text anywhere in a
proposal's title, acronym or summary and in partners' names (``lower(column) LIKE '%text%'``):
pg_trgm's GIN indexes answer that on PostgreSQL without reading every proposal. A role that may
not create the extension keeps a working, slower search; SQLite has none. The trigram indexes
are on expressions, which the models do not describe (``competition.db.described_by_models``).
They are built without GIN's pending list (``fastupdate = off``): proposals come one at a
time, and rows left in the list after a bulk import (until a VACUUM) are scanned by every
search.
"""

import logging

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0034_portal_indexes"
down_revision = "0033_retention_and_pseudonyms"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TRIGRAMS = {
    "ix_proposals_title_trgm": ("proposals", "title"),
    "ix_proposals_acronym_trgm": ("proposals", "acronym"),
    "ix_proposals_abstract_trgm": ("proposals", "abstract"),
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
            "pg_trgm is not available (%s): the portal's search works without its indexes, "
            "only slower",
            str(error).splitlines()[0],
        )
        return False


def upgrade():
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_starts_on_id", ["starts_on", "id"])
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index("ix_proposals_call_id_id", ["call_id", "id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _trigrams_available(bind):
        return
    for name, (table, column) in TRIGRAMS.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (lower({column}) gin_trgm_ops) WITH (fastupdate = off)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAMS:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_call_id_id")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_starts_on_id")
