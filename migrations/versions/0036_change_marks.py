"""indexes for the marks that say when kept lines and portal pages are stale

Revision ID: 0036_change_marks
Revises: 0035_data_exports
Create Date: 2026-12-06 16:30:00

The ranking, line, panel and decisions pages keep the drawn funding line, and the portal keeps
its sums and pages, until something they are drawn from changes; the marks they read on every
request include the newest change of any grant (``grants.updated_at``) and the newest step of
any grant's lifecycle (``state_transitions`` by object type). Without these indexes PostgreSQL
reads every grant, or every step, for them.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0036_change_marks"
down_revision = "0035_data_exports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_updated_at", ["updated_at"])
    with op.batch_alter_table("state_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_state_transitions_object_type_id", ["object_type", "id"])


def downgrade():
    with op.batch_alter_table("state_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_state_transitions_object_type_id")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_updated_at")
