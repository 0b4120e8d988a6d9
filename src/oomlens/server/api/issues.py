"""Issues: findings of many reports folded by signature."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from oomlens.server import issues_view, keys
from oomlens.server.deps import reader, session

router = APIRouter(prefix="/api/v1", tags=["issues"])


@router.get("/issues")
def list_issues(c: keys.Caller = Depends(reader), s: Session = Depends(session),
                kind: str | None = None, status: str | None = None,
                version: str | None = None):
    """The project's issues, most reports first, with counts over their reports."""
    return issues_view.list_issues(s, c.project_id, kind=kind, status=status, version=version)


@router.get("/issues/{issue_id}")
def get_issue(issue_id: int, c: keys.Caller = Depends(reader), s: Session = Depends(session)):
    found = issues_view.issue_detail(s, c.project_id, issue_id)
    if found is None:
        raise HTTPException(404, "no such issue")
    return found
