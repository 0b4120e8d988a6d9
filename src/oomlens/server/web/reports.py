"""The report page: one analysed dump of the viewer's project, section by section as its
``oomlens.report/1`` document says, with the dominator tree explorer and the downloads.

The explorer shows the root's children with the page; each expand asks for one node's children
(``/reports/{id}/dominators?node=``, an htmx fragment read from the tree the analysis kept).
Sections come in the order the report says to read them (``report.sections``: the OOM cause's
sections first, or for a dump taken at a threshold the capture's), and the capture (why the dump
was taken, what the agent measured) is shown in the same words as in the HTML report
(``report.capture_facts``), from the upload's sidecar even before the analysis is done.
The downloads are the API's (``/api/v1/reports/{id}/report`` and ``/dump``) for a browser, which
has a session cookie rather than a Bearer key.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from oomlens.analysis.trigger import capture_section
from oomlens.report.sections import TITLES as REPORT_TITLES
from oomlens.report.sections import section_order
from oomlens.server.core.deps import Services, ServicesDep, SessionDep
from oomlens.server.core.models import Report, project_row
from oomlens.server.reports import dominator_levels, download, mappings, queries as report_queries
from oomlens.server.web.render import page
from oomlens.server.web.sessions import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

# the page's sections (the dominator explorer stands for the report's top_retained)
SECTIONS = ("leaks", "library_leaks", "big_objects", "class_clusters", "bitmaps", "threads",
            "file_descriptors", "dominators", "histogram")
TITLES = {**REPORT_TITLES, "dominators": "Dominator tree"}


def _own(s: Session, v: Viewer, report_id: str) -> Report | None:
    return project_row(s, Report, report_id, v.project_id)


def _not_found(v: Viewer):
    """Another project's report answers as one that does not exist: no hint that it does."""
    return page("error.html", status=404, viewer=v, title="No such report",
                message="This project has no such report.")


def _no_file(v: Viewer, message: str):
    return page("error.html", status=409, viewer=v, title="Nothing to download", message=message)


def _tree_level(svc: Services, report: Report, node: str,
                offset: int = 0) -> tuple[dict | None, str | None]:
    """(a page of the level, None) or (None, why there is none to show)."""
    try:
        return dominator_levels.level(svc.store, report, node, offset), None
    except (dominator_levels.NotAvailable, dominator_levels.BadNode) as exc:
        return None, str(exc)


@router.get("/reports/{report_id}")
def report_page(report_id: str, v: ViewerDep, s: SessionDep, svc: ServicesDep):
    report = _own(s, v, report_id)
    if report is None:
        return _not_found(v)
    document = json.loads(report.report_json) if report.report_json else None
    tree, tree_error = _tree_level(svc, report, "root") if document else (None, None)
    row = report_queries.report_row(report)
    capture = _capture(document, row)
    return page("report.html", viewer=v, section="issues", report=row, meta=report,
                document=document, tree=tree, tree_error=tree_error, capture=capture,
                sections=section_order(document, SECTIONS) if document else [], titles=TITLES)


def _capture(document: dict | None, row: dict) -> dict | None:
    """The report's capture section: the analysis's, or before it (or for a document made
    before captures were kept) the same section made from the upload's sidecar."""
    if document and document.get("capture"):
        return document["capture"]
    return capture_section(row["capture"]) if row["capture"] else None


@router.get("/reports/{report_id}/dominators")
def dominator_level(report_id: str, v: ViewerDep, s: SessionDep, svc: ServicesDep,
                    node: str = "root", offset: Annotated[int, Query(ge=0)] = 0):
    """A page of one node's children as list items, for the explorer to put under that node
    (or in place of the "show more" item that asked for the page)."""
    report = _own(s, v, report_id)
    if report is None:
        return _not_found(v)
    tree, error = _tree_level(svc, report, node, offset)
    return page("report_dominators.html", status=200 if tree else 404, report_id=report.id,
                tree=tree, error=error)


@router.get("/reports/{report_id}/download/report.json")
def download_report(report_id: str, v: ViewerDep, s: SessionDep):
    report = _own(s, v, report_id)
    if report is None:
        return _not_found(v)
    if report.report_json is None:
        return _no_file(v, f"The report is {report.status}, not analysed yet.")
    return Response(report.report_json, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="oomlens-report-{report.id}.json"'})


@router.get("/reports/{report_id}/download/dump")
def download_dump(report_id: str, v: ViewerDep, s: SessionDep,
                  svc: ServicesDep,
                  as_format: Annotated[str, Query(alias="format",
                                                  pattern="^(hprof|gzip)$")] = "hprof"):
    """The restored, deobfuscated HPROF, made as the API makes it (``reports.download``)."""
    report = _own(s, v, report_id)
    if report is None:
        return _not_found(v)
    mapping = mappings.mapping_for(s, report)
    s.close()  # no transaction stays open while a large dump is made
    try:  # a sync endpoint: FastAPI runs it in a worker thread, off the event loop
        made = download.restored_dump(svc.store, report, mapping, svc.settings,
                                      gzipped=as_format == "gzip")
    except download.NotRestorable as exc:
        return _no_file(v, str(exc))
    return FileResponse(made.path, media_type=made.media_type, filename=made.filename,
                        background=BackgroundTask(made.remove))
