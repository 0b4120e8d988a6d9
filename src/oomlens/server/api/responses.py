"""What each /api/v1 route answers, as Pydantic models: /docs shows them, and FastAPI checks every
answer against its model before it is sent.

The JSON is what the routes answered before they had models, byte for byte: fields in the same
order, times as Python writes them (``2026-03-01T12:00:00+00:00``, not Pydantic's ``...Z``), and
the routes' answers written by ``JSONResponse`` (``json.dumps``), not by Pydantic's own JSON
writer, which FastAPI uses for a route with a model unless told otherwise and which writes some
floats differently (``1e-5`` for ``1e-05``). Hence ``api_router()``, which every API module
makes its router with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from oomlens.server.core.vocabulary import (DeliveryState, FindingKind, IssueStatus, KeyKind,
                                           ReportStatus)

# A time as datetime.isoformat() writes it; a naive one (SQLite's) is UTC.
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str,
                                                when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


def api_router(tag: str) -> APIRouter:
    """The router of one resource under /api/v1, answering through ``JSONResponse``."""
    return APIRouter(prefix="/api/v1", tags=[tag], default_response_class=JSONResponse)


class Answer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# -- reports ------------------------------------------------------------------------------------

class ReportRow(Answer):
    """A report: its state, what was uploaded with it and what its analysis found the cause."""

    id: str
    status: ReportStatus
    error: str = Field(description="Why it failed or died; empty otherwise.")
    attempts: int
    received_at: Timestamp
    analysed_at: Timestamp | None
    app_version: str
    device_model: str
    oom_message: str
    oom_cause: str = Field(description="The OOM cause kind, or the threshold a capture crossed.")
    dump_bytes: int
    dump_format: str = Field(description="hprof, gzip, zstd or packed, as uploaded.")
    trigger: str = Field(description="The capture's trigger; empty when none was sent.")
    capture: dict[str, Any] | None = Field(
        description="The capture's sidecar as checked at upload (docs/capture.md).")


class ReportPage(Answer):
    reports: list[ReportRow]
    next: str | None = Field(description="The cursor of the following page; null: the last.")


class IssueReportRow(ReportRow):
    retained_bytes: int = Field(description="What the issue's finding retained in this report.")


class IssueReportPage(Answer):
    reports: list[IssueReportRow]
    next: str | None


class UploadAccepted(Answer):
    id: str
    status: ReportStatus
    created: bool = Field(description="False: the idempotency key was known, this is that "
                                      "report.")


REPORT_DOCUMENT = {
    "description": "The report's oomlens.report/1 document: its JSON schema is "
                   "src/oomlens/report/schema/report-1.json, described in docs/report-format.md.",
    "content": {"application/json": {"schema": {
        "type": "object", "title": "oomlens.report/1",
        "description": "See src/oomlens/report/schema/report-1.json."}}}}
DUMP_FILE = {
    "description": "A standard HPROF file (gzip-compressed with format=gzip).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "application/gzip": {"schema": {"type": "string", "format": "binary"}}}}


class DominatorNode(Answer):
    object: str
    class_: str = Field(alias="class")
    shallow_bytes: int
    retained_bytes: int
    percent: float = Field(description="Of the reachable heap.")
    has_children: bool


class LeftOut(Answer):
    """The children of a node that the kept tree leaves out, summed."""

    objects: int
    retained_bytes: int
    percent: float


class DominatorLevel(Answer):
    report: str
    reachable_bytes: int
    threshold_bytes: int = Field(description="What an object must retain to be kept.")
    node: DominatorNode
    kept_children: int
    offset: int
    children: list[DominatorNode]
    next_offset: int | None
    more: LeftOut | None


# -- issues -------------------------------------------------------------------------------------

class Trend(Answer):
    from_: str = Field(alias="from", description="The first day, ISO 8601.")
    to: str
    reports_per_day: list[int]


class IssueSummary(Answer):
    id: int
    kind: FindingKind
    signature: str
    title: str
    status: IssueStatus
    fixed_in_version: str | None
    regressed_at: Timestamp | None
    first_seen: Timestamp
    last_seen: Timestamp
    reports: int
    devices: int
    versions: list[str]
    total_retained_bytes: int
    median_retained_bytes: int
    owner: str | None = Field(description="The ownership rule's owners, space-separated.")
    unowned: bool
    trend: Trend


class VersionCount(Answer):
    version: str
    reports: int


class DeviceCount(Answer):
    device_model: str
    reports: int


class OsLevelCount(Answer):
    os_version: str
    api_level: int | None
    reports: int


class TriggerCount(Answer):
    trigger: str
    reports: int


class HistogramBin(Answer):
    from_: int = Field(alias="from")
    to: int
    reports: int


class Breakdown(Answer):
    versions: list[VersionCount]
    devices: list[DeviceCount]
    os_levels: list[OsLevelCount]
    triggers: list[TriggerCount]
    retained_histogram: list[HistogramBin]


class IssueDetail(IssueSummary):
    representative_report: str
    representative: dict[str, Any] = Field(
        description="The finding of the report where it retained the most (its trace, for a "
                    "leak), as in the report document.")
    report_ids: list[str]
    breakdown: Breakdown


# -- the project --------------------------------------------------------------------------------

class KeyInfo(Answer):
    id: int
    kind: KeyKind
    prefix: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class NewKeyInfo(KeyInfo):
    key: str = Field(description="The key itself: shown in this answer only.")


class MappingInfo(Answer):
    version: str
    classes: int
    uploaded_at: Timestamp


class MappingStored(Answer):
    version: str
    classes: int
    requeued_reports: int


class OwnershipStored(Answer):
    rules: int
    issues: int
    owned: int
    unowned: int


OWNERSHIP_FILE = {"description": "The ownership file, as last stored.",
                  "content": {"text/plain": {"schema": {"type": "string"}}}}


class WebhookInfo(Answer):
    id: int
    url: str
    format: str
    events: list[str]
    created_at: Timestamp


class NewWebhookInfo(WebhookInfo):
    secret: str = Field(description="The signing secret: shown in this answer only.")


class TestQueued(Answer):
    delivery_id: int
    state: DeliveryState


class Delivery(Answer):
    id: int
    event: str
    issue_id: int | None
    report_id: str | None
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str
    created_at: Timestamp
    sent_at: Timestamp | None
    next_attempt_at: Timestamp | None


class Health(Answer):
    status: str
    version: str
