"""``restore``: turn a stripped dump back into a standard HPROF.

Tools other than oomlens (VisualVM, MAT, Android Studio's ``hprof-conv``) do not know Android's
PRIMITIVE_ARRAY_NODATA sub-record outside Android dumps, or at all. ``restore`` gives every such
array its elements back as zeros (a PRIMITIVE_ARRAY_DUMP of the same id, serial, length and
element type), recomputing the lengths of the records that grow. Everything else is copied byte
for byte, so the restored file has the original's records, ids and sizes: it differs from the
original dump only in the bytes strip removed, which are now zero. (A dump that held NODATA
arrays before it was stripped, as some Android dumps do, gets those filled with zeros too.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from oomlens.hprof import rewrite as R
from oomlens.hprof.source import DumpFile


@dataclass
class RestoreResult:
    source: str
    output: str
    source_bytes: int  # the input file as stored
    hprof_bytes: int  # the input's HPROF bytes
    restored_bytes: int  # HPROF bytes written
    stored_bytes: int  # the output file's size
    compressed: bool
    arrays_filled: int
    zero_bytes_added: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def restore_dump(source: str | os.PathLike, output: str | os.PathLike, compress: bool = False,
                 progress: R.Progress | None = None,
                 zstd_level: int = R.DEFAULT_ZSTD_LEVEL,
                 max_bytes: int | None = None) -> RestoreResult:
    """Write ``source`` (plain, .gz or .zst) to ``output`` with every PRIMITIVE_ARRAY_NODATA
    filled with zeros: plain HPROF, or zstd-compressed with ``compress``; an OomlensError, and
    no ``output``, when that would be more than ``max_bytes`` of HPROF."""
    src, dst = Path(source), Path(output)
    R.check_paths(src, dst)
    with DumpFile(src, progress) as dump:
        with R.OutputFile(dst, "zstd" if compress else "plain", zstd_level,
                          max_bytes=max_bytes) as out:
            stats = R.rewrite_dump(dump, out, R.make_plan({R.F_RESTORE_ARRAYS: True}),
                                   progress)
        return RestoreResult(source=str(src), output=str(dst), source_bytes=dump.file_size,
                             hprof_bytes=dump.size, restored_bytes=stats.output_bytes,
                             stored_bytes=out.stored_bytes, compressed=compress,
                             arrays_filled=stats.arrays_filled,
                             zero_bytes_added=stats.bytes_added, warnings=stats.warnings)
