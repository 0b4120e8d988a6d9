"""One analysis job: fetch the stored dump, decompress it under a size limit, analyse it, store
the ``oomlens.report/1`` document. The same function runs in the embedded runner's child
processes and in Celery workers.

The capture that took the dump (its sidecar, or only the trigger the upload named) goes into the
analysis too: a dump taken at a threshold is reported as what crossed which limit, and the
reports' cause column says which threshold, since there was no OutOfMemoryError to classify.

The decompressed size is checked while decompressing (the decompression-bomb guard,
``reports.decompress``): a dump that grows past ``max_hprof_bytes`` fails with that reason before
it fills the disk.
"""

from __future__ import annotations

import json
import shutil

from oomlens.capture.sidecar import THRESHOLD_TRIGGERS
from oomlens.errors import OomlensError
from oomlens.server.core import db, queue, scratch
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.models import Report
from oomlens.server.core.storage import BlobStore, StorageError
from oomlens.server.core.workdir import without_paths
from oomlens.server.issues import fold
from oomlens.server.notify import outbox
from oomlens.server.reports import dominator_tree, mappings
from oomlens.server.reports.decompress import decompressed_copy


def capture_of(report: Report) -> dict | None:
    """The checked sidecar the upload carried; for a trigger sent alone, a sidecar of nothing
    but that trigger (still enough to say which sections to read first); None without either."""
    if report.capture:
        return json.loads(report.capture)  # checked when it was uploaded (ingest)
    return {"trigger": report.trigger} if report.trigger else None


def cause_of(document: dict) -> str:
    """The reports' cause column (the overview's chart, the API's ``cause`` filter): the OOM
    kind; for a dump taken at a threshold, that threshold's trigger."""
    trigger = (document.get("capture") or {}).get("trigger")
    if trigger in THRESHOLD_TRIGGERS:
        return trigger
    return (document.get("oom_cause") or {}).get("kind") or ""


def analyse_report(settings: ServerSettings, report_id: str) -> str:
    """Analyse the claimed report ``report_id``; returns its final state. Bad input fails the
    report with the reason; anything else propagates (the caller retries later)."""
    from oomlens import open_heap
    from oomlens.config import Settings
    from oomlens.report.document import build_report

    engine = db.make_engine(settings.database_url)
    sessions = db.sessions(engine)
    try:
        with sessions() as session:
            report = session.get(Report, report_id)
            if report is None:
                return "missing"
            store = BlobStore(settings.storage_url)
            # a folder a killed analysis leaves is removed by the next sweep (scratch)
            folder = scratch.JobFolder(settings.scratch_dir, "job")
            work = folder.path
            plain = work / "dump.hprof"
            names = {plain: "the uploaded dump",
                     work / "mapping.txt": f"the mapping of version {report.app_version}"}
            try:
                with store.open(report.dump_key) as source:
                    try:
                        decompressed_copy(source, report.dump_format, plain,
                                          settings.max_hprof_bytes)
                    except OomlensError as exc:
                        queue.fail(session, report_id, without_paths(str(exc), work, names))
                        return "failed"
                mapping = mappings.mapping_for(session, report)
                mapping_path = None
                if mapping is not None:
                    mapping_path = work / "mapping.txt"
                    with store.open(mapping.blob_key) as src, open(mapping_path, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                try:
                    with open_heap(plain, mapping=mapping_path) as heap:
                        document = build_report(heap, Settings(), report.oom_message or None,
                                                retrace=heap.retrace,
                                                capture=capture_of(report))
                        # for the dashboard's explorer, while the tree is in memory; a
                        # re-analysis replaces it
                        tree_key = dominator_tree.blob_key(report.project_id, report_id)
                        with store.writer(tree_key) as out:
                            dominator_tree.write(heap, out)
                except StorageError:
                    raise  # the store is down: retried later, not a verdict on the dump
                except OomlensError as exc:
                    queue.fail(session, report_id, without_paths(str(exc), work, names))
                    return "failed"
            finally:
                folder.remove()
            document["dump"]["file"] = f"report {report_id}"  # not the server's temp paths
            if document.get("retrace"):
                document["retrace"]["mapping"] = f"mapping of version {report.app_version}"
            cause = cause_of(document)
            # done, folded into issues and its notifications queued in one transaction: never
            # one without the others
            queue.finish(session, report_id, json.dumps(document), cause, commit=False)
            counted = outbox.counted_for(session, report)  # a re-fold does not notify them
            folded = fold.refold(session, report, document)
            outbox.record_fold(session, report, folded, counted)
            session.commit()
            return "done"
    finally:
        engine.dispose()
