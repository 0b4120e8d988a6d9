"""ProGuard/R8 mappings per app version: checked, stored, and applied to that version's reports.

A mapping that arrives after reports of its version were analysed queues them again, so their
findings, traces and signatures get the real names (and fold into the issues under them).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oomlens.errors import OomlensError
from oomlens.server.core import queue
from oomlens.server.core.models import AppMapping, Report
from oomlens.server.core.storage import BlobStore
from oomlens.server.core.vocabulary import ReportStatus
from oomlens.server.reports.ingest import UploadRejected


def _key(project_id: int, version: str) -> str:
    return f"{project_id}/mappings/{hashlib.sha256(version.encode()).hexdigest()[:24]}.txt"


def store_mapping(session: Session, store: BlobStore, project_id: int, version: str,
                  body: bytes) -> dict:
    """Check that ``body`` is a mapping file, store it as ``version``'s, queue that version's
    analysed reports again. Returns what was done."""
    from oomlens.retrace.mapping import mapping_from_bytes

    if not version or len(version) > 100:
        raise UploadRejected("the version must be 1-100 characters", 400)
    try:  # from memory: no file to leave behind
        parsed = mapping_from_bytes(body, "the mapping")
    except OomlensError as exc:
        raise UploadRejected(str(exc)) from None
    key = _key(project_id, version)
    with store.writer(key) as out:
        out.write(body)
    row = session.scalar(select(AppMapping).where(AppMapping.project_id == project_id,
                                                  AppMapping.version == version))
    if row is None:
        row = AppMapping(project_id=project_id, version=version, blob_key=key)
        session.add(row)
    row.classes = len(parsed.classes)
    row.uploaded_at = datetime.now(UTC)
    requeued = queue.requeue(session, Report.project_id == project_id,
                             Report.app_version == version,
                             Report.status.in_((ReportStatus.DONE, ReportStatus.FAILED)))
    session.commit()
    return {"version": version, "classes": row.classes, "requeued_reports": requeued}


def too_large(limit: int) -> UploadRejected:
    """The refusal of a mapping over the upload limit, however it was sent."""
    return UploadRejected(f"mapping larger than {limit:,} bytes", 413)


def list_mappings(session: Session, project_id: int) -> list[dict]:
    """The project's mappings, the latest upload first."""
    rows = session.scalars(select(AppMapping).where(AppMapping.project_id == project_id)
                           .order_by(AppMapping.uploaded_at.desc(), AppMapping.version))
    return [{"version": m.version, "classes": m.classes, "uploaded_at": m.uploaded_at}
            for m in rows]


def mapping_for(session: Session, report: Report) -> AppMapping | None:
    if not report.app_version:
        return None
    return session.scalar(select(AppMapping).where(AppMapping.project_id == report.project_id,
                                                   AppMapping.version == report.app_version))
