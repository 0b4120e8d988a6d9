"""Issues as the API shows them: each with counts computed from the reports it was seen in, and
its reports per day over the last days (``trends``)."""

from __future__ import annotations

import json
import statistics
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oomlens.server.issue_breakdown import breakdown
from oomlens.server.issue_owners import owned_by
from oomlens.server.models import Issue, IssueReport
from oomlens.server.reports_view import utc
from oomlens.server.trends import reports_per_day

TREND_DAYS = 30
# what a list can be sorted by: the columns the dashboard shows
SORTABLE = ("reports", "devices", "total_retained_bytes", "median_retained_bytes",
            "first_seen", "last_seen", "title", "kind", "status")


def _summary(issue: Issue, rows: list[IssueReport]) -> dict:
    sizes = [r.retained_bytes for r in rows]
    return {"id": issue.id, "kind": issue.kind, "signature": issue.signature,
            "title": issue.title, "status": issue.status,
            "fixed_in_version": issue.fixed_in_version or None,
            "regressed_at": issue.regressed_at, "first_seen": issue.first_seen,
            "last_seen": issue.last_seen, "reports": len(rows),
            "devices": len({r.device_model for r in rows}),
            "versions": sorted({r.app_version for r in rows}),
            "total_retained_bytes": sum(sizes),
            "median_retained_bytes": int(statistics.median(sizes)) if sizes else 0,
            "owner": issue.owner or None, "unowned": not issue.owner}


def list_issues(session: Session, project_id: int, kind: str | None = None,
                status: str | None = None, version: str | None = None,
                owner: str | None = None, since: datetime | None = None,
                until: datetime | None = None, q: str | None = None, sort: str | None = None,
                descending: bool = True, days: int = TREND_DAYS) -> list[dict]:
    """The project's issues that match every filter given, most reports first or by ``sort``
    (one of SORTABLE), each with its trend over the last ``days``. ``since`` <= last seen <
    ``until``; ``q``: part of the title or signature, in any case."""
    query = select(Issue).where(Issue.project_id == project_id)
    if kind:
        query = query.where(Issue.kind == kind)
    if status:
        query = query.where(Issue.status == status)
    if version:
        query = query.where(Issue.id.in_(select(IssueReport.issue_id)
                                         .where(IssueReport.app_version == version)))
    if owner:
        query = query.where(owned_by(owner))
    issues = session.scalars(_seen_and_named(query, since, until, q)).all()
    rows: dict[int, list[IssueReport]] = {i.id: [] for i in issues}
    if issues:
        for r in session.scalars(select(IssueReport).where(IssueReport.issue_id.in_(rows))):
            rows[r.issue_id].append(r)
    trends = reports_per_day(session, rows, days)
    out = [{**_summary(i, rows[i.id]), "trend": trends[i.id]} for i in issues]
    if sort is None:
        out.sort(key=lambda d: (-d["reports"], -d["total_retained_bytes"], d["id"]))
    else:
        out.sort(key=lambda d: (_sort_value(d[sort]), d["id"]), reverse=descending)
    return out


def _seen_and_named(query, since: datetime | None, until: datetime | None, q: str | None):
    if since:
        query = query.where(Issue.last_seen >= utc(since))
    if until:
        query = query.where(Issue.last_seen < utc(until))
    if q:
        needle = q.lower()
        query = query.where(or_(func.lower(Issue.title).contains(needle, autoescape=True),
                                func.lower(Issue.signature).contains(needle, autoescape=True)))
    return query


def _sort_value(value):
    """Titles sort as people read them; times as instants (SQLite's come back naive)."""
    if isinstance(value, str):
        return value.casefold()
    return utc(value) if isinstance(value, datetime) else value


def issue_detail(session: Session, project_id: int, issue_id: int,
                 days: int = TREND_DAYS) -> dict | None:
    issue = session.get(Issue, issue_id)
    if issue is None or issue.project_id != project_id:
        return None
    rows = session.scalars(select(IssueReport).where(IssueReport.issue_id == issue_id)
                           .order_by(IssueReport.seen_at)).all()
    return {**_summary(issue, rows), "trend": reports_per_day(session, [issue_id], days)[issue_id],
            "representative_report": issue.representative_report_id,
            "representative": json.loads(issue.representative),
            "report_ids": [r.report_id for r in rows],
            "breakdown": breakdown(session, issue_id)}

