"""Streaming rewrite of a heap dump: copy it record by record, editing some sub-records.

``strip`` (privacy trimming) and ``restore`` (refilling what strip removed) are both "copy the
dump, but change these sub-records": this module is that copy. The caller describes the changes
as an ``EditPlan`` (which primitive arrays lose or regain their elements, which instance fields
and static values become zero); ``rewrite_dump`` applies it in one sequential pass over the
mapped input, with memory bounded by its buffers whatever the dump size.

How the pass works, and why:

- A Numba kernel (``rewrite_records``) walks the top-level records and the heap dump sub-records.
  Unchanged bytes are not copied one sub-record at a time: the kernel keeps a *pending span* of
  input bytes that go out unchanged and copies it in one piece when an edit interrupts it. Spans
  of at least ``RAW_SPAN`` bytes are not copied at all: the kernel hands them to the driver,
  which writes them straight from the mapped file. So most bytes are copied once, in large
  chunks, and the Python driver runs once per ~``OUT_BUFFER`` bytes, never per object.
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
from numba import njit

from oomlens.errors import OomlensError
from oomlens.hprof import constants as C
from oomlens.hprof.scan import (_class_dump_length, _root_extra_bytes, basic_type_size, read_id,
                                read_u1, read_u2, read_u4)
from oomlens.hprof.source import DumpFile

# The kernels and the helpers they call once per sub-record are compiled without Numba's
# reference counting (they never allocate). With it, every call increments and decrements the
# count of each array argument (atomic operations LLVM cannot remove across the helper's
# branches), which costs more than the walk itself: 0.3 s per 250 MB dump.
HOT = {"cache": True, "_nrt": False}
HOT_INLINE = {**HOT, "inline": "always"}  # small ones are inlined into the kernel

# zstd level 1: on HPROF it compresses as well as level 3 or better (a 245 MB stripped HotSpot
# dump: 49.5 MB vs 55.1 MB), twice as fast, with 14 MB of compressor memory instead of 49.
DEFAULT_ZSTD_LEVEL = 1

OUT_BUFFER = 8 << 20  # edited output is gathered here and written in chunks of this size
RAW_SPAN = 1 << 20  # unchanged spans at least this long go from the mapping to the output
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
    ``survey.build_mark_set`` makes them; ``zero_fields`` = (class ids, begin, layout, off,
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


# -- byte helpers --------------------------------------------------------------------------------
@njit(**HOT_INLINE)
def write_u4(out, o, v):
    out[o] = (v >> 24) & 0xFF
    out[o + 1] = (v >> 16) & 0xFF
    out[o + 2] = (v >> 8) & 0xFF
    out[o + 3] = v & 0xFF


@njit(**HOT_INLINE)
def copy_bytes(out, o, src, a, n):
    # Looping over slices, not over ``out[o + i]``: with the offsets added in the loop, Numba's
    # negative-index handling keeps LLVM from vectorising it (1.8 GB/s instead of ~30).
    dst = out[o : o + n]
    from_ = src[a : a + n]
    for i in range(n):
        dst[i] = from_[i]


@njit(**HOT_INLINE)
def zero_bytes(out, o, n):
    dst = out[o : o + n]
    for i in range(n):
        dst[i] = 0


@njit(**HOT)
def sub_record_end(buf, p, end, id_size):
    """End of the heap dump sub-record at ``p`` (< ``end``): -1 if it runs past ``end``, -2 if
    its tag or a basic type in it is unknown."""
    tag = read_u1(buf, p)
    q = p + 1
    extra = _root_extra_bytes(tag, id_size)
    if extra >= 0:
        q += id_size + extra
    elif tag == C.SUB_INSTANCE_DUMP:
        if q + 2 * id_size + 8 > end:
            return -1
        q += 2 * id_size + 8 + read_u4(buf, q + 2 * id_size + 4)
    elif tag == C.SUB_OBJECT_ARRAY_DUMP:
        if q + 2 * id_size + 8 > end:
            return -1
        q += 2 * id_size + 8 + read_u4(buf, q + id_size + 4) * id_size
    elif tag == C.SUB_PRIMITIVE_ARRAY_DUMP or tag == C.SUB_PRIMITIVE_ARRAY_NODATA:
        if q + id_size + 9 > end:
            return -1
        elem = read_u1(buf, q + id_size + 8)
        size = basic_type_size(elem, id_size)
        if size < 0 or elem == C.TYPE_OBJECT:
            return -2
        q += id_size + 9
        if tag == C.SUB_PRIMITIVE_ARRAY_DUMP:
            q += read_u4(buf, q - 5) * size
    elif tag == C.SUB_CLASS_DUMP:
        n = _class_dump_length(buf, q, end, id_size)
        if n < 0:
            return n
        q += n
    elif tag == C.SUB_HEAP_DUMP_INFO:
        q += 4 + id_size
    else:
        return -2
    return q if q <= end else -1


@njit(cache=True, inline="always")
def is_heap_record(tag):
    return tag == C.TAG_HEAP_DUMP or tag == C.TAG_HEAP_DUMP_SEGMENT


# -- the edits -----------------------------------------------------------------------------------
@njit(**HOT_INLINE)
def is_marked(mark_meta, mark_bits, mark_sorted, object_id):
    kind = mark_meta[0]
    if kind == MARKS_BITSET:
        d = object_id - mark_meta[1]
        shift = mark_meta[2]
        if d < 0 or (d & ((np.int64(1) << shift) - 1)) != 0:
            return False
        bit = d >> shift
        if bit >= mark_meta[3]:
            return False
        return ((mark_bits[bit >> 3] >> (bit & 7)) & 1) == 1
    if kind == MARKS_SORTED:
        ids = mark_sorted
        i = np.searchsorted(ids, object_id)
        return i < ids.shape[0] and ids[i] == object_id
    return False


@njit(**HOT_INLINE)
def _zero_slot(ids, class_id, st):
    """Index of ``class_id`` in the zero-field table, or -1 (one-entry cache in ``st``)."""
    if ids.shape[0] == 0:
        return -1
    if st[ST_LAST_SLOT] >= 0 and st[ST_LAST_CLASS] == class_id:
        return st[ST_LAST_SLOT]
    i = np.searchsorted(ids, class_id)
    if i < ids.shape[0] and ids[i] == class_id:
        st[ST_LAST_CLASS] = class_id
        st[ST_LAST_SLOT] = i
        return i
    return -1


@njit(**HOT_INLINE)
def decide_edit(src, p, id_size, flags, mark_meta, mark_bits, mark_sorted, zero_class_ids, st):
    """(edit, detail) for the sub-record at ``p``: detail is the zero-field slot of an instance,
    or the payload bytes an array loses or regains."""
    tag = src[p]
    if tag == C.SUB_PRIMITIVE_ARRAY_DUMP:
        if flags[F_STRIP_ALL_ARRAYS] or (
                flags[F_STRIP_MARKED_ARRAYS]
                and is_marked(mark_meta, mark_bits, mark_sorted,
                              read_id(src, p + 1, id_size))):
            length = read_u4(src, p + 1 + id_size + 4)
            return EDIT_EMPTY_ARRAY, length * basic_type_size(read_u1(src, p + id_size + 9),
                                                              id_size)
    elif tag == C.SUB_PRIMITIVE_ARRAY_NODATA:
        if flags[F_RESTORE_ARRAYS]:
            length = read_u4(src, p + 1 + id_size + 4)
            return EDIT_FILL_ARRAY, length * basic_type_size(read_u1(src, p + id_size + 9),
                                                             id_size)
    elif tag == C.SUB_INSTANCE_DUMP:
        slot = _zero_slot(zero_class_ids, read_id(src, p + 1 + id_size + 4, id_size), st)
        if slot >= 0 or flags[F_ZERO_UNKNOWN_INSTANCES]:
            return EDIT_ZERO_FIELDS, slot
    elif tag == C.SUB_CLASS_DUMP:
        if flags[F_ZERO_STATICS]:
            return EDIT_ZERO_STATICS, 0
    return EDIT_NONE, 0


@njit(cache=True, inline="always")
def _array_header_size(id_size):
    return 1 + id_size + 9  # tag, id, u4 serial, u4 length, u1 type


@njit(**HOT)
def _zero_instance_fields(out, o, n, id_size, zero_begin, zero_layout, zero_off, zero_len,
                          slot):
    """Zero the field bytes the plan names in the instance record copied to out[o:o+n]; all
    of them for slot -1 (a class the plan does not know)."""
    data = o + 1 + 2 * id_size + 8
    length = o + n - data
    if slot < 0:
        zero_bytes(out, data, length)
        return
    for r in range(zero_begin[slot], zero_begin[slot + 1]):
        a = zero_off[r]
        b = min(a + zero_len[r], length)
        if b > a:
            zero_bytes(out, data + a, b - a)
    tail = zero_layout[slot]
    if tail < length:  # bytes no declared field explains
        zero_bytes(out, data + tail, length - tail)


@njit(**HOT)
def _zero_class_statics(out, o, id_size):
    """Zero the primitive constant pool and static values of the class dump copied to out[o:]."""
    q = o + 1 + 7 * id_size + 8
    n = read_u2(out, q)
    q += 2
    for _ in range(n):  # constant pool: u2 index, u1 type, value
        t = out[q + 2]
        size = basic_type_size(t, id_size)
        if t != C.TYPE_OBJECT:
            for i in range(size):
                out[q + 3 + i] = 0
        q += 3 + size
    n = read_u2(out, q)
    q += 2
    for _ in range(n):  # statics: name id, u1 type, value
        t = out[q + id_size]
        size = basic_type_size(t, id_size)
        if t != C.TYPE_OBJECT:
            for i in range(size):
                out[q + id_size + 1 + i] = 0
        q += id_size + 1 + size


# -- the kernel ----------------------------------------------------------------------------------
@njit(**HOT_INLINE)
def _take_pending(src, out, st, upto):
    """Move the pending unchanged span [ST_PEND, upto) to the output: copied into ``out``, or
    handed to the driver (RET_RAW) when it is long or does not fit. Returns 0 or RET_RAW."""
    a = st[ST_PEND]
    n = upto - a
    if n <= 0:
        st[ST_PEND] = upto
        return 0
    o = st[ST_O]
    if n >= RAW_SPAN or o + n > out.shape[0]:
        st[ST_OP_A] = a
        st[ST_OP_B] = upto
        st[ST_PEND] = upto
        return RET_RAW
    copy_bytes(out, o, src, a, n)
    st[ST_O] = o + n
    st[ST_PEND] = upto
    return 0


@njit(**HOT)
def _error(st, src, at):
    st[ST_ERR_AT] = at
    st[ST_ERR_TAG] = src[at] if at < src.shape[0] else -1
    return RET_ERROR


@njit(**HOT_INLINE)
def _edited_size(edit, detail, p, q, id_size):
    if edit == EDIT_EMPTY_ARRAY:
        return _array_header_size(id_size)
    if edit == EDIT_FILL_ARRAY:
        return _array_header_size(id_size) + detail
    return q - p


@njit(**HOT)
def _apply_edit(src, out, st, p, q, id_size, zero_begin, zero_layout, zero_off, zero_len, edit,
                detail, buffered):
    """Write the edited sub-record [p, q) into ``out`` (pending span already taken). Returns 0,
    RET_FLUSH when ``out`` has no room (nothing written), -1 in buffered mode when the edit can
    never fit (the caller falls back to measure + stream), or RET_ZEROS after writing the
    header of an array whose zeros the driver writes."""
    o = st[ST_O]
    cap = out.shape[0]
    if edit == EDIT_EMPTY_ARRAY:
        h = _array_header_size(id_size)
        if o + h > cap:
            return -1 if buffered else RET_FLUSH
        out[o] = C.SUB_PRIMITIVE_ARRAY_NODATA
        copy_bytes(out, o + 1, src, p + 1, h - 1)
        st[ST_O] = o + h
        st[ST_ARRAYS_EMPTIED] += 1
        st[ST_BYTES_REMOVED] += detail
        return 0
    if edit == EDIT_FILL_ARRAY:
        h = _array_header_size(id_size)
        small = detail < RAW_SPAN
        if o + h + (detail if small else 0) > cap:
            return -1 if buffered else RET_FLUSH
        if buffered and not small:
            return -1
        out[o] = C.SUB_PRIMITIVE_ARRAY_DUMP
        copy_bytes(out, o + 1, src, p + 1, h - 1)
        st[ST_ARRAYS_FILLED] += 1
        st[ST_BYTES_ADDED] += detail
        if small:
            zero_bytes(out, o + h, detail)
            st[ST_O] = o + h + detail
            return 0
        st[ST_O] = o + h
        st[ST_OP_A] = detail
        return RET_ZEROS
    n = q - p
    if o + n > cap:
        if buffered or n > cap:
            return -1
        return RET_FLUSH
    copy_bytes(out, o, src, p, n)
    if edit == EDIT_ZERO_FIELDS:
        _zero_instance_fields(out, o, n, id_size, zero_begin, zero_layout, zero_off, zero_len,
                              detail)
        st[ST_INSTANCES_ZEROED] += 1
    else:
        _zero_class_statics(out, o, id_size)
        st[ST_CLASSES_ZEROED] += 1
    st[ST_O] = o + n
    return 0


@njit(**HOT_INLINE)
def _write_record_header(src, out, o, rec, length):
    copy_bytes(out, o, src, rec, 5)  # tag and timestamp
    write_u4(out, o + 5, length)


@njit(**HOT_INLINE)
def _end_heap_record(st):
    """After the last complete sub-record of a heap dump record: go on, or stop if it was cut."""
    st[ST_MODE] = MODE_TOP
    if st[ST_BODY_END] < st[ST_REC_END]:
        st[ST_ENDED] = 1
        st[ST_P] = st[ST_BODY_END]
    else:
        st[ST_P] = st[ST_REC_END]
    st[ST_PEND] = st[ST_P]
    if st[ST_MEASURED] != st[ST_REC_END] - st[ST_REC] - C.RECORD_HEADER_SIZE:
        st[ST_RECORDS_RESIZED] += 1


@njit(**HOT_INLINE)
def _body_limit(st, size):
    return min(st[ST_REC_END], size)


@njit(**HOT_INLINE)
def _sub_end_or_cut(src, st, p, limit, id_size):
    """End of the sub-record at p; -1 when the file cut it (the record then ends at p);
    -2 when it is corrupt."""
    q = sub_record_end(src, p, limit, id_size)
    if q == -1 and st[ST_REC_END] > src.shape[0]:
        return -1
    if q < 0:
        return -2
    return q


@njit(**HOT)
def rewrite_records(src, id_size, stop_at, out, st, plan):
    """Rewrite from the state in ``st`` until something needs the driver (see RET_*).

    The kernel only returns at sub-record or record boundaries, with everything it did recorded
    in ``st``; the driver writes out[:st[ST_O]] after every return, then does what the return
    code asks, resets ST_O and calls again. Buffered mode never returns until its record is done
    (its header in ``out`` is not final before that).
    """
    size = src.shape[0]
    cap = out.shape[0]
    flags, zero_class_ids = plan.flags, plan.zero_class_ids
    mark_meta, mark_bits, mark_sorted = plan.mark_meta, plan.mark_bits, plan.mark_sorted
    zero_begin, zero_layout = plan.zero_begin, plan.zero_layout
    zero_off, zero_len = plan.zero_off, plan.zero_len
    while True:
        mode = st[ST_MODE]
        if mode == MODE_TOP:
            p = st[ST_P]
            st[ST_CURSOR] = p
            if p >= size or st[ST_ENDED] == 1:
                r = _take_pending(src, out, st, min(p, size))
                return r if r else RET_DONE
            if p >= stop_at:
                r = _take_pending(src, out, st, p)
                return r if r else RET_PAUSE
            if p + C.RECORD_HEADER_SIZE > size:
                st[ST_TRUNC_AT] = p
                st[ST_MISSING] = C.RECORD_HEADER_SIZE - (size - p)
                st[ST_ENDED] = 1
                continue
            tag = read_u1(src, p)
            length = read_u4(src, p + 5)
            end = p + C.RECORD_HEADER_SIZE + length
            if end > size:
                st[ST_TRUNC_AT] = p
                st[ST_MISSING] = end - size
            if not is_heap_record(tag):
                if end > size:  # a cut record other than a heap dump: nothing of it is kept
                    st[ST_ENDED] = 1
                    continue
                st[ST_P] = end
                if end - st[ST_PEND] >= RAW_SPAN:
                    return _take_pending(src, out, st, end)
                continue
            r = _take_pending(src, out, st, p)
            if r:
                return r
            st[ST_REC] = p
            st[ST_REC_END] = end
            st[ST_BODY_END] = end
            st[ST_MEASURED] = 0
            body = p + C.RECORD_HEADER_SIZE
            need = C.RECORD_HEADER_SIZE + min(length, size - body)
            if need <= cap:
                if st[ST_O] + need > cap:
                    return RET_FLUSH
                st[ST_HDR_O] = st[ST_O]
                st[ST_O] += C.RECORD_HEADER_SIZE
                st[ST_MODE] = MODE_BUFFERED
            else:
                st[ST_MODE] = MODE_MEASURE
                st[ST_MQ] = body
            st[ST_P] = body
            st[ST_PEND] = body
        elif mode == MODE_BUFFERED:
            p = st[ST_P]
            limit = _body_limit(st, size)
            fallback = False
            while p < limit:
                q = _sub_end_or_cut(src, st, p, limit, id_size)
                if q == -2:
                    return _error(st, src, p)
                if q == -1:
                    st[ST_BODY_END] = p
                    break
                edit, detail = decide_edit(src, p, id_size, flags, mark_meta, mark_bits, mark_sorted,
                                           zero_class_ids, st)
                if edit != EDIT_NONE:
                    n = p - st[ST_PEND]
                    if st[ST_O] + n > cap:
                        fallback = True
                        break
                    copy_bytes(out, st[ST_O], src, st[ST_PEND], n)
                    st[ST_O] += n
                    r = _apply_edit(src, out, st, p, q, id_size, zero_begin, zero_layout, zero_off,
                                    zero_len, edit, detail, True)
                    if r != 0:
                        fallback = True
                        break
                    st[ST_PEND] = q
                p = q
            if fallback:  # restore made it too big for ``out``: undo, measure, stream
                st[ST_O] = st[ST_HDR_O]
                st[ST_BODY_END] = st[ST_REC_END]
                st[ST_MODE] = MODE_MEASURE
                st[ST_MQ] = st[ST_REC] + C.RECORD_HEADER_SIZE
                continue
            n = p - st[ST_PEND]
            if st[ST_O] + n > cap:  # cannot happen for strip: its output is never longer
                st[ST_O] = st[ST_HDR_O]
                st[ST_BODY_END] = st[ST_REC_END]
                st[ST_MODE] = MODE_MEASURE
                st[ST_MQ] = st[ST_REC] + C.RECORD_HEADER_SIZE
                continue
            copy_bytes(out, st[ST_O], src, st[ST_PEND], n)
            st[ST_O] += n
            h = st[ST_HDR_O]
            st[ST_MEASURED] = st[ST_O] - h - C.RECORD_HEADER_SIZE
            _write_record_header(src, out, h, st[ST_REC], st[ST_MEASURED])
            if st[ST_BODY_END] == st[ST_REC_END] and st[ST_REC_END] > size:
                st[ST_BODY_END] = p  # the file ends exactly after a complete sub-record
            st[ST_P] = p
            _end_heap_record(st)
        elif mode == MODE_MEASURE:
            p = st[ST_MQ]
            limit = _body_limit(st, size)
            measured = st[ST_MEASURED]
            while p < limit:
                if p >= stop_at:
                    st[ST_MQ] = p
                    st[ST_MEASURED] = measured
                    st[ST_CURSOR] = p
                    return RET_PAUSE
                q = _sub_end_or_cut(src, st, p, limit, id_size)
                if q == -2:
                    return _error(st, src, p)
                if q == -1:
                    break
                edit, detail = decide_edit(src, p, id_size, flags, mark_meta, mark_bits, mark_sorted,
                                           zero_class_ids, st)
                measured += _edited_size(edit, detail, p, q, id_size)
                p = q
            if measured >= (np.int64(1) << 32):
                st[ST_MEASURED] = measured
                return _error(st, src, st[ST_REC])
            st[ST_BODY_END] = p
            st[ST_MEASURED] = measured
            st[ST_MQ] = p
            if st[ST_O] + C.RECORD_HEADER_SIZE > cap:
                return RET_FLUSH
            _write_record_header(src, out, st[ST_O], st[ST_REC], measured)
            st[ST_O] += C.RECORD_HEADER_SIZE
            st[ST_MODE] = MODE_STREAM
            st[ST_P] = st[ST_REC] + C.RECORD_HEADER_SIZE
            st[ST_PEND] = st[ST_P]
        else:  # MODE_STREAM: the sub-records were all read once while measuring
            p = st[ST_P]
            limit = st[ST_BODY_END]
            while p < limit:
                if p >= stop_at:
                    st[ST_P] = p
                    st[ST_CURSOR] = p
                    r = _take_pending(src, out, st, p)
                    return r if r else RET_PAUSE
                q = sub_record_end(src, p, limit, id_size)
                edit, detail = decide_edit(src, p, id_size, flags, mark_meta, mark_bits, mark_sorted,
                                           zero_class_ids, st)
                if edit == EDIT_NONE:
                    p = q
                    if p - st[ST_PEND] >= RAW_SPAN:
                        st[ST_P] = p
                        return _take_pending(src, out, st, p)
                    continue
                st[ST_P] = p
                r = _take_pending(src, out, st, p)
                if r:
                    return r
                r = _apply_edit(src, out, st, p, q, id_size, zero_begin, zero_layout, zero_off,
                                zero_len, edit, detail, False)
                if r == RET_FLUSH:
                    return r
                if r == -1:
                    return _error(st, src, p)
                p = q
                st[ST_P] = p
                st[ST_PEND] = p
                if r == RET_ZEROS:
                    return r
            st[ST_P] = p
            r = _take_pending(src, out, st, p)
            if r:
                return r
            _end_heap_record(st)


# -- output ------------------------------------------------------------------------------------
class OutputFile:
    """Where a rewrite goes: a temporary file next to OUT, renamed to OUT only when the whole
    dump is written, so a failure never leaves a partial OUT behind (nor clobbers an old one).
    Plain or zstd-compressed; counts the HPROF bytes written and the bytes stored."""

    def __init__(self, path: str | os.PathLike, compress: bool,
                 level: int = DEFAULT_ZSTD_LEVEL, threads: int = -1):
        self.path = Path(path)
        if self.path.is_dir():
            raise OomlensError(f"{self.path}: is a directory")
        self._temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        try:
            self._file = open(self._temp, "wb", buffering=0)  # noqa: SIM115 - closed by commit/abort
        except OSError as exc:
            raise OomlensError(f"{self.path}: cannot write: {exc.strerror}") from None
        self.compressed = compress
        self.hprof_bytes = 0
        self.stored_bytes = 0  # set when the file is committed
        self._zstd = None
        if compress:
            params = zstandard.ZstdCompressionParameters.from_level(level, threads=threads)
            self._zstd = zstandard.ZstdCompressor(compression_params=params).stream_writer(
                self._file, closefd=False, write_size=1 << 20)
        self._sink = self._zstd if compress else self._file

    def write(self, data) -> None:
        view = memoryview(data)
        self.hprof_bytes += len(view)
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

    def commit(self) -> int:
        """Finish the stream, move the file into place; returns the bytes stored."""
        try:
            if self._zstd is not None:
                self._zstd.flush(zstandard.FLUSH_FRAME)
                self._zstd.close()
            self._file.close()
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.abort()
            raise OomlensError(f"{self.path}: cannot write: {exc.strerror}") from None
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
        code = rewrite_records(src, id_size, stop_at, buf, st, plan)
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
