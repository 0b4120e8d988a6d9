"""The project's ownership file (CODEOWNERS style), from which every issue gets its owner."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from oomlens.server.api.responses import OWNERSHIP_FILE, OwnershipStored, api_router
from oomlens.server.core.deps import AdminKey, ReadKey, SessionDep
from oomlens.server.core.models import Project
from oomlens.server.issues.owners import replace_ownership
from oomlens.server.issues.ownership import MAX_BYTES, OwnershipError

router = api_router("ownership")


@router.put("/ownership", response_model=OwnershipStored)
async def put_ownership(request: Request, c: AdminKey, s: SessionDep):
    """Replace the file (the request body, UTF-8 text); the owner of every issue of the project
    is recomputed with it. Answers how many rules it has and how many issues are owned."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise HTTPException(413, f"ownership file larger than {MAX_BYTES:,} bytes")

    def store() -> dict:
        counts = replace_ownership(s, c.project_id, bytes(body))
        s.commit()
        return counts

    try:
        return await run_in_threadpool(store)
    except OwnershipError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/ownership", response_class=PlainTextResponse, responses={200: OWNERSHIP_FILE})
def get_ownership(c: ReadKey, s: SessionDep):
    """The file as last stored (empty: nobody owns anything)."""
    return PlainTextResponse(s.get(Project, c.project_id).ownership or "")
