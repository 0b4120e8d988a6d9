"""The first pass of ``strip``: class layouts, and which arrays back Strings and Bitmaps.

Whether a ``char[]``/``byte[]`` holds a String's characters is not written on the array: the
String instance names it in its ``value`` field (a Bitmap in ``mBuffer``), and in a HotSpot dump
the array may come before or after the String. So strip reads the dump once before it writes:

- STRING and LOAD_CLASS records: which class ids are ``java.lang.String`` and
  ``android.graphics.Bitmap`` (both HotSpot's ``java/lang/String`` and Android's dotted names);
- every CLASS_DUMP: superclass and declared instance fields (the field layouts the ``all``
  level and the String hash zeroing need, and the offset of ``value`` / ``mBuffer``);
- every String / Bitmap instance: the id in its ``value`` / ``mBuffer`` field, a *mark*.

All of that runs in one kernel over the mapped file (``survey_records`` in ``_rewrite.c``: C,
for the reasons given there), paused every window so pages can be released. The marks stream
through a fixed-size chunk (spilled to a temporary file when full), so nothing here grows with
the object count; the tables grow with the number of classes only.

Real dumps write the name records before the heap, and both HotSpot and ART write the String and
Bitmap class dumps before their instances, so one pass suffices. When that does not hold (an
instance before its class dump, names after the heap, subclasses of String or Bitmap), a second
pass marks again with the complete list of classes: correctness never depends on the order.
"""

from __future__ import annotations

import tempfile
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from oomlens.errors import HprofFormatError
from oomlens.hprof import _rewrite
from oomlens.hprof import constants as C
from oomlens.hprof.source import DumpFile

WINDOW_BYTES = 8 << 20  # pages are released behind the walk this often
MARK_CHUNK = 1 << 16  # marks buffered in the kernel before the driver takes them

# The names the survey looks for in STRING records, by index.
NAMES = ("java.lang.String", "java/lang/String", "android.graphics.Bitmap",
         "android/graphics/Bitmap", "value", "mBuffer", "hash", "hashCode", "hashIsZero")
NAME_STRING_CLASS = (0, 1)
NAME_BITMAP_CLASS = (2, 3)
NAME_VALUE = 4
NAME_MBUFFER = 5
NAME_HASHES = (6, 7, 8)  # String's cached hash code (HotSpot, ART; Dalvik's hashCode)

# What a marked class is.
TARGET_STRING = 0
TARGET_BITMAP = 1

OFFSET_UNKNOWN = -1  # the class dump has not been read yet
OFFSET_NONE = -2  # the class has no such reference field

# -- kernel state -------------------------------------------------------------------------------
# ``_rewrite.survey_records(src, stop_at, id_size, names, name_off, collect, mark, *tables, st)``
# walks from ``st[SV_P]``: with ``collect``, it records names, LOAD_CLASS and CLASS_DUMPs (and
# resolves the marked classes when the first heap dump starts); with ``mark``, it marks the
# arrays of instances of the classes in ``tables.tg_*``. It pauses (R_PAUSE) at the first
# sub-record at or after ``stop_at``, and returns whenever a table or the mark chunk is full
# (nothing of the current item applied, so calling again resumes exactly).
SV_P = 0
SV_REC_END = 1  # end of the heap dump record being walked, 0 at top level
SV_HEAP_STARTED = 2
SV_HEAP_RECORDS = 3
SV_N_MATCH = 4
SV_N_LC = 5
SV_N_CLS = 6
SV_N_FIELDS = 7
SV_N_TARGETS = 8
SV_N_MARKS = 9  # in the current chunk
SV_MARKS = 10  # in all
SV_MARK_MIN = 11
SV_MARK_MAX = 12
SV_MARK_FIRST = 13
SV_MARK_OR = 14  # OR of (id - first id): its lowest set bit is the ids' granularity
SV_EARLY = 15  # instances of a marked class read before its class dump
SV_TRUNC_AT = 16
SV_MISSING = 17
SV_ERR_AT = 18
SV_STRING_MARKS = 19
SV_BITMAP_MARKS = 20
SV_GROW = 21  # which table needs room
N_SV = 22

R_DONE = 0
R_PAUSE = 1
R_GROW = 2  # the table in SV_GROW is full: enlarge it, call again
R_MARKS = 3  # the mark chunk is full: take it, call again
R_ERROR = 4

GROW_MATCH = 0
GROW_LC = 1
GROW_CLASSES = 2
GROW_TARGETS = 3

Tables = namedtuple("Tables", [
    "match_id", "match_name",  # STRING records whose text is one of NAMES
    "lc_class", "lc_name",  # LOAD_CLASS: class id, name string id
    "cls_id", "cls_super", "cls_fbegin", "cls_nfields",  # CLASS_DUMPs, file order
    "fd_name", "fd_type",  # their declared instance fields
    "tg_class", "tg_kind", "tg_offset",  # marked classes: id, TARGET_*, offset of the field
    "marks",  # chunk of marked ids
])


def _new_tables() -> Tables:
    i64 = np.int64
    return Tables(np.empty(64, i64), np.empty(64, np.int32), np.empty(1024, i64),
                  np.empty(1024, i64), np.empty(1024, i64), np.empty(1024, i64),
                  np.empty(1024, i64), np.empty(1024, i64), np.empty(8192, i64),
                  np.empty(8192, np.uint8), np.empty(16, i64), np.empty(16, np.int8),
                  np.empty(16, i64), np.empty(MARK_CHUNK, i64))


def _grown(t: Tables, which: int) -> Tables:
    groups = {GROW_MATCH: ("match_id", "match_name"), GROW_LC: ("lc_class", "lc_name"),
              GROW_CLASSES: ("cls_id", "cls_super", "cls_fbegin", "cls_nfields", "fd_name",
                             "fd_type"),
              GROW_TARGETS: ("tg_class", "tg_kind", "tg_offset")}[which]
    changes = {}
    for name in groups:
        old = getattr(t, name)
        new = np.empty(max(2 * len(old), 16), old.dtype)
        new[: len(old)] = old
        changes[name] = new
    if which == GROW_CLASSES:  # fields may need much more than twice: at most 65535 per class
        for name in ("fd_name", "fd_type"):
            old = getattr(t, name)
            new = np.empty(2 * len(old) + 65536, old.dtype)
            new[: len(old)] = old
            changes[name] = new
    return t._replace(**changes)


# -- marks --------------------------------------------------------------------------------------
class MarkSpool:
    """The marked ids as the kernel hands them over, chunk by chunk: kept in memory up to a few
    chunks, then spilled to an unnamed temporary file, so memory does not grow with them."""

    MEMORY_CHUNKS = 4

    def __init__(self):
        self._chunks: list[np.ndarray] = []
        self._file = None

    def add(self, ids: np.ndarray) -> None:
        if self._file is None and len(self._chunks) < self.MEMORY_CHUNKS:
            self._chunks.append(ids.copy())
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="oomlens-marks-")  # noqa: SIM115 - see close()
        self._file.write(ids.tobytes())

    def chunks(self):
        yield from self._chunks
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            while raw := self._file.read(MARK_CHUNK * 8):
                yield np.frombuffer(raw, np.int64)

    def close(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None


def _set_bits(bits: np.ndarray, ids: np.ndarray, base: int, shift: int) -> None:
    """Set bit (id - base) >> shift of ``bits`` for each of ``ids`` (one chunk of the spool).
    The distance is taken modulo 2^64, as ``build_mark_set`` measures the span and the kernel's
    ``is_marked`` reads it back, so ids more than 2^63 apart still get their own bits."""
    b = (ids.view(np.uint64) - np.uint64(base % (1 << 64))) >> np.uint64(shift)
    # ufunc.at, not ``bits[i] |= m``: several ids may set bits of the same byte
    np.bitwise_or.at(bits, b >> np.uint64(3),
                     np.left_shift(np.uint8(1), (b & np.uint64(7)).astype(np.uint8)))


def build_mark_set(spool: MarkSpool, count: int, low: int, high: int, or_delta: int):
    """(meta, bits, sorted ids) for ``rewrite.EditPlan``: the smaller of two exact structures.

    A bitset over [low, high] in steps of the ids' granularity g (the largest power of two
    dividing every id's distance to the others: 8 for object addresses) takes
    (high - low) / g / 8 bytes: 1/64 of the address span of the marked arrays, e.g. 4 MB for
    a 256 MB heap, at most 64 MiB for 4-byte ids whatever the dump size, and the zero pages of
    the gaps between heap regions are never touched (NumPy takes them from calloc / mmap). A
    sorted array of the ids takes 8 bytes per marked array. The bitset is used whenever it is
    not bigger (every real dump: 64 ids' worth of address span per String is 512 bytes), the
    sorted array only for ids scattered over a huge span (e.g. hand-made or damaged dumps), so
    memory is min(span / 64, 8 * marks): bounded by the heap's address span, not its objects.
    """
    from oomlens.hprof import rewrite as R

    if count == 0:
        return np.array([R.MARKS_NONE, 0, 0, 0], np.int64), np.zeros(0, np.uint8), \
            np.zeros(0, np.int64)
    shift = 0
    if or_delta:
        shift = (or_delta & -or_delta).bit_length() - 1
    span = (high - low) & ((1 << 64) - 1)
    nbits = (span >> shift) + 1
    bitset_bytes = (nbits + 7) // 8
    if bitset_bytes <= max(8 * count, 1 << 20) and high >= low:
        bits = np.zeros(bitset_bytes, np.uint8)
        for chunk in spool.chunks():
            _set_bits(bits, np.ascontiguousarray(chunk, np.int64), low, shift)
        return np.array([R.MARKS_BITSET, low, shift, nbits], np.int64), bits, \
            np.zeros(0, np.int64)
    ids = np.concatenate(list(spool.chunks())) if count else np.zeros(0, np.int64)
    ids = np.unique(ids)
    return np.array([R.MARKS_SORTED, 0, 0, 0], np.int64), np.zeros(0, np.uint8), ids


# -- the driver -------------------------------------------------------------------------------
@dataclass
class ClassLayouts:
    """Every CLASS_DUMP's id, superclass and declared instance fields (first of a duplicated
    id kept), sorted by id."""

    ids: np.ndarray
    super_index: np.ndarray  # int64, -1 for none / not in the dump
    fbegin: np.ndarray
    nfields: np.ndarray
    fd_name: np.ndarray
    fd_type: np.ndarray


@dataclass
class Survey:
    classes: ClassLayouts
    string_classes: np.ndarray  # class ids named java.lang.String
    bitmap_classes: np.ndarray
    hash_name_ids: np.ndarray  # STRING ids of "hash", "hashCode", "hashIsZero"
    marks: tuple  # (meta, bits, sorted) for the edit plan
    string_marks: int
    bitmap_marks: int
    heap_records: int
    passes: int
    truncated_at: int
    missing_bytes: int


def _names_array():
    encoded = [n.encode() for n in NAMES]
    off = np.zeros(len(encoded) + 1, np.int64)
    off[1:] = np.cumsum([len(e) for e in encoded])
    return np.frombuffer(b"".join(encoded), np.uint8).copy(), off


def _run(dump: DumpFile, t: Tables, collect: bool, mark: bool, spool: MarkSpool | None,
         progress, phase: str, n_targets: int = 0):
    src, id_size = dump.data, dump.header.id_size
    names, name_off = _names_array()
    st = np.zeros(N_SV, np.int64)
    st[SV_P] = dump.header.length
    st[SV_TRUNC_AT] = -1
    st[SV_N_TARGETS] = n_targets
    released = 0
    while True:
        stop_at = st[SV_P] + WINDOW_BYTES
        r = _rewrite.survey_records(src, stop_at, id_size, names, name_off, collect, mark, *t,
                                    st)
        if r == R_GROW:
            t = _grown(t, int(st[SV_GROW]))
            continue
        if r == R_MARKS:
            spool.add(t.marks[: st[SV_N_MARKS]])
            st[SV_N_MARKS] = 0
            continue
        if r == R_ERROR:
            at = int(st[SV_ERR_AT])
            raise HprofFormatError(
                f"{dump.path}: corrupt heap dump: unreadable sub-record (tag 0x{int(src[at]):02x})"
                f" at offset {at:,}; nothing was written")
        reached = min(int(st[SV_P]), dump.size)
        if reached > released:
            dump.release_pages(released, reached)
            released = reached
        if progress:
            progress(phase, reached, dump.size)
        if r == R_DONE:
            break
    if mark and st[SV_N_MARKS]:
        spool.add(t.marks[: st[SV_N_MARKS]])
        st[SV_N_MARKS] = 0
    return t, st


def _class_layouts(t: Tables, st) -> ClassLayouts:
    n = int(st[SV_N_CLS])
    ids = t.cls_id[:n]
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    keep = np.ones(n, bool)
    keep[1:] = ids[1:] != ids[:-1]
    order, ids = order[keep], ids[keep]
    supers = t.cls_super[:n][order]
    super_index = np.full(len(ids), -1, np.int64)
    if len(ids):
        pos = np.minimum(np.searchsorted(ids, supers), len(ids) - 1)
        found = (ids[pos] == supers) & (supers != 0)
        super_index[found] = pos[found]
    f = int(st[SV_N_FIELDS])
    return ClassLayouts(ids, super_index, t.cls_fbegin[:n][order], t.cls_nfields[:n][order],
                        t.fd_name[:f].copy(), t.fd_type[:f].copy())


def _named(t: Tables, st, name_indices) -> np.ndarray:
    n = int(st[SV_N_MATCH])
    return np.unique(t.match_id[:n][np.isin(t.match_name[:n], name_indices)])


def _classes_named(t: Tables, st, name_indices) -> np.ndarray:
    n = int(st[SV_N_LC])
    return np.unique(t.lc_class[:n][np.isin(t.lc_name[:n], _named(t, st, name_indices))])


def descendants(layouts: ClassLayouts, roots: np.ndarray) -> np.ndarray:
    """Indices (in ``layouts``) of the classes whose superclass chain reaches one of the class
    ids ``roots``, the roots included. A superclass cycle is an error."""
    n = len(layouts.ids)
    state = np.zeros(n, np.int8)  # 0 unknown, 1 in, 2 out
    root_idx = np.searchsorted(layouts.ids, roots)
    for r, i in zip(roots.tolist(), root_idx.tolist()):
        if i < n and layouts.ids[i] == r:
            state[i] = 1
    sup = layouts.super_index
    for k in range(n):
        chain = []
        j = k
        while j >= 0 and state[j] == 0:
            chain.append(j)
            if len(chain) > n:
                raise HprofFormatError("superclass cycle in the class dumps")
            j = int(sup[j])
        verdict = 1 if j >= 0 and state[j] == 1 else 2
        for c in chain:
            state[c] = verdict
    return np.nonzero(state == 1)[0]


def own_field_bytes(layouts: ClassLayouts, id_size: int) -> np.ndarray:
    sizes = np.zeros(256, np.int64)
    for code in C.PRIMITIVE_SIZES:
        sizes[code] = C.PRIMITIVE_SIZES[code]
    sizes[C.TYPE_OBJECT] = id_size
    per_field = sizes[layouts.fd_type]
    cum = np.zeros(len(per_field) + 1, np.int64)
    np.cumsum(per_field, out=cum[1:])
    return cum[layouts.fbegin + layouts.nfields] - cum[layouts.fbegin]


def _full_targets(t: Tables, st, layouts: ClassLayouts, id_size: int):
    """(class ids, kinds, offsets) of String and Bitmap and every subclass of them: a subclass's
    own fields come first in instance data, so its offset is theirs added to the target's."""
    own = own_field_bytes(layouts, id_size)
    ids, kinds, offsets = [], [], []
    for kind, names, field in ((TARGET_STRING, NAME_STRING_CLASS, NAME_VALUE),
                               (TARGET_BITMAP, NAME_BITMAP_CLASS, NAME_MBUFFER)):
        field_ids = set(_named(t, st, [field]).tolist())
        for root_id in _classes_named(t, st, names).tolist():
            r = int(np.searchsorted(layouts.ids, root_id))
            if r >= len(layouts.ids) or layouts.ids[r] != root_id:
                continue
            offset, off = OFFSET_NONE, 0
            for f in range(int(layouts.fbegin[r]), int(layouts.fbegin[r] + layouts.nfields[r])):
                if int(layouts.fd_type[f]) == C.TYPE_OBJECT and int(layouts.fd_name[f]) in \
                        field_ids:
                    offset = off
                    break
                off += C.value_size(int(layouts.fd_type[f]), id_size)
            for k in descendants(layouts, np.array([root_id], np.int64)).tolist():
                below, j = 0, k
                while j != r:
                    below += int(own[j])
                    j = int(layouts.super_index[j])
                ids.append(int(layouts.ids[k]))
                kinds.append(kind)
                offsets.append(offset + below if offset >= 0 else OFFSET_NONE)
    return ids, kinds, offsets


def survey(dump: DumpFile, mark: bool, progress=None) -> Survey:
    """Read the classes (and with ``mark``, the arrays of Strings and Bitmaps) of every heap
    dump in the file. Damaged structure is an error here, before anything is written."""
    spool = MarkSpool() if mark else None
    try:
        t, st = _run(dump, _new_tables(), True, mark, spool, progress, "reading classes")
        if st[SV_HEAP_RECORDS] == 0:
            raise HprofFormatError(f"{dump.path}: no heap dump records found")
        layouts = _class_layouts(t, st)
        ids, kinds, offsets = _full_targets(t, st, layouts, dump.header.id_size)
        names_st, passes = st, 1
        if mark and (st[SV_EARLY] or set(ids) != set(t.tg_class[: st[SV_N_TARGETS]].tolist())):
            # an instance came before its class dump, names came after the heap, or String or
            # Bitmap have subclasses: mark again, knowing every class
            spool.close()
            spool = MarkSpool()
            t = t._replace(tg_class=np.array(ids, np.int64), tg_kind=np.array(kinds, np.int8),
                           tg_offset=np.array(offsets, np.int64))
            t, st = _run(dump, t, False, True, spool, progress, "marking strings", len(ids))
            passes = 2
        marks = build_mark_set(spool or MarkSpool(), int(st[SV_MARKS]), int(st[SV_MARK_MIN]),
                               int(st[SV_MARK_MAX]), int(st[SV_MARK_OR]) & ((1 << 64) - 1))
        kinds_array = np.array(kinds, np.int8)
        ids_array = np.array(ids, np.int64)
        return Survey(classes=layouts,
                      string_classes=ids_array[kinds_array == TARGET_STRING],
                      bitmap_classes=ids_array[kinds_array == TARGET_BITMAP],
                      hash_name_ids=_named(t, names_st, NAME_HASHES),
                      marks=marks, string_marks=int(st[SV_STRING_MARKS]),
                      bitmap_marks=int(st[SV_BITMAP_MARKS]),
                      heap_records=int(names_st[SV_HEAP_RECORDS]), passes=passes,
                      truncated_at=int(names_st[SV_TRUNC_AT]),
                      missing_bytes=int(names_st[SV_MISSING]))
    finally:
        if spool is not None:
            spool.close()
