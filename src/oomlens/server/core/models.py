"""The server's tables (SQLAlchemy 2). The schema itself is managed by Alembic migrations
(core/migrations); these classes are how the code reads and writes it.

The ``reports`` table is also the durable job queue: an accepted upload is a row in state
``queued`` before the client hears 202, and a runner claims it by moving it to ``running`` with a
lease. A runner that dies leaves a lease that expires, so the job is claimed again; after
``max_attempts`` it is ``dead`` (shown on the dashboard, never silently dropped). States, kinds
and statuses are the enums of ``vocabulary``; their columns stay plain strings.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oomlens.server.core.vocabulary import DeliveryState, IssueStatus, ReportStatus


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    ownership: Mapped[str] = mapped_column(Text, default="")  # CODEOWNERS-style file
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """Keys are shown once; only their SHA-256 is stored (they are 256-bit random, so a slow
    password hash would add nothing)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # a KeyKind: ingest, read or admin
    prefix: Mapped[str] = mapped_column(String(16))  # shown in settings to tell keys apart
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("project_id", "idempotency_key"),
                      Index("ix_reports_queue", "status", "lease_until"),
                      Index("ix_reports_project_version", "project_id", "app_version"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.QUEUED)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # metadata sent with the dump
    app_version: Mapped[str] = mapped_column(String(100), default="")
    build: Mapped[str] = mapped_column(String(100), default="")
    device_model: Mapped[str] = mapped_column(String(200), default="")
    os_version: Mapped[str] = mapped_column(String(100), default="")
    api_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    process: Mapped[str] = mapped_column(String(200), default="")
    oom_message: Mapped[str] = mapped_column(Text, default="")
    heap_limit_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    mapping_id: Mapped[str] = mapped_column(String(100), default="")
    # the capture that took the dump (docs/capture.md): its trigger ('' when none was sent)
    # and its checked sidecar as JSON ('' when none was sent)
    trigger: Mapped[str] = mapped_column(String(32), default="")
    capture: Mapped[str] = mapped_column(Text, default="")
    # the stored dump
    dump_key: Mapped[str] = mapped_column(String(300))
    dump_bytes: Mapped[int] = mapped_column(BigInteger)
    dump_format: Mapped[str] = mapped_column(String(16))  # plain, gzip, zstd, packed
    # the job
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # a retried job waits until then (backoff); None: at once
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # when a task for it was last sent to the broker (Celery mode); None: never
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    oom_cause: Mapped[str] = mapped_column(String(64), default="")
    report_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class Issue(Base):
    """Findings of many reports with one signature (per project and kind)."""

    __tablename__ = "issues"
    __table_args__ = (UniqueConstraint("project_id", "kind", "signature"),
                      Index("ix_issues_project_last_seen", "project_id", "last_seen"),
                      Index("ix_issues_project_owner", "project_id", "owner"),
                      # the issue list's default order: most reports first, then most bytes
                      Index("ix_issues_project_reports", "project_id", "reports",
                            "total_retained_bytes"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(32))  # a FindingKind: leak, library_leak, ...
    signature: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=IssueStatus.OPEN)
    fixed_in_version: Mapped[str] = mapped_column(String(100), default="")
    owner: Mapped[str] = mapped_column(String(200), default="")  # "" when unowned
    regressed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # when a spike of it was last notified (at most one a day: ``notify``)
    spike_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                               nullable=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the finding (its report JSON) of the report where it retained the most
    representative_report_id: Mapped[str] = mapped_column(String(32))
    representative_bytes: Mapped[int] = mapped_column(BigInteger)
    representative: Mapped[str] = mapped_column(Text)
    # what its issue_reports rows add up to, kept by ``issues.counters.recompute`` in the
    # transaction that folds a report, so that lists filter, sort and page in SQL
    reports: Mapped[int] = mapped_column(Integer, default=0)
    devices: Mapped[int] = mapped_column(Integer, default=0)  # distinct device models
    total_retained_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    median_retained_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    versions: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of app versions
    version_count: Mapped[int] = mapped_column(Integer, default=0)


class IssueReport(Base):
    __tablename__ = "issue_reports"
    __table_args__ = (Index("ix_issue_reports_report", "report_id"),
                      # every column the issue's aggregates read, its sizes in order (median)
                      Index("ix_issue_reports_aggregates", "issue_id", "retained_bytes",
                            "device_model", "app_version", "seen_at"),
                      Index("ix_issue_reports_version", "app_version", "issue_id"))

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    retained_bytes: Mapped[int] = mapped_column(BigInteger)
    app_version: Mapped[str] = mapped_column(String(100))
    device_model: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IssueDay(Base):
    """An issue's reports per UTC day, for sparklines: kept with the issue's aggregates, so a
    trend reads a row per day rather than a row per report."""

    __tablename__ = "issue_days"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)


class AppMapping(Base):
    """The ProGuard/R8 mapping of one app version (the file is in blob storage)."""

    __tablename__ = "mappings"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[str] = mapped_column(String(100))
    blob_key: Mapped[str] = mapped_column(String(300))
    classes: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# webhook formats and events
WEBHOOK_FORMATS = ("json", "slack", "lark")
NEW_ISSUE, REGRESSION, SPIKE, TEST = "new_issue", "regression", "spike", "test"
WEBHOOK_EVENTS = (NEW_ISSUE, REGRESSION, SPIKE)  # what a webhook may subscribe to


class Webhook(Base):
    """Where a project's notifications go. The secret signs every request, so it is stored as
    given (a digest could not sign); it is shown once, when the webhook is created."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16))  # json, slack, lark
    events: Mapped[str] = mapped_column(String(200))  # comma-separated WEBHOOK_EVENTS
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Notification(Base):
    """The outbox: one event for one webhook, written in the transaction that caused it and
    delivered later by the ``Notifier``. ``issue_id`` has no foreign key: an issue re-folded away
    (e.g. under its obfuscated name) leaves its notifications, whose payload is a snapshot."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "state", "next_attempt_at"),
                      Index("ix_notifications_webhook", "webhook_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # X-Oomlens-Delivery
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event: Mapped[str] = mapped_column(String(32))
    issue_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # that caused it
    payload: Mapped[str] = mapped_column(Text)  # the generic JSON body, without sent_at
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # due then; a claimed row is pushed past its send, so a sender that dies leaves it due again
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # HTTP status
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A dashboard login: the cookie holds a random token, the table its SHA-256, the key it was
    opened with (revoking the key ends its sessions) and the token forms must echo (CSRF)."""

    __tablename__ = "web_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def project_row(session, model, row_id, project_id: int):
    """The ``model`` row ``row_id`` if it belongs to project ``project_id``, else None: every
    lookup by an id from a request goes through here, so that one project's key or session never
    reaches another project's rows (callers answer 404 either way: no hint that it exists)."""
    row = session.get(model, row_id)
    return row if row is not None and row.project_id == project_id else None
