"""Issues: findings of many reports folded by signature; their reports; their status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Response
from pydantic import BaseModel

from oomlens.server.api.responses import IssueDetail, IssueReportPage, IssueSummary, api_router
from oomlens.server.core.deps import AdminKey, ReadKey, SessionDep
from oomlens.server.core.models import Issue, project_row
from oomlens.server.issues import queries as issue_queries, status as issue_status
from oomlens.server.issues.trends import MAX_DAYS
from oomlens.server.reports import queries as report_queries

TrendDays = Annotated[int, Query(ge=1, le=MAX_DAYS, description="days of the trend")]

router = api_router("issues")


@router.get("/issues", response_model=list[IssueSummary])
def list_issues(response: Response, c: ReadKey, s: SessionDep, kind: str | None = None,
                status: str | None = None, version: str | None = None, owner: str | None = None,
                since: datetime | None = None, until: datetime | None = None, q: str | None = None,
                sort: Literal[issue_queries.SORTABLE] | None = None,
                direction: Literal["asc", "desc"] = "desc",
                days: TrendDays = issue_queries.TREND_DAYS,
                limit: Annotated[int | None, Query(ge=1, le=issue_queries.MAX_LIMIT)] = None,
                offset: Annotated[int, Query(ge=0)] = 0):
    """The project's issues, most reports first, with counts over their reports; ``owner``:
    those it is one of the owners of, ``-`` for the unowned ones. ``since``/``until``: last
    seen in [since, until); ``q``: part of the title or signature (a class name), any case;
    ``sort`` by a column, ``direction`` asc or desc; ``trend``: reports on each of the last
    ``days`` UTC days, oldest first. ``limit`` (none: all) issues after the first ``offset``;
    the ``X-Total-Count`` header says how many match in all."""
    filters = {"kind": kind, "status": status, "version": version, "owner": owner,
               "since": since, "until": until, "q": q}
    found = issue_queries.list_issues(s, c.project_id, **filters, sort=sort,
                                      descending=direction == "desc", days=days, limit=limit,
                                      offset=offset)
    total = len(found) if limit is None and not offset else \
        issue_queries.count_issues(s, c.project_id, **filters)
    response.headers["X-Total-Count"] = str(total)
    return found


@router.get("/issues/{issue_id}", response_model=IssueDetail)
def get_issue(issue_id: int, c: ReadKey, s: SessionDep, days: TrendDays = issue_queries.TREND_DAYS):
    found = issue_queries.issue_detail(s, c.project_id, issue_id, days)
    if found is None:
        raise HTTPException(404, "no such issue")
    return found


@router.get("/issues/{issue_id}/reports", response_model=IssueReportPage)
def get_issue_reports(issue_id: int, c: ReadKey, s: SessionDep,
                      limit: int = report_queries.DEFAULT_PAGE, cursor: str | None = None):
    """The reports the issue was seen in, newest first, a page at a time (as ``GET
    /reports``), each with ``retained_bytes``: what the finding retained in that report."""
    try:
        found = report_queries.issue_reports(s, c.project_id, issue_id, limit, cursor)
    except report_queries.BadQuery as exc:
        raise HTTPException(422, str(exc)) from None
    if found is None:
        raise HTTPException(404, "no such issue")
    return found


class StatusChange(BaseModel):
    status: str  # open, fixed or ignored
    fixed_in_version: str | None = None  # with fixed: the version that has the fix


@router.patch("/issues/{issue_id}", response_model=IssueDetail)
def patch_issue(issue_id: int, change: StatusChange, c: AdminKey, s: SessionDep):
    """Mark the issue open, fixed in a version (re-opened by a report of a later version), or
    ignored (stays so). Needs the admin key. Answers with the issue."""
    issue = project_row(s, Issue, issue_id, c.project_id)
    if issue is None:
        raise HTTPException(404, "no such issue")
    try:
        issue_status.change_status(issue, change.status, change.fixed_in_version)
    except issue_status.BadStatus as exc:
        raise HTTPException(422, str(exc)) from None
    s.commit()
    return issue_queries.issue_detail(s, c.project_id, issue_id)
