"""Rewrite a heap dump's class, field and stack-frame names (``oomlens deobfuscate``), so that
every tool that opens the copy shows the names of the source.

Where the names are:

- a class's name is the STRING record its LOAD_CLASS record names (HotSpot writes the JVM's
  internal form, ``com/example/Feed`` and ``[Lcom/example/Feed;``; Android writes Java names,
  ``com.example.Feed`` and ``com.example.Feed[]``);
- each static and instance field of a class is named by a string id in its CLASS_DUMP
  sub-record (inside HEAP_DUMP / HEAP_DUMP_SEGMENT records);
- a STACK_FRAME record names its method, signature and source file by string ids and gives a
  line number.

One string may name many things: R8 calls fields of a hundred classes ``a``, and in a HotSpot dump
the class ``a`` and those fields share the very same string. So existing strings are never
changed: each original name gets a NEW STRING record (an id no string of the dump uses), written
right after the file header, and the ids in LOAD_CLASS, CLASS_DUMP and STACK_FRAME records are
patched to point at it. An id keeps its size, so no record changes length: the rest of the file
is copied as it is, in chunks, with a few bytes replaced. Object ids, sizes and references do not
change.

Two passes over the mapped input: one (a Numba kernel) finds the strings, LOAD_CLASS and
STACK_FRAME records and the CLASS_DUMP sub-records; the copy is the other. Memory is bounded by
the number of strings and classes, not by the dump's size. What the names become is asked of a
``names`` object (a ``retrace.mapping.Mapping``; this layer only needs its ``class_name``,
``field_name`` and ``retrace_frame`` methods), so the format code does not depend on the
mapping format.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from oomlens.hprof import constants as C
from oomlens.hprof.names import NameTable, is_internal_form, java_class_name, vm_class_name
from oomlens.hprof.rewrite import OutputFile
from oomlens.hprof.scan import read_i4, read_id, read_u1, read_u2, read_u4, sub_record_end
from oomlens.hprof.source import DumpFile

Progress = Callable[[str, int, int], None]

WINDOW_BYTES = 16 << 20  # pause the walk this often: release pages (bounded RSS), progress
COPY_CHUNK = 8 << 20
_ZSTD_LEVEL = 3  # a one-off copy: a little more time for a smaller file

# counts[] slots of the walk
_N_STRINGS = 0
_N_LOAD_CLASSES = 1
_N_CLASS_DUMPS = 2
_N_FRAMES = 3
_N_UNREADABLE = 4  # heap dump records whose sub-records could not all be read
_TRUNCATED = 5
_N_COUNTS = 6


@njit(cache=True)
def _walk(buf, p, stop_at, id_size, state, counts, str_id, str_off, str_len, lc_off, cd_off,
          sf_off):
    """Walk the records from ``p``; note where strings, LOAD_CLASS, STACK_FRAME records and
    CLASS_DUMP sub-records are. Returns the offset reached: the walk pauses at ``stop_at`` and
    when an output array is full (the caller grows it and calls again; ``state[0]`` is the end
    of the heap dump record being walked, -1 between records). Reaching the end of the file
    returns its size."""
    size = buf.shape[0]
    while True:
        end = state[0]
        if end >= 0:  # inside a heap dump record: step over its sub-records
            while p < end:
                if p >= stop_at or counts[_N_CLASS_DUMPS] == cd_off.shape[0]:
                    return p
                n = sub_record_end(buf, p, end, id_size)
                if n >= 0:
                    n -= p  # its length
                if n < 0:
                    if n == -2 or end < size:
                        counts[_N_UNREADABLE] += 1
                    p = end
                    break
                if read_u1(buf, p) == C.SUB_CLASS_DUMP:
                    cd_off[counts[_N_CLASS_DUMPS]] = p + 1
                    counts[_N_CLASS_DUMPS] += 1
                p += n
            state[0] = -1
            p = end
            continue
        if p >= size:
            return size
        if p >= stop_at:
            return p
        if p + C.RECORD_HEADER_SIZE > size:
            counts[_TRUNCATED] = 1
            return size
        tag = read_u1(buf, p)
        length = read_u4(buf, p + 5)
        body = p + C.RECORD_HEADER_SIZE
        end = body + length
        complete = end <= size
        if not complete:
            counts[_TRUNCATED] = 1
            end = size
        if tag == C.TAG_STRING and complete and length >= id_size:
            k = counts[_N_STRINGS]
            if k == str_id.shape[0]:
                return p
            str_id[k] = read_id(buf, body, id_size)
            str_off[k] = body + id_size
            str_len[k] = length - id_size
            counts[_N_STRINGS] = k + 1
        elif tag == C.TAG_LOAD_CLASS and complete and length >= 8 + 2 * id_size:
            k = counts[_N_LOAD_CLASSES]
            if k == lc_off.shape[0]:
                return p
            lc_off[k] = body
            counts[_N_LOAD_CLASSES] = k + 1
        elif tag == C.TAG_STACK_FRAME and complete and length >= 4 * id_size + 8:
            k = counts[_N_FRAMES]
            if k == sf_off.shape[0]:
                return p
            sf_off[k] = body
            counts[_N_FRAMES] = k + 1
        elif tag == C.TAG_HEAP_DUMP or tag == C.TAG_HEAP_DUMP_SEGMENT:
            state[0] = end
            p = body
            continue
        p = end


@dataclass
class LoadedClass:
    class_id: int
    serial: int
    name_id: int
    name_id_offset: int  # where the name id sits in the file (to patch)


@dataclass
class ClassDumpNames:
    """The field names of one CLASS_DUMP sub-record: (name id, basic type, offset of the id)."""

    class_id: int
    statics: list[tuple[int, int, int]]
    fields: list[tuple[int, int, int]]


@dataclass
class DumpNames:
    """Every name a dump gives its classes, fields and stack frames, and where it is written."""

    id_size: int
    strings: NameTable
    string_ids: np.ndarray  # sorted, distinct, as unsigned values
    load_classes: list[LoadedClass]
    class_dumps: list[ClassDumpNames]
    frame_offsets: np.ndarray  # STACK_FRAME record bodies
    data: np.ndarray  # the mapped input
    internal_form: bool  # HotSpot's com/example/Feed rather than Android's com.example.Feed
    unreadable_records: int
    truncated: bool

    def __post_init__(self):
        self._class_names: dict[int, str] = {}
        for lc in self.load_classes:
            text = self.strings.get(lc.name_id)
            if text is not None:
                self._class_names[lc.class_id] = java_class_name(text)

    def class_name(self, class_id: int) -> str | None:
        """Java name of a class id (as the dump has it; the last LOAD_CLASS record of the id
        counts, as when the heap is indexed), None if no LOAD_CLASS names it."""
        return self._class_names.get(class_id)

    def classes(self):
        """(Java class name, [(field name, basic type)]) per class, statics included: what
        ``retrace.apply.check_mapping`` matches a mapping against."""
        fields: dict[int, list[tuple[str, int]]] = {}
        for cd in self.class_dumps:
            if cd.class_id not in fields:
                fields[cd.class_id] = [(self.strings.require(n, "field"), t)
                                       for n, t, _ in cd.fields + cd.statics]
        for class_id, name in self._class_names.items():
            yield name, fields.get(class_id, [])


def read_names(dump: DumpFile, progress: Progress | None = None) -> DumpNames:
    """The first pass: find every string, class name, field name and stack frame."""
    data, id_size, size = dump.data, dump.header.id_size, dump.size
    arrays = {"str_id": np.empty(4096, np.int64), "str_off": np.empty(4096, np.int64),
              "str_len": np.empty(4096, np.int64), "lc_off": np.empty(1024, np.int64),
              "cd_off": np.empty(1024, np.int64), "sf_off": np.empty(256, np.int64)}
    counts = np.zeros(_N_COUNTS, np.int64)
    state = np.full(1, -1, np.int64)
    p = dump.header.length
    while True:
        reached = _walk(data, p, min(size, p + WINDOW_BYTES), id_size, state, counts,
                        arrays["str_id"], arrays["str_off"], arrays["str_len"],
                        arrays["lc_off"], arrays["cd_off"], arrays["sf_off"])
        for keys, slot in ((("str_id", "str_off", "str_len"), _N_STRINGS),
                           (("lc_off",), _N_LOAD_CLASSES), (("cd_off",), _N_CLASS_DUMPS),
                           (("sf_off",), _N_FRAMES)):
            if counts[slot] == len(arrays[keys[0]]):
                for key in keys:
                    grown = np.empty(2 * len(arrays[key]), np.int64)
                    grown[: counts[slot]] = arrays[key]
                    arrays[key] = grown
        dump.release_pages(dump.header.length, min(reached, size))
        if progress:
            progress("reading names", min(reached, size), size)
        if reached >= size:
            break
        p = reached

    n = int(counts[_N_STRINGS])
    str_id = arrays["str_id"][:n]
    strings = NameTable(data, str_id, arrays["str_off"][:n], arrays["str_len"][:n])
    load_classes = []
    for body in arrays["lc_off"][: counts[_N_LOAD_CLASSES]]:
        body = int(body)
        load_classes.append(LoadedClass(
            class_id=int(read_id(data, body + 4, id_size)), serial=int(read_u4(data, body)),
            name_id=int(read_id(data, body + 8 + id_size, id_size)),
            name_id_offset=body + 8 + id_size))
    class_dumps = [_class_dump_names(data, int(p), id_size)
                   for p in arrays["cd_off"][: counts[_N_CLASS_DUMPS]]]
    texts = [strings.get(lc.name_id) or "" for lc in load_classes]
    internal = sum(map(is_internal_form, texts)) > sum("." in t for t in texts)
    unsigned = str_id.view(np.uint64) if id_size == 8 else str_id.astype(np.uint64)
    return DumpNames(id_size=id_size, strings=strings,
                     string_ids=np.unique(unsigned), load_classes=load_classes,
                     class_dumps=class_dumps,
                     frame_offsets=arrays["sf_off"][: counts[_N_FRAMES]].copy(), data=data,
                     internal_form=internal, unreadable_records=int(counts[_N_UNREADABLE]),
                     truncated=bool(counts[_TRUNCATED]))


def _class_dump_names(data, p: int, id_size: int) -> ClassDumpNames:
    """Read the field names of the CLASS_DUMP body at ``p`` (already checked by the walk)."""
    class_id = int(read_id(data, p, id_size))
    q = p + 7 * id_size + 8
    n, q = int(read_u2(data, q)), q + 2
    for _ in range(n):  # constant pool: u2 index, u1 type, value
        q += 3 + C.value_size(int(read_u1(data, q + 2)), id_size)
    n, q = int(read_u2(data, q)), q + 2
    statics = []
    for _ in range(n):  # name id, u1 type, value
        t = int(read_u1(data, q + id_size))
        statics.append((int(read_id(data, q, id_size)), t, q))
        q += id_size + 1 + C.value_size(t, id_size)
    n, q = int(read_u2(data, q)), q + 2
    fields = []
    for _ in range(n):  # name id, u1 type
        fields.append((int(read_id(data, q, id_size)), int(read_u1(data, q + id_size)), q))
        q += id_size + 1
    return ClassDumpNames(class_id, statics, fields)


@dataclass
class Renames:
    """What the rewrite changes: new STRING records, and bytes of the input to overwrite."""

    id_size: int
    new_strings: dict[str, int] = field(default_factory=dict)  # text -> fresh id
    string_patches: dict[int, str] = field(default_factory=dict)  # id offset -> new string
    patches: dict[int, bytes] = field(default_factory=dict)  # input offset -> bytes to write
    classes_renamed: int = 0
    fields_renamed: int = 0
    frames_renamed: int = 0

    def point_to(self, offset: int, text: str) -> None:
        """Make the string id at ``offset`` name a new string ``text``."""
        self.string_patches[offset] = text


def plan_renames(names: DumpNames, mapping) -> Renames:
    """Decide every change: class names (LOAD_CLASS), field names (CLASS_DUMP), and stack
    frames the mapping can retrace without doubt (method, signature, line, source file)."""
    plan = Renames(names.id_size)
    strings = names.strings
    renamed_classes = set()
    for lc in names.load_classes:
        text = strings.get(lc.name_id)
        if text is None:
            continue
        obfuscated = java_class_name(text)
        original = mapping.class_name(obfuscated)
        if original != obfuscated:
            plan.point_to(lc.name_id_offset, vm_class_name(original, names.internal_form))
            renamed_classes.add(lc.class_id)
    plan.classes_renamed = len(renamed_classes)

    renamed_fields = set()
    for cd in names.class_dumps:
        obfuscated = names.class_name(cd.class_id)
        if obfuscated is None:
            continue
        for kind, entries in (("static", cd.statics), ("field", cd.fields)):
            for slot, (name_id, type_code, offset) in enumerate(entries):
                old = strings.require(name_id, "field")
                new = mapping.field_name(obfuscated, old, type_code)
                if new is not None and new != old:
                    plan.point_to(offset, new)
                    renamed_fields.add((cd.class_id, kind, slot))
    plan.fields_renamed = len(renamed_fields)
    _plan_frames(names, mapping, plan)
    _assign_ids(names, plan)
    return plan


_DESCRIPTOR_CLASS = re.compile(r"L([^;]+);")


def _plan_frames(names: DumpNames, mapping, plan: Renames) -> None:
    """STACK_FRAME: frame id, method name id, signature id, source file id, u4 class serial,
    i4 line (> 0 a line, <= 0 unknown / compiled / native). A frame is changed only when the
    mapping gives exactly one source method for it; code R8 inlined into the method cannot be
    shown (one frame stays one frame), so the frame shows the method itself."""
    if not len(names.frame_offsets):
        return
    data, id_size, strings = names.data, names.id_size, names.strings
    by_serial = {lc.serial: names.class_name(lc.class_id) for lc in names.load_classes}
    for body in names.frame_offsets:
        body = int(body)
        obfuscated_class = by_serial.get(int(read_u4(data, body + 4 * id_size)))
        method = strings.get(int(read_id(data, body + id_size, id_size)))
        if obfuscated_class is None or method is None:
            continue
        line = int(read_i4(data, body + 4 * id_size + 4))
        candidates = mapping.retrace_frame(obfuscated_class, method, line if line > 0 else None)
        if len(candidates) != 1:
            continue
        frame = candidates[0][-1]  # the method itself (the outermost of an inline chain)
        changed = False
        if frame.method != method:
            plan.point_to(body + id_size, frame.method)
            changed = True
        signature = strings.get(int(read_id(data, body + 2 * id_size, id_size)))
        if signature:
            restored = _DESCRIPTOR_CLASS.sub(
                lambda m: "L" + vm_class_name(mapping.class_name(java_class_name(m.group(1))),
                                              "/" in m.group(1) or names.internal_form) + ";",
                signature)
            if restored != signature:
                plan.point_to(body + 2 * id_size, restored)
                changed = True
        source = strings.get(int(read_id(data, body + 3 * id_size, id_size)))
        if frame.source_file and source != frame.source_file:
            plan.point_to(body + 3 * id_size, frame.source_file)
            changed = True
        if line > 0 and frame.line is not None and frame.line != line:
            plan.patches[body + 4 * id_size + 4] = struct.pack(">i", frame.line)
            changed = True
        plan.frames_renamed += changed


def _assign_ids(names: DumpNames, plan: Renames) -> None:
    """Give each new string an id no string of the dump has (above the highest one when there
    is room, else the lowest free ones) and turn the id patches into bytes."""
    texts = list(dict.fromkeys(plan.string_patches.values()))
    if not texts:
        return
    limit = (1 << (8 * names.id_size)) - 1
    existing = names.string_ids
    top = int(existing[-1]) if len(existing) else 0
    if top + len(texts) <= limit:
        fresh = [top + 1 + k for k in range(len(texts))]
    else:
        candidates = np.arange(1, len(texts) + len(existing) + 1, dtype=np.uint64)
        fresh = [int(i) for i in np.setdiff1d(candidates, existing)[: len(texts)]]
    plan.new_strings = dict(zip(texts, fresh))
    for offset, text in plan.string_patches.items():
        plan.patches[offset] = plan.new_strings[text].to_bytes(names.id_size, "big")


def write_dump(dump: DumpFile, plan: Renames, out_path: str | os.PathLike,
               compress: bool = False, progress: Progress | None = None) -> int:
    """The second pass: the header, the new strings, then the input's records with the patches
    applied, through ``rewrite.OutputFile`` (a temporary file renamed at the end, so a failure
    leaves no partial output). Returns the bytes written (before compression)."""
    data, size, id_size = dump.data, dump.size, plan.id_size
    offsets = np.array(sorted(plan.patches), np.int64)
    with OutputFile(out_path, "zstd" if compress else "plain", level=_ZSTD_LEVEL) as out:
        out.write(bytes(data[: dump.header.length]))
        for text, string_id in plan.new_strings.items():
            body = string_id.to_bytes(id_size, "big") + text.encode("utf-8")
            out.write(struct.pack(">BII", C.TAG_STRING, 0, len(body)) + body)
        pos, i = dump.header.length, 0
        while pos < size:
            stop = min(size, pos + COPY_CHUNK)
            first = i
            while i < len(offsets) and offsets[i] < stop:
                stop = max(stop, int(offsets[i]) + len(plan.patches[int(offsets[i])]))
                i += 1
            chunk = data[pos:stop]
            if i > first:
                chunk = bytearray(chunk)
                for off in offsets[first:i]:
                    patch = plan.patches[int(off)]
                    chunk[int(off) - pos: int(off) - pos + len(patch)] = patch
            out.write(chunk)
            dump.release_pages(pos, stop)
            if progress:
                progress("writing", stop, size)
            pos = stop
    return out.hprof_bytes
