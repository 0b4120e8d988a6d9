"""A report's dump as a file any HPROF tool opens: what ``GET /api/v1/reports/{id}/dump`` sends.

What was uploaded may be gzip, zstd or ``oomlens strip``'s packed container, with array contents
emptied, and with the obfuscated names of an R8 build. VisualVM, MAT and Android Studio read none
of that, so the download is made in three steps, each the same code as its command: decompress
(under ``max_hprof_bytes``, as the analysis does), ``oomlens restore`` (emptied arrays get their
length back as zeros), and, when the report's version has a mapping, ``oomlens deobfuscate``.

It is all done in a job folder under the scratch root (``scratch``: a server killed while it
sends leaves it to the next start's sweep) that the caller removes once the file is sent; each
step deletes its input as soon as the next one has its output, so it holds at most two copies.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

from oomlens.errors import OomlensError
from oomlens.hprof.restore import restore_dump
from oomlens.retrace.apply import deobfuscate_dump
from oomlens.retrace.mapping import load_mapping
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.models import AppMapping, Report
from oomlens.server.core.scratch import JobFolder
from oomlens.server.core.storage import BlobStore, StorageError
from oomlens.server.core.workdir import without_paths
from oomlens.server.reports.decompress import decompressed_copy

# A person is waiting for the file: level 1 compresses HPROF three times faster than the
# default 6, for a file about an eighth larger.
GZIP_LEVEL = 1
COPY_CHUNK = 1 << 20


class NotRestorable(OomlensError):
    """The stored dump cannot be made into an HPROF file (the message says why)."""


@dataclass(frozen=True)
class Download:
    folder: JobFolder  # remove() deletes it, with the file
    path: Path
    filename: str
    media_type: str

    def remove(self) -> None:
        self.folder.remove()


def restored_dump(store: BlobStore, report: Report, mapping: AppMapping | None,
                  settings: ServerSettings, gzipped: bool = False) -> Download:
    """Make ``report``'s dump into a standard HPROF file (gzip-compressed with ``gzipped``)
    with the real names of ``mapping``; the caller calls ``remove()`` once it is sent.
    NotRestorable when the dump is not an HPROF, is too large, or the mapping does not fit."""
    max_hprof_bytes = settings.max_hprof_bytes
    folder = JobFolder(settings.scratch_dir, "download")
    work = folder.path
    names = {work / "uploaded.hprof": "the uploaded dump", work / "mapping.txt":
             f"the mapping of version {report.app_version}"}
    try:
        current = work / "uploaded.hprof"
        with store.open(report.dump_key) as source:
            decompressed_copy(source, report.dump_format, current, max_hprof_bytes)
        current = _step(current, work / "restored.hprof",
                        lambda src, dst: restore_dump(src, dst, max_bytes=max_hprof_bytes))
        if mapping is not None:
            with store.open(mapping.blob_key) as src, open(work / "mapping.txt", "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
            retrace = load_mapping(work / "mapping.txt")
            current = _step(current, work / "deobfuscated.hprof",
                            lambda src, dst: deobfuscate_dump(src, dst, retrace))
        filename = f"oomlens-report-{report.id}.hprof"
        if gzipped:
            current = _step(current, work / f"{filename}.gz", _gzip)
            return Download(folder, current, f"{filename}.gz", "application/gzip")
        return Download(folder, current, filename, "application/octet-stream")
    except StorageError:
        folder.remove()
        raise  # the store is down: a 503, not a verdict on the dump
    except OomlensError as exc:
        folder.remove()
        raise NotRestorable(without_paths(str(exc), work, names)) from None
    except BaseException:
        folder.remove()
        raise


def _step(source: Path, target: Path, make) -> Path:
    """``make(source, target)``, then drop ``source``: it is not needed any more."""
    make(source, target)
    source.unlink()
    return target


def _gzip(source: Path, target: Path) -> None:
    with open(source, "rb") as src, gzip.open(target, "wb", compresslevel=GZIP_LEVEL) as dst:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
