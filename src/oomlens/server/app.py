"""The server application (FastAPI): the API under /api/v1, OpenAPI at /docs, and in the same
process either the embedded job runner or, with a broker, the dispatcher of Celery tasks.

Every endpoint takes a project key (``Authorization: Bearer <key>``): an ingest key may upload,
a read key may read, and only its own project's data (``core.deps``).

A starting server sweeps the scratch root (``core.scratch``): what an analysis or a download of a
killed predecessor left there (a decompressed dump each) is removed before anything new starts.
"""

from __future__ import annotations

import contextlib
import sys

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from oomlens import __version__
from oomlens.server.api import dominators, issues, keys, mappings, ownership, reports, webhooks
from oomlens.server.api.responses import Health
from oomlens.server.core import db, scratch
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.deps import Services
from oomlens.server.core.limits import UploadLimit
from oomlens.server.core.storage import BlobStore, StorageError
from oomlens.server.core.validation import one_line_422
from oomlens.server.jobs.celery_mode import Dispatcher
from oomlens.server.jobs.local_runner import LocalRunner
from oomlens.server.notify.delivery import Notifier
from oomlens.server.web import issue as web_issue
from oomlens.server.web import issues as web_issues
from oomlens.server.web import overview as web_overview
from oomlens.server.web import pages as web
from oomlens.server.web import reports as web_reports
from oomlens.server.web import settings as web_settings


def create_app(settings: ServerSettings, run_jobs: bool = True) -> FastAPI:
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    services = Services(settings, engine, db.sessions(engine), BlobStore(settings.storage_url))
    runner = None
    if run_jobs:  # in-process analyses, or tasks for oomlens worker processes
        runner = Dispatcher(settings) if settings.broker_url else LocalRunner(settings)
    notifier = Notifier(services.sessions, settings.webhook_backoff_s)  # in every mode

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        scratch.sweep_at_start(settings.scratch_dir, "oomlens serve")
        if swept := services.store.sweep_partials():
            print(f"oomlens serve: removed {swept} unfinished upload(s) from the dump store",
                  file=sys.stderr)
        if runner:
            runner.start()
        notifier.start()
        yield
        notifier.stop()
        if runner:
            runner.stop()
        engine.dispose()

    app = FastAPI(title="oomlens", version=__version__, lifespan=lifespan,
                  description="Heap dumps in, OutOfMemoryError causes out.")
    app.state.services = services
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes)
    app.add_exception_handler(RequestValidationError, one_line_422)
    for module in (reports, dominators, mappings, issues, ownership, webhooks, keys):
        app.include_router(module.router)
    web.mount(app, [page.router for page in (web_issues, web_reports, web_issue,
                                             web_overview, web_settings)])

    @app.exception_handler(SQLAlchemyError)
    async def database_down(_request, _exc):
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503)

    @app.exception_handler(StorageError)
    async def storage_down(_request, _exc):
        return JSONResponse({"detail": "storage unavailable, retry later"}, status_code=503)

    @app.get("/api/v1/health", response_model=Health, response_class=JSONResponse)
    def health():
        return {"status": "ok", "version": __version__}

    return app
