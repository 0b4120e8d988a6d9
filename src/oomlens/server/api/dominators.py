"""A report's dominator tree, one level at a time: what the dashboard's explorer reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from oomlens.server.api.reports import own_report
from oomlens.server.core import keys
from oomlens.server.core.deps import Services, reader, services, session
from oomlens.server.reports import dominator_levels

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/reports/{report_id}/dominators")
def dominator_children(report_id: str, node: str = "root",
                       offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=dominator_levels.MAX_PAGE)] =
                       dominator_levels.PAGE,
                       c: keys.Caller = Depends(reader), s: Session = Depends(session),
                       svc: Services = Depends(services)):
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
