"""ProGuard/R8 mappings per app version."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from oomlens.server.api.responses import MappingInfo, MappingStored, api_router
from oomlens.server.core.deps import IngestKey, ReadKey, ServicesDep, SessionDep
from oomlens.server.reports import mappings
from oomlens.server.reports.ingest import UploadRejected

router = api_router("mappings")


@router.put("/mappings/{version}", response_model=MappingStored)
async def put_mapping(version: str, request: Request, c: IngestKey, s: SessionDep,
                      svc: ServicesDep):
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


@router.get("/mappings", response_model=list[MappingInfo])
def list_mappings(c: ReadKey, s: SessionDep):
    """The project's mappings (version, classes, uploaded_at), the latest upload first."""
    return mappings.list_mappings(s, c.project_id)
