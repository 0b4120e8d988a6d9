"""The HTTP API (FastAPI), versioned under /api/v1, OpenAPI at /docs.

Every endpoint takes a project key (``Authorization: Bearer <key>``): an ingest key may upload,
a read key may read, and only its own project's data.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from oomlens import __version__
from oomlens.server import db, issues_view, keys, mappings
from oomlens.server.ingest import ReportMetadata, UploadRejected, accept_upload
from oomlens.server.models import Report
from oomlens.server.runner import LocalRunner
from oomlens.server.settings import ServerSettings
from oomlens.server.storage import BlobStore, StorageError


def create_app(settings: ServerSettings, run_jobs: bool = True) -> FastAPI:
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    sessions = db.sessions(engine)
    store = BlobStore(settings.storage_url)
    runner = LocalRunner(settings) if run_jobs and not settings.broker_url else None

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        if runner:
            runner.start()
        yield
        if runner:
            runner.stop()
        engine.dispose()

    app = FastAPI(title="oomlens", version=__version__, lifespan=lifespan,
                  description="Heap dumps in, OutOfMemoryError causes out.")

    def session():
        with sessions() as s:
            yield s

    def caller(authorization: Annotated[str | None, Header()] = None,
               s=Depends(session)) -> keys.Caller:
        secret = authorization[7:] if authorization and authorization[:7].lower() == "bearer " \
            else None
        found = keys.authenticate(s, secret)
        if found is None:
            raise HTTPException(401, "a valid project key is required (Authorization: Bearer)")
        return found

    def reader(c: keys.Caller = Depends(caller)) -> keys.Caller:
        if c.kind != keys.READ:
            raise HTTPException(403, "this key may only upload")
        return c

    def ingester(c: keys.Caller = Depends(caller)) -> keys.Caller:
        if c.kind != keys.INGEST:
            raise HTTPException(403, "uploads need an ingest key")
        return c

    @app.exception_handler(SQLAlchemyError)
    async def database_down(_request, exc):
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503)

    @app.exception_handler(StorageError)
    async def storage_down(_request, exc):
        return JSONResponse({"detail": "storage unavailable, retry later"}, status_code=503)

    @app.post("/api/v1/reports", status_code=202)
    def upload_report(
        request: Request,
        dump: Annotated[UploadFile, File(description="HPROF, plain, gzip, zstd or packed")],
        idempotency_key: Annotated[str, Header()],
        c: keys.Caller = Depends(ingester),
        s=Depends(session),
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
            report, created = accept_upload(s, store, c.project_id, idempotency_key, dump.file,
                                            meta, settings.max_upload_bytes,
                                            settings.max_hprof_bytes)
        except UploadRejected as exc:
            raise HTTPException(exc.status, str(exc)) from None
        return JSONResponse({"id": report.id, "status": report.status, "created": created},
                            status_code=202)

    def own_report(report_id: str, c: keys.Caller, s) -> Report:
        report = s.get(Report, report_id)
        if report is None or report.project_id != c.project_id:
            raise HTTPException(404, "no such report")
        return report

    @app.get("/api/v1/reports/{report_id}")
    def get_report(report_id: str, c: keys.Caller = Depends(reader), s=Depends(session)):
        r = own_report(report_id, c, s)
        return {"id": r.id, "status": r.status, "error": r.error, "attempts": r.attempts,
                "received_at": r.received_at, "analysed_at": r.analysed_at,
                "app_version": r.app_version, "device_model": r.device_model,
                "oom_message": r.oom_message, "oom_cause": r.oom_cause,
                "dump_bytes": r.dump_bytes, "dump_format": r.dump_format}

    @app.get("/api/v1/reports/{report_id}/report")
    def get_report_document(report_id: str, c: keys.Caller = Depends(reader),
                            s=Depends(session)):
        r = own_report(report_id, c, s)
        if r.report_json is None:
            raise HTTPException(409, f"the report is {r.status}, not analysed yet")
        return Response(r.report_json, media_type="application/json")

    @app.put("/api/v1/mappings/{version}")
    async def put_mapping(version: str, request: Request, c: keys.Caller = Depends(ingester),
                          s=Depends(session)):
        """The ProGuard/R8 mapping of app version ``version`` (the request body): later
        analyses of that version are retraced, and earlier ones are analysed again."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_upload_bytes:
                raise HTTPException(413, f"mapping larger than {settings.max_upload_bytes:,} "
                                         "bytes")
        try:
            return await run_in_threadpool(mappings.store_mapping, s, store, c.project_id,
                                           version, bytes(body))
        except UploadRejected as exc:
            raise HTTPException(exc.status, str(exc)) from None

    @app.get("/api/v1/issues")
    def list_issues(c: keys.Caller = Depends(reader), s=Depends(session),
                    kind: str | None = None, status: str | None = None,
                    version: str | None = None):
        """The project's issues, most reports first, with counts over their reports."""
        return issues_view.list_issues(s, c.project_id, kind=kind, status=status,
                                       version=version)

    @app.get("/api/v1/issues/{issue_id}")
    def get_issue(issue_id: int, c: keys.Caller = Depends(reader), s=Depends(session)):
        found = issues_view.issue_detail(s, c.project_id, issue_id)
        if found is None:
            raise HTTPException(404, "no such issue")
        return found

    @app.get("/api/v1/health")
    def health():
        return {"status": "ok", "version": __version__}

    app.state.settings = settings
    return app

