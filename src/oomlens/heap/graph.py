"""The reference graph: who points to whom, as ``docs/architecture.md`` defines it.

- an instance references the objects in its reference fields (through the superclass chain) and
  its own class object;
- an object array references its elements;
- a class references its static field values, its superclass and its class loader.

The ``referent`` of a ``java.lang.ref.Reference`` subclass is not a strong reference: those edges
are kept apart as weak edges with the strength of their Reference class (soft, weak, finalizer,
phantom). References to ids that are not in the dump are counted and dropped.

Strong edges are stored in CSR form: the targets of object ``i`` are
``targets[begin[i]:begin[i + 1]]``, as object indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from oomlens.heap.classes import ClassTable
from oomlens.heap.objects import ObjectTable, lookup_id
from oomlens.hprof import constants as C
from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY, data_offset, read_id

OBJECTS_PER_CHUNK = 1 << 18  # release mapped pages and report progress this often


@dataclass
class Graph:
    begin: np.ndarray  # len(objects) + 1; int32 while the edges fit, else int64
    targets: np.ndarray  # int32
    weak_source: np.ndarray  # int32
    weak_target: np.ndarray  # int32
    weak_kind: np.ndarray  # int8, REF_* of the source's class
    missing_references: int  # references to ids the dump does not hold

    @property
    def edge_count(self) -> int:
        return int(self.begin[-1])

    def successors(self, index: int) -> np.ndarray:
        return self.targets[self.begin[index] : self.begin[index + 1]]


@njit(cache=True)
def _add_edge(buf, p, id_size, ids, bucket_start, shift, targets, w, missing):
    """Append the object whose id is at ``p`` (if it is not null and present). Returns the new
    write cursor; counts a missing id in ``missing[0]``."""
    ref = read_id(buf, p, id_size)
    if ref == 0:
        return w
    t = lookup_id(ids, bucket_start, shift, ref)
    if t < 0:
        missing[0] += 1
        return w
    targets[w] = t
    return w + 1


@njit(cache=True)
def _fill_edges(buf, id_size, first, last, ids, bucket_start, shift, kind, offset, class_index,
                length, class_object, ref_begin, ref_offsets, referent_offset, reference_kind,
                class_objects, class_of_class_object, class_cursor, super_id, loader_id,
                static_begin, static_end, static_type, static_value_offset, begin, targets,
                w, weak_source, weak_target, weak_kind, nweak, missing):
    """Edges of objects [first, last). Returns (write cursor, weak count, class cursor)."""
    data_start = data_offset(KIND_INSTANCE, id_size)  # the same for object arrays
    for i in range(first, last):
        begin[i] = w
        k = kind[i]
        if k == KIND_INSTANCE:
            c = class_index[i]
            co = class_object[c]
            if co >= 0:
                targets[w] = co
                w += 1
            base = offset[i] + data_start
            n = length[i]
            for r in range(ref_begin[c], ref_begin[c + 1]):
                off = ref_offsets[r]
                if off + id_size <= n:
                    w = _add_edge(buf, base + off, id_size, ids, bucket_start, shift, targets,
                                  w, missing)
            off = referent_offset[c]
            if off >= 0 and off + id_size <= n:
                ref = read_id(buf, base + off, id_size)
                if ref != 0:
                    t = lookup_id(ids, bucket_start, shift, ref)
                    if t < 0:
                        missing[0] += 1
                    else:
                        weak_source[nweak] = i
                        weak_target[nweak] = t
                        weak_kind[nweak] = reference_kind[c]
                        nweak += 1
        elif k == KIND_OBJECT_ARRAY:
            base = offset[i] + data_start
            for j in range(length[i]):
                w = _add_edge(buf, base + j * id_size, id_size, ids, bucket_start, shift,
                              targets, w, missing)
        elif k == KIND_CLASS:
            # class objects come in index order, and so do the entries of class_objects
            while class_cursor < class_objects.shape[0] and class_objects[class_cursor] < i:
                class_cursor += 1
            if class_cursor < class_objects.shape[0] and class_objects[class_cursor] == i:
                c = class_of_class_object[class_cursor]
                for ref in (super_id[c], loader_id[c]):
                    if ref != 0:
                        t = lookup_id(ids, bucket_start, shift, ref)
                        if t < 0:
                            missing[0] += 1
                        else:
                            targets[w] = t
                            w += 1
                for s in range(static_begin[c], static_end[c]):
                    if static_type[s] == C.TYPE_OBJECT:
                        w = _add_edge(buf, static_value_offset[s], id_size, ids, bucket_start,
                                      shift, targets, w, missing)
    begin[last] = w
    return w, nweak, class_cursor


def _edge_upper_bound(objects: ObjectTable, classes: ClassTable, id_size: int
                      ) -> tuple[int, int]:
    """Most strong edges and weak edges there can be, from the tables alone (no file access)."""
    kind = objects.kind
    instances = kind == KIND_INSTANCE
    ref_counts = np.diff(classes.ref_begin)
    inst_classes = objects.class_index[instances]
    # no more references than an instance's data holds ids: a class may declare far more
    # fields than its instances have bytes (a damaged dump)
    held = objects.length[instances].astype(np.int64) // id_size
    strong = int(np.minimum(ref_counts[inst_classes], held).sum()) + int(instances.sum())
    strong += int(objects.length[kind == KIND_OBJECT_ARRAY].astype(np.int64).sum())
    statics_obj = classes.static_type == C.TYPE_OBJECT
    strong += int(statics_obj.sum()) + 2 * int((kind == KIND_CLASS).sum())
    weak = int((classes.referent_offset[inst_classes] >= 0).sum())
    return strong, weak


def build_graph(data: np.ndarray, id_size: int, objects: ObjectTable, classes: ClassTable,
                release_pages=None, progress=None) -> Graph:
    """Extract every reference of every object."""
    n = len(objects)
    strong_bound, weak_bound = _edge_upper_bound(objects, classes, id_size)
    # 32-bit offsets while every edge fits, with room for one more per object (the dominator
    # computation adds an edge from the virtual root to each GC root in the same dtype)
    begin = np.zeros(n + 1, np.int32 if strong_bound + n < (1 << 31) else np.int64)
    targets = np.empty(strong_bound, np.int32)
    weak_source = np.empty(weak_bound, np.int32)
    weak_target = np.empty(weak_bound, np.int32)
    weak_kind = np.empty(weak_bound, np.int8)
    missing = np.zeros(1, np.int64)
    class_object = classes.object_index
    has_object = class_object[: classes.real_count] >= 0
    order = np.argsort(class_object[: classes.real_count][has_object])
    class_of_class_object = np.nonzero(has_object)[0][order].astype(np.int32)
    class_objects = class_object[class_of_class_object].astype(np.int64)
    w = 0
    nweak = 0
    cursor = 0
    for first in range(0, n, OBJECTS_PER_CHUNK):
        last = min(n, first + OBJECTS_PER_CHUNK)
        w, nweak, cursor = _fill_edges(
            data, id_size, first, last, objects.ids, objects.bucket_start, objects.bucket_shift,
            objects.kind, objects.offset, objects.class_index, objects.length, class_object,
            classes.ref_begin, classes.ref_offsets, classes.referent_offset,
            classes.reference_kind, class_objects, class_of_class_object, cursor, classes.super_id,
            classes.loader_id, classes.static_begin, classes.static_end, classes.static_type,
            classes.static_value_offset, begin, targets, w, weak_source, weak_target, weak_kind,
            nweak, missing)
        if release_pages:
            release_pages()
        if progress:
            progress("extracting references", last, n)
    targets.resize(w, refcheck=False)  # give back what null references left unused, in place
    return Graph(begin=begin, targets=targets, weak_source=weak_source[:nweak].copy(),
                 weak_target=weak_target[:nweak].copy(), weak_kind=weak_kind[:nweak].copy(),
                 missing_references=int(missing[0]))


@njit(cache=True)
def reverse_edges(begin, targets, n):
    """The graph's edges by target (CSR): the referrers of object ``t`` are
    ``sources[rbegin[t]:rbegin[t + 1]]``, one entry per reference. A counting sort in place
    (the start offsets double as fill cursors, then shift back by one slot)."""
    rbegin = np.zeros(n + 1, begin.dtype)
    for e in range(len(targets)):
        rbegin[targets[e] + 1] += 1
    for t in range(n):
        rbegin[t + 1] += rbegin[t]
    sources = np.empty(len(targets), np.int32)
    for v in range(n):
        for e in range(begin[v], begin[v + 1]):
            t = targets[e]
            sources[rbegin[t]] = v
            rbegin[t] += 1
    for t in range(n, 0, -1):
        rbegin[t] = rbegin[t - 1]
    rbegin[0] = 0
    return rbegin, sources
