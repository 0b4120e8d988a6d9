"""Reports as the API shows them: one row per report, and pages of rows, newest first.

Pages are cut by keyset, not by offset: the ``next`` cursor names the last row shown (its arrival
time and id), and the next page starts strictly after it in the (received_at, id) order. Reports
that arrive while someone pages through are therefore neither skipped nor shown twice, and page
1,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from oomlens.analysis.oom_cause import RULES, UNKNOWN
from oomlens.capture.sidecar import THRESHOLD_TRIGGERS
from oomlens.errors import OomlensError
from oomlens.server.core.models import Issue, IssueReport, Report, project_row
from oomlens.server.core.vocabulary import ReportStatus

DEFAULT_PAGE = 50
MAX_PAGE = 500
# what the cause column holds: an OOM kind, or the threshold a capture crossed (no OOM thrown)
CAUSE_KINDS = frozenset(rule.kind for rule in RULES) | {UNKNOWN} | set(THRESHOLD_TRIGGERS)


class BadQuery(OomlensError):
    """A filter or cursor the API cannot use (the message says which); maps to 422."""


def report_row(r: Report) -> dict:
    """What the API shows of one report, alone or in a list."""
    return {"id": r.id, "status": r.status, "error": r.error, "attempts": r.attempts,
            "received_at": utc(r.received_at), "analysed_at": utc(r.analysed_at),
            "app_version": r.app_version, "device_model": r.device_model,
            "oom_message": r.oom_message, "oom_cause": r.oom_cause,
            "dump_bytes": r.dump_bytes, "dump_format": r.dump_format,
            "trigger": r.trigger, "capture": json.loads(r.capture) if r.capture else None}


@dataclass(frozen=True)
class ReportFilter:
    """Which reports to list; empty fields do not filter. ``since`` <= received < ``until``."""

    version: str | None = None
    device: str | None = None
    cause: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.status and self.status not in tuple(ReportStatus):
            raise BadQuery(f"status must be one of {', '.join(ReportStatus)}")
        if self.cause and self.cause not in CAUSE_KINDS:
            raise BadQuery(f"cause must be one of {', '.join(sorted(CAUSE_KINDS))}")
        if self.since and self.until and utc(self.since) >= utc(self.until):
            raise BadQuery("since must be before until")

    def apply(self, query: Select) -> Select:
        for column, value in ((Report.app_version, self.version),
                              (Report.device_model, self.device),
                              (Report.oom_cause, self.cause), (Report.status, self.status)):
            if value:
                query = query.where(column == value)
        if self.since:
            query = query.where(Report.received_at >= utc(self.since))
        if self.until:
            query = query.where(Report.received_at < utc(self.until))
        return query


def list_reports(session: Session, project_id: int, where: ReportFilter,
                 limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict:
    """A page of the project's reports that match ``where``: ``{"reports", "next"}``."""
    where.check()
    query = where.apply(select(Report).where(Report.project_id == project_id))
    return _page(session, query, limit, cursor, lambda row: report_row(row[0]))


def issue_reports(session: Session, project_id: int, issue_id: int,
                  limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict | None:
    """A page of the reports an issue was seen in, each with the bytes it retained there;
    None when the project has no such issue."""
    if project_row(session, Issue, issue_id, project_id) is None:
        return None
    query = (select(Report, IssueReport.retained_bytes)
             .join(IssueReport, IssueReport.report_id == Report.id)
             .where(IssueReport.issue_id == issue_id))
    return _page(session, query, limit, cursor,
                 lambda row: {**report_row(row[0]), "retained_bytes": row[1]})


def _page(session: Session, query: Select, limit: int, cursor: str | None,
          shape: Callable[[Row], dict]) -> dict:
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"limit must be 1-{MAX_PAGE}")
    if cursor:
        received, report_id = _decode(cursor)
        query = query.where(or_(Report.received_at < received,
                                and_(Report.received_at == received, Report.id < report_id)))
    rows = session.execute(query.order_by(Report.received_at.desc(), Report.id.desc())
                           .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"reports": [shape(row) for row in rows],
            "next": _encode(rows[-1][0]) if more else None}


def _encode(last: Report) -> str:
    text = f"{utc(last.received_at).isoformat()}|{last.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, report_id = text.split("|")
        return utc(datetime.fromisoformat(when)), report_id
    except ValueError:  # also binascii.Error and UnicodeDecodeError
        raise BadQuery("cursor is not one this API gave out (use the last page's next)") \
            from None


def utc(t: datetime | None) -> datetime | None:
    """Times the API is given or reads back, as UTC: a time without a zone is taken as UTC
    (SQLite gives back naive UTC times; PostgreSQL aware ones)."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
