"""Where uploaded dumps and mappings are kept: any fsspec URL (a local folder by default).

A blob is written under a temporary name and moved to its key only once complete, so a crash
or a failed upload never leaves a half-written dump that a job could pick up. A process killed
while writing (SIGKILL mid-upload) leaves that temporary file, though: a starting server removes
those nobody has written to for a while (``sweep_partials``), so a crash loop does not fill the
disk with them.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import BinaryIO

import fsspec

from oomlens.errors import OomlensError


PARTIAL = ".partial"
# A temporary blob this long untouched belongs to no live writer: uploads and analyses write
# continuously, and a client that stalls this long has been timed out.
ABANDONED_AFTER_S = 3600


class StorageError(OomlensError):
    """The blob store could not be read or written (unavailable, full, permissions)."""


class BlobStore:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
            self.fs.makedirs(self.root, exist_ok=True)
        except (OSError, ValueError) as exc:
            raise StorageError(f"storage {url}: {exc}") from None

    def _path(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"bad blob key {key!r}")
        return f"{self.root}/{key}"

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Write the blob ``key``: visible under that key only when the block ends normally."""
        final = self._path(key)
        temp = f"{final}.{uuid.uuid4().hex}{PARTIAL}"
        try:
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            with self.fs.open(temp, "wb") as f:
                yield f
            self.fs.mv(temp, final)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                self.fs.rm(temp)
            if isinstance(exc, OSError):
                raise StorageError(f"storage: cannot write {key}: {exc}") from None
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self._path(key), "rb")
        except OSError as exc:
            raise StorageError(f"storage: cannot read {key}: {exc}") from None

    def exists(self, key: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(key)))
        except OSError as exc:
            raise StorageError(f"storage: cannot read {key}: {exc}") from None

    def size(self, key: str) -> int:
        try:
            return int(self.fs.size(self._path(key)))
        except OSError as exc:
            raise StorageError(f"storage: cannot read {key}: {exc}") from None

    def sweep_partials(self, older_than_s: float = ABANDONED_AFTER_S) -> int:
        """Remove the temporary blobs of writers that died (untouched for ``older_than_s``);
        returns how many. Other servers sharing the store may be writing theirs: only age
        tells a dead writer's file from a live one's."""
        cutoff = time.time() - older_than_s
        try:
            found = self.fs.find(self.root, detail=True)
        except OSError:
            return 0  # the store is away: the next start tries again
        removed = 0
        for path, info in found.items():
            modified = _modified(info)
            if path.endswith(PARTIAL) and modified is not None and modified < cutoff:
                with contextlib.suppress(OSError):
                    self.fs.rm(path)
                    removed += 1
        return removed

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._path(key))


def _modified(info: dict) -> float | None:
    """A store entry's modification time in seconds since the epoch (a local folder says
    ``mtime``, object stores ``LastModified`` or ``last_modified``), None when it says none."""
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) else None
