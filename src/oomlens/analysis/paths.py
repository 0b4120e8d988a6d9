"""Shortest strong reference paths from a GC root.

One breadth-first search from the virtual root over strong edges (``leak_paths.deferred_bfs``
with no edge deferred) gives every reachable object a parent on a shortest path; a path is then
read by following parents. Referents of soft, weak, phantom and finalizer references are not
strong edges, so no path goes through them. Each step
is named afterwards by looking at the holder: the field, the array index, the static field, or
the class / superclass / class loader link.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oomlens.errors import OomlensError
from oomlens.hprof import constants as C
from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY, data_offset

NO_PARENT = -1
FROM_ROOT = -2


@dataclass
class PathStep:
    """One object on a path: how its holder (the previous step) references it."""

    object_index: int
    reference: str  # "field name", "[3]", "static name", "<class>", "<superclass>", ...
    root_kinds: list[str]  # for the first step: what kind of GC root it is


def reference_name(heap, holder: int, target: int) -> str:
    """How object ``holder`` references object ``target``."""
    return describe_reference(heap, holder, target)[0]


def describe_reference(heap, holder: int, target: int) -> tuple[str, str]:
    """(name, kind) of the reference from ``holder`` to ``target``: kind is ``field``,
    ``static``, ``element``, ``class``, ``superclass``, ``classloader`` or ``unknown``."""
    kind = int(heap.index.objects.kind[holder])
    h = heap.object_at(holder)
    if kind == KIND_INSTANCE:
        name = _field_holding(heap, holder, int(heap.index.objects.ids[target]))
        if name is not None:
            return name, "field"
        if h.klass.class_object is not None and h.klass.class_object.index == target:
            return "<class>", "class"
    elif kind == KIND_OBJECT_ARRAY:
        slot = _element_slot(heap, holder, int(heap.index.objects.ids[target]))
        if slot >= 0:
            return f"[{slot}]", "element"
    elif kind == KIND_CLASS:
        cls = h.as_class()
        if cls is not None:
            for name, value in cls.static_fields().items():
                if value is not None and getattr(value, "index", None) == target:
                    return name, "static"
            sup = cls.superclass
            if sup is not None and sup.class_object is not None and \
                    sup.class_object.index == target:
                return "<superclass>", "superclass"
            loader = cls.class_loader
            if loader is not None and loader.index == target:
                return "<classloader>", "classloader"
    return "<reference>", "unknown"


def _field_holding(heap, holder: int, target_id: int) -> str | None:
    """The instance field of ``holder`` whose value is ``target_id`` (read straight from the
    record: naming the steps of thousands of paths must not build objects per field)."""
    objects = heap.index.objects
    id_size = heap.id_size
    start = int(objects.offset[holder]) + data_offset(KIND_INSTANCE, id_size)
    end = start + int(objects.length[holder])
    data = heap.index.file.data
    wanted = (target_id & ((1 << (8 * id_size)) - 1)).to_bytes(id_size, "big")
    for name, (code, offset) in heap.field_slots(int(objects.class_index[holder])).items():
        if code == C.TYPE_OBJECT and start + offset + id_size <= end and \
                bytes(data[start + offset:start + offset + id_size]) == wanted:
            return name
    return None


def _element_slot(heap, array: int, target_id: int) -> int:
    """Index of the first element of an object array holding ``target_id`` (-1 if none),
    read as one NumPy view: arrays on a path can have millions of elements."""
    objects = heap.index.objects
    id_size = heap.id_size
    start = int(objects.offset[array]) + data_offset(KIND_OBJECT_ARRAY, id_size)
    ids = np.frombuffer(heap.index.file.data, dtype=">u4" if id_size == 4 else ">u8",
                        count=int(objects.length[array]), offset=start)
    hits = np.nonzero(ids == (target_id & ((1 << (8 * id_size)) - 1)))[0]
    return int(hits[0]) if len(hits) else -1


def root_kind_code(name: str) -> int:
    """The root tag for a kind name as outputs show it ("jni-global", "sticky-class", ...)."""
    for code, known in C.ROOT_NAMES.items():
        if known == name:
            return code
    raise OomlensError(f"unknown GC root kind {name!r}; known kinds: "
                       + ", ".join(sorted(C.ROOT_NAMES.values())))


def root_kinds_of(heap, index: int, exclude: tuple[str, ...] = ()) -> list[str]:
    roots = heap.index.roots
    kinds = roots.kind[roots.object_index == index]
    names = {C.ROOT_NAMES.get(int(k), f"0x{int(k):02x}") for k in kinds
             if int(k) != C.ROOT_UNREACHABLE}
    return sorted(names - set(exclude))


def path_from_root(heap, parents: np.ndarray, index: int, exclude_roots: tuple[str, ...] = ()
                   ) -> list[PathStep] | None:
    """The shortest strong path from a GC root to ``index``, root first; None if unreachable."""
    if parents[index] == NO_PARENT:
        return None
    chain = [index]
    while parents[chain[-1]] != FROM_ROOT:
        chain.append(int(parents[chain[-1]]))
        if len(chain) > len(parents):
            raise RuntimeError("cycle in shortest-path parents")
    chain.reverse()
    steps = [PathStep(chain[0], "", root_kinds_of(heap, chain[0], exclude_roots))]
    for holder, target in zip(chain, chain[1:]):
        steps.append(PathStep(target, reference_name(heap, holder, target), []))
    return steps
