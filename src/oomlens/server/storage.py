"""Where uploaded dumps and mappings are kept: any fsspec URL (a local folder by default).

A blob is written under a temporary name and moved to its key only once complete, so a crash
or a failed upload never leaves a half-written dump that a job could pick up.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import BinaryIO

import fsspec

from oomlens.errors import OomlensError


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
        temp = f"{final}.{uuid.uuid4().hex}.partial"
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

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._path(key))
