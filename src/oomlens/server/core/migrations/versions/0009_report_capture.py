"""reports: the capture's trigger (oom, heap-threshold, thread-threshold, fd-threshold; '' when
the upload came without one) and its checked sidecar as JSON ('' when none)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as table:
        table.add_column(sa.Column("trigger", sa.String(32), nullable=False, server_default=""))
        table.add_column(sa.Column("capture", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch copy of the table would
    # have to drop it, which issue_reports' foreign key refuses
    op.drop_column("reports", "capture")
    op.drop_column("reports", "trigger")
