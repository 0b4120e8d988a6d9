"""projects, API keys, reports (which are also the job queue)

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ownership", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False, index=True),
        sa.Column("app_version", sa.String(100), nullable=False, server_default=""),
        sa.Column("build", sa.String(100), nullable=False, server_default=""),
        sa.Column("device_model", sa.String(200), nullable=False, server_default=""),
        sa.Column("os_version", sa.String(100), nullable=False, server_default=""),
        sa.Column("api_level", sa.Integer, nullable=True),
        sa.Column("process", sa.String(200), nullable=False, server_default=""),
        sa.Column("oom_message", sa.Text, nullable=False, server_default=""),
        sa.Column("heap_limit_bytes", sa.BigInteger, nullable=True),
        sa.Column("occurred_at", TS, nullable=True),
        sa.Column("mapping_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("dump_key", sa.String(300), nullable=False),
        sa.Column("dump_bytes", sa.BigInteger, nullable=False),
        sa.Column("dump_format", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("analysed_at", TS, nullable=True),
        sa.Column("oom_cause", sa.String(64), nullable=False, server_default=""),
        sa.Column("report_json", sa.Text, nullable=True),
        sa.UniqueConstraint("project_id", "idempotency_key"),
    )
    op.create_index("ix_reports_queue", "reports", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("api_keys")
    op.drop_table("projects")
