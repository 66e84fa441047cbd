"""payment exports keep their file, so that it can be downloaded again as it was handed out

Revision ID: 0026_payments
Revises: 0023_memberships
Create Date: 2026-12-07 09:00:00

No export has been made before this revision (0022 created the table and nothing wrote to it),
so the new column needs no data; rows that might exist get an empty key, which the exports list
shows as a file not kept. The format and count get the CHECKs the model states.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0026_payments"
down_revision = "0023_memberships"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment_exports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("storage_key", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("payment_exports", schema=None) as batch_op:
        batch_op.alter_column("storage_key", server_default=None)
        batch_op.create_check_constraint("file_format_known", "file_format IN ('csv', 'xlsx')")
        batch_op.create_check_constraint("payments_positive", "payments > 0")


def downgrade():
    with op.batch_alter_table("payment_exports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_exports_payments_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_payment_exports_file_format_known"), type_="check")
        batch_op.drop_column("storage_key")
