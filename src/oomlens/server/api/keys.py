"""The project's API keys: list, create (the secret is in the answer, and nowhere else ever
after), revoke. All of it needs the project's admin key."""

from __future__ import annotations

from fastapi import HTTPException, Response
from pydantic import BaseModel

from oomlens.server.api.responses import KeyInfo, NewKeyInfo, api_router
from oomlens.server.core import keys
from oomlens.server.core.deps import AdminKey, SessionDep
from oomlens.server.core.models import ApiKey, Project

router = api_router("keys")


class NewKey(BaseModel):
    kind: str  # ingest, read or admin


@router.get("/keys", response_model=list[KeyInfo])
def list_keys(c: AdminKey, s: SessionDep):
    """Every key of the project, revoked ones too: kind, prefix, created_at, revoked_at."""
    return [keys.describe(k) for k in keys.project_keys(s, c.project_id)]


@router.post("/keys", status_code=201, response_model=NewKeyInfo)
def create_key(new: NewKey, c: AdminKey, s: SessionDep):
    """A new key of ``kind``; ``key`` in the answer is its secret, shown this once."""
    try:
        made = keys.create_key(s, s.get(Project, c.project_id), new.kind)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    s.commit()
    return {**keys.describe(s.get(ApiKey, made.id)), "key": made.secret}


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: int, c: AdminKey, s: SessionDep):
    """The key stops working at once, and so do the dashboard sessions opened with it."""
    try:
        revoked = keys.revoke(s, c.project_id, key_id)
    except keys.LastAdminKey as exc:
        raise HTTPException(409, str(exc)) from None
    if not revoked:
        raise HTTPException(404, "no such active key")
    s.commit()
    return Response(status_code=204)
