"""Index the records of one heap dump in a file: the driver around the ``scan`` kernel.

The result says where every string, class, GC root and object is, plus what could not be read
(truncation, corrupt sub-records) so the layers above can tell the user how much was lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from oomlens.errors import HprofFormatError
from oomlens.hprof import scan
from oomlens.hprof.source import DumpFile

# Pause the walk this often to release pages already read (bounds resident memory on big dumps)
# and to report progress.
WINDOW_BYTES = 64 << 20

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class RecordIndex:
    """Where everything in one heap dump is, as the scan found it."""

    out: scan.ScanOutput
    counts: np.ndarray
    dump_number: int
    warnings: list[str] = field(default_factory=list)

    @property
    def dump_count(self) -> int:
        return int(self.counts[scan.N_DUMPS])

    @property
    def truncated(self) -> bool:
        return int(self.counts[scan.TRUNCATED_AT]) >= 0

    @property
    def missing_bytes(self) -> int:
        return int(self.counts[scan.MISSING_BYTES])

    @property
    def corrupt_skipped(self) -> int:
        return int(self.counts[scan.CORRUPT_SKIPPED])


def _walk(dump: DumpFile, dump_number: int, fill: bool, out, counts, progress, phase) -> None:
    _, state = scan.new_scan_state()
    data = dump.data
    p = dump.header.length
    while True:
        stop_at = min(dump.size, p + WINDOW_BYTES)
        reached = scan.scan_records(data, p, stop_at, dump.header.id_size, dump_number, fill,
                                    out, counts, state)
        dump.release_pages(dump.header.length, min(reached, dump.size))
        if progress:
            progress(phase, min(reached, dump.size), dump.size)
        if reached >= dump.size:
            return
        p = reached


def index_records(dump: DumpFile, dump_number: int = 0, progress: Progress | None = None
                  ) -> RecordIndex:
    """Count, then record, every string, class, root and object of heap dump ``dump_number``."""
    counts, _ = scan.new_scan_state()
    _walk(dump, dump_number, False, scan.empty_output(None, dump.size), counts, progress,
          "counting records")
    dumps = int(counts[scan.N_DUMPS])
    if dumps == 0:
        raise HprofFormatError(_nothing_found(dump, counts))
    if dump_number >= dumps:
        raise HprofFormatError(
            f"{dump.path}: holds {dumps} heap dump{'s' if dumps > 1 else ''}; "
            f"there is no dump number {dump_number + 1}")
    sized = counts.copy()
    out = scan.empty_output(sized, dump.size)
    counts, _ = scan.new_scan_state()
    _walk(dump, dump_number, True, out, counts, progress, "indexing records")
    index = RecordIndex(out=out, counts=counts, dump_number=dump_number)
    index.warnings.extend(_damage_warnings(dump, counts))
    if counts[scan.N_OBJECTS] == 0:
        damage = "; ".join(index.warnings)
        raise HprofFormatError(f"{dump.path}: the heap dump holds no objects"
                               + (f" ({damage})" if damage else ""))
    return index


def _nothing_found(dump: DumpFile, counts: np.ndarray) -> str:
    records = int(counts[scan.N_RECORDS])
    if counts[scan.TRUNCATED_AT] >= 0:
        where = ("the first record after the header" if records <= 1 else
                 f"record {records:,} (offset {int(counts[scan.TRUNCATED_AT]):,})")
        return (f"{dump.path}: no heap dump found: {where} claims "
                f"{int(counts[scan.MISSING_BYTES]):,} bytes more than the file holds "
                "(a truncated or corrupt file)")
    return f"{dump.path}: no heap dump records found ({records:,} records read)"


def _damage_warnings(dump: DumpFile, counts: np.ndarray) -> list[str]:
    warnings = []
    if counts[scan.TRUNCATED_AT] >= 0:
        warnings.append(
            f"truncated dump: the file ends {int(counts[scan.MISSING_BYTES]):,} bytes before the "
            f"end of the record at offset {int(counts[scan.TRUNCATED_AT]):,}; "
            "indexed everything complete before that")
    if counts[scan.CORRUPT_AT] >= 0:
        warnings.append(
            f"corrupt heap dump: unreadable sub-record (tag 0x{int(counts[scan.CORRUPT_TAG]):02x})"
            f" at offset {int(counts[scan.CORRUPT_AT]):,}; skipped "
            f"{int(counts[scan.CORRUPT_SKIPPED]):,} bytes up to the next record")
    return warnings
