"""Issues as the API and the dashboard list them: one query that filters, orders and pages in the
database over the numbers kept on each issue's row (``counters``), then the reports per
day of the listed issues only (``trends``), so a page of fifty costs the same with ten thousand
issues as with ten."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.expression import FunctionElement

from oomlens.server.core.models import Issue, IssueReport, Report, project_row
from oomlens.server.issues.breakdown import breakdown
from oomlens.server.issues.owners import owned_by
from oomlens.server.issues.trends import reports_per_day
from oomlens.server.issues.versions import version_key
from oomlens.server.reports.queries import utc

TREND_DAYS = 30
MAX_LIMIT = 1000


class codepoint_order(FunctionElement):  # noqa: N801 (a SQL construct, named like one)
    """Text ordered by its characters' code points, as Python sorts it, on every database
    (PostgreSQL would otherwise use the database's locale, which skips punctuation)."""

    inherit_cache = True


@compiles(codepoint_order)
def _codepoint_order(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)  # SQLite compares text as UTF-8 bytes


@compiles(codepoint_order, "postgresql")
def _codepoint_order_postgresql(element, compiler, **kw):
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


# what a list can be sorted by (the columns the dashboard shows), and the SQL that orders it
ORDER = {"reports": Issue.reports, "devices": Issue.devices, "versions": Issue.version_count,
         "total_retained_bytes": Issue.total_retained_bytes,
         "median_retained_bytes": Issue.median_retained_bytes,
         "first_seen": Issue.first_seen, "last_seen": Issue.last_seen,
         "title": codepoint_order(func.lower(Issue.title)), "kind": codepoint_order(Issue.kind),
         "status": codepoint_order(Issue.status),
         "owner": codepoint_order(func.lower(Issue.owner))}
SORTABLE = tuple(ORDER)


def _summary(issue: Issue) -> dict:
    return {"id": issue.id, "kind": issue.kind, "signature": issue.signature,
            "title": issue.title, "status": issue.status,
            "fixed_in_version": issue.fixed_in_version or None,
            "regressed_at": issue.regressed_at, "first_seen": issue.first_seen,
            "last_seen": issue.last_seen, "reports": issue.reports, "devices": issue.devices,
            "versions": sorted(json.loads(issue.versions), key=version_key),
            "total_retained_bytes": issue.total_retained_bytes,
            "median_retained_bytes": issue.median_retained_bytes,
            "owner": issue.owner or None, "unowned": not issue.owner}


def matching(project_id: int, kind: str | None = None, status: str | None = None,
             version: str | None = None, owner: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             q: str | None = None) -> list[ColumnElement[bool]]:
    """The conditions of the project's issues that match every filter given: ``owner`` one of
    its owners (``-``: unowned), ``version`` one its reports came from, ``since`` <= last seen
    < ``until``, ``q`` part of the title or signature in any case (a class name)."""
    conditions = [Issue.project_id == project_id]
    if kind:
        conditions.append(Issue.kind == kind)
    if status:
        conditions.append(Issue.status == status)
    if version:  # through the (app_version, issue_id) index of issue_reports
        conditions.append(Issue.id.in_(select(IssueReport.issue_id)
                                       .where(IssueReport.app_version == version)))
    if owner:
        conditions.append(owned_by(owner))
    if since:
        conditions.append(Issue.last_seen >= utc(since))
    if until:
        conditions.append(Issue.last_seen < utc(until))
    if q:
        needle = q.lower()
        conditions.append(or_(func.lower(Issue.title).contains(needle, autoescape=True),
                              func.lower(Issue.signature).contains(needle, autoescape=True)))
    return conditions


def list_issues(session: Session, project_id: int, kind: str | None = None,
                status: str | None = None, version: str | None = None,
                owner: str | None = None, since: datetime | None = None,
                until: datetime | None = None, q: str | None = None, sort: str | None = None,
                descending: bool = True, days: int = TREND_DAYS, limit: int | None = None,
                offset: int = 0) -> list[dict]:
    """The issues ``matching`` the filters, most reports first (then most bytes) or by
    ``sort`` (one of SORTABLE; ties by id in the same direction), ``limit`` of them (None:
    all) after the first ``offset``; each with its trend over the last ``days``."""
    query = (select(Issue).where(*matching(project_id, kind, status, version, owner, since,
                                           until, q))
             # the representative finding (kilobytes of trace) is not listed: leaving it out
             # keeps it out of the sort of every matching row
             .options(defer(Issue.representative))
             .order_by(*_order(sort, descending)).offset(offset or None).limit(limit))
    issues = session.scalars(query).all()
    trends = reports_per_day(session, [i.id for i in issues], days)
    return [{**_summary(i), "trend": trends[i.id]} for i in issues]


def count_issues(session: Session, project_id: int, **filters) -> int:
    """How many issues ``list_issues`` lists with the same filters, unpaged."""
    return session.scalar(select(func.count()).select_from(Issue)
                          .where(*matching(project_id, **filters)))


def known_versions(session: Session, project_id: int) -> list[str]:
    """The app versions the project's reports came from, newest first. A loose index scan of
    ``reports (project_id, app_version)``: each step asks the index for the next version up,
    so twenty versions cost twenty probes whether there are a hundred reports or a million."""
    def after(previous) -> ColumnElement:
        return (select(func.min(Report.app_version))
                .where(Report.project_id == project_id, Report.app_version > previous)
                .scalar_subquery())

    found = select(after("").label("version")).cte("versions", recursive=True)
    found = found.union_all(select(after(found.c.version)).where(found.c.version.is_not(None)))
    versions = session.scalars(select(found.c.version).where(found.c.version.is_not(None)))
    return sorted(versions, key=version_key, reverse=True)


def known_owners(session: Session, project_id: int) -> list[str]:
    """Every owner an issue of the project names (a rule may name several), A to Z."""
    fields = session.scalars(select(Issue.owner).distinct()  # the (project_id, owner) index
                             .where(Issue.project_id == project_id, Issue.owner != ""))
    return sorted({owner for field in fields for owner in field.split()}, key=str.casefold)


def _order(sort: str | None, descending: bool) -> list:
    if sort is None:
        return [Issue.reports.desc(), Issue.total_retained_bytes.desc(), Issue.id]
    if descending:
        return [ORDER[sort].desc(), Issue.id.desc()]
    return [ORDER[sort].asc(), Issue.id.asc()]


def issue_detail(session: Session, project_id: int, issue_id: int,
                 days: int = TREND_DAYS) -> dict | None:
    issue = project_row(session, Issue, issue_id, project_id)
    if issue is None:
        return None
    rows = session.scalars(select(IssueReport).where(IssueReport.issue_id == issue_id)
                           .order_by(IssueReport.seen_at)).all()
    return {**_summary(issue), "trend": reports_per_day(session, [issue_id], days)[issue_id],
            "representative_report": issue.representative_report_id,
            "representative": json.loads(issue.representative),
            "report_ids": [r.report_id for r in rows],
            "breakdown": breakdown(session, issue_id)}

