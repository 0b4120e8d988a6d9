"""issues: reports, devices, total and median retained bytes, versions kept on the row (so the
issue list filters, sorts and pages in SQL); issue_days: reports per issue and UTC day (so
sparklines read a row per day); both filled from the issue_reports rows already there; indexes
for the aggregates, the default order, the version filter, the versions and owners a project has

Revision ID: 0008
Revises: 0007

The backfill is plain SQL written here, not a call to ``issues.counters``: a migration is a
snapshot of the schema it runs on, and must not change when the application code does.
"""

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTS = """
UPDATE issues SET
  reports = (SELECT count(*) FROM issue_reports r WHERE r.issue_id = issues.id),
  devices = (SELECT count(DISTINCT r.device_model) FROM issue_reports r
             WHERE r.issue_id = issues.id),
  total_retained_bytes = (SELECT coalesce(sum(r.retained_bytes), 0) FROM issue_reports r
                          WHERE r.issue_id = issues.id),
  first_seen = coalesce((SELECT min(r.seen_at) FROM issue_reports r
                         WHERE r.issue_id = issues.id), first_seen),
  last_seen = coalesce((SELECT max(r.seen_at) FROM issue_reports r
                        WHERE r.issue_id = issues.id), last_seen)
"""
# the mean of the two middle sizes rounded down (the one middle size for an odd count)
MEDIANS = """
SELECT issue_id, (min(retained_bytes) + max(retained_bytes)) / 2 FROM (
  SELECT issue_id, retained_bytes,
         row_number() OVER in_order AS position,
         count(*) OVER (in_order ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
  FROM issue_reports
  WINDOW in_order AS (PARTITION BY issue_id ORDER BY retained_bytes)) ranked
WHERE position IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY issue_id
"""
VERSIONS = "SELECT DISTINCT issue_id, app_version FROM issue_reports"
# the UTC day of a report: SQLite keeps UTC wall times as text, PostgreSQL instants
UTC_DAY = {"sqlite": "date(seen_at)", "postgresql": "CAST(timezone('UTC', seen_at) AS DATE)"}
DAYS = ("INSERT INTO issue_days (issue_id, day, reports) SELECT issue_id, {day}, count(*) "
        "FROM issue_reports GROUP BY issue_id, {day}")


def upgrade() -> None:
    with op.batch_alter_table("issues") as table:
        for name in ("reports", "devices", "version_count"):
            table.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
        for name in ("total_retained_bytes", "median_retained_bytes"):
            table.add_column(sa.Column(name, sa.BigInteger, nullable=False, server_default="0"))
        table.add_column(sa.Column("versions", sa.Text, nullable=False, server_default="[]"))
    op.create_table(
        "issue_days",
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("reports", sa.Integer, nullable=False),
    )
    op.create_index("ix_issue_reports_aggregates", "issue_reports",
                    ["issue_id", "retained_bytes", "device_model", "app_version", "seen_at"])
    op.create_index("ix_issue_reports_version", "issue_reports", ["app_version", "issue_id"])
    op.create_index("ix_reports_project_version", "reports", ["project_id", "app_version"])
    op.create_index("ix_issues_project_owner", "issues", ["project_id", "owner"])
    op.create_index("ix_issues_project_reports", "issues",
                    ["project_id", "reports", "total_retained_bytes"])
    _backfill(op.get_bind())


def _backfill(connection) -> None:
    connection.execute(sa.text(COUNTS))
    day = UTC_DAY[connection.dialect.name]
    connection.execute(sa.text(DAYS.format(day=day)))
    medians = [{"id": issue_id, "median": median}
               for issue_id, median in connection.execute(sa.text(MEDIANS))]
    if medians:
        connection.execute(sa.text("UPDATE issues SET median_retained_bytes = :median "
                                   "WHERE id = :id"), medians)
    versions: dict[int, list[str]] = defaultdict(list)
    for issue_id, version in connection.execute(sa.text(VERSIONS)):
        versions[issue_id].append(version)
    if versions:
        connection.execute(sa.text("UPDATE issues SET versions = :versions, "
                                   "version_count = :count WHERE id = :id"),
                           [{"id": issue_id, "versions": json.dumps(sorted(listed)),
                             "count": len(listed)} for issue_id, listed in versions.items()])


def downgrade() -> None:
    op.drop_index("ix_issues_project_reports", "issues")
    op.drop_index("ix_issues_project_owner", "issues")
    op.drop_index("ix_reports_project_version", "reports")
    op.drop_index("ix_issue_reports_version", "issue_reports")
    op.drop_index("ix_issue_reports_aggregates", "issue_reports")
    op.drop_table("issue_days")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch copy of the table would
    # have to drop it, which issue_reports' foreign key refuses
    for name in ("versions", "median_retained_bytes", "total_retained_bytes", "version_count",
                 "devices", "reports"):
        op.drop_column("issues", name)
