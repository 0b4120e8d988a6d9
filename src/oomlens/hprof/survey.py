"""The first pass of ``strip``: class layouts, which arrays back Strings and Bitmaps, and which
of them are threads' names.

Whether a ``char[]``/``byte[]`` holds a String's characters is not written on the array: the
String instance names it in its ``value`` field (a Bitmap in ``mBuffer``), and in a HotSpot dump
the array may come before or after the String. So strip reads the dump once before it writes:

- STRING and LOAD_CLASS records: which class ids are ``java.lang.String``,
  ``android.graphics.Bitmap`` and ``java.lang.Thread`` (both HotSpot's ``java/lang/String`` and
  Android's dotted names);
- every CLASS_DUMP: superclass and declared instance fields (the field layouts the ``all``
  level and the String hash zeroing need, and the offset of ``value`` / ``mBuffer`` / ``name``);
- every String / Bitmap instance: the id in its ``value`` / ``mBuffer`` field, a *mark* (with
  the String's own id beside it);
- every Thread instance (of any subclass): the id in its ``name`` field, a String on JDK 9+,
  Dalvik and ART, a ``char[]`` on JDK 6 to 8u05.

Thread names are not the user's words but the app's (``pool-7-thread-3``), and they are what
explains a thread-limit OutOfMemoryError, so by default the ``strings`` level keeps them: the
marks of a thread's name String (and a ``char[]`` name) are dropped after the walk. The String
may come before or after its Thread, so this is decided only once every Thread has been read;
a String that is a thread's name and also held elsewhere is kept, and so is an array that backs
both a thread's name and another String (its characters are the name's). Without keeping them,
a ``char[]`` name is marked too, so no runtime's thread names survive.

All of that runs in one kernel over the mapped file (``survey_records`` in ``_rewrite.c``: C,
for the reasons given there), paused every window so pages can be released. The marks and the
names stream through fixed-size chunks into spools (``marks.MarkSpool``, spilled to temporary
files), and the sets made of them are bitsets over the ids' span or sorted arrays
(``marks.build_mark_set``), so nothing here grows with the object count; the tables grow with
the number of classes only.

Real dumps write the name records before the heap, and write the String, Bitmap and Thread
class dumps before their instances, so one pass suffices: the kernel marks a subclass of a
marked class when it reads the subclass's class dump after its superclass's (Dalvik and ART
interleave class dumps with instances), and at the first instance it stops once so that the
driver adds the subclasses whose class dumps came in another order (HotSpot writes every class
dump before any instance, in no particular order). When that cannot be exact (an instance before
its class dump, as ART writes String's; names after the heap; a subclass marked after
instances of it may have been read, which a 128 KiB filter of the instances' classes tells), a
second pass marks again with the complete list of classes: correctness never depends on the
order.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from oomlens.errors import HprofFormatError
from oomlens.hprof import _rewrite
from oomlens.hprof import constants as C
from oomlens.hprof.marks import MARK_CHUNK, MarkSet, MarkSpool, build_mark_set
from oomlens.hprof.source import DumpFile

WINDOW_BYTES = 8 << 20  # pages are released behind the walk this often
NAME_CHUNK = 1 << 12  # thread names buffered in the kernel before the driver takes them
SEEN_BITS = 20  # the kernel's filter of classes with instances read: 2^20 bits, 128 KiB

# The names the survey looks for in STRING records, by index.
NAMES = ("java.lang.String", "java/lang/String", "android.graphics.Bitmap",
         "android/graphics/Bitmap", "value", "mBuffer", "hash", "hashCode", "hashIsZero",
         "java.lang.Thread", "java/lang/Thread", "name")
NAME_STRING_CLASS = (0, 1)
NAME_BITMAP_CLASS = (2, 3)
NAME_VALUE = 4
NAME_MBUFFER = 5
NAME_HASHES = (6, 7, 8)  # String's cached hash code (HotSpot, ART; Dalvik's hashCode)
NAME_THREAD_CLASS = (9, 10)
NAME_THREAD_NAME = 11

# What a marked class is.
TARGET_STRING = 0
TARGET_BITMAP = 1
TARGET_THREAD = 2
# (kind, its class names, the reference field it is marked for)
TARGET_KINDS = ((TARGET_STRING, NAME_STRING_CLASS, NAME_VALUE),
                (TARGET_BITMAP, NAME_BITMAP_CLASS, NAME_MBUFFER),
                (TARGET_THREAD, NAME_THREAD_CLASS, NAME_THREAD_NAME))

OFFSET_UNKNOWN = -1  # the class dump has not been read yet
OFFSET_NONE = -2  # the class has no such reference field

# -- kernel state -------------------------------------------------------------------------------
# ``_rewrite.survey_records(src, stop_at, id_size, names, name_off, collect, mark, *tables, st)``
# walks from ``st[SV_P]``: with ``collect``, it records names, LOAD_CLASS and CLASS_DUMPs (and
# resolves the marked classes when the first heap dump starts); with ``mark``, it marks the
# arrays of instances of the classes in ``tables.tg_*`` and records Threads' names. With both,
# it returns R_RESOLVE at the first instance (once: SV_RESOLVED), for the driver to add the
# subclasses. It pauses (R_PAUSE) at the first sub-record at or after ``stop_at``, and returns
# whenever a table or a chunk is full (nothing of the current item applied, so calling again
# resumes exactly).
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
SV_N_NAMES = 10  # thread names in the current chunk
SV_RESOLVED = 11  # the kernel has stopped at the first instance
SV_EARLY = 12  # instances of a marked class read before its class dump
SV_LATE = 13  # subclasses marked at their class dump after instances of them may have been read
SV_TRUNC_AT = 14
SV_MISSING = 15
SV_ERR_AT = 16
SV_STRING_MARKS = 17
SV_BITMAP_MARKS = 18
SV_THREAD_NAMES = 19  # Threads whose name is not null
SV_GROW = 20  # which table needs room
N_SV = 21

R_DONE = 0
R_PAUSE = 1
R_GROW = 2  # the table in SV_GROW is full: enlarge it, call again
R_MARKS = 3  # the mark chunk or the name chunk is full: take them, call again
R_ERROR = 4
R_RESOLVE = 5  # the first instance: add the subclasses of the marked classes, call again

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
    "marks", "mark_owner",  # chunk of marked ids, and the String holding each (0: a Bitmap)
    "thread_names",  # chunk of the ids in Threads' name fields
    "seen",  # bits by class id hash: instances of the class may have been read (_rewrite.c)
])


def _new_tables() -> Tables:
    i64 = np.int64
    return Tables(np.empty(64, i64), np.empty(64, np.int32), np.empty(1024, i64),
                  np.empty(1024, i64), np.empty(1024, i64), np.empty(1024, i64),
                  np.empty(1024, i64), np.empty(1024, i64), np.empty(8192, i64),
                  np.empty(8192, np.uint8), np.empty(16, i64), np.empty(16, np.int8),
                  np.empty(16, i64), np.empty(MARK_CHUNK, i64), np.empty(MARK_CHUNK, i64),
                  np.empty(NAME_CHUNK, i64), np.zeros((1 << SEEN_BITS) // 8, np.uint8))


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


# -- marks and thread names ---------------------------------------------------------------------
class Marking:
    """Where the kernel's marks and thread names go, and the mark set made of them at the end.

    Keeping thread names: the marks go with their String's id (two columns) and the names into
    their own spool; once the walk is over, the names' set says which marks to drop. Not keeping
    them: the names are marks like the others (a ``char[]`` name is then removed; a String name
    is marked through its String anyway)."""

    def __init__(self, keep_thread_names: bool):
        self.keep = keep_thread_names
        self.values = MarkSpool(columns=2 if self.keep else 1)
        self.names = MarkSpool() if self.keep else self.values

    def take(self, t: Tables, st) -> None:
        """Move the kernel's chunks to the spools and empty them."""
        n, m = int(st[SV_N_MARKS]), int(st[SV_N_NAMES])
        if n:
            self.values.add(np.column_stack((t.marks[:n], t.mark_owner[:n])) if self.keep
                            else t.marks[:n])
        if m:
            self.names.add(t.thread_names[:m])
        st[SV_N_MARKS] = st[SV_N_NAMES] = 0

    def mark_set(self) -> tuple[MarkSet, int]:
        """(the arrays to empty, Strings whose characters are kept because they name a
        thread)."""
        marks = build_mark_set(self.values)
        if not self.keep:
            return marks, 0
        names = build_mark_set(self.names)
        kept = MarkSpool()  # the arrays that hold a thread's name
        try:
            for chunk in self.names.chunks():  # a char[] name (a String's id is no array's)
                kept.add(chunk)
            for chunk in self.values.chunks():
                kept.add(chunk[names.contains(chunk[:, 1]), 0])
            for chunk in kept.chunks():
                marks.discard(chunk[:, 0])
            kept_set = build_mark_set(kept)
            strings = 0  # those naming a thread, and any other String over the same array
            for chunk in self.values.chunks():
                strings += int(np.count_nonzero((chunk[:, 1] != 0)
                                                & kept_set.contains(chunk[:, 0])))
            return marks, strings
        finally:
            kept.close()

    def close(self) -> None:
        self.values.close()
        self.names.close()


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
    marks: MarkSet  # the arrays to empty at the strings level
    string_marks: int  # Strings whose value array is marked
    bitmap_marks: int
    thread_names: int  # Threads with a name
    thread_name_strings_kept: int  # Strings whose value array is not marked: it names a thread
    heap_records: int
    passes: int
    truncated_at: int
    missing_bytes: int


def _names_array():
    encoded = [n.encode() for n in NAMES]
    off = np.zeros(len(encoded) + 1, np.int64)
    off[1:] = np.cumsum([len(e) for e in encoded])
    return np.frombuffer(b"".join(encoded), np.uint8).copy(), off


def _run(dump: DumpFile, t: Tables, collect: bool, marking: Marking | None, progress,
         phase: str, n_targets: int = 0):
    src, id_size = dump.data, dump.header.id_size
    names, name_off = _names_array()
    st = np.zeros(N_SV, np.int64)
    st[SV_P] = dump.header.length
    st[SV_TRUNC_AT] = -1
    st[SV_N_TARGETS] = n_targets
    mark = marking is not None
    released = 0
    stop_at = st[SV_P] + WINDOW_BYTES  # moves on at a pause only: chunks may fill more often
    while True:
        r = _rewrite.survey_records(src, stop_at, id_size, names, name_off, collect, mark, *t,
                                    st)
        if r == R_ERROR:
            at = int(st[SV_ERR_AT])
            raise HprofFormatError(
                f"{dump.path}: corrupt heap dump: unreadable sub-record (tag 0x{int(src[at]):02x})"
                f" at offset {at:,}; nothing was written")
        if r == R_GROW:
            t = _grown(t, int(st[SV_GROW]))
            continue
        if r == R_MARKS:
            marking.take(t, st)
            continue
        if r == R_RESOLVE:
            t = _with_subclass_targets(t, st, id_size)
            continue
        reached = min(int(st[SV_P]), dump.size)
        if reached > released:
            dump.release_pages(released, reached)
            released = reached
        if progress:
            progress(phase, reached, dump.size)
        if r == R_DONE:
            break
        stop_at = st[SV_P] + WINDOW_BYTES
    if mark:
        marking.take(t, st)
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
    """(class ids, kinds, offsets) of String, Bitmap and Thread and every subclass of them whose
    class dump (and its superclasses') is in ``layouts``: a subclass's own fields come first in
    instance data, so its offset is theirs added to the target's."""
    own = own_field_bytes(layouts, id_size)
    ids, kinds, offsets = [], [], []
    for kind, names, field in TARGET_KINDS:
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


def _with_subclass_targets(t: Tables, st, id_size: int) -> Tables:
    """The marked classes at the first instance: every one whose class dump has been read, with
    its subclasses, and the ones the names found whose class dump is still to come (the kernel
    reads their offset there, and counts their instances before it as early)."""
    ids, kinds, offsets = _full_targets(t, st, _class_layouts(t, st), id_size)
    n = int(st[SV_N_TARGETS])
    known = set(ids)
    for class_id, kind, offset in zip(t.tg_class[:n].tolist(), t.tg_kind[:n].tolist(),
                                      t.tg_offset[:n].tolist()):
        if offset == OFFSET_UNKNOWN and class_id not in known:
            ids.append(class_id)
            kinds.append(kind)
            offsets.append(offset)
    st[SV_N_TARGETS] = len(ids)
    return _with_targets(t, ids, kinds, offsets)


def _with_targets(t: Tables, ids, kinds, offsets) -> Tables:
    room = max(len(ids), 16)
    columns = {}
    for name, values, dtype in (("tg_class", ids, np.int64), ("tg_kind", kinds, np.int8),
                                ("tg_offset", offsets, np.int64)):
        column = np.zeros(room, dtype)
        column[: len(values)] = values
        columns[name] = column
    return t._replace(**columns)


def survey(dump: DumpFile, mark: bool, progress=None, keep_thread_names: bool = True) -> Survey:
    """Read the classes (and with ``mark``, the arrays of Strings and Bitmaps and the names of
    Threads) of every heap dump in the file. Damaged structure is an error here, before anything
    is written. ``keep_thread_names`` leaves the arrays of the Strings that name threads out of
    the mark set (see the module's docstring)."""
    marking = Marking(keep_thread_names) if mark else None
    try:
        t, st = _run(dump, _new_tables(), True, marking, progress, "reading classes")
        if st[SV_HEAP_RECORDS] == 0:
            raise HprofFormatError(f"{dump.path}: no heap dump records found")
        layouts = _class_layouts(t, st)
        ids, kinds, offsets = _full_targets(t, st, layouts, dump.header.id_size)
        names_st, passes = st, 1
        if mark and (st[SV_EARLY] or st[SV_LATE]
                     or set(ids) != set(t.tg_class[: st[SV_N_TARGETS]].tolist())):
            # an instance came before its class dump, names came after the heap, or a subclass
            # of String, Bitmap or Thread was not known when its instances may have been read:
            # mark again, knowing every class
            marking.close()
            marking = Marking(keep_thread_names)
            t, st = _run(dump, _with_targets(t, ids, kinds, offsets), False, marking, progress,
                         "marking strings", len(ids))
            passes = 2
        marks, kept = marking.mark_set() if mark else (MarkSet(), 0)
        kinds_array = np.array(kinds, np.int8)
        ids_array = np.array(ids, np.int64)
        return Survey(classes=layouts,
                      string_classes=ids_array[kinds_array == TARGET_STRING],
                      bitmap_classes=ids_array[kinds_array == TARGET_BITMAP],
                      hash_name_ids=_named(t, names_st, NAME_HASHES),
                      marks=marks, string_marks=int(st[SV_STRING_MARKS]),
                      bitmap_marks=int(st[SV_BITMAP_MARKS]),
                      thread_names=int(st[SV_THREAD_NAMES]), thread_name_strings_kept=kept,
                      heap_records=int(names_st[SV_HEAP_RECORDS]), passes=passes,
                      truncated_at=int(names_st[SV_TRUNC_AT]),
                      missing_bytes=int(names_st[SV_MISSING]))
    finally:
        if marking is not None:
            marking.close()
