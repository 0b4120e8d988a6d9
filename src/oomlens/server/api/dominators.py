"""A report's dominator tree, one level at a time: what the dashboard's explorer reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from oomlens.server.api.reports import own_report
from oomlens.server.api.responses import DominatorLevel, api_router
from oomlens.server.core.deps import ReadKey, ServicesDep, SessionDep
from oomlens.server.reports import dominator_levels

router = api_router("reports")


@router.get("/reports/{report_id}/dominators", response_model=DominatorLevel)
def dominator_children(report_id: str, c: ReadKey, s: SessionDep, svc: ServicesDep,
                       node: str = "root", offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=dominator_levels.MAX_PAGE)] =
                       dominator_levels.PAGE):
    """``node`` (``root``, the default, or an object id in hex) and its children in the
    dominator tree, biggest retained size first, ``limit`` (default 100, at most 1000) from
    the ``offset``-th on (of ``kept_children``): ``{"node", "children": [{"object", "class", "shallow_bytes",
    "retained_bytes", "percent", "has_children"}], "next_offset", "more"}``. Kept are the
    objects retaining at least 0.01% of the reachable heap (``threshold_bytes``) and the 100
    biggest children of each; on the last page (``next_offset`` null), ``more`` sums the
    children left out (``{"objects", "retained_bytes", "percent"}``, null when none was).
    Percentages are of the reachable heap (``reachable_bytes``)."""
    report = own_report(report_id, c, s)
    try:
        return dominator_levels.level(svc.store, report, node, offset, limit)
    except dominator_levels.BadNode as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except dominator_levels.NotAvailable as exc:
        raise HTTPException(409, str(exc)) from None
