"""The issues page: one row per issue of the viewer's project."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from oomlens.server import issues_view
from oomlens.server.deps import session as db_session
from oomlens.server.web.render import page
from oomlens.server.web.sessions import Viewer, viewer

router = APIRouter(include_in_schema=False)


@router.get("/issues")
def issues_page(v: Viewer = Depends(viewer), s: Session = Depends(db_session)):
    found = issues_view.list_issues(s, v.project_id)
    return page("issues.html", viewer=v, section="issues", issues=found)
