"""ProGuard/R8 mappings per app version."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oomlens.server.core import keys
from oomlens.server.core.deps import Services, ingester, reader, services, session
from oomlens.server.reports import mappings
from oomlens.server.reports.ingest import UploadRejected

router = APIRouter(prefix="/api/v1", tags=["mappings"])


@router.put("/mappings/{version}")
async def put_mapping(version: str, request: Request, c: keys.Caller = Depends(ingester),
                      s: Session = Depends(session), svc: Services = Depends(services)):
    """The ProGuard/R8 mapping of app version ``version`` (the request body): later analyses
    of that version are retraced, and earlier ones are analysed again."""
    limit = svc.settings.max_upload_bytes
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise mappings.too_large(limit)
        return await run_in_threadpool(mappings.store_mapping, s, svc.store, c.project_id,
                                       version, bytes(body))
    except UploadRejected as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/mappings")
def list_mappings(c: keys.Caller = Depends(reader), s: Session = Depends(session)):
    """The project's mappings (version, classes, uploaded_at), the latest upload first."""
    return mappings.list_mappings(s, c.project_id)
