"""Reports: upload a dump (``POST``), list them, read one's state, its ``oomlens.report/1``
document, and its dump as an HPROF file other tools open."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import File, Form, Header, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from oomlens.server.api.responses import (DUMP_FILE, REPORT_DOCUMENT, ReportPage, ReportRow,
                                          UploadAccepted, api_router)
from oomlens.server.core import keys
from oomlens.server.core.deps import IngestKey, ReadKey, ServicesDep, SessionDep
from oomlens.server.core.models import Report, project_row
from oomlens.server.reports import download, mappings, queries as report_queries
from oomlens.server.reports.ingest import (ReportMetadata, UploadRejected, accept_upload,
                                           checked_capture)

router = api_router("reports")


@router.post("/reports", status_code=202, response_model=UploadAccepted)
def upload_report(
    dump: Annotated[UploadFile, File(description="HPROF, plain, gzip, zstd or packed")],
    idempotency_key: Annotated[str, Header()],
    c: IngestKey,
    s: SessionDep,
    svc: ServicesDep,
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
    trigger: Annotated[str, Form(description="oom, heap-threshold, thread-threshold, "
                                             "fd-threshold, or empty")] = "",
    capture: Annotated[str, Form(description="The capture's sidecar, JSON "
                                             "(docs/capture.md)")] = "",
):
    try:
        trigger, capture = checked_capture(trigger, capture)
        meta = ReportMetadata(app_version[:100], build[:100], device_model[:200],
                              os_version[:100], api_level, process[:200], oom_message[:10_000],
                              heap_limit_bytes, occurred_at, mapping_id[:100], trigger, capture)
        report, created = accept_upload(s, svc.store, c.project_id, idempotency_key, dump.file,
                                        meta, svc.settings.max_upload_bytes,
                                        svc.settings.max_hprof_bytes)
    except UploadRejected as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"id": report.id, "status": report.status, "created": created}


def own_report(report_id: str, c: keys.Caller, s: Session) -> Report:
    """The caller's project's report ``report_id``; 404 for any other (no hint that it
    exists in another project)."""
    report = project_row(s, Report, report_id, c.project_id)
    if report is None:
        raise HTTPException(404, "no such report")
    return report


@router.get("/reports", response_model=ReportPage)
def list_reports(c: ReadKey, s: SessionDep, version: str | None = None, device: str | None = None,
                 cause: str | None = None, status: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = report_queries.DEFAULT_PAGE,
                 cursor: str | None = None):
    """The project's reports, newest first, a page at a time: ``{"reports": [...], "next"}``;
    pass ``next`` as ``cursor`` for the following page (null: that was the last). Filters:
    app ``version``, ``device`` model, OOM ``cause`` kind, ``status``, and received time
    ``since`` (included) and ``until`` (excluded), ISO 8601, UTC when no zone is given."""
    where = report_queries.ReportFilter(version, device, cause, status, since, until)
    try:
        return report_queries.list_reports(s, c.project_id, where, limit, cursor)
    except report_queries.BadQuery as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/reports/{report_id}", response_model=ReportRow)
def get_report(report_id: str, c: ReadKey, s: SessionDep):
    return report_queries.report_row(own_report(report_id, c, s))


@router.get("/reports/{report_id}/report", response_class=Response,
            responses={200: REPORT_DOCUMENT})
def get_report_document(report_id: str, c: ReadKey, s: SessionDep):
    r = own_report(report_id, c, s)
    if r.report_json is None:
        raise HTTPException(409, f"the report is {r.status}, not analysed yet")
    return Response(r.report_json, media_type="application/json")


@router.get("/reports/{report_id}/dump", response_class=FileResponse, responses={200: DUMP_FILE})
def get_dump(report_id: str, c: ReadKey, s: SessionDep, svc: ServicesDep,
             as_format: Annotated[str, Query(alias="format", pattern="^(hprof|gzip)$")] = "hprof"):
    """The report's dump as a standard HPROF file, whatever was uploaded: decompressed, with
    what ``oomlens strip`` emptied refilled (as zeros) and, when its version has a mapping,
    the real class, field and frame names. ``format=gzip`` sends it gzip-compressed."""
    r = own_report(report_id, c, s)
    mapping = mappings.mapping_for(s, r)
    s.close()  # what is needed is read: no transaction stays open while a large dump is made
    try:  # a sync endpoint: FastAPI runs it in a worker thread, off the event loop
        made = download.restored_dump(svc.store, r, mapping, svc.settings,
                                      gzipped=as_format == "gzip")
    except download.NotRestorable as exc:
        raise HTTPException(409, str(exc)) from None
    return FileResponse(made.path, media_type=made.media_type, filename=made.filename,
                        background=BackgroundTask(made.remove))
