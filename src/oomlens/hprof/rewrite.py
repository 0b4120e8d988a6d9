"""Streaming rewrite of a heap dump: copy it record by record, editing some sub-records.

``strip`` (privacy trimming) and ``restore`` (refilling what strip removed) are both "copy the
dump, but change these sub-records": this module is that copy. The caller describes the changes
as an ``EditPlan`` (which primitive arrays lose or regain their elements, which instance fields
and static values become zero); ``rewrite_dump`` applies it in one sequential pass over the
mapped input, with memory bounded by its buffers whatever the dump size.

How the pass works, and why:

- A kernel in C (``rewrite_records`` in ``_rewrite.c``: C, not Numba, so that strip starts in a
  fraction of a second in a small process) walks the top-level records and the heap dump
  sub-records, from the state array ``st`` (ST_* slots) and an ``EditPlan``. Unchanged bytes
  are not copied one sub-record at a time: the kernel keeps a *pending span* of input bytes that
  go out unchanged and copies it in one piece when an edit interrupts it. Spans of at least
  ``RAW_SPAN`` bytes are not copied at all: the kernel hands them to the driver, which writes
  them straight from the mapped file. So most bytes are copied once, in large chunks, and the
  Python driver runs once per ~``OUT_BUFFER`` bytes, never per object.
- An edit can change a heap dump record's length (a u4 in its header, before the sub-records).
  A record that fits in the output buffer is edited there and its length patched before the
  buffer is written ("buffered"). A bigger one (old dumps put the whole heap in one HEAP_DUMP
  record) is first walked once without output to *measure* its new length, then streamed. The
  output never needs to be seekable, so it can go straight into a zstd stream.
- The input is released page by page behind the walk (``DumpFile.release_pages``), so resident
  memory does not grow with the file. Output is plain or zstd-compressed (multi-threaded: the
  compressor's worker runs on the other core while the kernel walks).
- A record that the file cuts short ends the copy: complete sub-records of a cut heap dump
  record are kept (with the record's length set to what they fill), the rest is dropped and
  reported. A sub-record that is unreadable or overruns a complete record is an error: an
  edit plan cannot be applied to bytes whose structure is unknown, and copying them blindly
  could leak what the plan was meant to remove.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zstandard

from oomlens.errors import OomlensError
from oomlens.hprof import _rewrite, pack
from oomlens.hprof.source import DumpFile

# zstd level 1: on HPROF it compresses as well as level 3 or better (a 245 MB stripped HotSpot
# dump: 49.5 MB vs 55.1 MB), twice as fast, with 14 MB of compressor memory instead of 49.
DEFAULT_ZSTD_LEVEL = 1

OUT_BUFFER = 8 << 20  # edited output is gathered here and written in chunks of this size
RAW_SPAN = 1 << 20  # unchanged spans at least this long go from the mapping to the output
# (RAW_SPAN is the kernel's constant, repeated here; OUT_BUFFER must exceed it by an array header)
WINDOW_BYTES = 8 << 20  # the kernel pauses this often so the driver can release pages
_ZERO_CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]

# -- the edit plan ---------------------------------------------------------------------------
# flags
F_STRIP_ALL_ARRAYS = 0  # every PRIMITIVE_ARRAY_DUMP becomes PRIMITIVE_ARRAY_NODATA
F_STRIP_MARKED_ARRAYS = 1  # ... only those whose id is in the mark set
F_RESTORE_ARRAYS = 2  # every PRIMITIVE_ARRAY_NODATA becomes a PRIMITIVE_ARRAY_DUMP of zeros
F_ZERO_STATICS = 3  # primitive static values and constant pool values of class dumps -> 0
F_ZERO_UNKNOWN_INSTANCES = 4  # all data of instances whose class has no class dump -> 0
N_FLAGS = 5

# mark set meta: kind, base id, log2 of the id granularity, number of bits
MARKS_NONE = 0
MARKS_BITSET = 1
MARKS_SORTED = 2

EditPlan = namedtuple("EditPlan", [
    "flags",  # int64[N_FLAGS]
    "mark_meta",  # int64[4]: MARKS_* kind, base, shift, bits
    "mark_bits",  # uint8 bitset: bit (id - base) >> shift
    "mark_sorted",  # int64, sorted marked ids (when a bitset over their span would be bigger)
    "zero_class_ids",  # int64, sorted: classes whose instances get fields zeroed
    "zero_begin",  # int64[n + 1]: CSR ranges into zero_off / zero_len
    "zero_layout",  # int64[n]: bytes of field data the class layout explains; beyond -> zeroed
    "zero_off",  # int64: offsets in the instance data of byte runs to zero
    "zero_len",  # int64: their lengths
])


def make_plan(flags: dict[int, bool] | None = None, marks: tuple | None = None,
              zero_fields: tuple | None = None) -> EditPlan:
    """An edit plan. ``flags`` maps F_* to booleans; ``marks`` = (meta, bits, sorted) as
    ``marks.MarkSet.plan_arrays`` gives them; ``zero_fields`` = (class ids, begin, layout, off,
    len) as ``strip.zero_field_table`` makes them; both default to empty."""
    f = np.zeros(N_FLAGS, np.int64)
    for k, v in (flags or {}).items():
        f[k] = int(bool(v))
    if marks is None:
        marks = (np.array([MARKS_NONE, 0, 0, 0], np.int64), np.zeros(0, np.uint8),
                 np.zeros(0, np.int64))
    if zero_fields is None:
        zero_fields = (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64),
                       np.zeros(0, np.int64), np.zeros(0, np.int64))
    return EditPlan(f, *marks, *zero_fields)


# -- kernel state ------------------------------------------------------------------------------
# ``_rewrite.rewrite_records(src, id_size, stop_at, out, st, *plan)`` rewrites from the state in
# ``st`` until something needs the driver, and returns a RET_* code. It returns only at
# sub-record or record boundaries, with everything it did recorded in ``st``; the driver writes
# out[:st[ST_O]] after every return, then does what the code asks, resets ST_O and calls again.
# Buffered mode never returns until its record is done (its header in ``out`` is not final
# before that).
ST_P = 0  # input cursor
ST_PEND = 1  # start of the pending span of unchanged input bytes not yet in ``out``
ST_O = 2  # bytes in ``out`` (the driver writes them and resets this after every return)
ST_MODE = 3
ST_REC = 4  # offset of the heap dump record being rewritten
ST_REC_END = 5  # where its header says it ends
ST_BODY_END = 6  # where its complete sub-records end (earlier only when the file is cut)
ST_HDR_O = 7  # buffered mode: offset in ``out`` of the record header
ST_MEASURED = 8  # measure mode: output bytes of the sub-records walked so far
ST_MQ = 9  # measure mode: cursor
ST_OP_A = 10  # RET_RAW: span start; RET_ZEROS: count
ST_OP_B = 11  # RET_RAW: span end
ST_ERR_AT = 12
ST_ERR_TAG = 13
ST_TRUNC_AT = 14  # offset of the record the file cuts short, -1
ST_MISSING = 15  # bytes it lacks
ST_ENDED = 16  # 1 once a cut record ended the copy
ST_CURSOR = 17  # how far the input has been read (for page release and progress)
ST_ARRAYS_EMPTIED = 18
ST_BYTES_REMOVED = 19
ST_ARRAYS_FILLED = 20
ST_BYTES_ADDED = 21
ST_INSTANCES_ZEROED = 22
ST_CLASSES_ZEROED = 23
ST_RECORDS_RESIZED = 24
ST_LAST_CLASS = 25  # one-entry cache of the zero-field class lookup: id, slot
ST_LAST_SLOT = 26
N_STATE = 27

MODE_TOP = 0  # between top-level records
MODE_BUFFERED = 1  # inside a heap dump record that is edited in ``out`` whole
MODE_MEASURE = 2  # walking a big heap dump record to learn its new length
MODE_STREAM = 3  # streaming a big heap dump record whose new length is written

RET_DONE = 0
RET_PAUSE = 1  # a window of input was read: release pages, report progress, call again
RET_FLUSH = 2  # ``out`` is full: write it, call again
RET_RAW = 3  # write ``out``, then the input span [ST_OP_A, ST_OP_B), call again
RET_ZEROS = 4  # write ``out``, then ST_OP_A zero bytes, call again
RET_ERROR = 5  # unreadable sub-record at ST_ERR_AT

EDIT_NONE = 0
EDIT_EMPTY_ARRAY = 1  # PRIMITIVE_ARRAY_DUMP -> PRIMITIVE_ARRAY_NODATA
EDIT_FILL_ARRAY = 2  # PRIMITIVE_ARRAY_NODATA -> PRIMITIVE_ARRAY_DUMP of zeros
EDIT_ZERO_FIELDS = 3  # instance: zero some field bytes
EDIT_ZERO_STATICS = 4  # class dump: zero primitive static and constant values


def new_state() -> np.ndarray:
    st = np.zeros(N_STATE, np.int64)
    st[ST_TRUNC_AT] = -1
    st[ST_ERR_AT] = -1
    st[ST_LAST_SLOT] = -1
    return st


# is_marked(mark_meta, mark_bits, mark_sorted, object id): whether the plan's mark set holds the
# id, by the kernel's own test
is_marked = _rewrite.is_marked


# -- output ------------------------------------------------------------------------------------
OUTPUT_FORMS = ("packed", "zstd", "plain")

# The packed container's default zstd level: its streams are small and regular, and level 3
# gives 1/10.9 of the ProGuard dump against 1/10.3 at level 1 for ~0.1 s more.
PACKED_ZSTD_LEVEL = 3


class OutputFile:
    """Where a rewrite goes: a temporary file next to OUT, renamed to OUT only when the whole
    dump is written, so a failure never leaves a partial OUT behind (nor clobbers an old one).

    ``form`` is "plain" (HPROF), "zstd" (one zstd stream of the HPROF, what `zstd -d` reads) or
    "packed" (pack.py's container: about twice smaller; every oomlens command reads it). A packed
    OUT is packed from a plain temporary file once the rewrite is complete, since the packer
    reads whole records. Counts the HPROF bytes written and the bytes stored; with
    ``max_bytes``, refuses to write more HPROF bytes than that (a dump whose emptied arrays
    declare more than a server will hold is an error, not a full disk)."""

    def __init__(self, path: str | os.PathLike, form: str = "plain", level: int | None = None,
                 threads: int = -1, max_bytes: int | None = None):
        if form not in OUTPUT_FORMS:
            raise ValueError(f"unknown output form {form!r}")
        self.path = Path(path)
        if self.path.is_dir():
            raise OomlensError(f"{self.path}: is a directory")
        self.form = form
        self.level = level if level is not None else (
            PACKED_ZSTD_LEVEL if form == "packed" else DEFAULT_ZSTD_LEVEL)
        self._temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._hprof_temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.hprof.partial")
        try:
            self._file = open(self._hprof_temp if form == "packed" else self._temp,  # noqa: SIM115
                              "wb", buffering=0)  # closed by commit/abort
        except OSError as exc:
            raise OomlensError(f"{self.path}: cannot write: {exc.strerror}") from None
        self.hprof_bytes = 0
        self.max_bytes = max_bytes
        self.stored_bytes = 0  # set when the file is committed
        self._zstd = None
        if form == "zstd":
            params = zstandard.ZstdCompressionParameters.from_level(self.level, threads=threads)
            self._zstd = zstandard.ZstdCompressor(compression_params=params).stream_writer(
                self._file, closefd=False, write_size=1 << 20)
        self._sink = self._zstd if self._zstd is not None else self._file

    @property
    def compressed(self) -> bool:
        return self.form != "plain"

    def write(self, data) -> None:
        view = memoryview(data)
        self.hprof_bytes += len(view)
        if self.max_bytes is not None and self.hprof_bytes > self.max_bytes:
            raise OomlensError(f"{self.path}: the output would be larger than "
                               f"{self.max_bytes:,} bytes")
        try:
            while len(view):
                n = self._sink.write(view)
                if n is None or self._zstd is not None:
                    break
                view = view[n:]
        except OSError as exc:
            raise OomlensError(f"{self.path}: cannot write: {exc.strerror}") from None

    def write_zeros(self, count: int, zeros: np.ndarray) -> None:
        while count > 0:
            n = min(count, len(zeros))
            self.write(zeros[:n])
            count -= n

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Commit when the block ends normally, abort (no OUT left) when it raises."""
        if exc_type is None:
            self.stored_bytes = self.commit()
        else:
            self.abort()

    def commit(self, progress: Progress | None = None) -> int:
        """Finish the stream (pack it), move the file into place; returns the bytes stored."""
        try:
            if self._zstd is not None:
                self._zstd.flush(zstandard.FLUSH_FRAME)
                self._zstd.close()
            self._file.close()
            if self.form == "packed":
                with open(self._temp, "wb") as out:
                    pack.pack_file(self._hprof_temp, out, self.level, progress)
                self._hprof_temp.unlink()
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.abort()
            raise OomlensError(f"{self.path}: cannot write: {exc.strerror}") from None
        except BaseException:
            self.abort()
            raise
        return self.path.stat().st_size

    def abort(self) -> None:
        try:
            if self._zstd is not None:
                self._zstd.close()
        except Exception:
            pass
        try:
            self._file.close()
        except OSError:
            pass
        self._temp.unlink(missing_ok=True)
        self._hprof_temp.unlink(missing_ok=True)


def check_paths(src: Path, dst: Path) -> None:
    """OUT must not be IN: the rewrite reads IN while OUT is written."""
    if dst.resolve() == src.resolve() or (dst.exists() and src.exists()
                                          and os.path.samefile(src, dst)):
        raise OomlensError(f"{dst}: the output must not be the input file")


# -- the driver --------------------------------------------------------------------------------
@dataclass
class RewriteStats:
    """What a rewrite did, from the kernel's counters."""

    input_bytes: int  # of HPROF (decompressed)
    output_bytes: int  # of HPROF written
    arrays_emptied: int = 0
    bytes_removed: int = 0
    arrays_filled: int = 0
    bytes_added: int = 0
    instances_zeroed: int = 0
    classes_zeroed: int = 0
    records_resized: int = 0
    warnings: list[str] = field(default_factory=list)


def rewrite_dump(dump: DumpFile, out: OutputFile, plan: EditPlan,
                 progress: Progress | None = None, phase: str = "writing") -> RewriteStats:
    """Copy ``dump`` into ``out`` with ``plan`` applied (see the module docstring)."""
    src = dump.data
    id_size = dump.header.id_size
    st = new_state()
    st[ST_P] = dump.header.length  # the file header goes out as the first unchanged span
    buf = np.empty(OUT_BUFFER, np.uint8)
    zeros = np.zeros(_ZERO_CHUNK, np.uint8)
    released = 0
    while True:
        stop_at = st[ST_CURSOR] + WINDOW_BYTES
        code = _rewrite.rewrite_records(src, id_size, stop_at, buf, st, *plan)
        if st[ST_O]:
            out.write(buf[: st[ST_O]])
            st[ST_O] = 0
        if code == RET_RAW:
            a, b = int(st[ST_OP_A]), int(st[ST_OP_B])
            for start in range(a, b, WINDOW_BYTES):
                stop = min(b, start + WINDOW_BYTES)
                out.write(src[start:stop])
                dump.release_pages(start, stop)
        elif code == RET_ZEROS:
            out.write_zeros(int(st[ST_OP_A]), zeros)
        elif code == RET_ERROR:
            raise OomlensError(_corruption_message(dump, st))
        cursor = int(st[ST_CURSOR])
        safe = min(cursor, int(st[ST_PEND])) if st[ST_MODE] != MODE_MEASURE else cursor
        if safe < released:  # streaming a measured record reads it again from its start
            released = int(st[ST_REC])
        if safe > released:
            dump.release_pages(released, safe)
            released = safe
        if progress and code in (RET_PAUSE, RET_DONE):
            progress(phase, min(cursor, dump.size), dump.size)
        if code == RET_DONE:
            break
    stats = RewriteStats(
        input_bytes=dump.size, output_bytes=out.hprof_bytes,
        arrays_emptied=int(st[ST_ARRAYS_EMPTIED]), bytes_removed=int(st[ST_BYTES_REMOVED]),
        arrays_filled=int(st[ST_ARRAYS_FILLED]), bytes_added=int(st[ST_BYTES_ADDED]),
        instances_zeroed=int(st[ST_INSTANCES_ZEROED]),
        classes_zeroed=int(st[ST_CLASSES_ZEROED]), records_resized=int(st[ST_RECORDS_RESIZED]))
    if st[ST_TRUNC_AT] >= 0:
        stats.warnings.append(
            f"truncated dump: the file ends {int(st[ST_MISSING]):,} bytes before the end of the "
            f"record at offset {int(st[ST_TRUNC_AT]):,}; wrote everything complete before that")
    return stats


def _corruption_message(dump: DumpFile, st: np.ndarray) -> str:
    at, tag = int(st[ST_ERR_AT]), int(st[ST_ERR_TAG])
    if at == int(st[ST_REC]) and st[ST_MEASURED] >= (1 << 32):
        return (f"{dump.path}: the heap dump record at offset {at:,} would grow past 4 GiB "
                "(the HPROF length limit)")
    return (f"{dump.path}: corrupt heap dump: unreadable sub-record (tag 0x{tag:02x}) at offset "
            f"{at:,} in the record at offset {int(st[ST_REC]):,}; nothing was written")
