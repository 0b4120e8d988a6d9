"""Issues as the API shows them: each with counts computed from the reports it was seen in."""

from __future__ import annotations

import json
import statistics

from sqlalchemy import select
from sqlalchemy.orm import Session

from oomlens.server.models import Issue, IssueReport


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
            "median_retained_bytes": int(statistics.median(sizes)) if sizes else 0}


def list_issues(session: Session, project_id: int, kind: str | None = None,
                status: str | None = None, version: str | None = None) -> list[dict]:
    query = select(Issue).where(Issue.project_id == project_id)
    if kind:
        query = query.where(Issue.kind == kind)
    if status:
        query = query.where(Issue.status == status)
    if version:
        query = query.where(Issue.id.in_(select(IssueReport.issue_id)
                                         .where(IssueReport.app_version == version)))
    issues = session.scalars(query).all()
    rows: dict[int, list[IssueReport]] = {i.id: [] for i in issues}
    if issues:
        for r in session.scalars(select(IssueReport).where(IssueReport.issue_id.in_(rows))):
            rows[r.issue_id].append(r)
    out = [_summary(i, rows[i.id]) for i in issues]
    out.sort(key=lambda d: (-d["reports"], -d["total_retained_bytes"], d["id"]))
    return out


def issue_detail(session: Session, project_id: int, issue_id: int) -> dict | None:
    issue = session.get(Issue, issue_id)
    if issue is None or issue.project_id != project_id:
        return None
    rows = session.scalars(select(IssueReport).where(IssueReport.issue_id == issue_id)
                           .order_by(IssueReport.seen_at)).all()
    return {**_summary(issue, rows), "representative_report": issue.representative_report_id,
            "representative": json.loads(issue.representative),
            "report_ids": [r.report_id for r in rows]}

