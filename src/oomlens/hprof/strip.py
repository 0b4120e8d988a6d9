"""``strip``: take a user's data out of a heap dump, keep everything the analysis needs.

A dump from a user's phone holds their data: the text of every String, the pixels of every
Bitmap, the bytes of every buffer. ``strip`` rewrites the dump without it, keeping every record,
object, id, class, reference, GC root and size, so that ``analyze`` finds exactly the same leaks,
paths and retained sizes on the stripped file. Levels, each including the ones before:

``strings`` (default)
    The elements of every ``char[]`` / ``byte[]`` that is the ``value`` of a ``java.lang.String``
    (or of a subclass: any runtime, JDK <= 8 char[], JDK 9+ compact byte[], Dalvik and ART
    arrays) and of every ``android.graphics.Bitmap``'s ``mBuffer`` (its pixels). Also String's
    cached hash (``hash``, ``hashIsZero``; Dalvik ``hashCode``): a 32-bit hash of a short
    secret (a PIN, a password) is enough to confirm a guess. Were a String's characters inside
    its own instance record (bytes beyond its declared fields), those are zeroed too; no known
    writer does that (ART writes them as a separate array, which is removed).
``arrays``
    The elements of every primitive array.
``all``
    Also every primitive instance field and every primitive static value (and constant pool
    value) of every class, as MAT's full redaction does; references stay.

A removed array becomes Android's PRIMITIVE_ARRAY_NODATA sub-record (id, stack trace serial,
length, element type; no elements), so its size stays exact; removed field values become zero.
Names (classes, fields, methods, threads' stack frames) stay: the analysis needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from oomlens.errors import OomlensError
from oomlens.hprof import constants as C
from oomlens.hprof import rewrite as R
from oomlens.hprof.scan import basic_type_size
from oomlens.hprof.source import DumpFile
from oomlens.hprof.survey import ClassLayouts, Survey, descendants, survey

LEVELS = ("strings", "arrays", "all")


@dataclass
class StripResult:
    level: str
    source: str
    output: str
    source_bytes: int  # the input file as stored (compressed or not)
    hprof_bytes: int  # the input's HPROF bytes
    stripped_bytes: int  # HPROF bytes written
    stored_bytes: int  # the output file's size (compressed or not)
    compressed: bool
    arrays_emptied: int
    payload_bytes_removed: int
    string_values: int  # Strings whose value array was marked
    bitmap_buffers: int
    instances_zeroed: int
    classes_zeroed: int
    passes: int  # passes over the input before writing (1, or 2 for unusual record orders)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


# -- zeroed fields ------------------------------------------------------------------------------
@njit(cache=True)
def _zero_runs(super_index, fbegin, nfields, fd_type, wanted, selected, id_size, fill, begin,
               layout, off, length):
    """For each selected class, the byte runs of its instance data to zero (fields ``wanted``,
    own fields first, then each superclass's) and the bytes its layout explains. Counts only
    when not ``fill``. Returns the number of runs, or -1 for a superclass cycle."""
    n = super_index.shape[0]
    r = 0
    for s in range(selected.shape[0]):
        if fill:
            begin[s] = r
        pos = 0
        j = selected[s]
        depth = 0
        last_end = -1
        while j >= 0:
            depth += 1
            if depth > n:
                return -1
            for f in range(fbegin[j], fbegin[j] + nfields[j]):
                size = basic_type_size(fd_type[f], id_size)
                if wanted[f]:
                    if last_end == pos and r > 0:  # extends the previous run
                        if fill:
                            length[r - 1] += size
                    else:
                        if fill:
                            off[r] = pos
                            length[r] = size
                        r += 1
                    last_end = pos + size
                pos += size
            j = super_index[j]
        if fill:
            layout[s] = pos
    if fill:
        begin[selected.shape[0]] = r
    return r


def zero_field_table(layouts: ClassLayouts, selected: np.ndarray, wanted: np.ndarray,
                     id_size: int):
    """The plan's zero-field table for the classes at ``selected`` (indices into ``layouts``,
    ascending, so the class ids come out sorted)."""
    selected = np.ascontiguousarray(selected, np.int64)
    args = (layouts.super_index, layouts.fbegin, layouts.nfields, layouts.fd_type,
            np.ascontiguousarray(wanted, np.bool_), selected, id_size)
    empty = np.zeros(0, np.int64)
    count = _zero_runs(*args, False, empty, empty, empty, empty)
    if count < 0:
        raise OomlensError("corrupt heap dump: superclass cycle in the class dumps")
    begin = np.zeros(len(selected) + 1, np.int64)
    layout = np.zeros(len(selected), np.int64)
    off = np.zeros(count, np.int64)
    length = np.zeros(count, np.int64)
    _zero_runs(*args, True, begin, layout, off, length)
    return layouts.ids[selected].copy(), begin, layout, off, length


def _string_hash_fields(sv: Survey) -> tuple[np.ndarray, np.ndarray]:
    """(selected classes, wanted fields): String and its subclasses, String's hash fields."""
    layouts = sv.classes
    selected = descendants(layouts, sv.string_classes)
    wanted = np.zeros(len(layouts.fd_type), np.bool_)
    hashes = np.isin(layouts.fd_name, sv.hash_name_ids) & (layouts.fd_type != C.TYPE_OBJECT)
    for k in selected.tolist():
        a = int(layouts.fbegin[k])
        b = a + int(layouts.nfields[k])
        wanted[a:b] = hashes[a:b]
    return selected, wanted


def build_plan(sv: Survey, level: str, id_size: int) -> R.EditPlan:
    layouts = sv.classes
    if level == "all":
        selected = np.arange(len(layouts.ids))
        wanted = layouts.fd_type != C.TYPE_OBJECT
    else:
        selected, wanted = _string_hash_fields(sv)
    flags = {R.F_STRIP_ALL_ARRAYS: level in ("arrays", "all"),
             R.F_STRIP_MARKED_ARRAYS: level == "strings",
             R.F_ZERO_STATICS: level == "all",
             R.F_ZERO_UNKNOWN_INSTANCES: level == "all"}
    return R.make_plan(flags, sv.marks, zero_field_table(layouts, selected, wanted, id_size))


# -- the command -------------------------------------------------------------------------------
def strip_dump(source: str | os.PathLike, output: str | os.PathLike, level: str = "strings",
               compress: bool = True, progress: R.Progress | None = None,
               zstd_level: int = R.DEFAULT_ZSTD_LEVEL) -> StripResult:
    """Write ``source`` (plain, .gz or .zst) without the user data ``level`` names to
    ``output``: zstd-compressed, or plain HPROF when not ``compress``. ``output`` appears only
    once it is complete."""
    if level not in LEVELS:
        raise OomlensError(f"unknown strip level {level!r} (one of: {', '.join(LEVELS)})")
    src, dst = Path(source), Path(output)
    R.check_paths(src, dst)
    with DumpFile(src, progress) as dump:
        sv = survey(dump, mark=level == "strings", progress=progress)
        plan = build_plan(sv, level, dump.header.id_size)
        with R.OutputFile(dst, compress, zstd_level) as out:
            stats = R.rewrite_dump(dump, out, plan, progress)
        warnings = list(stats.warnings)
        if level == "strings" and len(sv.string_classes) == 0:
            warnings.append("no java.lang.String class in the dump: no String was stripped")
        return StripResult(
            level=level, source=str(src), output=str(dst), source_bytes=dump.file_size,
            hprof_bytes=dump.size, stripped_bytes=stats.output_bytes, stored_bytes=out.stored_bytes,
            compressed=compress, arrays_emptied=stats.arrays_emptied,
            payload_bytes_removed=stats.bytes_removed, string_values=sv.string_marks,
            bitmap_buffers=sv.bitmap_marks, instances_zeroed=stats.instances_zeroed,
            classes_zeroed=stats.classes_zeroed, passes=sv.passes, warnings=warnings)
