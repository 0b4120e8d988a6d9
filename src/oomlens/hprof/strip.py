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
    Except, by default (``keep_thread_names``), the characters of threads' names: the String in
    the ``name`` field of every ``java.lang.Thread`` (and subclass), or the ``char[]`` there on
    JDK 6 to 8u05. The app's code chooses them (``pool-7-thread-3``), not its user, and they are
    what explains a thread-limit OutOfMemoryError; whatever the app put into a name stays
    readable, though (its hash is still zeroed). A name's whole array is kept: where a String
    is a window (``offset``, ``count``) on a longer ``char[]`` (Dalvik, JDK <= 7u5), the rest
    of that array stays too. Without ``keep_thread_names`` they are removed on every runtime,
    the ``char[]`` ones too.
``arrays``
    The elements of every primitive array, thread names included: this level promises that no
    text is left, so it keeps none.
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

from oomlens.errors import OomlensError
from oomlens.hprof import constants as C
from oomlens.hprof import rewrite as R
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
    format: str  # packed, zstd or plain
    compressed: bool
    arrays_emptied: int
    payload_bytes_removed: int
    string_values: int  # Strings whose characters were removed
    bitmap_buffers: int
    keep_thread_names: bool
    thread_names: int  # Threads with a name (read at the strings level only)
    instances_zeroed: int
    classes_zeroed: int
    passes: int  # passes over the input before writing (1, or 2 for unusual record orders)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


# -- zeroed fields ------------------------------------------------------------------------------
_CYCLE = "corrupt heap dump: superclass cycle in the class dumps"
_TOO_DEEP = ("corrupt heap dump: its class hierarchy is too deep to strip (the classes' field "
             "layouts would take more than {:,} runs of fields)")
MAX_RUNS = 1 << 20


def run_budget(hprof_bytes: int) -> int:
    """How many field runs the zero-field table may hold for a dump of this size: one per 16
    bytes of it (real dumps need under one per 1,000), and at least MAX_RUNS."""
    return max(MAX_RUNS, hprof_bytes // 16)


def _chain_runs(layouts: ClassLayouts, selected: np.ndarray, wanted: np.ndarray,
                id_size: int, budget: int = MAX_RUNS) -> list[tuple[tuple, int]]:
    """For each class at ``selected``: the byte runs (offset, length) of its instance data to
    zero (fields ``wanted``; own fields first, then each superclass's; adjacent fields in one
    run) and the bytes its layout explains.

    A class's runs are its own followed by its superclass's, shifted by its own field bytes, so
    each class of a chain is worked out once and its subclasses reuse it: the work is the
    classes and the runs, not the fields of every class's whole chain. The runs of all classes
    together still grow with the square of a hierarchy's depth (each class has its own copy of
    its superclasses'), so more than ``budget`` of them is an error: real dumps need a few
    thousand, a hostile one with a hierarchy thousands of classes deep would need billions."""
    sizes = [-1] * 256
    for code, size in C.PRIMITIVE_SIZES.items():
        sizes[code] = size
    sizes[C.TYPE_OBJECT] = id_size
    sup = layouts.super_index.tolist()
    fbegin, nfields = layouts.fbegin.tolist(), layouts.nfields.tolist()
    ftype, want = layouts.fd_type.tolist(), wanted.tolist()
    done: dict[int, tuple[tuple, int]] = {}  # class index -> (runs, bytes) of its chain
    made = 0

    def own_runs(c: int) -> tuple[list, int]:
        runs, pos = [], 0
        for f in range(fbegin[c], fbegin[c] + nfields[c]):
            size = sizes[ftype[f]]
            if want[f]:
                if runs and runs[-1][0] + runs[-1][1] == pos:  # extends the previous run
                    runs[-1] = (runs[-1][0], runs[-1][1] + size)
                else:
                    runs.append((pos, size))
            pos += size
        return runs, pos

    for k in selected.tolist():
        chain, j = [], k
        while j >= 0 and j not in done:  # up to the first class already worked out
            chain.append(j)
            if len(chain) > len(sup):
                raise OomlensError(_CYCLE)
            j = sup[j]
        runs, total = done[j] if j >= 0 else ((), 0)
        for c in reversed(chain):
            mine, size = own_runs(c)
            above = [(a + size, n) for a, n in runs]
            if mine and above and mine[-1][0] + mine[-1][1] == above[0][0]:  # one run across
                mine[-1] = (mine[-1][0], mine[-1][1] + above.pop(0)[1])
            runs, total = tuple(mine + above), size + total
            done[c] = (runs, total)
            made += len(runs)
            if made > budget:
                raise OomlensError(_TOO_DEEP.format(budget))
    return [done[k] for k in selected.tolist()]


def zero_field_table(layouts: ClassLayouts, selected: np.ndarray, wanted: np.ndarray,
                     id_size: int, budget: int = MAX_RUNS):
    """The plan's zero-field table for the classes at ``selected`` (indices into ``layouts``,
    ascending, so the class ids come out sorted)."""
    selected = np.asarray(selected, np.int64)
    chains = _chain_runs(layouts, selected, np.asarray(wanted, np.bool_), id_size, budget)
    counts = np.array([len(runs) for runs, _ in chains], np.int64)
    begin = np.zeros(len(selected) + 1, np.int64)
    np.cumsum(counts, out=begin[1:])
    layout = np.array([total for _, total in chains], np.int64)
    flat = np.array([run for runs, _ in chains for run in runs], np.int64).reshape(-1, 2)
    return (layouts.ids[selected].copy(), begin, layout, np.ascontiguousarray(flat[:, 0]),
            np.ascontiguousarray(flat[:, 1]))


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


def build_plan(sv: Survey, level: str, id_size: int, budget: int = MAX_RUNS) -> R.EditPlan:
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
    return R.make_plan(flags, sv.marks.plan_arrays(),
                       zero_field_table(layouts, selected, wanted, id_size, budget))


# -- the command -------------------------------------------------------------------------------
def keeps_thread_names(level: str, keep_thread_names: bool | None) -> bool:
    """Whether ``level`` keeps threads' names: by default at ``strings`` only. Asking to keep
    them at ``arrays`` or ``all`` is an error rather than ignored: those levels remove every
    array's elements, and a caller who asked for names would silently not get them."""
    if keep_thread_names is None:
        return level == "strings"
    if keep_thread_names and level != "strings":
        raise OomlensError(f"thread names can only be kept at level strings, not {level} "
                           f"(which removes the elements of every array)")
    return keep_thread_names


def strip_dump(source: str | os.PathLike, output: str | os.PathLike, level: str = "strings",
               form: str = "packed", progress: R.Progress | None = None,
               zstd_level: int | None = None,
               keep_thread_names: bool | None = None) -> StripResult:
    """Write ``source`` (plain, .gz, .zst or packed) without the user data ``level`` names to
    ``output``: packed (the default, see pack.py), one zstd stream, or plain HPROF, as ``form``
    says (rewrite.OUTPUT_FORMS). ``keep_thread_names``: None = keep them at ``strings`` (see
    ``keeps_thread_names``). ``output`` appears only once it is complete."""
    if level not in LEVELS:
        raise OomlensError(f"unknown strip level {level!r} (one of: {', '.join(LEVELS)})")
    if form not in R.OUTPUT_FORMS:
        raise OomlensError(f"unknown output format {form!r} (one of: "
                           f"{', '.join(R.OUTPUT_FORMS)})")
    keep = keeps_thread_names(level, keep_thread_names)
    src, dst = Path(source), Path(output)
    R.check_paths(src, dst)
    with DumpFile(src, progress) as dump:
        sv = survey(dump, mark=level == "strings", progress=progress, keep_thread_names=keep)
        plan = build_plan(sv, level, dump.header.id_size, run_budget(dump.size))
        with R.OutputFile(dst, form, zstd_level) as out:
            stats = R.rewrite_dump(dump, out, plan, progress)
        warnings = list(stats.warnings)
        if level == "strings" and len(sv.string_classes) == 0:
            warnings.append("no java.lang.String class in the dump: no String was stripped")
        return StripResult(
            level=level, source=str(src), output=str(dst), source_bytes=dump.file_size,
            hprof_bytes=dump.size, stripped_bytes=stats.output_bytes, stored_bytes=out.stored_bytes,
            format=form, compressed=out.compressed, arrays_emptied=stats.arrays_emptied,
            payload_bytes_removed=stats.bytes_removed,
            string_values=sv.string_marks - sv.thread_name_strings_kept,
            bitmap_buffers=sv.bitmap_marks, keep_thread_names=keep,
            thread_names=sv.thread_names, instances_zeroed=stats.instances_zeroed,
            classes_zeroed=stats.classes_zeroed, passes=sv.passes, warnings=warnings)
