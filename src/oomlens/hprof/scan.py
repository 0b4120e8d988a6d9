"""One bounded pass over the records of a heap dump, compiled with Numba.

``scan_records`` walks the top-level records and the heap dump sub-records of one heap dump. It
runs twice: first with ``fill=False`` to count what is there (so every output array is allocated
exactly once, at its final size, and memory stays bounded by what the file really holds), then
with ``fill=True`` to record it. Every length read from the file is checked against the bytes that
remain; a record that runs past the end marks the dump as truncated, an unknown sub-record tag or
basic type marks the rest of its record as corrupt, and the scan goes on with the next record.

Nothing here knows about classes or sizes: it only says where things are.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from oomlens.hprof import constants as C

# Slots of the ``counts`` array the kernel returns.
N_STRINGS = 0
N_LOAD_CLASSES = 1
N_ROOTS = 2
N_CLASSES = 3
N_OBJECTS = 4  # class objects + instances + object arrays + primitive arrays
N_STATICS = 5
N_FIELDS = 6
N_HEAP_INFOS = 7
N_DUMPS = 8  # heap dumps seen in the file
N_RECORDS = 9
N_STACK_FRAMES = 10
N_STACK_TRACES = 11
N_OTHER_RECORDS = 12
SCAN_END = 13  # offset where the walk stopped
TRUNCATED_AT = 14  # offset of the record that runs past the end of the file, or -1
MISSING_BYTES = 15  # bytes that record says it has beyond the end of the file
CORRUPT_AT = 16  # offset of the first unreadable sub-record, or -1
CORRUPT_TAG = 17
CORRUPT_SKIPPED = 18  # bytes skipped because of corrupt sub-records
N_INSTANCES = 19
N_OBJECT_ARRAYS = 20
N_PRIMITIVE_ARRAYS = 21
N_COUNTS = 22

# Object kinds in the object table.
KIND_CLASS = 0
KIND_INSTANCE = 1
KIND_OBJECT_ARRAY = 2
KIND_PRIMITIVE_ARRAY = 3

NO_HEAP = -1
MAX_HEAPS = 64

# Slots of the ``state`` array that carries a paused walk over to its next call.
STATE_DUMP = 0  # index of the heap dump being walked, -1 before the first
STATE_IN_SEGMENTS = 1  # 1 while HEAP_DUMP_SEGMENT records are open
STATE_HEAP = 2  # heap index of the sub-records being read
STATE_HEAPS = 3  # from here: the type ids of the heaps seen, in order of appearance

ScanOutput = namedtuple(
    "ScanOutput",
    [
        # STRING records: id, offset of the UTF-8 bytes, their length
        "str_id", "str_off", "str_len",
        # LOAD_CLASS records: class object id, name string id, serial number
        "lc_class_id", "lc_name_id", "lc_serial",
        # GC roots: object id, root tag, thread serial (or -1), frame number / depth (or -1)
        "root_id", "root_kind", "root_thread", "root_frame",
        # CLASS_DUMP: id, super id, loader id, instance size, record offset, heap,
        # and index ranges into the static and instance field arrays
        "cls_id", "cls_super", "cls_loader", "cls_inst_size", "cls_off", "cls_heap",
        "cls_static_start", "cls_field_start",
        # static fields: name string id, basic type, offset of the value in the file
        "st_name", "st_type", "st_value_off",
        # declared instance fields: name string id, basic type
        "fd_name", "fd_type",
        # instances and arrays: id, kind, offset of the sub-record tag, class id (instances,
        # object arrays) or element type (primitive arrays), byte count (instances) or length
        # (arrays), heap index
        "obj_id", "obj_kind", "obj_off", "obj_class", "obj_len", "obj_heap",
        # HEAP_DUMP_INFO: heap type id and name string id, in order of first appearance
        "heap_type", "heap_name",
    ],
)


def empty_output(counts: np.ndarray | None, file_size: int = 0) -> ScanOutput:
    """Output arrays sized for ``counts`` (or zero-sized, for the counting pass). Object record
    offsets take 4 bytes each when the file is under 4 GiB, 8 otherwise."""

    def n(slot):
        return 0 if counts is None else int(counts[slot])

    i64, i32, u8, i8, u32 = np.int64, np.int32, np.uint8, np.int8, np.uint32
    offset_type = u32 if file_size < (1 << 32) else i64
    return ScanOutput(
        np.empty(n(N_STRINGS), i64), np.empty(n(N_STRINGS), i64), np.empty(n(N_STRINGS), u32),
        np.empty(n(N_LOAD_CLASSES), i64), np.empty(n(N_LOAD_CLASSES), i64),
        np.empty(n(N_LOAD_CLASSES), i32),
        np.empty(n(N_ROOTS), i64), np.empty(n(N_ROOTS), u8), np.empty(n(N_ROOTS), i32),
        np.empty(n(N_ROOTS), i32),
        np.empty(n(N_CLASSES), i64), np.empty(n(N_CLASSES), i64), np.empty(n(N_CLASSES), i64),
        np.empty(n(N_CLASSES), i64), np.empty(n(N_CLASSES), i64), np.empty(n(N_CLASSES), i8),
        np.empty(n(N_CLASSES) + 1, i32), np.empty(n(N_CLASSES) + 1, i32),
        np.empty(n(N_STATICS), i64), np.empty(n(N_STATICS), u8), np.empty(n(N_STATICS), i64),
        np.empty(n(N_FIELDS), i64), np.empty(n(N_FIELDS), u8),
        np.empty(n(N_OBJECTS), i64), np.empty(n(N_OBJECTS), i8),
        np.empty(n(N_OBJECTS), offset_type),
        np.empty(n(N_OBJECTS), i64), np.empty(n(N_OBJECTS), u32), np.empty(n(N_OBJECTS), i8),
        np.empty(n(N_HEAP_INFOS), i64), np.empty(n(N_HEAP_INFOS), i64),
    )


@njit(cache=True, inline="always")
def read_u1(buf, p):
    return np.int64(buf[p])


@njit(cache=True, inline="always")
def read_u2(buf, p):
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@njit(cache=True, inline="always")
def read_u4(buf, p):
    return ((np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16)
            | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3]))


@njit(cache=True, inline="always")
def read_i4(buf, p):
    v = read_u4(buf, p)
    return v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v


@njit(cache=True, inline="always")
def read_id(buf, p, id_size):
    """An object id, as the signed 64-bit pattern of its bytes (ids compare only for equality
    and order, so the sign of addresses above 2^63 does not matter)."""
    if id_size == 4:
        return read_u4(buf, p)
    return (read_u4(buf, p) << 32) | read_u4(buf, p + 4)


@njit(cache=True, inline="always")
def data_offset(kind, id_size):
    """Bytes from an object record's tag to its data: field values of an INSTANCE_DUMP,
    elements of an OBJECT_ARRAY_DUMP (tag, id, u4 serial, u4 count/length, id) or of a
    PRIMITIVE_ARRAY_DUMP (tag, id, u4 serial, u4 length, u1 type)."""
    if kind == KIND_PRIMITIVE_ARRAY:
        return 1 + id_size + 9
    return 1 + 2 * id_size + 8


@njit(cache=True, inline="always")
def basic_type_size(t, id_size):
    """Size of a value of basic type ``t`` in the file; -1 for a byte that is no basic type."""
    if t == C.TYPE_OBJECT:
        return id_size
    if t == C.TYPE_BOOLEAN or t == C.TYPE_BYTE:
        return 1
    if t == C.TYPE_CHAR or t == C.TYPE_SHORT:
        return 2
    if t == C.TYPE_FLOAT or t == C.TYPE_INT:
        return 4
    if t == C.TYPE_DOUBLE or t == C.TYPE_LONG:
        return 8
    return -1


@njit(cache=True, inline="always")
def _root_extra_bytes(tag, id_size):
    """Bytes after the object id of a GC root sub-record; -1 if ``tag`` is no root."""
    if (tag == C.ROOT_UNKNOWN or tag == C.ROOT_STICKY_CLASS or tag == C.ROOT_MONITOR_USED
            or tag == C.ROOT_INTERNED_STRING or tag == C.ROOT_FINALIZING
            or tag == C.ROOT_DEBUGGER or tag == C.ROOT_REFERENCE_CLEANUP
            or tag == C.ROOT_VM_INTERNAL or tag == C.ROOT_UNREACHABLE):
        return 0
    if tag == C.ROOT_JNI_GLOBAL:
        return id_size
    if (tag == C.ROOT_JNI_LOCAL or tag == C.ROOT_JAVA_FRAME or tag == C.ROOT_THREAD_OBJECT
            or tag == C.ROOT_JNI_MONITOR):
        return 8
    if tag == C.ROOT_NATIVE_STACK or tag == C.ROOT_THREAD_BLOCK:
        return 4
    return -1


@njit(cache=True)
def _class_dump_length(buf, p, end, id_size):
    """Length of the CLASS_DUMP body at ``p``, or -1 if it runs past ``end``, or -2 if it holds
    a byte that is no basic type."""
    q = p + 7 * id_size + 8
    if q + 2 > end:
        return -1
    n = read_u2(buf, q)
    q += 2
    for _ in range(n):  # constant pool: u2 index, u1 type, value
        if q + 3 > end:
            return -1
        size = basic_type_size(read_u1(buf, q + 2), id_size)
        if size < 0:
            return -2
        q += 3 + size
    if q + 2 > end:
        return -1
    n = read_u2(buf, q)
    q += 2
    for _ in range(n):  # statics: name id, u1 type, value
        if q + id_size + 1 > end:
            return -1
        size = basic_type_size(read_u1(buf, q + id_size), id_size)
        if size < 0:
            return -2
        q += id_size + 1 + size
    if q + 2 > end:
        return -1
    n = read_u2(buf, q)
    q += 2
    for _ in range(n):  # instance fields: name id, u1 type
        if q + id_size + 1 > end:
            return -1
        if basic_type_size(read_u1(buf, q + id_size), id_size) < 0:
            return -2
        q += id_size + 1
    if q > end:
        return -1
    return q - p


@njit(cache=True)
def sub_record_end(buf, p, end, id_size):
    """End of the heap dump sub-record at ``p`` (< ``end``): -1 if it runs past ``end``, -2 if
    its tag or a basic type in it is unknown. (strip and restore have their own, in C:
    ``_rewrite.c``.)"""
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


@njit(cache=True)
def _class_dump(buf, p, id_size, fill, out, counts, heap):
    """Count (and when ``fill``, record) the class table entry and its fields for the
    CLASS_DUMP body at ``p``, already validated by ``_class_dump_length``."""
    k = counts[N_CLASSES]
    if fill:
        out.cls_id[k] = read_id(buf, p, id_size)
        out.cls_super[k] = read_id(buf, p + id_size + 4, id_size)
        out.cls_loader[k] = read_id(buf, p + 2 * id_size + 4, id_size)
        out.cls_inst_size[k] = read_u4(buf, p + 7 * id_size + 4)
        out.cls_off[k] = p - 1
        out.cls_heap[k] = heap
    q = p + 7 * id_size + 8
    n = read_u2(buf, q)
    q += 2
    for _ in range(n):  # constant pool: skipped
        q += 3 + basic_type_size(read_u1(buf, q + 2), id_size)
    n = read_u2(buf, q)
    q += 2
    s = counts[N_STATICS]
    if fill:
        out.cls_static_start[k] = s
    for _ in range(n):
        t = read_u1(buf, q + id_size)
        if fill:
            out.st_name[s] = read_id(buf, q, id_size)
            out.st_type[s] = t
            out.st_value_off[s] = q + id_size + 1
        s += 1
        q += id_size + 1 + basic_type_size(t, id_size)
    n = read_u2(buf, q)
    q += 2
    f = counts[N_FIELDS]
    for _ in range(n):
        if fill:
            out.fd_name[f] = read_id(buf, q, id_size)
            out.fd_type[f] = read_u1(buf, q + id_size)
        f += 1
        q += id_size + 1
    if fill:
        out.cls_static_start[k + 1] = s
        out.cls_field_start[k] = counts[N_FIELDS]
        out.cls_field_start[k + 1] = f
    counts[N_STATICS] = s
    counts[N_FIELDS] = f
    counts[N_CLASSES] = k + 1


@njit(cache=True)
def _heap_number(buf, p, id_size, fill, out, counts, state):
    """Heaps are numbered by first appearance; ``state`` remembers their type ids. A hostile
    number of distinct heaps is folded into the last slot."""
    heap_type = read_u4(buf, p)
    n = counts[N_HEAP_INFOS]
    for i in range(n):
        if state[STATE_HEAPS + i] == heap_type:
            return i
    if n == MAX_HEAPS:
        return n - 1
    state[STATE_HEAPS + n] = heap_type
    if fill:
        out.heap_type[n] = heap_type
        out.heap_name[n] = read_id(buf, p + 4, id_size)
    counts[N_HEAP_INFOS] = n + 1
    return n


@njit(cache=True)
def _scan_heap_body(buf, p, end, id_size, fill, out, counts, state):
    """Walk the sub-records in [p, end). Returns (offset reached, status): status 0 = all read,
    1 = a sub-record runs past ``end``, 2 = unreadable sub-record at the returned offset."""
    heap = state[STATE_HEAP]
    while p < end:
        tag = read_u1(buf, p)
        start = p
        p += 1
        extra = _root_extra_bytes(tag, id_size)
        if extra >= 0:
            if p + id_size + extra > end:
                return start, 1
            if fill:
                r = counts[N_ROOTS]
                out.root_id[r] = read_id(buf, p, id_size)
                out.root_kind[r] = tag
                out.root_thread[r] = -1
                out.root_frame[r] = -1
                if extra == 8:
                    out.root_thread[r] = read_i4(buf, p + id_size)
                    out.root_frame[r] = read_i4(buf, p + id_size + 4)
                elif extra == 4:
                    out.root_thread[r] = read_i4(buf, p + id_size)
            counts[N_ROOTS] += 1
            p += id_size + extra
        elif tag == C.SUB_INSTANCE_DUMP:
            if p + 2 * id_size + 8 > end:
                return start, 1
            nbytes = read_u4(buf, p + 2 * id_size + 4)
            body_end = p + 2 * id_size + 8 + nbytes
            if body_end > end:
                return start, 1
            if fill:
                k = counts[N_OBJECTS]
                out.obj_id[k] = read_id(buf, p, id_size)
                out.obj_kind[k] = KIND_INSTANCE
                out.obj_off[k] = start
                out.obj_class[k] = read_id(buf, p + id_size + 4, id_size)
                out.obj_len[k] = nbytes
                out.obj_heap[k] = heap
            counts[N_OBJECTS] += 1
            counts[N_INSTANCES] += 1
            p = body_end
        elif tag == C.SUB_OBJECT_ARRAY_DUMP:
            if p + 2 * id_size + 8 > end:
                return start, 1
            length = read_u4(buf, p + id_size + 4)
            body_end = p + 2 * id_size + 8 + length * id_size
            if body_end > end:
                return start, 1
            if fill:
                k = counts[N_OBJECTS]
                out.obj_id[k] = read_id(buf, p, id_size)
                out.obj_kind[k] = KIND_OBJECT_ARRAY
                out.obj_off[k] = start
                out.obj_class[k] = read_id(buf, p + id_size + 8, id_size)
                out.obj_len[k] = length
                out.obj_heap[k] = heap
            counts[N_OBJECTS] += 1
            counts[N_OBJECT_ARRAYS] += 1
            p = body_end
        elif tag == C.SUB_PRIMITIVE_ARRAY_DUMP or tag == C.SUB_PRIMITIVE_ARRAY_NODATA:
            if p + id_size + 9 > end:
                return start, 1
            length = read_u4(buf, p + id_size + 4)
            elem = read_u1(buf, p + id_size + 8)
            size = basic_type_size(elem, id_size)
            if size < 0 or elem == C.TYPE_OBJECT:
                return start, 2
            body_end = p + id_size + 9
            if tag == C.SUB_PRIMITIVE_ARRAY_DUMP:
                body_end += length * size
            if body_end > end:
                return start, 1
            if fill:
                k = counts[N_OBJECTS]
                out.obj_id[k] = read_id(buf, p, id_size)
                out.obj_kind[k] = KIND_PRIMITIVE_ARRAY
                out.obj_off[k] = start
                out.obj_class[k] = elem
                out.obj_len[k] = length
                out.obj_heap[k] = heap
            counts[N_OBJECTS] += 1
            counts[N_PRIMITIVE_ARRAYS] += 1
            p = body_end
        elif tag == C.SUB_CLASS_DUMP:
            length = _class_dump_length(buf, p, end, id_size)
            if length == -1:
                return start, 1
            if length == -2:
                return start, 2
            _class_dump(buf, p, id_size, fill, out, counts, heap)
            if fill:
                k = counts[N_OBJECTS]
                out.obj_id[k] = read_id(buf, p, id_size)
                out.obj_kind[k] = KIND_CLASS
                out.obj_off[k] = start
                out.obj_class[k] = 0  # java.lang.Class, resolved with the class table
                out.obj_len[k] = 0
                out.obj_heap[k] = heap
            counts[N_OBJECTS] += 1  # a class is an object too
            p += length
        elif tag == C.SUB_HEAP_DUMP_INFO:
            if p + 4 + id_size > end:
                return start, 1
            heap = _heap_number(buf, p, id_size, fill, out, counts, state)
            state[STATE_HEAP] = heap
            p += 4 + id_size
        else:
            return start, 2
    return p, 0


def new_scan_state() -> tuple[np.ndarray, np.ndarray]:
    """Fresh ``counts`` and ``state`` arrays for a walk from the first record."""
    counts = np.zeros(N_COUNTS, np.int64)
    counts[TRUNCATED_AT] = -1
    counts[CORRUPT_AT] = -1
    state = np.full(STATE_HEAPS + MAX_HEAPS, -1, np.int64)
    state[STATE_IN_SEGMENTS] = 0
    return counts, state


@njit(cache=True)
def scan_records(buf, p, stop_at, id_size, wanted_dump, fill, out, counts, state):
    """Walk the top-level records from offset ``p``, indexing the sub-records of heap dump number
    ``wanted_dump`` (0-based) into ``out`` (when ``fill``) and ``counts``.

    Returns the offset reached. The walk pauses at the first record boundary at or after
    ``stop_at`` so the caller can release the pages it is done with; call again from the returned
    offset with the same ``counts`` and ``state``. When the returned offset is the end of the
    file (or the walk hit a truncated record), the walk is complete and ``counts[N_DUMPS]`` final.
    """
    size = buf.shape[0]
    while p < size:
        if p >= stop_at:
            return p
        if p + C.RECORD_HEADER_SIZE > size:
            counts[TRUNCATED_AT] = p
            counts[MISSING_BYTES] = C.RECORD_HEADER_SIZE - (size - p)
            break
        tag = read_u1(buf, p)
        length = read_u4(buf, p + 5)
        body = p + C.RECORD_HEADER_SIZE
        end = body + length
        counts[N_RECORDS] += 1
        truncated = end > size
        if truncated:
            counts[TRUNCATED_AT] = p
            counts[MISSING_BYTES] = end - size
            end = size
        if tag == C.TAG_STRING:
            if length >= id_size and not truncated:
                if fill:
                    k = counts[N_STRINGS]
                    out.str_id[k] = read_id(buf, body, id_size)
                    out.str_off[k] = body + id_size
                    out.str_len[k] = length - id_size
                counts[N_STRINGS] += 1
        elif tag == C.TAG_LOAD_CLASS:
            if length >= 8 + 2 * id_size and not truncated:
                if fill:
                    k = counts[N_LOAD_CLASSES]
                    out.lc_serial[k] = read_i4(buf, body)
                    out.lc_class_id[k] = read_id(buf, body + 4, id_size)
                    out.lc_name_id[k] = read_id(buf, body + 8 + id_size, id_size)
                counts[N_LOAD_CLASSES] += 1
        elif tag == C.TAG_STACK_FRAME:
            counts[N_STACK_FRAMES] += 1
        elif tag == C.TAG_STACK_TRACE:
            counts[N_STACK_TRACES] += 1
        elif tag == C.TAG_HEAP_DUMP or tag == C.TAG_HEAP_DUMP_SEGMENT:
            # A HEAP_DUMP record is a whole dump; segments form one dump until HEAP_DUMP_END.
            if tag == C.TAG_HEAP_DUMP or state[STATE_IN_SEGMENTS] == 0:
                state[STATE_DUMP] += 1
                state[STATE_HEAP] = NO_HEAP
            state[STATE_IN_SEGMENTS] = 1 if tag == C.TAG_HEAP_DUMP_SEGMENT else 0
            if state[STATE_DUMP] == wanted_dump:
                reached, status = _scan_heap_body(buf, body, end, id_size, fill, out, counts,
                                                  state)
                # status 1 inside a complete record: a sub-record claims more than its record
                # holds. Either way the rest of this record cannot be read.
                if status == 2 or (status == 1 and not truncated):
                    if counts[CORRUPT_AT] < 0:
                        counts[CORRUPT_AT] = reached
                        counts[CORRUPT_TAG] = read_u1(buf, reached)
                    counts[CORRUPT_SKIPPED] += end - reached
        elif tag == C.TAG_HEAP_DUMP_END:
            state[STATE_IN_SEGMENTS] = 0
        else:
            counts[N_OTHER_RECORDS] += 1
        if truncated:
            p = size
            break
        p = end
    counts[SCAN_END] = min(p, size)
    counts[N_DUMPS] = state[STATE_DUMP] + 1
    return size
