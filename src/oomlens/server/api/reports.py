"""Reports: upload a dump (``POST``), read its state and its ``oomlens.report/1`` document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from oomlens.server import keys
from oomlens.server.deps import Services, ingester, reader, services, session
from oomlens.server.ingest import ReportMetadata, UploadRejected, accept_upload
from oomlens.server.models import Report

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.post("/reports", status_code=202)
def upload_report(
    dump: Annotated[UploadFile, File(description="HPROF, plain, gzip, zstd or packed")],
    idempotency_key: Annotated[str, Header()],
    c: keys.Caller = Depends(ingester),
    s: Session = Depends(session),
    svc: Services = Depends(services),
    app_version: Annotated[str, Form()] = "",
    build: Annotated[str, Form()] = "",
    device_model: Annotated[str, Form()] = "",
    os_version: Annotated[str, Form()] = "",
    api_level: Annotated[int | None, Form()] = None,
    process: Annotated[str, Form()] = "",
    oom_message: Annotated[str, Form()] = "",
    heap_limit_bytes: Annotated[int | None, Form()] = None,
    occurred_at: Annotated[datetime | None, Form()] = None,
    mapping_id: Annotated[str, Form()] = "",
):
    meta = ReportMetadata(app_version[:100], build[:100], device_model[:200],
                          os_version[:100], api_level, process[:200], oom_message[:10_000],
                          heap_limit_bytes, occurred_at, mapping_id[:100])
    try:
        report, created = accept_upload(s, svc.store, c.project_id, idempotency_key, dump.file,
                                        meta, svc.settings.max_upload_bytes,
                                        svc.settings.max_hprof_bytes)
    except UploadRejected as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return JSONResponse({"id": report.id, "status": report.status, "created": created},
                        status_code=202)


def own_report(report_id: str, c: keys.Caller, s: Session) -> Report:
    """The caller's project's report ``report_id``; 404 for any other (no hint that it
    exists in another project)."""
    report = s.get(Report, report_id)
    if report is None or report.project_id != c.project_id:
        raise HTTPException(404, "no such report")
    return report


@router.get("/reports/{report_id}")
def get_report(report_id: str, c: keys.Caller = Depends(reader), s: Session = Depends(session)):
    r = own_report(report_id, c, s)
    return {"id": r.id, "status": r.status, "error": r.error, "attempts": r.attempts,
            "received_at": r.received_at, "analysed_at": r.analysed_at,
            "app_version": r.app_version, "device_model": r.device_model,
            "oom_message": r.oom_message, "oom_cause": r.oom_cause,
            "dump_bytes": r.dump_bytes, "dump_format": r.dump_format}


@router.get("/reports/{report_id}/report")
def get_report_document(report_id: str, c: keys.Caller = Depends(reader),
                        s: Session = Depends(session)):
    r = own_report(report_id, c, s)
    if r.report_json is None:
        raise HTTPException(409, f"the report is {r.status}, not analysed yet")
    return Response(r.report_json, media_type="application/json")
