"""A stored dump as a plain HPROF file, under the server's size limit: what the analysis and the
download start from.

An upload may be gzip, zstd or packed; its decompressed size is checked while decompressing (the
decompression-bomb guard): a dump that grows past ``max_hprof_bytes`` stops with ``TooBig``
before it fills the disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from oomlens.errors import OomlensError
from oomlens.hprof.source import copy_decompressed


class TooBig(OomlensError):
    pass


class _LimitedFile:
    """A file that refuses to grow past ``limit`` bytes."""

    def __init__(self, f: BinaryIO, limit: int):
        self.f, self.limit, self.written = f, limit, 0

    def write(self, data) -> int:
        self.written += len(data)
        if self.written > self.limit:
            raise TooBig(f"the dump decompresses to more than {self.limit:,} bytes, the limit "
                         "of this server (OOMLENS_MAX_HPROF_MB)")
        return self.f.write(data)


def decompressed_copy(source: BinaryIO, fmt: str, target: Path, limit: int) -> None:
    """Write the plain HPROF of ``source`` (as ``fmt``: hprof, gzip, zstd, packed) to
    ``target``, at most ``limit`` bytes of it."""
    with open(target, "wb") as raw:
        copy_decompressed(source, None if fmt == "hprof" else fmt, _LimitedFile(raw, limit),
                          "the uploaded dump")
