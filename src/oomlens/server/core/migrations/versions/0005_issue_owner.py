"""issues: the owner found by the project's ownership file ('' when unowned)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues") as table:
        table.add_column(sa.Column("owner", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("issues") as table:
        table.drop_column("owner")
