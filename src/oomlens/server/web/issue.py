"""The issue page: one issue of the viewer's project, with its representative trace, where and how
often it was seen, its status (which an admin changes here) and its reports.

The status form works as a plain form (the answer is a redirect back to the page) and through
htmx, which swaps only the status part; both go through ``sessions.admin_form`` (an admin, and
the session's CSRF token).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from oomlens.server.core.deps import SessionDep
from oomlens.server.core.models import Issue, project_row
from oomlens.server.issues import queries as issue_queries, status as issue_status
from oomlens.server.reports import queries as report_queries
from oomlens.server.web.issue_charts import issue_charts
from oomlens.server.web.render import page
from oomlens.server.web.sessions import AdminViewer, Viewer, ViewerDep

REPORTS_PAGE = 25

router = APIRouter(include_in_schema=False)


def _not_found(v: Viewer):
    """Another project's issue answers as one that does not exist: no hint that it does."""
    return page("error.html", status=404, viewer=v, title="No such issue",
                message="This project has no such issue.")


def _bad_cursor(v: Viewer, exc: report_queries.BadQuery):
    return page("error.html", status=422, viewer=v, title="Bad page of reports",
                message=str(exc))


@router.get("/issues/{issue_id:int}")
def issue_page(issue_id: int, v: ViewerDep, s: SessionDep, cursor: str | None = None,
               limit: int = REPORTS_PAGE):
    detail = issue_queries.issue_detail(s, v.project_id, issue_id)
    if detail is None:
        return _not_found(v)
    try:
        reports = report_queries.issue_reports(s, v.project_id, issue_id, limit, cursor)
    except report_queries.BadQuery as exc:
        return _bad_cursor(v, exc)
    return _whole_page(v, detail, reports, cursor, limit)


def _whole_page(v: Viewer, detail: dict, reports: dict, cursor: str | None,
                limit: int = REPORTS_PAGE, status_error: str | None = None):
    """The page; with ``status_error`` (a refused change sent without htmx) a 422 saying why."""
    return page("issue.html", status=422 if status_error else 200, viewer=v, section="issues",
                issue=detail, charts=issue_charts(detail), reports=reports, cursor=cursor,
                limit=limit, status_error=status_error)


@router.get("/issues/{issue_id:int}/reports")
def issue_reports_part(issue_id: int, v: ViewerDep, s: SessionDep, cursor: str | None = None,
                       limit: int = REPORTS_PAGE):
    """The reports table alone, for htmx's "older reports" (the link works without it too)."""
    issue = project_row(s, Issue, issue_id, v.project_id)
    if issue is None:
        return _not_found(v)
    try:
        reports = report_queries.issue_reports(s, v.project_id, issue_id, limit, cursor)
    except report_queries.BadQuery as exc:
        return _bad_cursor(v, exc)
    return page("issue_reports.html", viewer=v, issue=issue, reports=reports, cursor=cursor,
                limit=limit)


@router.post("/issues/{issue_id:int}/status")
def change_status(request: Request, issue_id: int, v: AdminViewer, s: SessionDep,
                  status: Annotated[str, Form()] = "",
                  fixed_in_version: Annotated[str, Form()] = ""):
    """Ignore, re-open, or mark fixed in a version. htmx gets the new status part; a plain
    form is sent back to the page. A change that cannot be made is 422, with the reason shown
    beside the form."""
    issue = project_row(s, Issue, issue_id, v.project_id)
    if issue is None:
        return _not_found(v)
    error = None
    try:
        issue_status.change_status(issue, status, fixed_in_version or None)
        s.commit()
    except issue_status.BadStatus as exc:  # raised before anything changed
        error = str(exc)
    htmx = bool(request.headers.get("hx-request"))
    if error is None and not htmx:
        return RedirectResponse(f"/issues/{issue_id}#status", status_code=303)
    detail = issue_queries.issue_detail(s, v.project_id, issue_id)
    if htmx:
        return page("issue_status.html", status=422 if error else 200, viewer=v, issue=detail,
                    status_error=error)
    return _whole_page(v, detail, report_queries.issue_reports(s, v.project_id, issue_id,
                                                             REPORTS_PAGE), None,
                       status_error=error)
