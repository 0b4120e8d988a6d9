"""Accepting an upload: check what arrived, store it, queue its analysis, answer with an id.

The checks that can be made on the first bytes are made before anything is stored: the file must
be an HPROF, gzip, zstd or packed heap dump, and the HPROF inside a compressed one must start
with the HPROF header; a declared decompressed size above the limit (zstd's frame header, the
packed container's trailer) is refused at once. The full decompression-bomb guard is in the
analysis, which stops decompressing at ``max_hprof_bytes`` and fails the report with the reason.

The capture's metadata (the ``trigger`` and ``capture`` form fields, docs/capture.md) comes from
an agent in somebody's app: it is checked like the dump, before anything is stored, through the
one sidecar reader everyone uses (``capture.sidecar``), and kept as that reader returned it.

The row in ``reports`` is committed (state ``queued``) only after the blob is complete in
storage, and the client's idempotency key is unique per project: a retry of an upload that was
stored returns the first report's id, and a retry of one that was not starts afresh.
"""

from __future__ import annotations

import io
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import zstandard
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from oomlens.capture.sidecar import TRIGGERS, BadSidecar, parse_sidecar, sidecar_json
from oomlens.errors import OomlensError
from oomlens.hprof import pack
from oomlens.hprof.constants import HEADER_PREFIX
from oomlens.hprof.source import compression_of
from oomlens.server.core.models import Report
from oomlens.server.core.storage import BlobStore
from oomlens.server.core.vocabulary import ReportStatus

CHUNK = 1 << 20
PROBE_BYTES = 64 << 10  # compressed bytes read to find the HPROF header inside


class UploadRejected(OomlensError):
    """The upload is not acceptable (the message says why); maps to a 4xx answer."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReportMetadata:
    app_version: str = ""
    build: str = ""
    device_model: str = ""
    os_version: str = ""
    api_level: int | None = None
    process: str = ""
    oom_message: str = ""
    heap_limit_bytes: int | None = None
    occurred_at: datetime | None = None
    mapping_id: str = ""
    trigger: str = ""  # one of capture.sidecar.TRIGGERS, or '' (none sent)
    capture: str = ""  # the checked sidecar as JSON, or '' (none sent)


def checked_capture(trigger: str, capture: str) -> tuple[str, str]:
    """The upload's ``trigger`` and ``capture`` fields as stored: (trigger, checked sidecar as
    JSON). A trigger alone is allowed (an upload that knows no more); with a capture, the
    trigger is the capture's, and one sent besides must agree with it."""
    if trigger and trigger not in TRIGGERS:
        raise UploadRejected(f"trigger must be one of {', '.join(TRIGGERS)}, or empty")
    if not capture:
        return trigger, ""
    try:
        sidecar = parse_sidecar(capture, "capture")
    except BadSidecar as exc:
        raise UploadRejected(str(exc)) from None
    if trigger and trigger != sidecar["trigger"]:
        raise UploadRejected(f"trigger {trigger} is not the capture's ({sidecar['trigger']})")
    return sidecar["trigger"], sidecar_json(sidecar)


def dump_format(head: bytes) -> str:
    """'hprof', 'gzip', 'zstd' or 'packed' from the first bytes; UploadRejected otherwise."""
    if head.startswith(HEADER_PREFIX):
        return "hprof"
    compression = compression_of(head)
    if compression is not None:
        return compression
    raise UploadRejected("not a heap dump: expected an HPROF file, plain or gzip/zstd-compressed, "
                         "or one packed by `oomlens strip`", 415)


def check_inner_header(head: bytes, fmt: str, max_hprof_bytes: int) -> None:
    """For a compressed upload, the HPROF header must be what its first bytes decompress to."""
    if fmt == "zstd":
        try:
            declared = zstandard.frame_content_size(head)
        except zstandard.ZstdError:
            raise UploadRejected("corrupt zstd stream") from None
        if declared > max_hprof_bytes:
            raise UploadRejected(f"the dump decompresses to {declared:,} bytes, more than this "
                                 f"server accepts ({max_hprof_bytes:,})", 413)
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(head))
            inner = reader.read(len(HEADER_PREFIX))
        except zstandard.ZstdError:
            raise UploadRejected("corrupt zstd stream") from None
    elif fmt == "gzip":
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, len(HEADER_PREFIX))
        except zlib.error:
            raise UploadRejected("corrupt gzip stream") from None
    else:
        return
    if not inner.startswith(HEADER_PREFIX):
        raise UploadRejected(f"the {fmt} stream does not hold an HPROF heap dump")


def check_packed_size(tail: bytes, max_hprof_bytes: int) -> None:
    (declared,) = pack.END.unpack(tail[-pack.END.size:])  # the container's trailer
    if declared > max_hprof_bytes:
        raise UploadRejected(f"the dump unpacks to {declared:,} bytes, more than this server "
                             f"accepts ({max_hprof_bytes:,})", 413)


def accept_upload(session: Session, store: BlobStore, project_id: int, idempotency_key: str,
                  body: BinaryIO, metadata: ReportMetadata, max_upload_bytes: int,
                  max_hprof_bytes: int) -> tuple[Report, bool]:
    """Store ``body`` and queue its analysis; returns (report, created). A known idempotency key
    returns the existing report without reading ``body``."""
    if not idempotency_key or len(idempotency_key) > 128:
        raise UploadRejected("an idempotency key (1-128 characters) is required", 400)
    existing = _by_key(session, project_id, idempotency_key)
    if existing is not None:
        return existing, False
    head = body.read(PROBE_BYTES)
    fmt = dump_format(head)
    check_inner_header(head, fmt, max_hprof_bytes)
    report_id = uuid.uuid4().hex
    key = f"{project_id}/reports/{report_id}.dump"
    size = 0
    last = b""
    with store.writer(key) as out:
        chunk = head
        while chunk:
            size += len(chunk)
            if size > max_upload_bytes:
                raise UploadRejected(f"upload larger than {max_upload_bytes:,} bytes", 413)
            out.write(chunk)
            last = (last + chunk)[-16:]
            chunk = body.read(CHUNK)
    try:
        if fmt == "packed":
            check_packed_size(last, max_hprof_bytes)
        if size < len(HEADER_PREFIX):
            raise UploadRejected("the upload is too short to be a heap dump")
    except UploadRejected:
        store.delete(key)
        raise
    report = Report(id=report_id, project_id=project_id, idempotency_key=idempotency_key,
                    status=ReportStatus.QUEUED, received_at=datetime.now(UTC), dump_key=key,
                    dump_bytes=size, dump_format=fmt, **metadata.__dict__)
    session.add(report)
    try:
        session.commit()
    except IntegrityError:  # the same key raced in from a concurrent retry: keep the first
        session.rollback()
        store.delete(key)
        existing = _by_key(session, project_id, idempotency_key)
        if existing is None:
            raise
        return existing, False
    except SQLAlchemyError:  # database unavailable: nothing half-written may stay behind
        session.rollback()
        store.delete(key)
        raise
    return report, True


def _by_key(session: Session, project_id: int, idempotency_key: str) -> Report | None:
    return session.scalar(select(Report).where(Report.project_id == project_id,
                                               Report.idempotency_key == idempotency_key))

