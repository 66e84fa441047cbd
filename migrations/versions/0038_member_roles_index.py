"""an organisation's memberships indexed with their roles and proposals

Revision ID: 0038_member_roles_index
Revises: 0037_reference_trigrams
Create Date: 2026-12-07 15:00:00

The officers' list filtered by federal state counts the proposals whose coordinator is one of
the state's organisations. PostgreSQL found the memberships through the index by organisation
and then read each one's row for its role: at 20,000 proposals, 8,000 rows for 2,600
coordinators. The index by organisation now holds each membership's role and proposal too, so
the count reads no member rows once autovacuum has marked them visible (4.6 → 3.3 ms, run again
in one connection). It replaces the index by organisation alone, whose every use it serves.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0038_member_roles_index"
down_revision = "0037_reference_trigrams"
branch_labels = None
depends_on = None

TABLE = "consortium_members"


def upgrade():
    op.create_index(
        "ix_consortium_members_organisation_role",
        TABLE,
        ["organisation_id", "role", "proposal_id"],
    )
    op.drop_index("ix_consortium_members_organisation_id", table_name=TABLE)


def downgrade():
    op.create_index("ix_consortium_members_organisation_id", TABLE, ["organisation_id"])
    op.drop_index("ix_consortium_members_organisation_role", table_name=TABLE)
