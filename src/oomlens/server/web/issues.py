"""The issues page: one row per issue of the viewer's project, filtered, sorted and paged by the
database through the same ``issues.queries`` query as ``GET /api/v1/issues``.

Everything is in the URL (a GET form and links), so the page works without a script and any view
can be bookmarked; with htmx, the form and the links fetch and swap the results only (the
request says so with ``HX-Request``) and the address bar follows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from oomlens.errors import OomlensError
from oomlens.server.core.deps import SessionDep
from oomlens.server.core.vocabulary import FindingKind, IssueStatus
from oomlens.server.issues import queries as issue_queries
from oomlens.server.issues.ownership import UNOWNED_FILTER
from oomlens.server.web.render import page
from oomlens.server.web.sessions import ViewerDep
from oomlens.server.web.sparkline import sparkline

PAGE_SIZE = 50
KINDS = tuple(FindingKind)
TEXT_COLUMNS = ("title", "kind", "owner", "status")  # first click sorts these A to Z

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Column:
    key: str  # the sort key (issue_queries.ORDER), or "" when it cannot be sorted by
    label: str
    numeric: bool = False
    narrow: bool = True  # shown in a narrow window


COLUMNS = (Column("kind", "Kind"), Column("title", "Issue"), Column("owner", "Owner"),
           Column("status", "Status"), Column("reports", "Reports", numeric=True),
           Column("devices", "Devices", numeric=True, narrow=False),
           Column("versions", "Versions", narrow=False),
           Column("total_retained_bytes", "Total retained", numeric=True),
           Column("median_retained_bytes", "Median retained", numeric=True, narrow=False),
           Column("first_seen", "First seen", narrow=False), Column("last_seen", "Last seen"),
           Column("", "Reports per day"))


class BadQuery(OomlensError):
    """A hand-edited address the page cannot show (the message names the value)."""


def _day_or_instant(text: str, name: str, end: bool) -> datetime | None:
    """A form's date (the whole UTC day: ``end`` takes the next midnight, so both ends are
    included) or an ISO instant as the API takes it."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), UTC)
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: {text[:40]!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class ListQuery:
    """What the page shows, as its address says; "" is "any"."""

    q: str = ""
    kind: str = ""
    status: str = ""
    version: str = ""
    owner: str = ""
    since: str = ""
    until: str = ""
    sort: str = ""
    direction: str = "desc"
    page: int = 1

    @classmethod
    def parse(cls, params) -> ListQuery:
        values = {name: params.get(name, "").strip() for name in
                  ("q", "kind", "status", "version", "owner", "since", "until", "sort")}
        direction = params.get("direction") or "desc"
        if values["sort"] and values["sort"] not in issue_queries.SORTABLE:
            raise BadQuery(f"sort: one of {', '.join(issue_queries.SORTABLE)}")
        if direction not in ("asc", "desc"):
            raise BadQuery("direction: asc or desc")
        try:
            number = int(params.get("page") or 1)
        except ValueError:
            raise BadQuery("page: a number from 1") from None
        query = cls(**values, direction=direction, page=max(1, number))
        query.filters()  # bad dates are refused here, with the rest
        return query

    def filters(self) -> dict:
        """The filters, as ``issue_queries.matching`` takes them."""
        return {"q": self.q or None, "kind": self.kind or None, "status": self.status or None,
                "version": self.version or None, "owner": self.owner or None,
                "since": _day_or_instant(self.since, "since", end=False),
                "until": _day_or_instant(self.until, "until", end=True)}

    def href(self, **changes) -> str:
        """This view's address with ``changes``; empty and default values left out."""
        changed = replace(self, **changes)
        params = {name: value for name, value in vars(changed).items() if value}
        if params.get("direction") == "desc":
            del params["direction"]
        if params.get("page") == 1:
            del params["page"]
        return "/issues" + (f"?{urlencode(params)}" if params else "")

    def sorted_by(self, key: str) -> str | None:
        """The aria-sort of column ``key``: the default order is most reports first."""
        if self.sort == key or (not self.sort and key == "reports"):
            return "descending" if self.direction == "desc" else "ascending"
        return None

    def sort_href(self, key: str) -> str:
        """Sorting by ``key``: the other way round when it already is; text A to Z first."""
        current = self.sorted_by(key)
        if current:
            direction = "asc" if current == "descending" else "desc"
        else:
            direction = "asc" if key in TEXT_COLUMNS else "desc"
        return self.href(sort=key, direction=direction, page=1)


def versions_text(versions: list[str]) -> str:
    """A few versions in full, a long list as its range and length."""
    if len(versions) <= 3:
        return ", ".join(versions) or "–"
    return f"{versions[0]} … {versions[-1]} ({len(versions)})"


@router.get("/issues")
def issues_page(request: Request, v: ViewerDep, s: SessionDep):
    try:
        query = ListQuery.parse(request.query_params)
    except BadQuery as exc:
        return page("error.html", status=422, viewer=v, title="Cannot show these issues",
                    message=str(exc))
    filters = query.filters()
    total = issue_queries.count_issues(s, v.project_id, **filters)
    pages = max(1, -(-total // PAGE_SIZE))
    query = replace(query, page=min(query.page, pages))
    issues = issue_queries.list_issues(s, v.project_id, **filters, sort=query.sort or None,
                                       descending=query.direction == "desc", limit=PAGE_SIZE,
                                       offset=(query.page - 1) * PAGE_SIZE)
    context = {"viewer": v, "section": "issues", "query": query, "issues": issues,
               "total": total, "pages": pages, "first": (query.page - 1) * PAGE_SIZE + 1,
               "columns": COLUMNS, "sparkline": sparkline, "versions_text": versions_text}
    if request.headers.get("hx-request") and not request.headers.get(
            "hx-history-restore-request"):
        answer = page("issues_results.html", **context)
        answer.headers["HX-Push-Url"] = query.href()  # the tidy address, not the raw form
    else:
        answer = page("issues.html", **context, kinds=KINDS, statuses=tuple(IssueStatus),
                      owners=issue_queries.known_owners(s, v.project_id),
                      versions=issue_queries.known_versions(s, v.project_id),
                      unowned=UNOWNED_FILTER)
    answer.headers["Vary"] = "HX-Request"
    return answer
