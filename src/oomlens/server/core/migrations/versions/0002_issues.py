"""issues: findings folded by signature, and which reports they were seen in

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(500), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fixed_in_version", sa.String(100), nullable=False, server_default=""),
        sa.Column("regressed_at", TS, nullable=True),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("representative_report_id", sa.String(32), nullable=False),
        sa.Column("representative_bytes", sa.BigInteger, nullable=False),
        sa.Column("representative", sa.Text, nullable=False),
        sa.UniqueConstraint("project_id", "kind", "signature"),
    )
    op.create_index("ix_issues_project_last_seen", "issues", ["project_id", "last_seen"])
    op.create_table(
        "issue_reports",
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id"), primary_key=True),
        sa.Column("report_id", sa.String(32), sa.ForeignKey("reports.id"), primary_key=True),
        sa.Column("retained_bytes", sa.BigInteger, nullable=False),
        sa.Column("app_version", sa.String(100), nullable=False),
        sa.Column("device_model", sa.String(200), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
    )
    op.create_index("ix_issue_reports_report", "issue_reports", ["report_id"])


def downgrade() -> None:
    op.drop_table("issue_reports")
    op.drop_table("issues")
